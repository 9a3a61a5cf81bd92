"""Dashboard query latency of Lookout's Prometheus API against VictoriaMetrics.

    make bench-query            (or: .venv/bin/python -m benchmarks.query --help)

A data set of 1,040 series over 7 days at 10 s (63.6 M samples; see query_data.py) is
written straight into a database of the benchmark's own (``lookout_bench_query``) once
and kept: a later run with the same parameters reuses it (``--reload`` forces a new
load). The query service runs as a real process under gunicorn on a free port, on that
database and a Redis key prefix of its own; Debian's ``victoria-metrics`` runs beside it
with a temporary data directory, loaded with the same data in the same run.

Each query runs over 24 h and 7 d (the irate one, which reads raw samples, over 24 h)
at step 60 s through ``/api/v1/query_range`` of both:
cold (its result not cached: every repetition asks for a window one step earlier, which
neither cache has seen, and VictoriaMetrics gets ``nocache=1``) and cached (the same
request again). Printed: p50/p95 of each, the goals, the Lookout/VictoriaMetrics ratios,
and whether both answered the same values.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import shutil
import statistics
import tempfile
import time
import urllib.parse
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import redis

from lookout_common.settings import StorageMode
from tests.stack import ServiceProcess, free_port

from .query_data import Dataset, DatasetParams
from .query_store import (
    database_name,
    database_size,
    load_dataset,
    migrate_kept,
    recorded_dataset,
    reusable,
    window_sums,
)
from .query_vm import VictoriaMetrics

HOUR_S = 3_600
DAY_S = 86_400
CACHED_GOAL_S = 0.005
TOLERANCE = 1e-6
MIN_REPS = 5


@dataclass(frozen=True)
class Case:
    query: str
    range_s: int

    @property
    def range_label(self) -> str:
        return "24 h" if self.range_s == DAY_S else f"{self.range_s // DAY_S} d"

    @property
    def cold_goal_s(self) -> float:
        return 0.100 if self.range_s <= DAY_S else 0.250


RATE = "sum by (service) (rate(http_requests_total[5m]))"
QUANTILE = "histogram_quantile(0.95, sum by (le) (rate(request_duration_seconds_bucket[5m])))"
CPU_5M = "avg_over_time(cpu_usage_percent[5m])"
CPU_1H = "avg_over_time(cpu_usage_percent[1h])"
# Not decomposable over rollups: 24 h of raw samples of the 720 counters.
IRATE = "sum by (service) (irate(http_requests_total[5m]))"
CASES = [Case(q, DAY_S) for q in (RATE, QUANTILE, CPU_5M, IRATE)] + \
        [Case(q, 7 * DAY_S) for q in (RATE, QUANTILE, CPU_5M, CPU_1H)]
# Queries both must answer alike: a plain window average has one meaning in PromQL and
# MetricsQL. The others are compared and reported too, but MetricsQL's rate() takes the
# last sample before the window and does not extrapolate, so its rates differ slightly.
SAME_VALUES_QUERIES = (CPU_5M, CPU_1H)


class QueryFailed(Exception):
    pass


class PrometheusApi:
    """``query_range`` over one keep-alive connection, timed from the request's first
    byte to the response's last (JSON decoding is not timed)."""

    def __init__(self, name: str, base_url: str, cold_params: dict[str, str]) -> None:
        self.name = name
        parsed = urllib.parse.urlsplit(base_url)
        self.host, self.port, self.prefix = parsed.hostname, parsed.port, parsed.path
        self.cold_params = cold_params
        self.conn = http.client.HTTPConnection(self.host or "127.0.0.1", self.port, timeout=600)

    def get(self, query: str, start_s: int, end_s: int, step_s: int,
            extra: dict[str, str] | None = None) -> tuple[float, int, bytes]:
        params = {"query": query, "start": str(start_s), "end": str(end_s), "step": str(step_s),
                  **(extra or {})}
        path = f"{self.prefix}/api/v1/query_range?{urllib.parse.urlencode(params)}"
        for attempt in (1, 2):
            try:
                started = time.perf_counter()
                self.conn.request("GET", path)
                response = self.conn.getresponse()
                body = response.read()
                return time.perf_counter() - started, response.status, body
            except (http.client.HTTPException, ConnectionError):
                self.conn.close()  # the server closed the kept-alive connection: once more
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    def matrix(self, query: str, start_s: int, end_s: int, step_s: int,
               extra: dict[str, str] | None = None) -> tuple[float, list[dict[str, Any]]]:
        seconds, status, body = self.get(query, start_s, end_s, step_s, extra)
        try:
            answer = json.loads(body)
        except ValueError:
            raise QueryFailed(f"{self.name} answered {status}: {body[:300]!r}") from None
        if status != 200 or answer.get("status") != "success":
            raise QueryFailed(f"{self.name} answered {status}: "
                              f"{answer.get('errorType')}: {answer.get('error')}")
        return seconds, answer["data"]["result"]


