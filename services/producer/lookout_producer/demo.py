"""One demo tick: the "services" fleet at the tick time plus the "signals" since the last."""

from __future__ import annotations

from dataclasses import dataclass

from .points import MetricPoint
from .services_demo import AnomalyEpisode, ServicesDemo
from .signals_demo import SignalsDemo


@dataclass(frozen=True, slots=True)
class DemoTick:
    points: list[MetricPoint]
    anomalies_started: list[AnomalyEpisode]


class DemoFeed:
    """Both demos behind one ``tick(now_ms)``; pure, deterministic given ``seed``."""

    def __init__(self, started_ms: int, seed: int | None = None) -> None:
        # Two generators from one seed, so either demo's draws never shift the other's.
        self.services = ServicesDemo(None if seed is None else seed * 2)
        self.signals = SignalsDemo(started_ms, None if seed is None else seed * 2 + 1)

    def tick(self, now_ms: int) -> DemoTick:
        services = self.services.tick(now_ms)
        return DemoTick(services.points + self.signals.tick(now_ms), services.anomalies_started)
