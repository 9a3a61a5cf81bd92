"""The "services" demo: five services reporting five metrics each, like a small fleet.

Outside an anomaly a value is

    baseline * daily cycle * slow drift * jitter   (* a spike, now and then)

where every factor is bounded, so it stays below every alert threshold by
construction (``normal_ceiling`` states the bound; a test checks it against
``THRESHOLDS``). An *anomaly episode* pulls one metric of one service past its
warning or critical threshold for a few minutes. Episodes start at random, at most
one per service at a time and about once an hour per service, so a demo shows an
alert now and then, not constantly.

Pure: the tick time comes in as ``now_ms``, randomness from ``random.Random(seed)``;
the same seed and the same tick times give the same values.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from enum import StrEnum

from .points import MetricPoint

SERVICES = ("auth", "api", "database", "cache", "queue")

DAY_S = 24 * 3600
# Busiest time of the daily cycle, seconds after midnight UTC.
DAILY_PEAK_S = 14 * 3600
# Slow drift: mean-reverting (Ornstein-Uhlenbeck) with this time constant.
DRIFT_TIME_CONSTANT_S = 2 * 3600
# Probability, per metric and tick, of a one-tick spike.
SPIKE_PROBABILITY = 0.01
# Anomaly episodes: mean time between two starts on one service, and their length.
MEAN_SECONDS_BETWEEN_ANOMALIES = 3600.0
ANOMALY_DURATION_S = (180.0, 420.0)
ANOMALY_CRITICAL_SHARE = 0.4
# Relative wobble of a value held at its anomaly target.
ANOMALY_WOBBLE = 0.01


class Severity(StrEnum):
    WARNING = "warning"
    CRITICAL = "critical"


@dataclass(frozen=True, slots=True)
class Threshold:
    """Alert thresholds of one metric; ``below`` means low values are the problem."""

    warning: float
    critical: float
    below: bool = False

    def severity(self, value: float) -> Severity | None:
        if self.below:
            if value < self.critical:
                return Severity.CRITICAL
            return Severity.WARNING if value < self.warning else None
        if value > self.critical:
            return Severity.CRITICAL
        return Severity.WARNING if value > self.warning else None


THRESHOLDS: dict[str, Threshold] = {
    "latency_ms": Threshold(500, 1000),
    "throughput_rps": Threshold(100, 50, below=True),
    "error_rate_percent": Threshold(5, 10),
    "cpu_percent": Threshold(80, 95),
    "memory_percent": Threshold(80, 95),
}


@dataclass(frozen=True, slots=True)
class MetricModel:
    name: str
    daily_amplitude: float  # relative swing of the daily cycle (all rise with load)
    jitter: float  # relative standard deviation of the per-sample noise, clipped at 3 sigma
    drift_limit: float  # the slow drift stays within ±this (relative)
    spike: tuple[float, float] | None  # multiplier range of a spike; None: never spikes
    ceiling: float | None  # physical upper bound (100 for a percentage)


METRICS: tuple[MetricModel, ...] = (
    MetricModel("latency_ms", 0.25, 0.05, 0.15, (1.3, 2.0), None),
    MetricModel("throughput_rps", 0.40, 0.03, 0.15, (1.2, 1.6), None),
    MetricModel("error_rate_percent", 0.30, 0.10, 0.15, (1.5, 2.5), 100.0),
    MetricModel("cpu_percent", 0.25, 0.03, 0.15, (1.1, 1.25), 100.0),
    # Memory follows load a little and never spikes; it leaks in an anomaly.
    MetricModel("memory_percent", 0.05, 0.01, 0.10, None, 100.0),
)

BASELINES: dict[str, dict[str, float]] = {
    "auth": {"latency_ms": 60, "throughput_rps": 350, "error_rate_percent": 0.4,
             "cpu_percent": 30, "memory_percent": 45},
    "api": {"latency_ms": 120, "throughput_rps": 1200, "error_rate_percent": 0.8,
            "cpu_percent": 38, "memory_percent": 55},
    "database": {"latency_ms": 25, "throughput_rps": 800, "error_rate_percent": 0.2,
                 "cpu_percent": 40, "memory_percent": 62},
    "cache": {"latency_ms": 3, "throughput_rps": 3000, "error_rate_percent": 0.1,
              "cpu_percent": 18, "memory_percent": 58},
    "queue": {"latency_ms": 15, "throughput_rps": 600, "error_rate_percent": 0.3,
              "cpu_percent": 25, "memory_percent": 40},
}

# Where an anomaly takes a metric: a range beyond the warning threshold (and short
# of critical), or beyond critical, with room for ANOMALY_WOBBLE.
ANOMALY_TARGETS: dict[str, dict[Severity, tuple[float, float]]] = {
    "latency_ms": {Severity.WARNING: (600, 900), Severity.CRITICAL: (1200, 2500)},
    "throughput_rps": {Severity.WARNING: (60, 90), Severity.CRITICAL: (10, 40)},
    "error_rate_percent": {Severity.WARNING: (6, 9), Severity.CRITICAL: (12, 30)},
    "cpu_percent": {Severity.WARNING: (83, 93), Severity.CRITICAL: (97, 99.5)},
    "memory_percent": {Severity.WARNING: (83, 93), Severity.CRITICAL: (97, 99.5)},
}


@dataclass(frozen=True, slots=True)
class AnomalyEpisode:
    service: str
    metric: str
    severity: Severity
    target: float
    started_ms: int
    duration_s: float
    ramp_in_s: float
    ramp_out_s: float

    @property
    def ends_ms(self) -> int:
        return self.started_ms + int(self.duration_s * 1000)

    def envelope(self, now_ms: int) -> float:
        """How far the metric is pulled to the target: 0 outside, 1 while held."""
        elapsed = (now_ms - self.started_ms) / 1000
        left = self.duration_s - elapsed
        if elapsed < 0 or left <= 0:
            return 0.0
        return min(1.0, elapsed / self.ramp_in_s, left / self.ramp_out_s)

    def holds(self, now_ms: int) -> bool:
        return self.envelope(now_ms) >= 1.0


@dataclass(frozen=True, slots=True)
class ServicesTick:
    points: list[MetricPoint]
    anomalies_started: list[AnomalyEpisode]


def daily_cycle(now_ms: int) -> float:
    """Load of the day in [-1, 1]: 1 at DAILY_PEAK_S UTC, -1 twelve hours later."""
    return math.cos(2 * math.pi * ((now_ms / 1000 - DAILY_PEAK_S) % DAY_S) / DAY_S)


def normal_ceiling(service: str, model: MetricModel) -> float:
    """The largest value the metric can take outside an anomaly."""
    spike = model.spike[1] if model.spike else 1.0
    return (BASELINES[service][model.name] * (1 + model.daily_amplitude)
            * (1 + model.drift_limit) * (1 + 3 * model.jitter) * spike)


def normal_floor(service: str, model: MetricModel) -> float:
    """The smallest value the metric can take outside an anomaly (spikes only raise)."""
    return (BASELINES[service][model.name] * (1 - model.daily_amplitude)
            * (1 - model.drift_limit) * (1 - 3 * model.jitter))


class ServicesDemo:
    def __init__(self, seed: int | None = None) -> None:
        self._rng = random.Random(seed)
        self._drift = {(s, m.name): 0.0 for s in SERVICES for m in METRICS}
        self._episodes: dict[str, AnomalyEpisode] = {}
        self._last_ms: int | None = None

    @property
    def anomalies(self) -> list[AnomalyEpisode]:
        """Episodes under way at the last tick."""
        return list(self._episodes.values())

    def tick(self, now_ms: int) -> ServicesTick:
        dt_s = 0.0 if self._last_ms is None else max(0.0, (now_ms - self._last_ms) / 1000)
        self._last_ms = now_ms if self._last_ms is None else max(self._last_ms, now_ms)
        cycle = daily_cycle(now_ms)
        points: list[MetricPoint] = []
        started: list[AnomalyEpisode] = []
        for service in SERVICES:
            episode = self._episodes.get(service)
            if episode is not None and now_ms >= episode.ends_ms:
                del self._episodes[service]
                episode = None
            if episode is None and dt_s > 0 and self._rng.random() < -math.expm1(
                -dt_s / MEAN_SECONDS_BETWEEN_ANOMALIES
            ):
                episode = self._start_episode(service, now_ms)
                self._episodes[service] = episode
                started.append(episode)
            labels = {"service": service}
            for model in METRICS:
                value = self._normal_value(service, model, cycle, dt_s)
                if episode is not None and episode.metric == model.name:
                    target = episode.target * (
                        1 + self._rng.uniform(-ANOMALY_WOBBLE, ANOMALY_WOBBLE)
                    )
                    value += episode.envelope(now_ms) * (target - value)
                value = max(0.0, value if model.ceiling is None else min(model.ceiling, value))
                points.append(MetricPoint(model.name, labels, round(value, 3), now_ms))
        return ServicesTick(points, started)

    def _normal_value(self, service: str, model: MetricModel, cycle: float, dt_s: float) -> float:
        rng = self._rng
        drift = self._step_drift((service, model.name), model.drift_limit, dt_s)
        noise = max(-3.0, min(3.0, rng.gauss(0.0, 1.0))) * model.jitter
        value = (BASELINES[service][model.name] * (1 + model.daily_amplitude * cycle)
                 * (1 + drift) * (1 + noise))
        if model.spike is not None and rng.random() < SPIKE_PROBABILITY:
            value *= rng.uniform(*model.spike)
        return value

    def _step_drift(self, key: tuple[str, str], limit: float, dt_s: float) -> float:
        """Exact Ornstein-Uhlenbeck step, stationary sigma = limit/3, clamped to ±limit."""
        drift = self._drift[key]
        if dt_s > 0:
            decay = math.exp(-dt_s / DRIFT_TIME_CONSTANT_S)
            spread = (limit / 3) * math.sqrt(1 - decay * decay)
            drift = drift * decay + spread * max(-3.0, min(3.0, self._rng.gauss(0.0, 1.0)))
            drift = max(-limit, min(limit, drift))
            self._drift[key] = drift
        return drift

    def _start_episode(self, service: str, now_ms: int) -> AnomalyEpisode:
        rng = self._rng
        metric = rng.choice(METRICS).name
        severity = (Severity.CRITICAL if rng.random() < ANOMALY_CRITICAL_SHARE
                    else Severity.WARNING)
        duration = rng.uniform(*ANOMALY_DURATION_S)
        if metric == "memory_percent":
            # A leak: memory climbs for most of the episode, then a restart frees it.
            ramp_in, ramp_out = 0.4 * duration, 5.0
        else:
            ramp_in, ramp_out = 30.0, 30.0
        return AnomalyEpisode(
            service=service,
            metric=metric,
            severity=severity,
            target=rng.uniform(*ANOMALY_TARGETS[metric][severity]),
            started_ms=now_ms,
            duration_s=duration,
            ramp_in_s=ramp_in,
            ramp_out_s=ramp_out,
        )