@dataclass
class Figures:
    cold: list[float] = field(default_factory=list)
    cached: list[float] = field(default_factory=list)
    series: int = 0
    points: int = 0
    error: str | None = None
    result: list[dict[str, Any]] = field(default_factory=list)

    @staticmethod
    def pct(values: list[float], q: float) -> float:
        return float(np.percentile(values, q)) if values else math.nan


def measure(api: PrometheusApi, case: Case, end_s: int, step_s: int, reps: int,
            budget_s: float) -> Figures:
    """Warm-up on a window not used again, ``reps`` cold windows (one step apart, each
    new to the cache), then the newest window once to fill the cache and ``reps`` times
    from it. A figure stops early, after at least MIN_REPS requests, once its requests
    took ``budget_s`` together (slow queries would otherwise take most of an hour)."""
    figures = Figures()
    span = case.range_s

    def enough(times: list[float]) -> bool:
        return len(times) >= reps or (len(times) >= MIN_REPS and sum(times) >= budget_s)

    try:
        warm = end_s - (reps + 1) * step_s
        api.matrix(case.query, warm - span, warm, step_s, api.cold_params)
        for i in range(1, reps + 1):
            e = end_s - i * step_s
            seconds, _ = api.matrix(case.query, e - span, e, step_s, api.cold_params)
            figures.cold.append(seconds)
            if enough(figures.cold):
                break
        _, figures.result = api.matrix(case.query, end_s - span, end_s, step_s)
        while not enough(figures.cached):
            seconds, _ = api.matrix(case.query, end_s - span, end_s, step_s)
            figures.cached.append(seconds)
    except QueryFailed as exc:
        figures.error = str(exc)
    figures.series = len(figures.result)
    figures.points = sum(len(r["values"]) for r in figures.result)
    return figures


@dataclass
class Comparison:
    series_both: int = 0
    only_lookout: int = 0
    only_vm: int = 0
    points: int = 0
    points_differing_in_presence: int = 0
    mismatches: int = 0
    max_abs: float = 0.0
    max_rel: float = 0.0
    example: str = ""

    @property
    def same(self) -> bool:
        return not (self.only_lookout or self.only_vm or self.points_differing_in_presence
                    or self.mismatches) and self.series_both > 0


def compare(lookout: list[dict[str, Any]], vm: list[dict[str, Any]]) -> Comparison:
    """Series matched by their labels (``__name__`` aside: MetricsQL keeps it where
    PromQL drops it), points by timestamp; values equal within 1e-6 (absolute, or
    relative for values above 1)."""
    def by_labels(result: list[dict[str, Any]]) -> dict[frozenset, dict[float, float]]:
        return {frozenset((k, v) for k, v in r["metric"].items() if k != "__name__"):
                {float(t): float(v) for t, v in r["values"]} for r in result}
    ours, theirs = by_labels(lookout), by_labels(vm)
    c = Comparison(only_lookout=len(ours.keys() - theirs.keys()),
                   only_vm=len(theirs.keys() - ours.keys()))
    for labels in ours.keys() & theirs.keys():
        c.series_both += 1
        a, b = ours[labels], theirs[labels]
        c.points_differing_in_presence += len(a.keys() ^ b.keys())
        for t in a.keys() & b.keys():
            c.points += 1
            x, y = a[t], b[t]
            if math.isnan(x) and math.isnan(y):
                continue
            diff = abs(x - y)
            rel = diff / max(1.0, abs(y))
            c.max_abs, c.max_rel = max(c.max_abs, diff), max(c.max_rel, rel)
            if not rel <= TOLERANCE:
                c.mismatches += 1
                if not c.example:
                    c.example = f"{dict(labels)} at {t:.0f}: Lookout {x!r}, VictoriaMetrics {y!r}"
    return c


def ms(seconds: float) -> str:
    return f"{seconds * 1000:8.1f}"


def ratio(a: float, b: float) -> str:
    return f"{a / b:8.2f}" if a == a and b == b and b > 0 else "       -"


