"""Queries answered from the 1-minute and 1-hour rollups give the answers the raw samples
give, in each storage mode: the routing rules of docs/promql.md, against real storage."""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence

import numpy as np
import psycopg2
import pytest
from sqlalchemy import create_engine

from lookout_common.codec import SampleBatch
from lookout_common.db.connection import sqlalchemy_url
from lookout_common.db.schema import migrate
from lookout_common.series import Sample, SeriesKey
from lookout_common.settings import StorageMode
from lookout_query.promql.engine import Engine
from lookout_query.promql.model import STALE_NAN, Matcher, Matrix, RollupRead, Series
from lookout_query.promql.storage import PostgresQuerier
from lookout_worker.rollups import PlainRollups, TimescaleRollups
from lookout_worker.settings import WorkerSettings
from lookout_worker.store import InboundMessage, SampleStore

HOUR = 3_600_000
MINUTE = 60_000
# Hour-aligned, 30 hours of data ending two hours ago: inside every retention.
T0 = (int(time.time() * 1000) // HOUR - 32) * HOUR
T_END = T0 + 30 * HOUR

MINUTE_QUERIES = [
    "avg_over_time(cpu[5m])",
    "sum_over_time(cpu[1h])",
    "min_over_time(cpu[10m])",
    "max_over_time(cpu[2h])",
    "count_over_time(cpu[3m])",
    "last_over_time(cpu[1m])",
    "present_over_time(cpu[5m])",
    "sum by (host) (avg_over_time(cpu[5m] offset 1h))",
    "avg_over_time(gappy[5m])",
    "rate(requests[5m])",
    "increase(requests[10m])",
    "sum by (host) (rate(requests[5m]))",
    "delta(cpu[5m])",
    "rate(gappy[5m])",  # off the grid, with gaps and a "reset" at nearly every sample
    "increase(requests[1m])",  # windows of a single bucket and the edge sample
]
HOUR_QUERIES = [
    "avg_over_time(cpu[1h])",
    "sum_over_time(cpu[2h])",
    "min_over_time(cpu[1h])",
    "max_over_time(cpu[3h])",
    "count_over_time(cpu[1h])",
    "last_over_time(cpu[1h])",
    "present_over_time(cpu[1h])",
    "sum by (host) (avg_over_time(cpu[1h] offset 1h))",
    "avg_over_time(gappy[2h])",
    "avg_over_time(cpu[5m])",  # a window shorter than an hour: the 1-minute rollup
    "rate(requests[1h])",
    "increase(requests[3h])",
    "delta(cpu[2h])",
    "rate(gappy[2h])",
]


class RecordingQuerier:
    """The real querier, noting which rollups were read (and whether they were current)."""

    def __init__(self, inner: PostgresQuerier) -> None:
        self.inner = inner
        self.rollup_reads: list[tuple[int, RollupRead]] = []

    def select(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[Series]:
        return self.inner.select(matchers, start_ms, end_ms)

    def select_rollup(self, matchers: Sequence[Matcher], bucket_ms: int, start_ms: int,
                      end_ms: int, columns: Sequence[str]) -> RollupRead:
        read = self.inner.select_rollup(matchers, bucket_ms, start_ms, end_ms, columns)
        self.rollup_reads.append((bucket_ms, read))
        return read


class RawOnly:
    """The real querier without rollups: every answer from raw samples."""

    def __init__(self, inner: PostgresQuerier) -> None:
        self.select = inner.select


def write(store: SampleStore, samples: list[Sample], message_id: str) -> None:
    outcome = store.write([InboundMessage(1, message_id, SampleBatch.from_samples(samples))])
    assert outcome.samples_written == len(samples)


def dataset() -> list[Sample]:
    rng = np.random.default_rng(7)
    samples = []
    for host in ("a", "b"):
        key = SeriesKey("cpu", (("host", host),))
        # Every 10 s, aligned to minutes (samples on bucket boundaries: the edge case).
        for i, t in enumerate(range(T0, T_END, 10_000)):
            value = float(rng.integers(0, 1000)) / 8
            if host == "b" and i % 997 == 500:
                value = STALE_NAN  # a marker now and then: rollups and windows skip it
            samples.append(Sample(key, t, value))
    for host in ("a", "b"):
        # A counter on the minute grid that resets now and then — at a bucket's first
        # sample, inside a bucket, and on the sample at a window's end.
        key, total = SeriesKey("requests", (("host", host),)), 0.0
        for i, t in enumerate(range(T0, T_END, 10_000)):
            total += float(rng.integers(0, 20))
            if i % 397 == 0 or (host == "b" and i % 1201 == 6):
                total = float(rng.integers(0, 3))
            value = STALE_NAN if host == "a" and i % 1499 == 700 else total
            samples.append(Sample(key, t, value))
    gappy = SeriesKey("gappy", (("host", "a"),))
    for t in range(T0 + 7_000, T_END, 37_000):  # off the minute grid, with gaps
        if (t // HOUR) % 5 != 2:
            samples.append(Sample(gappy, t, float(t % 1000)))
    return samples


def same(a: Matrix, b: Matrix) -> bool:
    return len(a.series) == len(b.series) and all(
        x.labels == y.labels and np.array_equal(x.t, y.t)
        and np.allclose(x.v, y.v, rtol=1e-9, atol=0, equal_nan=True)
        for x, y in zip(a.series, b.series, strict=True))


@pytest.fixture
def storage(fresh_database_url: str, storage_mode: StorageMode) -> Iterator[tuple[str, PostgresQuerier, StorageMode]]:
    settings = WorkerSettings(database_url=fresh_database_url, storage_mode=storage_mode)
    assert migrate(settings) is storage_mode
    store = SampleStore(settings, storage_mode)
    engine = create_engine(sqlalchemy_url(fresh_database_url), pool_size=2)
    try:
        write(store, dataset(), "rollup-routing-data")
        conn = psycopg2.connect(fresh_database_url)
        try:
            if storage_mode is StorageMode.POSTGRES:
                PlainRollups().catch_up(conn)
            else:
                TimescaleRollups().refresh(conn)
        finally:
            conn.close()
        yield fresh_database_url, PostgresQuerier(engine), storage_mode
    finally:
        store.close()
        engine.dispose()


@pytest.mark.parametrize("step_ms, bucket_ms", [(MINUTE, MINUTE), (HOUR, HOUR)],
                         ids=["1m-rollup", "1h-rollup"])
def test_rollups_answer_as_raw_samples_do(storage, step_ms, bucket_ms):
    _, querier, _ = storage
    start = T0 + 3 * HOUR
    end = start + (20 * HOUR if bucket_ms == MINUTE else 26 * HOUR)
    raw = Engine(RawOnly(querier))
    for query in MINUTE_QUERIES if bucket_ms == MINUTE else HOUR_QUERIES:
        recording = RecordingQuerier(querier)
        routed = Engine(recording).range(query, start, end, step_ms)
        assert same(routed, raw.range(query, start, end, step_ms)), query
        expected = MINUTE if "[5m]" in query else bucket_ms
        assert [b for b, _ in recording.rollup_reads] == [expected], query
        assert routed.series, query


def test_misaligned_steps_and_counters_read_raw(storage):
    _, querier, _ = storage
    recording = RecordingQuerier(querier)
    engine = Engine(recording)
    start = T0 + 3 * HOUR + 30_000  # steps off the minute grid
    engine.range("avg_over_time(cpu[5m])", start, start + 10 * HOUR, MINUTE)
    engine.range("irate(requests[5m])", T0 + 3 * HOUR, T0 + 13 * HOUR, MINUTE)  # not decomposable
    engine.range("avg_over_time(cpu[5m])", T0 + 3 * HOUR, T0 + 3 * HOUR + 50 * MINUTE, MINUTE)
    assert recording.rollup_reads == []  # misaligned, irate, a short read


def test_steps_behind_the_maintenance_loop_are_answered_raw(storage):
    url, querier, mode = storage
    # Late samples for an hour inside the range, written after the roll-up.
    settings = WorkerSettings(database_url=url, storage_mode=mode)
    store = SampleStore(settings, mode)
    try:
        late = [Sample(SeriesKey("cpu", (("host", "a"),)), t + 5_000, 5000.0)
                for t in range(T0 + 10 * HOUR, T0 + 11 * HOUR, 10_000)]
        write(store, late, "rollup-routing-late")
    finally:
        store.close()
    query, start, end = "max_over_time(cpu[5m])", T0 + 3 * HOUR, T0 + 23 * HOUR
    recording = RecordingQuerier(querier)
    routed = Engine(recording).range(query, start, end, MINUTE)
    assert same(routed, Engine(RawOnly(querier)).range(query, start, end, MINUTE))
    ((_, read),) = recording.rollup_reads
    if mode is StorageMode.POSTGRES:
        assert read.pending, "the late batch's range waits for the maintenance loop"
    (a,) = [s for s in routed.series if dict(s.labels) == {"host": "a"}]
    in_late_hour = (a.t > T0 + 10 * HOUR) & (a.t <= T0 + 11 * HOUR)
    assert (a.v[in_late_hour] == 5000.0).all()  # the late samples are in the answer
