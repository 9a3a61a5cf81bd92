"""PostgresQuerier against a real database, written through the worker's own write path."""

from __future__ import annotations

import io
import math
import struct
import time
from collections import defaultdict
from datetime import UTC, datetime

import numpy as np
import psycopg2
import pytest
from sqlalchemy import create_engine

from lookout_common.codec import SampleBatch
from lookout_common.db.connection import sqlalchemy_url
from lookout_common.db.schema import migrate
from lookout_common.series import Sample, SeriesKey
from lookout_common.settings import StorageMode
from lookout_query.promql.model import (
    STALE_NAN_BITS,
    UNKNOWN_TIME,
    Matcher,
    QueryTooLarge,
)
from lookout_query.promql.storage import (
    SAMPLE_ROW,
    CopyFormatError,
    PostgresQuerier,
    decode_binary_copy,
    inline_parameters_for_copy,
    postgres_regex,
)
from lookout_worker.rollups import PlainRollups, TimescaleRollups
from lookout_worker.settings import WorkerSettings
from lookout_worker.store import InboundMessage, SampleStore

HOUR_MS = 3_600_000
# Hour-aligned, a few hours back: inside every retention, and whole hour buckets.
T0 = (int(time.time() * 1000) // HOUR_MS - 3) * HOUR_MS
FAR = T0 + 10 * HOUR_MS


def key(metric: str, **labels: str) -> SeriesKey:
    return SeriesKey(metric, tuple(sorted(labels.items())))


def datetime_of(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def bits(value: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", value))[0]


def from_bits(pattern: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", pattern))[0]


class Storage:
    """A fresh migrated database, the worker's SampleStore writing into it and a querier."""

    def __init__(self, url: str, mode: StorageMode) -> None:
        self.url, self.mode = url, mode
        self.settings = WorkerSettings(database_url=url, storage_mode=mode)
        assert migrate(self.settings) is mode
        self.store = SampleStore(self.settings, mode)
        self.engine = create_engine(sqlalchemy_url(url), pool_size=2)
        self.messages = 0

    def querier(self, **options: int) -> PostgresQuerier:
        return PostgresQuerier(self.engine, **options)

    def write(self, samples: list[Sample]) -> None:
        self.messages += 1
        outcome = self.store.write([InboundMessage(self.messages, f"test-{self.messages}",
                                                   SampleBatch.from_samples(samples))])
        assert outcome.samples_written == len(samples)

    def roll_up(self) -> None:
        conn = psycopg2.connect(self.url)
        try:
            if self.mode is StorageMode.POSTGRES:
                PlainRollups().catch_up(conn)
            else:
                TimescaleRollups().refresh(conn, None, None)
        finally:
            conn.close()

    def close(self) -> None:
        self.store.close()
        self.engine.dispose()


@pytest.fixture
def storage(fresh_database_url, storage_mode):
    s = Storage(fresh_database_url, storage_mode)
    yield s
    s.close()


@pytest.fixture
def catalogue(storage):
    """cpu on hosts a (dc eu) and b (no dc), mem on host a; one sample each at T0."""
    storage.write([
        Sample(key("cpu", host="a", dc="eu"), T0, 1.0),
        Sample(key("cpu", host="b"), T0, 2.0),
        Sample(key("mem", host="a"), T0, 3.0),
    ])
    return storage.querier()


def selected(querier, *matchers, start=T0, end=T0):
    return [dict(s.labels) for s in querier.select(list(matchers), start, end)]


def m(name, op, value):
    return Matcher(name, op, value)


def test_equality_matchers_and_absent_labels(catalogue):
    cpu_a = {"__name__": "cpu", "host": "a", "dc": "eu"}
    cpu_b = {"__name__": "cpu", "host": "b"}
    mem_a = {"__name__": "mem", "host": "a"}
    assert selected(catalogue, m("__name__", "=", "cpu")) == [cpu_a, cpu_b]
    assert selected(catalogue, m("host", "=", "a")) == [cpu_a, mem_a]
    assert selected(catalogue, m("__name__", "=", "cpu"), m("host", "!=", "a")) == [cpu_b]
    # An absent label is "": {dc=""} selects the series without dc, {dc!=""} those with it.
    assert selected(catalogue, m("__name__", "=", "cpu"), m("dc", "=", "")) == [cpu_b]
    assert selected(catalogue, m("dc", "!=", "")) == [cpu_a]
    assert selected(catalogue, m("__name__", "!=", "cpu"), m("host", "!=", "")) == [mem_a]
    assert selected(catalogue, m("nope", "=", "")) == [cpu_a, cpu_b, mem_a]
    assert selected(catalogue, m("nope", "!=", "")) == []
    assert selected(catalogue) == [cpu_a, cpu_b, mem_a]


def test_returned_labels_are_sorted_with_the_metric_name(catalogue):
    (series,) = catalogue.select([m("dc", "=", "eu")], T0, T0)
    assert series.labels == (("__name__", "cpu"), ("dc", "eu"), ("host", "a"))
    assert series.t.dtype == np.int64 and series.v.dtype == np.float64
    assert series.t.tolist() == [T0] and series.v.tolist() == [1.0]


def test_regex_matchers_are_fully_anchored(storage):
    storage.write([Sample(key("up", job=job), T0, 1.0) for job in ("api", "api-v2", "xapi")]
                  + [Sample(key("up"), T0, 1.0), Sample(key("up", job="a\nb"), T0, 1.0)])
    q = storage.querier()

    def jobs(*matchers):
        return sorted(d.get("job", "<none>") for d in selected(q, m("__name__", "=", "up"),
                                                              *matchers))

    assert jobs(m("job", "=~", "api")) == ["api"]
    assert jobs(m("job", "=~", "api.*")) == ["api", "api-v2"]
    # The alternation sits inside the anchors: not ^ap|xapi$ (which would match "api").
    assert jobs(m("job", "=~", "ap|xapi")) == ["xapi"]
    assert jobs(m("job", "=~", ".*api")) == ["api", "xapi"]
    # Not matching includes the series without the label ("" !~ "api").
    assert jobs(m("job", "!~", "api")) == ["<none>", "a\nb", "api-v2", "xapi"]
    assert jobs(m("job", "=~", "")) == ["<none>"]
    assert jobs(m("job", "=~", ".+")) == ["api", "api-v2", "xapi"]
    assert jobs(m("job", "=~", "(?i)API")) == ["api"]
    # RE2's "." stops at a newline unless (?s) says otherwise.
    assert jobs(m("job", "=~", "a.b")) == []
    assert jobs(m("job", "=~", "(?s)a.b")) == ["a\nb"]
    assert jobs(m("job", "=~", "a\nb")) == ["a\nb"]


def test_metric_name_regex(catalogue):
    def names(*matchers):
        return sorted({d["__name__"] for d in selected(catalogue, *matchers)})

    assert names(m("__name__", "=~", "cpu|mem")) == ["cpu", "mem"]
    assert names(m("__name__", "=~", "c.*")) == ["cpu"]
    assert names(m("__name__", "=~", "pu")) == []  # anchored, not a substring search
    assert names(m("__name__", "!~", "cpu"), m("host", "=", "a")) == ["mem"]
    assert names(m("__name__", "=~", ".+")) == ["cpu", "mem"]


def test_time_range_includes_both_ends(storage):
    series = key("temp", room="lab")
    storage.write([Sample(series, T0 + i * 10_000, float(i)) for i in range(6)])
    q = storage.querier()

    def times(start, end):
        found = q.select([m("__name__", "=", "temp")], start, end)
        return [(t - T0) // 1000 for t in found[0].t.tolist()] if found else None

    assert times(T0 + 10_000, T0 + 30_000) == [10, 20, 30]
    assert times(T0 + 10_000, T0 + 10_000) == [10]
    assert times(T0 + 10_001, T0 + 19_999) is None  # no sample in range: series left out
    assert times(T0 - HOUR_MS, T0) == [0]
    assert times(T0 + 50_000, FAR) == [50]
    assert times(T0, T0 - 1) is None


def test_nan_payloads_and_the_staleness_marker_survive(storage):
    patterns = [0x7FF8000000000000, STALE_NAN_BITS, 0xFFF8000000000001, bits(math.inf),
                bits(-math.inf), bits(-0.0), 1, bits(1.5)]
    series = key("odd_values")
    storage.write([Sample(series, T0 + i * 1000, from_bits(p)) for i, p in enumerate(patterns)])
    (found,) = storage.querier().select([m("__name__", "=", "odd_values")], T0, FAR)
    assert found.v.view(np.uint64).tolist() == patterns
    assert found.t.tolist() == [T0 + i * 1000 for i in range(len(patterns))]


def test_many_series_and_samples_split_correctly(storage):
    keys = [key("load", node=f"n{i:03d}") for i in range(120)]
    storage.write([Sample(k, T0 + j * 15_000, i * 1000.0 + j) for i, k in enumerate(keys)
                   for j in range(40)])
    found = storage.querier().select([m("__name__", "=", "load")], T0, FAR)
    assert [dict(s.labels)["node"] for s in found] == [f"n{i:03d}" for i in range(120)]
    for i, s in enumerate(found):
        assert s.t.tolist() == [T0 + j * 15_000 for j in range(40)]
        assert s.v.tolist() == [i * 1000.0 + j for j in range(40)]


def test_series_limit(storage):
    storage.write([Sample(key("wide", n=str(i)), T0, 1.0) for i in range(5)])
    assert len(storage.querier(max_series=5).select([m("__name__", "=", "wide")], T0, T0)) == 5
    with pytest.raises(QueryTooLarge, match="more than 4 series"):
        storage.querier(max_series=4).select([m("__name__", "=", "wide")], T0, T0)
    with pytest.raises(QueryTooLarge):
        storage.querier(max_series=4).series([], T0, T0)
    # Only series with samples in range count.
    assert storage.querier(max_series=4).select([m("__name__", "=", "wide")], FAR, FAR) == []


def test_series_labels_and_values_within_a_time_range(storage):
    storage.write([
        Sample(key("cpu", host="a", dc="eu"), T0, 1.0),
        Sample(key("cpu", host="b"), T0 + HOUR_MS, 2.0),
        Sample(key("mem", host="c", rack="r1"), T0 + 2 * HOUR_MS, 3.0),
    ])
    q = storage.querier()
    everything = (T0, FAR)
    assert q.series([], *everything) == [
        (("__name__", "cpu"), ("dc", "eu"), ("host", "a")),
        (("__name__", "cpu"), ("host", "b")),
        (("__name__", "mem"), ("host", "c"), ("rack", "r1")),
    ]
    assert q.series([], T0 + HOUR_MS, T0 + HOUR_MS) == [(("__name__", "cpu"), ("host", "b"))]
    assert q.series([[m("__name__", "=", "cpu"), m("dc", "=", "")],
                     [m("rack", "=~", "r.")]], *everything) == [
        (("__name__", "cpu"), ("host", "b")),
        (("__name__", "mem"), ("host", "c"), ("rack", "r1"))]
    assert q.label_names([], *everything) == ["__name__", "dc", "host", "rack"]
    assert q.label_names([], T0 + HOUR_MS, FAR) == ["__name__", "host", "rack"]
    assert q.label_names([[m("__name__", "=", "cpu")]], *everything) == ["__name__", "dc", "host"]
    assert q.label_values("host", [], *everything) == ["a", "b", "c"]
    assert q.label_values("host", [], T0, T0 + HOUR_MS) == ["a", "b"]
    assert q.label_values("host", [[m("__name__", "=", "mem")], [m("dc", "=", "eu")]],
                          *everything) == ["a", "c"]
    assert q.label_values("__name__", [], *everything) == ["cpu", "mem"]
    assert q.label_values("__name__", [], T0 + 2 * HOUR_MS, FAR) == ["mem"]
    assert q.label_values("dc", [], T0 + HOUR_MS, FAR) == []
    assert q.label_values("nope", [], *everything) == []
    assert q.series([], FAR, FAR) == [] and q.label_names([], FAR, FAR) == []


def test_label_values_with_quotes_and_backslashes_are_bound(storage):
    tricky = "it's \"quoted\" \\ back\\slash'); DROP TABLE series; --"
    storage.write([Sample(key("paths", path=tricky), T0, 1.0),
                   Sample(key("paths", path="plain"), T0, 2.0)])
    q = storage.querier()
    (hit,) = q.select([m("path", "=", tricky)], T0, T0)
    assert dict(hit.labels)["path"] == tricky and hit.v.tolist() == [1.0]
    as_regex = "it's \"quoted\" \\\\ back\\\\slash'\\); DROP TABLE series; --"
    assert [dict(s.labels)["path"] for s in q.select([m("path", "=~", as_regex)], T0, T0)] \
        == [tricky]
    assert [dict(s.labels)["path"] for s in q.select([m("path", "!=", tricky)], T0, T0)] \
        == ["plain"]
    assert q.label_values("path", [[m("path", "=", tricky)]], T0, T0) == [tricky]
    assert q.series([[m("__name__", "=", "paths"), m("path", "!~", as_regex)]], T0, T0) == [
        (("__name__", "paths"), ("path", "plain"))]
    assert len(q.series([], T0, T0)) == 2  # the series table is still there


def test_copy_literals_are_quoted_by_the_driver(storage):
    conn = storage.engine.raw_connection()
    try:
        cur = conn.cursor()
        text = inline_parameters_for_copy(cur, "SELECT %s, %s", ["a'b\\c", [1, 2]])
        cur.execute(text)
        assert cur.fetchone() == ("a'b\\c", [1, 2])
    finally:
        conn.close()


@pytest.mark.parametrize(("re2", "postgres"), [
    ("a|b", "^(?:a|b)$"),
    ("(?i)a.b", "(?i)^(?:a[^\\n]b)$"),
    ("(?s)a.b", "^(?:a.b)$"),
    ("(?si)a", "(?i)^(?:a)$"),
    ("[.]x{2}", "^(?:[.]x{2})$"),
    ("a{,2}}", "^(?:a\\{,2\\}\\})$"),
    ("\\bx\\B\\z", "^(?:\\yx\\Y\\Z)$"),
    ("\\x41\\x{1F600}", "^(?:\\u0041\\U0001f600)$"),
    ("[]a[:alpha:]]", "^(?:[]a[:alpha:]])$"),
    ("(?:a)+", "^(?:(?:a)+)$"),
    ("(?i:a)", None), ("a(?i)b", None), ("(?P<n>a)", None), ("(?U)a*", None),
    ("\\1", None), ("\\pL", None), ("[\\D]", None), ("[[.a.]]", None),
])
def test_re2_to_postgres_regex(re2, postgres):
    assert postgres_regex(re2) == postgres


def test_regexes_postgresql_cannot_run_are_applied_in_python(storage):
    storage.write([Sample(key("jobs", group=g, dc=dc), T0, 1.0)
                   for g, dc in (("production", "eu"), ("canary", "eu"), ("PRODUCTION", "us"))])
    q = storage.querier(max_series=2)

    def groups(*matchers):
        return sorted(dict(s.labels)["group"] for s in q.select(list(matchers), T0, T0))

    assert groups(m("group", "=~", ".*(?i:TION)")) == ["PRODUCTION", "production"]
    assert groups(m("group", "=~", "((?i)PRO).*")) == ["PRODUCTION", "production"]
    assert groups(m("group", "=~", "((?i)PRO).*"), m("dc", "=", "eu")) == ["production"]
    assert groups(m("group", "!~", "(?i:p).*"), m("__name__", "=", "jobs")) == ["canary"]
    assert q.series([[m("group", "=~", "(?i:CAN).*")], [m("dc", "=", "us")]], T0, T0) == [
        (("__name__", "jobs"), ("dc", "eu"), ("group", "canary")),
        (("__name__", "jobs"), ("dc", "us"), ("group", "PRODUCTION"))]
    assert q.label_values("group", [[m("group", "=~", "(?i:P).*")]], T0, T0) == [
        "PRODUCTION", "production"]
    assert q.label_names([[m("dc", "=~", "(?i:US)")]], T0, T0) == ["__name__", "dc", "group"]
    # The series limit counts what the regex kept, not the rows SQL read before it.
    with pytest.raises(QueryTooLarge):
        q.select([m("group", "=~", "(?i:.)+")], T0, T0)


def expected_rollup(samples: list[Sample], bucket_ms: int) -> dict:
    """What the rollup of ``samples`` must say, per (host, bucket): staleness markers
    are not data."""
    groups = defaultdict(list)
    for s in samples:
        if bits(s.value) != STALE_NAN_BITS:
            groups[(dict(s.series.labels)["host"], s.timestamp_ms // bucket_ms * bucket_ms)] \
                .append(s)
    out = {}
    for k, group in sorted(groups.items()):
        group.sort(key=lambda s: s.timestamp_ms)
        values = [s.value for s in group]
        out[k] = (min(values), max(values), sum(values), len(values), group[-1].value,
                  group[-1].timestamp_ms, group[0].value, group[0].timestamp_ms)
    return out


def rollup_as_dict(found) -> dict:
    out = {}
    for series in found:
        host = dict(series.labels)["host"]
        for i, bucket in enumerate(series.bucket.tolist()):
            out[(host, bucket)] = (
                float(series.min[i]), float(series.max[i]), float(series.sum[i]),
                int(series.count[i]), float(series.last[i]), int(series.last_time[i]),
                float(series.first[i]), int(series.first_time[i]))
    return out


def test_rollup_reads(storage):
    samples = []
    for h, host in enumerate(("a", "b")):
        for i in range(0, 150 * 60, 7):  # every 7 s for 2.5 hours
            samples.append(Sample(key("lat", host=host), T0 + i * 1000 + h,
                                  float((i * 31 + h * 17) % 97 - 20)))
    # A staleness marker late in a minute: it is neither the last nor counted.
    samples.append(Sample(key("lat", host="a"), T0 + 125_500, from_bits(STALE_NAN_BITS)))
    storage.write(samples)
    storage.roll_up()
    q = storage.querier()
    for bucket_ms in (60_000, 3_600_000):
        read = q.select_rollup([m("__name__", "=", "lat")], bucket_ms, T0, FAR)
        assert read.pending == []  # rolled up: nothing waits for the maintenance loop
        found = read.series
        assert [dict(s.labels) for s in found] == [{"__name__": "lat", "host": "a"},
                                                   {"__name__": "lat", "host": "b"}]
        assert all(s.bucket.dtype == np.int64 and s.count.dtype == np.int64 for s in found)
        assert rollup_as_dict(found) == expected_rollup(samples, bucket_ms)
    # Inclusive bucket range: buckets starting at T0+1m .. T0+3m are three.
    (a, _b) = q.select_rollup([m("__name__", "=", "lat")], 60_000, T0 + 60_000,
                              T0 + 180_000).series
    assert (a.bucket - T0).tolist() == [60_000, 120_000, 180_000]
    assert q.select_rollup([m("host", "=", "zzz")], 60_000, T0, FAR).series == []
    with pytest.raises(ValueError, match="no rollup of 300000 ms"):
        q.select_rollup([], 300_000, T0, FAR)


def test_rollup_bucket_without_a_recorded_first_sample(fresh_database_url):
    """A bucket rolled up before first samples were recorded, whose raw samples are gone."""
    storage = Storage(fresh_database_url, StorageMode.POSTGRES)
    try:
        storage.write([Sample(key("old", host="a"), T0 + i * 10_000, float(i)) for i in range(12)])
        storage.roll_up()
        conn = psycopg2.connect(storage.url)
        with conn, conn.cursor() as cur:
            cur.execute("UPDATE samples_1m SET first = NULL, first_time = NULL"
                        " WHERE bucket = %s", (datetime_of(T0),))
        conn.close()
        (series,) = storage.querier().select_rollup([m("__name__", "=", "old")], 60_000, T0,
                                                    FAR).series
        assert (series.bucket - T0).tolist() == [0, 60_000]
        assert series.first_time.tolist() == [UNKNOWN_TIME, T0 + 60_000]
        assert math.isnan(series.first[0]) and series.first[1] == 6.0
        assert series.count.tolist() == [6, 6] and series.last.tolist() == [5.0, 11.0]
    finally:
        storage.close()


def test_rollup_reads_count_only_series_with_buckets(storage):
    """The series limit counts the series with buckets in the range, whether the match is
    checked by the read itself or (beyond four times the limit) by SQL first."""
    samples = [Sample(key("many", host=str(h)), T0 + h * 60_000 + 5_000, float(h))
               for h in range(12)]  # one bucket each, a minute apart
    storage.write(samples)
    storage.roll_up()
    selector = [m("__name__", "=", "many")]
    # 12 series match; 3 have buckets in the first three minutes.
    for max_series in (3, 2):  # 12 <= 4 * 3: one read; 12 > 4 * 2: SQL asks first
        q = storage.querier(max_series=max_series)
        if max_series == 3:
            found = q.select_rollup(selector, 60_000, T0, T0 + 120_000).series
            assert [dict(s.labels)["host"] for s in found] == ["0", "1", "2"]
        else:
            with pytest.raises(QueryTooLarge, match="more than 2 series"):
                q.select_rollup(selector, 60_000, T0, T0 + 120_000)
        assert len(q.select_rollup(selector, 60_000, T0, T0 + 60_000).series) == 2
    with pytest.raises(QueryTooLarge, match="more than 3 series"):
        storage.querier(max_series=3).select_rollup(selector, 60_000, T0, T0 + 180_000)
    with pytest.raises(QueryTooLarge, match="more than 2 series"):
        storage.querier(max_series=2).select_rollup(selector, 60_000, T0, FAR)


def test_binary_copy_is_decoded_in_place_and_drift_refused(fresh_database_url):
    """What PostgreSQL sends for ``(series_id, time, value)`` rows decodes as a view of the
    buffer; a NULL, a missing column or foreign bytes are refused, never misread."""
    conn = psycopg2.connect(fresh_database_url)
    try:
        with conn.cursor() as cur:
            def copy(select: str) -> bytearray:
                buffer = io.BytesIO()
                cur.copy_expert(f"COPY ({select}) TO STDOUT (FORMAT binary)", buffer)
                return bytearray(buffer.getvalue())

            good = copy("SELECT 7::int4, timestamptz '2000-01-01 00:00:01+00', 2.5::float8")
            with_null = copy("SELECT 7::int4, NULL::timestamptz, 2.5::float8")
            narrow = copy("SELECT 7::int4, 2.5::float8")
    finally:
        conn.close()
    rows = decode_binary_copy(memoryview(good), SAMPLE_ROW)
    assert rows["series_id"].tolist() == [7] and rows["time"].tolist() == [1_000_000]
    assert rows["value"].tolist() == [2.5]
    good[-5] ^= 0xFF  # the view sees the buffer itself
    assert rows["value"].tolist() != [2.5]
    for data in (with_null, narrow, b"not a copy" + bytes(good[10:])):
        with pytest.raises(CopyFormatError):
            decode_binary_copy(memoryview(data), SAMPLE_ROW)