def goal_verdict(value: float, goal: float) -> str:
    if value != value:
        return "no figure"
    return "met" if value <= goal else "MISSED"


def report_case(case: Case, lookout: Figures | None, vm: Figures | None) -> None:
    sizes = lookout if lookout and not lookout.error else vm
    size = f"{sizes.series:,} series, {sizes.points:,} points" if sizes else ""
    print(f"\n{case.query}   over {case.range_label} at step 60 s   ({size})")
    print("                        cold p50   cold p95  cached p50 cached p95   (ms)   requests")
    for name, f in (("Lookout", lookout), ("VictoriaMetrics", vm)):
        if f is None:
            continue
        if f.error:
            print(f"  {name:<18}  error: {f.error}")
            continue
        print(f"  {name:<18}{ms(f.pct(f.cold, 50))}   {ms(f.pct(f.cold, 95))}   "
              f"{ms(f.pct(f.cached, 50))}   {ms(f.pct(f.cached, 95))}          "
              f"{len(f.cold)} + {len(f.cached)}")
    if lookout and vm and not lookout.error and not vm.error:
        print(f"  {'ratio Lookout/VM':<18}"
              f"{ratio(lookout.pct(lookout.cold, 50), vm.pct(vm.cold, 50))}   "
              f"{ratio(lookout.pct(lookout.cold, 95), vm.pct(vm.cold, 95))}   "
              f"{ratio(lookout.pct(lookout.cached, 50), vm.pct(vm.cached, 50))}   "
              f"{ratio(lookout.pct(lookout.cached, 95), vm.pct(vm.cached, 95))}")
    if lookout and not lookout.error:
        cold_p95, cached_p95 = lookout.pct(lookout.cold, 95), lookout.pct(lookout.cached, 95)
        print(f"  goals: cold p95 <= {case.cold_goal_s * 1000:.0f} ms "
              f"{goal_verdict(cold_p95, case.cold_goal_s)}; cached p95 <= "
              f"{CACHED_GOAL_S * 1000:.0f} ms {goal_verdict(cached_p95, CACHED_GOAL_S)}")


def markdown_table(results: list[tuple[Case, Figures | None, Figures | None]]) -> None:
    print("\n| query | range | Lookout cold p50 / p95 | cached p50 / p95 "
          "| VM cold p50 / p95 | VM cached p50 / p95 | ratio cold p95 | ratio cached p95 "
          "| goals (cold, cached) |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")

    def pair(f: Figures | None, which: str) -> str:
        if f is None or f.error:
            return "error" if f else "-"
        values = getattr(f, which)
        return f"{f.pct(values, 50) * 1000:.1f} / {f.pct(values, 95) * 1000:.1f} ms"

    for case, lookout, vm in results:
        ok = lookout is not None and not lookout.error
        both = ok and vm is not None and not vm.error
        goals = (f"{goal_verdict(lookout.pct(lookout.cold, 95), case.cold_goal_s)}, "
                 f"{goal_verdict(lookout.pct(lookout.cached, 95), CACHED_GOAL_S)}"
                 if ok and lookout else "-")
        cold_ratio = ratio(lookout.pct(lookout.cold, 95), vm.pct(vm.cold, 95)).strip() \
            if both and lookout and vm else "-"
        cached_ratio = ratio(lookout.pct(lookout.cached, 95), vm.pct(vm.cached, 95)).strip() \
            if both and lookout and vm else "-"
        print(f"| `{case.query}` | {case.range_label} | {pair(lookout, 'cold')} | "
              f"{pair(lookout, 'cached')} | {pair(vm, 'cold')} | {pair(vm, 'cached')} | "
              f"{cold_ratio} | {cached_ratio} | {goals} |")


def cache_counters(base_url: str) -> dict[str, float]:
    """The query service's own cache counters from /metrics (names containing 'cache')."""
    conn = http.client.HTTPConnection(urllib.parse.urlsplit(base_url).netloc, timeout=10)
    try:
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
    finally:
        conn.close()
    counters: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#") and "cache" in line.split(" ")[0]:
            name, _, value = line.rpartition(" ")
            if name.split("{")[0].endswith(("_total", "_count")):
                counters[name] = counters.get(name, 0.0) + float(value)
    return counters


def delete_redis_keys(url: str, prefix: str) -> None:
    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
    except redis.RedisError:
        pass
    finally:
        client.close()


