"""The demo loop: one tick every ``interval_s``, each tick one POST."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from .client import IngestClient, Outcome
from .demo import DemoFeed

log = logging.getLogger(__name__)


def run_demo(
    client: IngestClient,
    feed: DemoFeed,
    interval_s: float,
    *,
    once: bool = False,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
) -> Outcome:
    """Tick until interrupted (or once); returns the outcome of the last tick.

    Ticks are due every ``interval_s`` on the monotonic clock; when a send took
    longer (retries during an outage) the missed ticks are skipped, not bunched up,
    and the signals demo fills the gap from its own grid.
    """
    due = time.monotonic()
    while True:
        tick = feed.tick(int(clock() * 1000))
        for episode in tick.anomalies_started:
            log.info("anomaly started", extra={
                "demo_service": episode.service, "metric": episode.metric,
                "severity": episode.severity.value, "target": round(episode.target, 1),
                "duration_s": round(episode.duration_s)})
        outcome = client.send_points(tick.points)
        log.debug("tick sent", extra={"samples": len(tick.points), "outcome": outcome.value})
        if once:
            return outcome
        due += interval_s
        now = time.monotonic()
        if due <= now:
            skipped = int((now - due) // interval_s) + 1
            due += skipped * interval_s
            log.warning("demo is behind: skipped ticks", extra={"skipped": skipped})
        sleep(max(0.0, due - time.monotonic()))
