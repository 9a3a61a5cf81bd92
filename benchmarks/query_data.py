"""The data set of ``make bench-query``: a deterministic, realistic set of series.

Three metric families, as a service fleet exposes them:

* ``http_requests_total{service, instance, code}`` — counters increasing at rates that
  vary by service, instance, status code and time of day (Poisson increments), reset to
  zero when their process restarts (about every three days per process);
* ``request_duration_seconds_bucket{service, le}`` (12 classic buckets, cumulative and
  monotone in ``le`` and in time) with ``_sum`` and ``_count``, counting that service's
  requests with a log-normal latency that rises with load; reset about once a week;
* ``cpu_usage_percent{service, instance}`` — a gauge following the daily load, with noise.

Samples come every ``interval_s`` seconds, each series at its own fixed offset of 1 to
9,999 ms into the interval (as scrapes are spread out), so no sample ever falls on a
whole minute: range windows ending on a query step never have a sample on their edge.

Everything follows from ``DatasetParams``: the same parameters give bit-for-bit the same
values, chunk by chunk, so Lookout's database (kept between runs) and a fresh
VictoriaMetrics loaded in a later run hold the same data.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field

import numpy as np

# Bump when the generator changes: a kept database with another version is reloaded.
GENERATOR_VERSION = 1

CODES = ("200", "404", "500", "503")
CODE_SHARE = np.array([0.95, 0.03, 0.015, 0.005])
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)  # and +Inf
LATENCY_SIGMA = 0.8
DAY_S = 86_400
# Series per service that do not depend on the instance count: 12 buckets, _sum, _count.
HISTOGRAM_SERIES = len(BUCKETS) + 3


@dataclass(frozen=True)
class DatasetParams:
    services: int = 10
    instances: int = 18  # per service
    days: int = 7
    interval_s: int = 10
    # Data before the 7 days, so that the first windows of a 7 d query (up to [1h],
    # shifted back by the cold repetitions) are full.
    lead_s: int = 7_200
    seed: int = 20_261_201
    end_ms: int = 0  # exclusive end of the data; a whole minute
    version: int = GENERATOR_VERSION

    @staticmethod
    def for_series(series: int, days: int, end_ms: int) -> DatasetParams:
        """The smallest shape with at least ``series`` series (10 services from 1,000)."""
        services = min(10, max(1, series // 100))
        per_instance = services * (len(CODES) + 1)
        instances = max(1, math.ceil((series - services * HISTOGRAM_SERIES) / per_instance))
        return DatasetParams(services=services, instances=instances, days=days, end_ms=end_ms)

    @property
    def points(self) -> int:
        return (self.days * DAY_S + self.lead_s) // self.interval_s

    @property
    def start_ms(self) -> int:
        return self.end_ms - self.points * self.interval_s * 1000

    def record(self) -> dict[str, int]:
        return asdict(self)


@dataclass(frozen=True)
class SeriesSpec:
    metric: str
    labels: tuple[tuple[str, str], ...]  # sorted by name, without __name__

    def selector_labels(self) -> dict[str, str]:
        return {"__name__": self.metric, **dict(self.labels)}


@dataclass
class Chunk:
    """``points`` consecutive samples of every series: rows are series (in
    ``Dataset.series`` order), columns are scrapes."""

    first_point: int
    time_ms: np.ndarray  # int64 (series, points)
    value: np.ndarray  # float64 (series, points)

    @property
    def samples(self) -> int:
        return int(self.value.size)


def normal_cdf(x: np.ndarray) -> np.ndarray:
    """Φ(x) by Abramowitz and Stegun 7.1.26 (error < 1.5e-7): plenty for synthetic data."""
    z = np.abs(x) / math.sqrt(2.0)
    t = 1.0 / (1.0 + 0.3275911 * z)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741
                + t * (-1.453152027 + t * 1.061405429))))
    erf = 1.0 - poly * np.exp(-z * z)
    return 0.5 * (1.0 + np.sign(x) * erf)


def counter_with_resets(
    increments: np.ndarray, resets: np.ndarray, carry: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Cumulative values of counters that start again from their increment at each
    reset; ``carry`` is each counter's value before the chunk. Returns (values, the
    new carry). Vectorised: with non-negative increments the running total is
    non-decreasing, so the total at the last reset is a running maximum."""
    running = carry[:, None] + np.cumsum(increments, axis=1)
    at_reset = np.where(resets, running - increments, 0.0)
    values = running - np.maximum.accumulate(at_reset, axis=1)
    return values, values[:, -1].copy()


