"""The load generator: ``rate`` samples per second in batches, from sender threads.

Each sender thread owns a slice of the series (every ``concurrency``-th one), its own
``LoadBatches`` and its own keep-alive session, and paces itself at
``rate / concurrency``: batch k is due k · batch / rate_per_thread seconds after the
start. A thread that falls behind (a slow server) catches up by at most one second's
worth of batches, then simply runs as fast as the server answers. ``rate`` 0 means
no pacing at all.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from .client import IngestClient, SendStats, SendTotals
from .load_batches import LoadBatches

log = logging.getLogger(__name__)

MAX_CATCH_UP_S = 1.0
PROGRESS_EVERY_S = 5.0
# After a stop request, how long in-flight batches may take to finish.
STOP_GRACE_S = 10.0


@dataclass(frozen=True, slots=True)
class LoadPlan:
    rate: float  # samples per second over all series; 0 = as fast as possible
    series: int
    batch: int
    concurrency: int = 1
    duration_s: float | None = None
    total: int | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        if self.rate < 0:
            raise ValueError("rate must be >= 0")
        if self.series < 1 or self.batch < 1 or self.concurrency < 1:
            raise ValueError("series, batch and concurrency must be >= 1")
        if self.concurrency > self.series:
            raise ValueError("concurrency cannot exceed the number of series")
        if self.duration_s is not None and self.duration_s <= 0:
            raise ValueError("duration must be > 0")
        if self.total is not None and self.total < 1:
            raise ValueError("total must be >= 1")

    def thread_quota(self, thread: int) -> int | None:
        """Samples thread ``thread`` sends before it stops (None: no limit)."""
        if self.total is None:
            return None
        share, rest = divmod(self.total, self.concurrency)
        return share + (1 if thread < rest else 0)


@dataclass(frozen=True, slots=True)
class LoadSummary:
    plan: LoadPlan
    totals: SendTotals
    elapsed_s: float
    interrupted: bool

    @property
    def achieved_rate(self) -> float:
        return self.totals.acknowledged / self.elapsed_s if self.elapsed_s > 0 else 0.0

    def format(self) -> str:
        t = self.totals
        target = f"target {self.plan.rate:,.0f} samples/s" if self.plan.rate else "unpaced"
        return "\n".join([
            "load test summary" + (" (interrupted)" if self.interrupted else ""),
            f"  samples acknowledged  {t.acknowledged:,}",
            f"  samples rejected      {t.rejected:,}",
            f"  samples failed        {t.failed:,}",
            f"  requests              {t.requests:,}",
            f"  retries               {t.retries:,}",
            f"  elapsed               {self.elapsed_s:.2f} s",
            f"  achieved rate         {self.achieved_rate:,.0f} samples/s ({target})",
            f"  series / batch / threads  {self.plan.series:,} / {self.plan.batch:,} / "
            f"{self.plan.concurrency}",
        ])


ClientFactory = Callable[[SendStats], IngestClient]


def run_load(
    plan: LoadPlan,
    client_factory: ClientFactory,
    stop: threading.Event | None = None,
    progress_every_s: float = PROGRESS_EVERY_S,
) -> LoadSummary:
    """Send until the duration or total is reached, or ``stop`` is set (or Ctrl-C)."""
    stop = stop or threading.Event()
    stats = SendStats()
    if plan.rate and plan.rate / plan.series > 1000:
        log.warning("more than 1,000 samples/s per series: timestamps will run ahead of the "
                    "clock", extra={"rate": plan.rate, "series": plan.series})
    started = time.monotonic()
    deadline = None if plan.duration_s is None else started + plan.duration_s
    threads = [
        threading.Thread(
            target=_send_loop,
            args=(plan, j, client_factory(stats), stop, started, deadline),
            name=f"load-sender-{j}",
            daemon=True,  # one stuck in a retry must not keep the process alive
        )
        for j in range(plan.concurrency)
    ]
    for thread in threads:
        thread.start()
    interrupted = False
    try:
        next_progress = started + progress_every_s
        for thread in threads:
            while thread.is_alive():
                thread.join(0.2)
                if time.monotonic() >= next_progress:
                    next_progress += progress_every_s
                    _log_progress(stats.snapshot(), time.monotonic() - started)
    except KeyboardInterrupt:
        interrupted = True
        log.info("stopping: waiting for batches in flight", extra={"grace_s": STOP_GRACE_S})
        stop.set()
        grace_end = time.monotonic() + STOP_GRACE_S
        for thread in threads:
            thread.join(max(0.0, grace_end - time.monotonic()))
    interrupted = interrupted or stop.is_set()
    return LoadSummary(plan, stats.snapshot(), time.monotonic() - started, interrupted)


def _send_loop(plan: LoadPlan, thread: int, client: IngestClient, stop: threading.Event,
               started: float, deadline: float | None) -> None:
    batches = LoadBatches(range(thread, plan.series, plan.concurrency),
                          seed=None if plan.seed is None else plan.seed + thread)
    remaining = plan.thread_quota(thread)
    rate = plan.rate / plan.concurrency
    due = started
    try:
        while not stop.is_set() and (remaining is None or remaining > 0):
            count = plan.batch if remaining is None else min(plan.batch, remaining)
            now = time.monotonic()
            if rate:
                due = max(due, now - MAX_CATCH_UP_S)
                if due > now and stop.wait(due - now):
                    break
                due += count / rate
            if deadline is not None and time.monotonic() >= deadline:
                break
            client.send(batches.body(count, int(time.time() * 1000)), count)
            if remaining is not None:
                remaining -= count
    except Exception:
        log.exception("sender thread failed", extra={"sender": thread})
    finally:
        client.close()


def _log_progress(totals: SendTotals, elapsed_s: float) -> None:
    log.info("load progress", extra={
        "acknowledged": totals.acknowledged, "rejected": totals.rejected,
        "failed": totals.failed, "requests": totals.requests, "retries": totals.retries,
        "elapsed_s": round(elapsed_s, 1),
        "rate": round(totals.acknowledged / elapsed_s) if elapsed_s > 0 else 0})
