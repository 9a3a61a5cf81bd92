"""StatsD aggregation: metric events in, one flush interval's samples out (pure).

What each flush emits, every point stamped with the interval's start (or with the
line's ``|T`` time when it had one), rates per second of ``STATSD_FLUSH_INTERVAL_S``:

- counter ``c``: ``<name>_count`` (sum of value/rate in the interval) and
  ``<name>_rate`` (that per second);
- gauge ``g``: ``<name>``, the last value, sent every flush until the listener
  restarts; ``+``/``-`` values add to it (to 0 for a gauge not seen before);
- timer ``ms``, histogram ``h``, distribution ``d``: ``<name>_count`` (sum of
  1/rate), ``_rate``, ``_lower``, ``_upper``, ``_mean``, ``_median``, ``_std``
  (population), ``_sum``, and ``_p<N>`` per ``STATSD_PERCENTILES`` entry;
- set ``s``: ``<name>``, how many distinct members were seen;
- the listener itself: ``statsd_bad_lines_seen``, ``statsd_packets_received`` and
  ``statsd_metrics_received`` (lines) in the interval, no labels, no prefix.

Counters, timers and sets that received nothing in an interval send nothing (etsy's
``deleteIdleStats``); gauges keep sending their value (etsy's default). Timer
statistics are computed as etsy's statsd does: ``_p90`` is the nearest-rank value
``sorted[round(0.9 * n) - 1]`` (etsy's ``upper_90``; omitted when that rank is 0,
i.e. too few values), mean, sum and median over the values received (not scaled by
the sample rate). etsy's ``mean_90``/``sum_90``/``sum_squares`` are not emitted.

If two types give the same series (a counter and a timer both named ``x`` make
``x_count``), the first one emitted is kept and the collision is counted.
A gauge with ``|T`` is a one-off point at that time and does not change the kept gauge.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from lookout_common.codec import SampleBatch
from lookout_common.series import SeriesKey

from .parser import COUNTER, GAUGE, SET, TIMER, Labels, MetricEvent

INTERNAL_METRICS = ("statsd_bad_lines_seen", "statsd_packets_received",
                    "statsd_metrics_received")
TIMER_SUFFIXES = ("_count", "_rate", "_lower", "_upper", "_mean", "_median", "_std", "_sum")

# (name, labels, timestamp_ms or None for the interval's start)
AggregateKey = tuple[str, Labels, int | None]


def percentile_suffix(pct: float) -> str:
    """90 -> ``_p90``, 99.9 -> ``_p99_9``."""
    return "_p" + format(pct, "g").replace(".", "_")


@dataclass
class TimerValues:
    values: list[float]
    count: float  # sum of 1/rate


class StatsdAggregator:
    """Holds one interval's aggregates (and the gauges, across intervals)."""

    def __init__(self, *, flush_interval_s: float, percentiles: Sequence[float] = (90.0,),
                 interval_start_ms: int) -> None:
        if flush_interval_s <= 0:
            raise ValueError("flush_interval_s must be positive")
        for pct in percentiles:
            if not 0 < pct <= 100:
                raise ValueError(f"percentile {pct} is not in (0, 100]")
        self.flush_interval_s = flush_interval_s
        self.percentiles = tuple(percentiles)
        self.interval_start_ms = interval_start_ms
        self.collisions = 0
        self._percentile_suffixes = [percentile_suffix(p) for p in self.percentiles]
        self._counters: dict[AggregateKey, float] = {}
        self._timers: dict[AggregateKey, TimerValues] = {}
        self._sets: dict[AggregateKey, set[str]] = {}
        self._gauges: dict[tuple[str, Labels], float] = {}
        self._stamped_gauges: dict[AggregateKey, float] = {}
        self._bad_lines = self._packets = self._lines = 0

    @property
    def longest_suffix(self) -> int:
        """Room a base name needs for the suffixes this aggregator appends."""
        return max(len(s) for s in (*TIMER_SUFFIXES, *self._percentile_suffixes))

    def record(self, *, packets: int = 0, lines: int = 0, bad_lines: int = 0) -> None:
        """Count what the listener received, for the statsd_* series."""
        self._packets += packets
        self._lines += lines
        self._bad_lines += bad_lines

    def add(self, events: Iterable[MetricEvent]) -> None:
        counters, timers, sets = self._counters, self._timers, self._sets
        for kind, name, labels, value, rate, delta, timestamp_ms in events:
            key = (name, labels, timestamp_ms)
            if kind == COUNTER:
                counters[key] = counters.get(key, 0.0) + value / rate  # type: ignore[operator]
            elif kind == TIMER:
                timer = timers.get(key)
                if timer is None:
                    timer = timers[key] = TimerValues([], 0.0)
                timer.values.append(value)  # type: ignore[arg-type]
                timer.count += 1.0 / rate
            elif kind == GAUGE:
                gauges: dict = (self._gauges if timestamp_ms is None  # type: ignore[type-arg]
                                else self._stamped_gauges)
                gauge_key = (name, labels) if timestamp_ms is None else key
                if delta:
                    gauges[gauge_key] = gauges.get(gauge_key, 0.0) + value
                else:
                    gauges[gauge_key] = value
            elif kind == SET:
                members = sets.get(key)
                if members is None:
                    members = sets[key] = set()
                members.add(value)  # type: ignore[arg-type]
            else:
                raise ValueError(f"unknown event kind {kind!r}")

    def flush(self, now_ms: int) -> SampleBatch:
        """The interval's samples; a new interval starts at ``now_ms``."""
        start = self.interval_start_ms
        out = _BatchBuilder(start)
        for (name, labels, ts), count in self._counters.items():
            out.add(name + "_count", labels, ts, count)
            out.add(name + "_rate", labels, ts, count / self.flush_interval_s)
        for (name, labels), value in self._gauges.items():
            out.add(name, labels, None, value)
        for (name, labels, ts), value in self._stamped_gauges.items():
            out.add(name, labels, ts, value)
        for (name, labels, ts), members in self._sets.items():
            out.add(name, labels, ts, float(len(members)))
        for (name, labels, ts), timer in self._timers.items():
            for suffix, value in self.timer_statistics(timer.values, timer.count):
                out.add(name + suffix, labels, ts, value)
        for metric, value in zip(INTERNAL_METRICS, (self._bad_lines, self._packets,
                                                     self._lines), strict=True):
            out.add(metric, (), None, float(value))
        self.collisions += out.collisions
        self._counters, self._timers, self._sets, self._stamped_gauges = {}, {}, {}, {}
        self._bad_lines = self._packets = self._lines = 0
        self.interval_start_ms = now_ms
        return out.batch()

    def timer_statistics(self, values: list[float], count: float) -> list[tuple[str, float]]:
        """etsy's timer statistics of one interval's values (``count`` is rate-scaled)."""
        values = sorted(values)
        n = len(values)
        total = math.fsum(values)
        mean = total / n
        mid = n // 2
        median = values[mid] if n % 2 else (values[mid - 1] + values[mid]) / 2
        std = math.sqrt(math.fsum((v - mean) ** 2 for v in values) / n)
        stats = [("_count", count), ("_rate", count / self.flush_interval_s),
                 ("_lower", values[0]), ("_upper", values[-1]), ("_mean", mean),
                 ("_median", median), ("_std", std), ("_sum", total)]
        for pct, suffix in zip(self.percentiles, self._percentile_suffixes, strict=True):
            rank = math.floor(pct / 100 * n + 0.5) if n > 1 else n  # JavaScript's Math.round
            if rank > 0:
                stats.append((suffix, values[rank - 1]))
        return stats


class _BatchBuilder:
    def __init__(self, interval_start_ms: int) -> None:
        self._start = interval_start_ms
        self._positions: dict[SeriesKey, int] = {}
        self._seen: set[tuple[int, int]] = set()
        self._index: list[int] = []
        self._time: list[int] = []
        self._value: list[float] = []
        self.collisions = 0

    def add(self, metric: str, labels: Labels, ts: int | None, value: float) -> None:
        key = SeriesKey(metric, labels)
        position = self._positions.setdefault(key, len(self._positions))
        time_ms = self._start if ts is None else ts
        if (position, time_ms) in self._seen:
            self.collisions += 1
            return
        self._seen.add((position, time_ms))
        self._index.append(position)
        self._time.append(time_ms)
        self._value.append(value)

    def batch(self) -> SampleBatch:
        return SampleBatch(
            list(self._positions),
            np.array(self._index, dtype=np.int32),
            np.array(self._time, dtype=np.int64),
            np.array(self._value, dtype=np.float64),
        )
