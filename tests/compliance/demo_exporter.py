"""A synthetic-metrics exporter for the compliance harness.

The compliance project's queries expect the ``demo_*`` metrics of the Prometheus demo
service (a fake API server, batch job, CPU, disk, memory and "holiday" simulation). This
module exports metrics of the same names, types, label sets and value shapes — random
walks, monotonic counters with a sinusoidal rate, a latency histogram with 25
exponential buckets, gauges holding Unix timestamps, a metric present only in even
minutes — so every query of that list has data to work on:

==============================================  =========  ===========================
metric                                          type       labels / shape
==============================================  =========  ===========================
demo_api_request_duration_seconds               histogram  method, path, status;
                                                           buckets 0.0001 * 1.5^i, i<25
demo_api_http_requests_in_progress              gauge      requests being "served"
demo_batch_last_success_timestamp_seconds       gauge      set after each run (75 %)
demo_batch_last_run_timestamp_seconds           gauge      a run every minute
demo_batch_last_run_duration_seconds            gauge      seconds since the last run
demo_batch_last_run_processed_bytes             gauge      ~1e6 per successful run
demo_cpu_usage_seconds_total                    counter    mode=user|system|idle
demo_num_cpus                                   gauge      4
demo_disk_usage_bytes / demo_disk_total_bytes   gauge      a slow climb, reset at 90 %
demo_is_holiday / demo_items_shipped_total      gauge /    a "day" of 5 minutes
                                                counter
demo_intermittent_metric                        gauge      1, only in even minutes
demo_memory_usage_bytes                         gauge      type=used|cached|buffers|free
==============================================  =========  ===========================

No requests are actually served: the API latencies are simulated. Each instance has
its own registry (so no ``process_*``/``python_*`` series) and no ``_created`` series,
like the original's Go client.

    python -m tests.compliance.demo_exporter --port 10000 --port 10001 --port 10002
"""

from __future__ import annotations

import argparse
import math
import random
import threading
import time
from collections.abc import Callable, Iterator

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

GIB = 1024 * 1024 * 1024
MIB = 1024 * 1024
# (method, path): (base latency s, error ratio, outage duration s, client pause ms).
API_ROUTES: dict[tuple[str, str], tuple[float, float, float, float]] = {
    ("GET", "/api/foo"): (0.010, 0.005, 23.0, 10.0),
    ("POST", "/api/foo"): (0.020, 0.02, 60.0, 150.0),
    ("GET", "/api/bar"): (0.015, 0.0025, 13.0, 20.0),
    ("POST", "/api/bar"): (0.050, 0.01, 47.0, 100.0),
}
NOT_FOUND_ROUTE = ("GET", "/api/nonexistent")
NOT_FOUND_PAUSE_MS = 500.0
OSCILLATION_PERIOD_S = 3600.0
HOLIDAY_DAY_S = 300.0


def _exponential_buckets(start: float, factor: float, count: int) -> tuple[float, ...]:
    """Bucket bounds built by repeated multiplication (the same floats, and so the
    same ``le`` strings, as the demo service's)."""
    out, bound = [], start
    for _ in range(count):
        out.append(bound)
        bound *= factor
    return tuple(out)


