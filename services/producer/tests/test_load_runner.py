"""The load generator against a real local HTTP server answering 202 (or not)."""

from __future__ import annotations

import itertools
import threading
import time
from collections import defaultdict
from typing import Any

import pytest

from lookout_producer.client import IngestClient, SendStats
from lookout_producer.load_runner import LoadPlan, run_load

PATH = "/api/v1/metrics"


def factory(server: Any) -> Any:
    return lambda stats: IngestClient(server.url + PATH, stats=stats, backoff_factor=0.01)


def test_sends_the_total_over_every_series_in_order(ingest_server: Any) -> None:
    plan = LoadPlan(rate=0, series=100, batch=1000, concurrency=2, total=10_500, seed=1)
    summary = run_load(plan, factory(ingest_server))
    t = summary.totals
    assert (t.acknowledged, t.requests, t.retries, t.rejected, t.failed) == (10_500, 12, 0, 0, 0)
    assert not summary.interrupted
    assert summary.achieved_rate == pytest.approx(10_500 / summary.elapsed_s)
    stamps: dict[str, list[int]] = defaultdict(list)
    for request in ingest_server.received:
        for item in request.items():
            assert item["name"] == "load_test_value"
            stamps[item["labels"]["series"]].append(item["timestamp"])
    assert sorted(stamps) == [f"s{k:05d}" for k in range(100)]
    assert sorted(len(s) for s in stamps.values()) == [105] * 100
    for series in stamps.values():  # each series comes from one thread, in order
        assert all(b > a for a, b in itertools.pairwise(series))


def test_paces_to_the_rate(ingest_server: Any) -> None:
    plan = LoadPlan(rate=2000, series=10, batch=200, concurrency=1, total=3000)
    started = time.monotonic()
    summary = run_load(plan, factory(ingest_server))
    # 15 batches, the k-th due at k * 0.1 s: the last leaves at 1.4 s.
    assert 1.35 <= time.monotonic() - started < 3.0
    assert summary.totals.acknowledged == 3000
    assert summary.achieved_rate == pytest.approx(2000, rel=0.1)


def test_stops_after_the_duration(ingest_server: Any) -> None:
    plan = LoadPlan(rate=1000, series=10, batch=50, concurrency=2, duration_s=1.0)
    summary = run_load(plan, factory(ingest_server))
    assert 0.95 <= summary.elapsed_s < 2.5
    assert 800 <= summary.totals.acknowledged <= 1100


def test_a_stop_request_ends_an_endless_run(ingest_server: Any) -> None:
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    summary = run_load(LoadPlan(rate=5000, series=10, batch=100), factory(ingest_server), stop)
    assert summary.interrupted
    assert 0.4 <= summary.elapsed_s < 2.0
    assert summary.totals.acknowledged == ingest_server.samples > 0


def test_rejections_and_retries_show_in_the_summary(ingest_server: Any) -> None:
    ingest_server.script = [ingest_server.json_error(503, "busy"),
                            ingest_server.json_error(400, "bad item")]
    plan = LoadPlan(rate=0, series=10, batch=10, concurrency=1, total=30)
    summary = run_load(plan, factory(ingest_server))
    t = summary.totals
    assert (t.acknowledged, t.rejected, t.failed, t.requests, t.retries) == (20, 10, 0, 3, 1)
    text = summary.format()
    assert "samples acknowledged  20" in text
    assert "samples rejected      10" in text
    assert "retries               1" in text


@pytest.mark.parametrize("kwargs", [
    {"rate": -1}, {"series": 0}, {"batch": 0}, {"concurrency": 11}, {"duration_s": 0},
    {"total": 0},
])
def test_a_plan_refuses_nonsense(kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        LoadPlan(**{"rate": 10.0, "series": 10, "batch": 5, **kwargs})


def test_the_total_is_split_over_the_threads() -> None:
    plan = LoadPlan(rate=0, series=10, batch=5, concurrency=3, total=10)
    assert [plan.thread_quota(j) for j in range(3)] == [4, 3, 3]
    assert LoadPlan(rate=0, series=10, batch=5).thread_quota(0) is None


def test_stats_are_shared_between_clients() -> None:
    stats = SendStats()
    stats.add(acknowledged=5, requests=1)
    stats.add(acknowledged=7, requests=1, retries=2)
    snapshot = stats.snapshot()
    assert (snapshot.acknowledged, snapshot.requests, snapshot.retries) == (12, 2, 2)