@dataclass
class Dataset:
    params: DatasetParams
    series: list[SeriesSpec] = field(init=False)

    def __post_init__(self) -> None:
        p = self.params
        rng = np.random.default_rng([p.seed, 0])
        self.service_names = [f"svc-{s:02d}" for s in range(p.services)]
        counters, gauges, histograms = [], [], []
        for s, service in enumerate(self.service_names):
            for i in range(p.instances):
                instance = f"10.0.{s}.{i + 10}:8080"
                for code in CODES:
                    counters.append(SeriesSpec("http_requests_total", (
                        ("code", code), ("instance", instance), ("service", service))))
                gauges.append(SeriesSpec("cpu_usage_percent", (
                    ("instance", instance), ("service", service))))
            for le in [*(f"{b:g}" for b in BUCKETS), "+Inf"]:
                histograms.append(SeriesSpec("request_duration_seconds_bucket", (
                    ("le", le), ("service", service))))
            histograms.append(SeriesSpec("request_duration_seconds_sum", (("service", service),)))
            histograms.append(SeriesSpec("request_duration_seconds_count",
                                         (("service", service),)))
        self.series = counters + histograms + gauges
        self.n_counters, self.n_histogram, self.n_gauges = (
            len(counters), len(histograms), len(gauges))
        processes = p.services * p.instances
        # Requests/s of one instance of a service, its status-code mix, latency median.
        service_rate = rng.lognormal(math.log(3.0), 0.6, p.services)
        instance_factor = rng.uniform(0.6, 1.4, processes)
        code_share = CODE_SHARE * rng.uniform(0.5, 1.5, (processes, len(CODES)))
        code_share[:, 0] = CODE_SHARE[0]
        self.counter_rate = (np.repeat(service_rate, p.instances) * instance_factor)[:, None] \
            * code_share  # (processes, codes)
        self.service_phase = rng.uniform(-0.05, 0.05, p.services)
        self.latency_median = rng.uniform(0.02, 0.3, p.services)
        self.cpu_base = rng.uniform(10.0, 45.0, processes)
        self.cpu_swing = rng.uniform(5.0, 30.0, processes)
        self.offset_ms = rng.integers(1, p.interval_s * 1000, len(self.series))

    @property
    def samples(self) -> int:
        return len(self.series) * self.params.points

    def load_factor(self, t_s: np.ndarray, service: np.ndarray) -> np.ndarray:
        """1 ± 0.6 over the day (peak in the afternoon), per service phase."""
        day = t_s / DAY_S + self.service_phase[service][:, None]
        return 1.0 + 0.6 * np.sin(2 * math.pi * (day - 0.35)) \
            + 0.1 * np.sin(2 * math.pi * day * 24 / 1.7)

    def chunks(self, points_per_chunk: int = 8_640) -> Iterator[Chunk]:
        """The whole data set in time order, ``points_per_chunk`` scrapes at a time."""
        p = self.params
        processes = p.services * p.instances
        counter_carry = np.zeros(self.n_counters)
        histogram_carry = np.zeros(self.n_histogram)
        interval_ms = p.interval_s * 1000
        for chunk_no, first in enumerate(range(0, p.points, points_per_chunk)):
            rng = np.random.default_rng([p.seed, 1, chunk_no])
            k = np.arange(first, min(first + points_per_chunk, p.points))
            grid_ms = p.start_ms + k * interval_ms
            t_s = grid_ms / 1000.0
            n = len(k)

            # Counters: (process, code) rows, in the order of self.series.
            process_service = np.repeat(np.arange(p.services), p.instances)
            load = self.load_factor(t_s, process_service)  # (processes, n)
            lam = self.counter_rate[:, :, None] * load[:, None, :] * p.interval_s
            increments = rng.poisson(np.clip(lam, 0, None)).reshape(self.n_counters, n)
            restarts = rng.random((processes, n)) < p.interval_s / (3 * DAY_S)
            counter_resets = np.repeat(restarts, len(CODES), axis=0)
            counters, counter_carry = counter_with_resets(
                increments.astype(np.float64), counter_resets, counter_carry)

            # Histogram per service: that service's requests, log-normal latency.
            requests = increments.reshape(p.services, p.instances * len(CODES), n).sum(axis=1)
            service_load = self.load_factor(t_s, np.arange(p.services))
            median = self.latency_median[:, None] * (1 + 0.5 * (service_load - 1))
            cdf = normal_cdf((np.log(np.array(BUCKETS))[None, :, None]
                              - np.log(median)[:, None, :]) / LATENCY_SIGMA)
            in_bucket = np.floor(requests[:, None, :] * cdf)  # (services, buckets, n)
            mean = median * math.exp(LATENCY_SIGMA ** 2 / 2)
            per_service = np.concatenate(
                [in_bucket, requests[:, None, :], (requests * mean)[:, None, :],
                 requests[:, None, :]], axis=1)  # buckets, +Inf, _sum, _count
            service_resets = rng.random((p.services, n)) < p.interval_s / (7 * DAY_S)
            histograms, histogram_carry = counter_with_resets(
                per_service.reshape(self.n_histogram, n),
                np.repeat(service_resets, HISTOGRAM_SERIES, axis=0), histogram_carry)
            sum_rows = np.arange(p.services) * HISTOGRAM_SERIES + len(BUCKETS) + 1
            histograms[sum_rows] = np.round(histograms[sum_rows], 3)

            # Gauge: CPU follows the process's load, with noise; one decimal.
            noise = rng.normal(0.0, 3.0, (processes, n))
            cpu = self.cpu_base[:, None] + self.cpu_swing[:, None] * (load - 1) / 0.6 + noise
            gauges = np.round(np.clip(cpu, 0.0, 100.0), 1)

            values = np.concatenate([counters, histograms, gauges])
            times = grid_ms[None, :] + self.offset_ms[:, None]
            yield Chunk(first, times.astype(np.int64), values)