def check_same_data(url: str, vm: VictoriaMetrics, dataset: Dataset) -> None:
    """The kept database and the freshly loaded VictoriaMetrics hold the same samples:
    per metric, sum and count of the raw samples in three 10-minute windows (the data
    set is regenerated for VictoriaMetrics each run; this catches a generator drift)."""
    p = dataset.params
    end_s = p.end_ms // 1000
    for metric in sorted({s.metric for s in dataset.series}):
        for t in (end_s, end_s - p.days * DAY_S // 2, p.start_ms // 1000 + 600):
            ours, theirs = window_sums(url, metric, t, 600), vm.window_sums(metric, t, 600)
            if ours[1] != theirs[1] or abs(ours[0] - theirs[0]) > 1e-9 * max(1.0, abs(ours[0])):
                raise SystemExit(f"the database and VictoriaMetrics differ: {metric} in the "
                                 f"10 min before {t}: sum, count {ours} against {theirs} "
                                 "(run with --reload)")


def prepare_dataset(args: argparse.Namespace) -> tuple[Dataset, str]:
    now_ms = int(time.time() // 60 * 60_000)
    wanted = DatasetParams.for_series(args.series, args.days, end_ms=now_ms)
    mode = StorageMode(args.storage_mode)
    recorded = recorded_dataset(args.database_url)
    if not args.reload and reusable(recorded, wanted, mode):
        assert recorded is not None
        schema = migrate_kept(args.database_url, recorded)
        return Dataset(recorded.params), (
            f"kept from {recorded.loaded_at:%Y-%m-%d %H:%M} UTC "
            f"({recorded.storage_mode.value} mode, {schema}; its load took "
            f"{recorded.load_seconds:.0f} s; --reload loads it again)")
    dataset = Dataset(wanted)
    why = "--reload" if args.reload else "none kept" if recorded is None \
        else "its parameters changed"
    print(f"loading {len(dataset.series):,} series, {dataset.samples:,} samples into "
          f"{database_name(args.database_url)} ({why}) ...", flush=True)
    loaded = load_dataset(args.database_url, wanted, mode)
    return dataset, (f"loaded now in {loaded.load_seconds:.0f} s "
                     f"({loaded.samples / loaded.load_seconds:,.0f} samples/s, rollups and "
                     f"VACUUM ANALYZE included; {loaded.storage_mode.value} mode)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--series", type=int, default=1_000,
                        help="at least this many series (1,000 gives 1,040)")
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--reps", type=int, default=20, help="timed requests per figure")
    parser.add_argument("--budget", type=float, default=60.0,
                        help=f"seconds of requests after which a figure stops (at least "
                             f"{MIN_REPS} requests)")
    parser.add_argument("--reload", action="store_true", help="load the data set again")
    parser.add_argument("--storage-mode", choices=["auto", "timescaledb", "postgres"],
                        default="auto")
    parser.add_argument("--database-url", default=None,
                        help="the benchmark's own database, kept between runs (default: "
                             "lookout_bench_query, or lookout_bench_query_plain for "
                             "--storage-mode postgres)")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--skip-vm", action="store_true", help="Lookout only, no reference")
    parser.add_argument("--skip-lookout", action="store_true",
                        help="load the data, measure VictoriaMetrics only")
    args = parser.parse_args()
    if args.database_url is None:
        name = "lookout_bench_query" + ("_plain" if args.storage_mode == "postgres" else "")
        args.database_url = f"postgresql://postgres@127.0.0.1:5432/{name}"
    if database_name(args.database_url) == "lookout":
        raise SystemExit("the benchmark needs a database of its own, not `lookout`")
    step_s = 60

    dataset, provenance = prepare_dataset(args)
    p = dataset.params
    end_s = p.end_ms // 1000
    cases = [c for c in CASES if c.range_s <= p.days * DAY_S]
    print(f"data set: {len(dataset.series):,} series ({dataset.n_counters} counters, "
          f"{dataset.n_histogram} histogram, {dataset.n_gauges} gauges), {p.days} d + "
          f"{p.lead_s // 60} min at {p.interval_s} s = {dataset.samples:,} samples, ending "
          f"{time.strftime('%Y-%m-%d %H:%M', time.gmtime(end_s))} UTC; {provenance}; "
          f"database {database_size(args.database_url) / 2**30:.1f} GiB", flush=True)

    vm = None if args.skip_vm else VictoriaMetrics()
    prefix = f"bench-query:{uuid.uuid4().hex[:8]}:"
    logs = Path(tempfile.mkdtemp(prefix="lookout-bench-query-"))
    (logs / "prometheus").mkdir()
    port = free_port()
    service = ServiceProcess("lookout_query", {
        "DATABASE_URL": args.database_url, "REDIS_URL": args.redis_url,
        "REDIS_KEY_PREFIX": prefix, "QUERY_PORT": str(port), "LOG_LEVEL": "WARNING",
        "PROMETHEUS_MULTIPROC_DIR": str(logs / "prometheus"),
    }, logs, f"http://127.0.0.1:{port}/health/ready")
    results: list[tuple[Case, Figures | None, Figures | None]] = []
    comparisons: list[tuple[Case, Comparison]] = []
    try:
        if vm is not None:
            vm.start()
            seconds = vm.load(dataset)
            print(f"VictoriaMetrics ({vm.version()}): {dataset.samples:,} samples imported in "
                  f"{seconds:.0f} s ({dataset.samples / seconds:,.0f}/s, generation and JSON "
                  f"included), {vm.disk_bytes() / 2**20:,.1f} MiB on disk", flush=True)
            check_same_data(args.database_url, vm, dataset)
        lookout_api = None
        counters_before: dict[str, float] = {}
        if not args.skip_lookout:
            service.start()
            base = f"http://127.0.0.1:{port}"
            print(f"Lookout: python -m lookout_query (gunicorn, default workers and threads) "
                  f"at {base}, Redis key prefix {prefix!r}", flush=True)
            lookout_api = PrometheusApi("Lookout", base + "/prometheus", {})
            _, status, _ = lookout_api.get("vector(1)", end_s - 60, end_s, step_s)
            if status == 404:
                print("Lookout has no /prometheus/api/v1/query_range yet: VictoriaMetrics only")
                lookout_api = None
            counters_before = cache_counters(base)
        vm_api = PrometheusApi("VictoriaMetrics", vm.url, {"nocache": "1"}) if vm else None
        for case in cases:
            lookout = measure(lookout_api, case, end_s, step_s, args.reps, args.budget) \
                if lookout_api else None
            theirs = measure(vm_api, case, end_s, step_s, args.reps, args.budget) \
                if vm_api else None
            results.append((case, lookout, theirs))
            report_case(case, lookout, theirs)
            if lookout and theirs and not lookout.error and not theirs.error:
                comparisons.append((case, compare(lookout.result, theirs.result)))
        if lookout_api is not None:
            counters_after = cache_counters(f"http://127.0.0.1:{port}")
            moved = {k: v - counters_before.get(k, 0.0) for k, v in counters_after.items()
                     if v != counters_before.get(k, 0.0)}
            print("\nquery service cache counters during the run: "
                  + (", ".join(f"{k} +{v:,.0f}" for k, v in sorted(moved.items()))
                     or "none exposed"))
    finally:
        service.stop()
        if vm is not None:
            vm.stop()
        delete_redis_keys(args.redis_url, prefix)

    if comparisons:
        print("\nsame answers (Lookout against VictoriaMetrics, newest window; "
              f"tolerance {TOLERANCE:g}):")
        for case, c in comparisons:
            verdict = "same" if c.same else "DIFFERENT"
            required = " (required)" if case.query in SAME_VALUES_QUERIES else \
                " (for information: MetricsQL's rate differs from PromQL's)"
            print(f"  {case.query} over {case.range_label}: {verdict}{required}: "
                  f"{c.series_both} series in both, {c.only_lookout} only in Lookout, "
                  f"{c.only_vm} only in VM, {c.points:,} points compared, "
                  f"{c.points_differing_in_presence:,} present in one only, {c.mismatches:,} "
                  f"differing, max abs {c.max_abs:.3g}, max rel {c.max_rel:.3g}"
                  + (f"; e.g. {c.example}" if c.example else ""))
    markdown_table(results)
    cold = [f.pct(f.cold, 95) for _, f, _ in results if f and not f.error]
    if cold:
        print(f"\nLookout cold p95, median over the queries: "
              f"{statistics.median(cold) * 1000:.1f} ms")
    if any(f and f.error for _, f, _ in results):
        print(f"Lookout's errors are in the query service's log: {service.log_path}")
    else:
        shutil.rmtree(logs, ignore_errors=True)
    if any(case.query in SAME_VALUES_QUERIES and not c.same for case, c in comparisons):
        raise SystemExit("Lookout and VictoriaMetrics answered a window average differently")


if __name__ == "__main__":
    main()
