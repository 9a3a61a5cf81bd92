"""SampleStore against the real database, in both storage modes."""

import math
import struct
import time
from datetime import UTC, datetime

import numpy as np
import pytest

from lookout_common.codec import SampleBatch
from lookout_common.series import Sample, SeriesKey
from lookout_worker.store import InboundMessage, SampleStore, touched_minute_ranges

from .conftest import query

STALE_NAN = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]
NOW_MS = int(time.time() * 1000) // 1000 * 1000


def message(tag, mid, samples):
    return InboundMessage(tag, mid, SampleBatch.from_samples(samples))


def key(metric, **labels):
    return SeriesKey(metric, tuple(sorted(labels.items())))


@pytest.fixture
def store(settings, mode):
    s = SampleStore(settings, mode)
    yield s
    s.close()


def test_samples_land_with_their_series(store, db):
    cpu_a, cpu_b = key("cpu", host="a"), key("cpu", host="b")
    outcome = store.write([
        message(1, "m1", [Sample(cpu_a, NOW_MS, 1.5), Sample(cpu_b, NOW_MS, math.inf)]),
        message(2, "m2", [Sample(cpu_a, NOW_MS + 1000, STALE_NAN)]),
    ])
    assert outcome.samples_written == 3 and outcome.duplicate_messages == 0
    rows = query(db, """
        SELECT s.metric, s.labels, extract(epoch from x.time) * 1000, x.value,
               float8send(x.value)
        FROM samples x JOIN series s ON s.id = x.series_id ORDER BY x.time, s.labels::text""")
    assert [(r[0], r[1], int(r[2])) for r in rows] == [
        ("cpu", {"host": "a"}, NOW_MS), ("cpu", {"host": "b"}, NOW_MS),
        ("cpu", {"host": "a"}, NOW_MS + 1000)]
    assert rows[0][3] == 1.5 and rows[1][3] == math.inf
    # The stale marker's exact NaN bits are stored.
    assert bytes(rows[2][4]) == struct.pack(">Q", 0x7FF0000000000002)
    assert query(db, "SELECT count(*) FROM series")[0][0] == 2


def test_redelivered_message_is_skipped(store, db):
    m = message(1, "same-id", [Sample(key("x"), NOW_MS, 1.0)])
    assert store.write([m]).samples_written == 1
    again = store.write([message(7, "same-id", [Sample(key("x"), NOW_MS + 5, 2.0)])])
    assert again.samples_written == 0 and again.duplicate_messages == 1
    assert query(db, "SELECT value FROM samples") == [(1.0,)]


def test_repeated_sample_from_an_agent_retry_is_stored_once(store, db):
    s = Sample(key("y"), NOW_MS, 3.0)
    store.write([message(1, "a", [s])])
    outcome = store.write([message(2, "b", [s, Sample(key("y"), NOW_MS + 1, 4.0)])])
    assert outcome.samples_written == 1
    assert query(db, "SELECT count(*), sum(value) FROM samples") == [(2, 7.0)]


def test_new_store_reuses_existing_series(settings, mode, store, db):
    store.write([message(1, "a", [Sample(key("z", k="v"), NOW_MS, 1.0)])])
    other = SampleStore(settings, mode)
    try:
        other.write([message(1, "b", [Sample(key("z", k="v"), NOW_MS + 1, 1.0)])])
    finally:
        other.close()
    assert query(db, "SELECT count(*) FROM series") == [(1,)]


def test_old_and_late_samples_get_partitions(store, db, mode):
    old = NOW_MS - 40 * 86_400_000
    outcome = store.write([message(1, "m", [Sample(key("late"), old, 1.0),
                                            Sample(key("late"), NOW_MS, 2.0)])])
    assert outcome.samples_written == 2
    if mode.value == "postgres":
        names = {r[0] for r in query(db, """SELECT c.relname FROM pg_inherits i
                 JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'samples'::regclass""")}
        day = datetime.fromtimestamp(old / 1000, tz=UTC)
        assert f"samples_p{day:%Y%m%d}" in names


def test_database_rejection_is_isolated_to_the_bad_message(store, db):
    # The codec lets nothing through that the schema refuses, so make the schema
    # refuse something: the batch must then be split and only the bad message rejected.
    query_exec(db, "ALTER TABLE samples ADD CONSTRAINT test_no_13 CHECK (value <> 13)")
    good1 = message(1, "good1", [Sample(key("g"), NOW_MS, 1.0)])
    bad = message(2, "bad", [Sample(key("b"), NOW_MS, 13.0), Sample(key("b"), NOW_MS + 1, 1.0)])
    good2 = message(3, "good2", [Sample(key("g"), NOW_MS + 1, 2.0)])
    outcome = store.write([good1, bad, good2])
    assert [m.message_id for m, _ in outcome.rejected] == ["bad"]
    assert "test_no_13" in outcome.rejected[0][1]
    assert outcome.samples_written == 2
    assert query(db, "SELECT value FROM samples ORDER BY time") == [(1.0,), (2.0,)]
    assert query(db, "SELECT message_id FROM ingested_messages ORDER BY 1") == [
        ("good1",), ("good2",)]


def query_exec(conn, sql):
    with conn.cursor() as cur:
        cur.execute(sql)


def test_touched_minute_ranges_merge_neighbours():
    t = np.array([0, 59_999, 60_000, 5 * 60_000 + 1, 120_000], dtype=np.int64)
    assert touched_minute_ranges(t) == ([0, 300_000], [180_000, 360_000])
    assert touched_minute_ranges(np.array([], dtype=np.int64)) == ([], [])


def test_metadata_is_stored_and_updated(store, db):
    from lookout_common.series import MetricMetadata

    def with_meta(tag, mid, *meta):
        batch = SampleBatch.from_samples([Sample(key("http_requests_total"), NOW_MS + tag, 1.0)])
        batch.metadata.extend(meta)
        return InboundMessage(tag, mid, batch)

    store.write([with_meta(1, "a", MetricMetadata("http_requests_total", "counter", "Requests.", ""))])
    store.write([with_meta(2, "b", MetricMetadata("http_requests_total", "counter", "All requests.", ""),
                           MetricMetadata("temp", "gauge", "Temperature.", "celsius"))])
    assert query(db, "SELECT metric, type, help, unit FROM metric_metadata ORDER BY 1") == [
        ("http_requests_total", "counter", "All requests.", ""),
        ("temp", "gauge", "Temperature.", "celsius")]