class IntermittentMetric(Collector):
    """``demo_intermittent_metric`` 1, exposed only while the wall-clock minute is even
    (Prometheus then writes staleness markers for the odd minutes)."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock

    def collect(self) -> Iterator[GaugeMetricFamily]:
        if time.gmtime(self.clock()).tm_min % 2 == 0:
            yield GaugeMetricFamily(
                "demo_intermittent_metric",
                "A metric that is only present intermittently to test staleness handling.",
                value=1)


class DemoInstance:
    """One simulated service: its registry, metrics and simulation threads."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.started = time.monotonic()
        self.stopping = threading.Event()
        r = self.registry = CollectorRegistry(auto_describe=True)
        self.request_duration = Histogram(
            "demo_api_request_duration_seconds",
            "A histogram of the API HTTP request durations in seconds.",
            ["method", "path", "status"], buckets=_exponential_buckets(0.0001, 1.5, 25),
            registry=r)
        self.in_progress = Gauge("demo_api_http_requests_in_progress",
                                 "The current number of API HTTP requests in progress.",
                                 registry=r)
        self.last_success = Gauge(
            "demo_batch_last_success_timestamp_seconds",
            "The Unix timestamp in seconds since the last successful demo batch job "
            "completion.", registry=r)
        self.last_run = Gauge("demo_batch_last_run_timestamp_seconds",
                              "The Unix timestamp in seconds since the last demo batch job run.",
                              registry=r)
        self.last_duration = Gauge("demo_batch_last_run_duration_seconds",
                                   "The duration in seconds of the last batch job run.",
                                   registry=r)
        self.processed_bytes = Gauge(
            "demo_batch_last_run_processed_bytes",
            "The number of bytes processed by the demo batch job in the last run.", registry=r)
        self.num_cpus = Gauge("demo_num_cpus", "The number of CPUs.", registry=r)
        self.cpu_usage = Counter("demo_cpu_usage_seconds_total",
                                 "The CPU usage in seconds split by mode.", ["mode"], registry=r)
        self.disk_usage = Gauge("demo_disk_usage_bytes", "Disk usage in bytes.", registry=r)
        self.disk_total = Gauge("demo_disk_total_bytes", "Total disk space in bytes.",
                                registry=r)
        self.is_holiday = Gauge("demo_is_holiday",
                                "Set to 1 if it is currently a holiday, 0 otherwise.", registry=r)
        self.items_shipped = Counter(
            "demo_items_shipped_total",
            "The total number of shipped items. Affected heavily by whether it's currently "
            "a holiday.", registry=r)
        self.memory_usage = Gauge("demo_memory_usage_bytes", "The memory usage by type.",
                                  ["type"], registry=r)
        r.register(IntermittentMetric())
        self._holiday = False

    # -- simulations (each runs in its own thread until stop()) ------------------------

    def _loop(self, step: Callable[[], float]) -> None:
        """Run ``step`` until stopped; it returns how long to sleep before the next."""
        while not self.stopping.wait(max(step(), 0.0)):
            pass

    def _seconds(self) -> float:
        return time.monotonic() - self.started

    def _api_client(self, method: str, path: str) -> Callable[[], float]:
        """A client calling one route in a loop: the server takes its latency (slower
        and failing more during a recurring outage), then the client pauses for an
        interval that oscillates over the hour."""
        if (method, path) == NOT_FOUND_ROUTE:
            base, error_ratio, outage, pause_ms = 0.0, 0.0, 0.0, NOT_FOUND_PAUSE_MS
        else:
            base, error_ratio, outage, pause_ms = API_ROUTES[(method, path)]

        def request() -> float:
            status = "404"
            if base:
                in_outage = self._seconds() % (10 * outage) < outage
                latency = max(0.0, base + self.random.gauss(0, base / 10)) * (3 if in_outage
                                                                              else 1)
                self.in_progress.inc()
                self.stopping.wait(latency)
                self.in_progress.dec()
                failed = self.random.random() <= error_ratio * (10 if in_outage else 1)
                status = "500" if failed else "200"
            else:
                latency = self.random.uniform(0.00005, 0.0002)
            self.request_duration.labels(method, path, status).observe(latency)
            oscillation = 2 + math.sin(math.sin(2 * math.pi * self._seconds()
                                                / OSCILLATION_PERIOD_S))
            return pause_ms * oscillation / 1000

        return request

    def _batch_jobs(self) -> Iterator[float]:
        """Every minute a job of ~10 s; 25 % of runs fail (no success timestamp)."""
        last = time.time()
        while True:
            period_start = time.monotonic()
            yield 11 - self.random.randrange(2000) / 1e6
            now = time.time()
            if self.random.random() > 0.25:
                self.last_success.set(now)
                self.processed_bytes.set(1e6 + 1e5 - self.random.randrange(100_000))
            self.last_run.set(now)
            self.last_duration.set(now - last)
            last = now
            yield 60 - (time.monotonic() - period_start)

    def _cpu(self) -> float:
        cpus, user_ratio, sys_ratio, pause = 4, 0.3, 0.2, 0.1
        self.num_cpus.set(cpus)
        factor = cpus * pause
        user = (user_ratio + (self.random.random() - 0.5) / 5) * factor
        system = (sys_ratio + (self.random.random() - 0.5) / 5) * factor
        self.cpu_usage.labels("user").inc(user)
        self.cpu_usage.labels("system").inc(system)
        self.cpu_usage.labels("idle").inc(factor - user - system)
        return pause

    def _disk(self) -> Iterator[float]:
        total, increment = 160e9, 0.5e6
        self.disk_total.set(total)
        usage = int(0.1 * total)
        while True:
            usage += int(increment * (1 - (self.random.random() - 0.5)))
            if usage > 0.9 * total:
                usage = int(0.1 * total)
            self.disk_usage.set(usage)
            yield 1.0

    def _memory(self) -> Iterator[float]:
        total = 8 * GIB
        bases = {"used": 1200 * MIB, "cached": 2500 * MIB, "buffers": 165 * MIB}
        current = dict(bases)
        while True:
            for kind, base in bases.items():
                current[kind] += int((self.random.random() - 0.5) * 60 * MIB)
                if abs(current[kind] - base) > base * 0.5:
                    current[kind] = base
                self.memory_usage.labels(kind).set(current[kind])
            self.memory_usage.labels("free").set(total - sum(current.values()))
            yield 0.1

    def _shipping(self) -> float:
        self.items_shipped.inc()
        factor = 2 + math.sin(1 + 2 * math.pi * self._seconds() / HOLIDAY_DAY_S)
        return 0.1 * factor * (1.8 if self._holiday else 1)

    def _holidays(self) -> float:
        self._holiday = self.random.random() <= 0.2
        self.is_holiday.set(1 if self._holiday else 0)
        return HOLIDAY_DAY_S

    def start(self) -> DemoInstance:
        steps: list[Callable[[], float]] = [
            self._api_client(m, p) for m, p in [*API_ROUTES, NOT_FOUND_ROUTE]]
        steps += [self._cpu, self._shipping, self._holidays]
        steps += [generator.__next__ for generator in
                  (self._batch_jobs(), self._disk(), self._memory())]
        for step in steps:
            threading.Thread(target=self._loop, args=(step,), daemon=True).start()
        return self

    def stop(self) -> None:
        self.stopping.set()


def serve(ports: list[int], host: str = "127.0.0.1") -> list[DemoInstance]:
    """One instance per port, each on its own registry and HTTP server."""
    disable_created_metrics()
    instances = []
    for i, port in enumerate(ports):
        instance = DemoInstance(seed=port * 7919 + i).start()
        start_http_server(port, addr=host, registry=instance.registry)
        instances.append(instance)
    return instances


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, action="append", required=True,
                        help="serve one instance on 127.0.0.1:PORT (repeatable)")
    parser.add_argument("--host", default="127.0.0.1")
    args = parser.parse_args()
    serve(args.port, args.host)
    threading.Event().wait()


if __name__ == "__main__":
    main()
