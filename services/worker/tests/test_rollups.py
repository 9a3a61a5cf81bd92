"""Both storage modes give identical 1-minute and 1-hour rollups for the same data,
late samples included, and both equal what the raw samples say: staleness markers left
out, ordinary NaNs kept, counter corrections as Prometheus counts them, also for rollups
computed before migrations 0004 and 0008."""

import itertools
import math
import random
import struct
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import psycopg2
import pytest
from alembic import command

from lookout_common.codec import SampleBatch
from lookout_common.db.schema import alembic_config, migrate
from lookout_common.series import Sample, SeriesKey
from lookout_common.settings import StorageMode
from lookout_common.testing import timescaledb_available
from lookout_worker.maintenance import Maintenance
from lookout_worker.partitions import PartitionManager
from lookout_worker.rollups import TimescaleRollups
from lookout_worker.settings import WorkerSettings
from lookout_worker.store import InboundMessage, SampleStore

MINUTE_MS, HOUR_MS, DAY_MS = 60_000, 3_600_000, 86_400_000
SERIES = [SeriesKey("latency_ms", (("service", s),)) for s in ("api", "auth", "db")]
# Hour-aligned start four hours back: 170 minutes of data fill three hour buckets.
START_MS = (int(time.time() * 1000) // HOUR_MS - 4) * HOUR_MS

STALE_BITS = 0x7FF0000000000002


def from_bits(pattern: int) -> float:
    return struct.unpack(">d", struct.pack(">Q", pattern))[0]


def bits(value: float) -> int:
    return struct.unpack(">Q", struct.pack(">d", value))[0]


STALE = from_bits(STALE_BITS)
NAN = from_bits(0x7FF8000000000000)  # ordinary NaNs: real samples, kept
NEGATIVE_NAN = from_bits(0xFFF8000000000000)
PAYLOAD_NAN = from_bits(0x7FF8000000000002)  # the marker's payload, but a quiet NaN


def generate(seed: int) -> tuple[list[Sample], list[Sample]]:
    """On-time samples every 7 s and late ones that arrive after a first rollup.
    Values are small integers so every sum is exact in float64."""
    rng = random.Random(seed)
    on_time, late = [], []
    for key in SERIES:
        for t in range(START_MS, START_MS + 170 * MINUTE_MS, 7_000):
            on_time.append(Sample(key, t, float(rng.randint(-50, 500))))
        for _ in range(40):
            t = START_MS + rng.randrange(0, 170 * MINUTE_MS, 1000) + 500  # between on-time points
            late.append(Sample(key, t, float(rng.randint(-50, 500))))
    return on_time, late


def canonical(value: float) -> float | str:
    """PostgreSQL orders every NaN alike (above all numbers): compare NaN-ness only."""
    return "NaN" if math.isnan(value) else value


def counter_correction(values: list[float]) -> float:
    """Prometheus's counter correction of consecutive samples: the value before each
    drop, summed (a pair with a NaN is no drop)."""
    return sum(prev for prev, cur in itertools.pairwise(values) if cur < prev)


def expected(samples: list[Sample], bucket_ms: int) -> dict:
    """What a rollup row must hold, computed from the raw samples with PostgreSQL's float8
    semantics: min, max, sum, count, first (bits), first_time, last (bits), last_time,
    counter correction."""
    groups = defaultdict(list)
    for s in samples:
        if bits(s.value) != STALE_BITS:
            groups[(s.timestamp_ms // bucket_ms * bucket_ms, s.series.labels[0][1])].append(s)
    out = {}
    for k, group in groups.items():
        group.sort(key=lambda s: s.timestamp_ms)
        values = [s.value for s in group]
        numbers = [v for v in values if not math.isnan(v)]
        out[k] = (
            min(numbers) if numbers else "NaN",
            max(numbers) if len(numbers) == len(values) else "NaN",
            canonical(sum(values)),
            len(values),
            bits(group[0].value), group[0].timestamp_ms,
            bits(group[-1].value), group[-1].timestamp_ms,
            counter_correction(values),
        )
    return out


def read_rollup(url: str, table: str) -> dict:
    """Every row of ``table`` in the form ``expected`` gives (first and first_time None
    where the migration could not recompute a row)."""
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(f"""
                SELECT (extract(epoch FROM r.bucket) * 1000)::bigint, s.labels->>'service',
                       r.min, r.max, r.sum, r.count,
                       float8send(r.first), (extract(epoch FROM r.first_time) * 1000)::bigint,
                       float8send(r.last), (extract(epoch FROM r.last_time) * 1000)::bigint,
                       r.correction
                FROM {table} r JOIN series s ON s.id = r.series_id""")
            return {
                (bucket, service): (canonical(mn), canonical(mx), canonical(sm), int(count),
                                    first and int.from_bytes(first, "big"), first_time,
                                    int.from_bytes(last, "big"), last_time, correction)
                for bucket, service, mn, mx, sm, count, first, first_time, last, last_time,
                correction in cur.fetchall()
            }
    finally:
        conn.close()


def write(store: SampleStore, samples: list[Sample], tag: str) -> None:
    for i in range(0, len(samples), 500):
        chunk = samples[i:i + 500]
        store.write([InboundMessage(i, f"{tag}-{i}", SampleBatch.from_samples(chunk))])


def load_and_roll_up(url: str, mode: StorageMode) -> None:
    settings = WorkerSettings(database_url=url, storage_mode=mode)
    assert migrate(settings) is mode
    store = SampleStore(settings, mode)
    on_time, late = generate(seed=7)
    conn = psycopg2.connect(url)
    try:
        write(store, on_time, "on")
        roll_up(settings, mode, conn)
        # Late samples land in buckets that were already rolled up.
        write(store, late, "late")
        roll_up(settings, mode, conn)
    finally:
        store.close()
        conn.close()


def roll_up(settings: WorkerSettings, mode: StorageMode, conn) -> None:
    if mode is StorageMode.POSTGRES:
        assert Maintenance(settings, mode).run_once(conn, now=datetime.now(UTC))
    else:
        TimescaleRollups().refresh(conn, None, None)


def materialized_only(url: str) -> None:
    """Read what the continuous aggregates stored, not real-time unions with raw data."""
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("ALTER MATERIALIZED VIEW samples_1m SET (timescaledb.materialized_only = true)")
        cur.execute("ALTER MATERIALIZED VIEW samples_1h SET (timescaledb.materialized_only = true)")
    conn.close()


def test_rollups_identical_in_both_modes(servers, database_url_factory):
    on_time, late = generate(seed=7)
    want_1m = expected(on_time + late, MINUTE_MS)
    want_1h = expected(on_time + late, HOUR_MS)
    assert len(want_1h) == 3 * len(SERIES)
    # Drops inside minutes and between them: the hours' corrections hold both.
    assert all(v[8] > 0 for v in want_1h.values())
    assert sum(v[8] for v in want_1h.values()) > sum(v[8] for v in want_1m.values())

    plain_url = database_url_factory()
    load_and_roll_up(plain_url, StorageMode.POSTGRES)
    plain_1m, plain_1h = read_rollup(plain_url, "samples_1m"), read_rollup(plain_url, "samples_1h")
    assert plain_1m == want_1m
    assert plain_1h == want_1h

    ok, why = timescaledb_available(servers)
    if not ok:
        pytest.skip(f"plain mode verified; TimescaleDB half not run: {why}")
    ts_url = database_url_factory()
    load_and_roll_up(ts_url, StorageMode.TIMESCALEDB)
    materialized_only(ts_url)
    assert read_rollup(ts_url, "samples_1m") == plain_1m
    assert read_rollup(ts_url, "samples_1h") == plain_1h


def at(minute: int, second: float) -> int:
    return START_MS + minute * MINUTE_MS + int(second * 1000)


def with_markers(seed: int) -> list[Sample]:
    """Staleness markers and ordinary NaNs first, last, alone and mixed in a bucket (the
    first series), and at random among numbers (the others)."""
    edges = SERIES[0]
    samples = [
        # minute 0: markers around the real samples, an ordinary NaN among them
        Sample(edges, at(0, 0), STALE), Sample(edges, at(0, 10), 1.0),
        Sample(edges, at(0, 20), NAN), Sample(edges, at(0, 30), 2.0),
        Sample(edges, at(0, 50), STALE),
        # minute 1: markers only, so no row
        Sample(edges, at(1, 0), STALE), Sample(edges, at(1, 30), STALE),
        # minute 2: ordinary NaNs first and last (one negative, one with the marker's payload)
        Sample(edges, at(2, 5), NEGATIVE_NAN), Sample(edges, at(2, 10), 3.0),
        Sample(edges, at(2, 40), PAYLOAD_NAN),
        # minute 3: one ordinary NaN alone
        Sample(edges, at(3, 0), NAN),
        # minute 4: a marker between numbers
        Sample(edges, at(4, 0), -5.0), Sample(edges, at(4, 0.001), STALE),
        Sample(edges, at(4, 0.002), 7.0),
        # hour 1: markers only, so no row in either rollup
        *(Sample(edges, at(m, 15), STALE) for m in range(60, 120, 7)),
        # hour 2: the hour opens and closes with markers
        Sample(edges, at(120, 0), STALE), Sample(edges, at(120, 30), 4.0),
        Sample(edges, at(179, 0), 5.0), Sample(edges, at(179, 59), STALE),
    ]
    rng = random.Random(seed)
    for key in SERIES[1:]:
        for t in range(START_MS, START_MS + 170 * MINUTE_MS, 5_000):
            value = rng.choice([STALE, NAN, float(rng.randint(-50, 500))] + [1.0] * 5)
            samples.append(Sample(key, t, value))
    return samples


def test_rollups_leave_out_staleness_markers(fresh_database_url, storage_mode):
    settings = WorkerSettings(database_url=fresh_database_url, storage_mode=storage_mode)
    assert migrate(settings) is storage_mode
    samples = with_markers(seed=3)
    want_1m, want_1h = expected(samples, MINUTE_MS), expected(samples, HOUR_MS)
    # The data has what it is meant to have, so the comparison below tests it.
    api = SERIES[0].labels[0][1]
    minute_0 = want_1m[(at(0, 0), api)]
    assert (minute_0[3], minute_0[4], minute_0[6]) == (3, bits(1.0), bits(2.0))
    assert (at(1, 0), api) not in want_1m and (START_MS + HOUR_MS, api) not in want_1h
    assert want_1m[(at(2, 0), api)][:5] == (3.0, "NaN", "NaN", 3, bits(NEGATIVE_NAN))
    assert want_1h[(START_MS + 2 * HOUR_MS, api)][4:8] == (bits(4.0), at(120, 30), bits(5.0),
                                                           at(179, 0))

    store = SampleStore(settings, storage_mode)
    conn = psycopg2.connect(fresh_database_url)
    try:
        write(store, samples, "markers")
        if storage_mode is StorageMode.TIMESCALEDB:
            # Real-time aggregation over raw samples leaves the markers out too.
            assert read_rollup(fresh_database_url, "samples_1m") == want_1m
            assert read_rollup(fresh_database_url, "samples_1h") == want_1h
        roll_up(settings, storage_mode, conn)
    finally:
        store.close()
        conn.close()
    if storage_mode is StorageMode.TIMESCALEDB:
        materialized_only(fresh_database_url)
    assert read_rollup(fresh_database_url, "samples_1m") == want_1m
    assert read_rollup(fresh_database_url, "samples_1h") == want_1h


# Rollups as revision 0003's worker computed them (markers counted, no first).
REVISION_0003_ROLLUP_SQL = """
INSERT INTO samples_1m (bucket, series_id, min, max, sum, count, last, last_time)
SELECT date_bin(interval '1 minute', time, timestamptz 'epoch'), series_id, min(value),
       max(value), sum(value), count(*), (array_agg(value ORDER BY time DESC))[1], max(time)
FROM samples GROUP BY 1, 2;
INSERT INTO samples_1h (bucket, series_id, min, max, sum, count, last, last_time)
SELECT date_bin(interval '1 hour', bucket, timestamptz 'epoch'), series_id, min(min),
       max(max), sum(sum), sum(count)::bigint, (array_agg(last ORDER BY last_time DESC))[1],
       max(last_time)
FROM samples_1m GROUP BY 1, 2;
DELETE FROM rollup_invalidations;
"""

POLICIES_SQL = """
SELECT hypertable_name, proc_name, scheduled, schedule_interval,
       config - 'mat_hypertable_id' - 'hypertable_id'
FROM timescaledb_information.jobs WHERE hypertable_name IN ('samples_1m', 'samples_1h')
ORDER BY 1, 2
"""


def read_0003_rollup(url: str, table: str) -> dict:
    """A revision-0003 rollup in the form ``read_rollup`` gives after the upgrade."""
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(f"""
                SELECT (extract(epoch FROM r.bucket) * 1000)::bigint, s.labels->>'service',
                       r.min, r.max, r.sum, r.count,
                       float8send(r.last), (extract(epoch FROM r.last_time) * 1000)::bigint
                FROM {table} r JOIN series s ON s.id = r.series_id""")
            return {(bucket, service): (canonical(mn), canonical(mx), canonical(sm), int(count),
                                        None, None, int.from_bytes(last, "big"), last_time,
                                        None)
                    for bucket, service, mn, mx, sm, count, last, last_time in cur.fetchall()}
    finally:
        conn.close()


def test_upgrade_recomputes_rollups_and_keeps_those_past_raw_retention(
        fresh_database_url, storage_mode):
    """Rollups stored at revision 0003 are recomputed where raw samples still exist and
    kept, without first, where raw retention already dropped them."""
    url = fresh_database_url
    # Raw retention 3 days: the refresh policies' windows start 2 days back, so the
    # policies never touch the old day below (60 h back).
    settings = WorkerSettings(database_url=url, storage_mode=storage_mode, retention_raw_days=3)
    command.upgrade(alembic_config(settings), "0003")
    old_start_ms = START_MS - 56 * HOUR_MS
    old = [Sample(s.series, s.timestamp_ms - 56 * HOUR_MS, s.value)
           for s in with_markers(seed=5) if s.timestamp_ms < START_MS + 30 * MINUTE_MS]
    recent = with_markers(seed=6)
    store = SampleStore(settings, storage_mode)
    conn = psycopg2.connect(url)
    try:
        write(store, old + recent, "before")
        if storage_mode is StorageMode.POSTGRES:
            with conn.cursor() as cur:
                cur.execute(REVISION_0003_ROLLUP_SQL)
            conn.commit()
        else:
            TimescaleRollups().refresh(conn, None, None)
            with conn.cursor() as cur:
                cur.execute(POLICIES_SQL)
                policies = cur.fetchall()
            conn.commit()
        before_1m, before_1h = read_0003_rollup(url, "samples_1m"), read_0003_rollup(
            url, "samples_1h")
        # Raw retention drops the old day.
        old_day_end = datetime.fromtimestamp((old_start_ms // DAY_MS + 1) * DAY_MS / 1000, UTC)
        if storage_mode is StorageMode.POSTGRES:
            assert PartitionManager().drop_before(conn, old_day_end.date())
        else:
            with conn.cursor() as cur:
                cur.execute("SELECT drop_chunks('samples', older_than => %s)", (old_day_end,))
                assert cur.fetchall()
            conn.commit()
    finally:
        store.close()
        conn.close()

    assert migrate(settings) is storage_mode

    kept_1m = {k: v for k, v in before_1m.items() if k[0] < START_MS}
    kept_1h = {k: v for k, v in before_1h.items() if k[0] < START_MS}
    # The old rows counted markers: keeping them as they were is what is tested.
    assert any(v[3] > expected(old, MINUTE_MS).get(k, (0,) * 4)[3] for k, v in kept_1m.items())
    assert len(kept_1h) == len(SERIES)
    want_1m = {**kept_1m, **expected(recent, MINUTE_MS)}
    want_1h = {**kept_1h, **expected(recent, HOUR_MS)}
    assert read_rollup(url, "samples_1m") == want_1m
    assert read_rollup(url, "samples_1h") == want_1h
    # Rolling up afterwards (a whole-range refresh in TimescaleDB mode) keeps the kept rows.
    conn = psycopg2.connect(url)
    try:
        roll_up(settings, storage_mode, conn)
    finally:
        conn.close()
    assert read_rollup(url, "samples_1m") == want_1m
    if storage_mode is StorageMode.TIMESCALEDB:
        # The migration materialized the raw window itself, and the policies are the same
        # (the refresh policies scheduled again).
        materialized_only(url)
        assert read_rollup(url, "samples_1m") == want_1m
        assert read_rollup(url, "samples_1h") == want_1h
        conn = psycopg2.connect(url)
        try:
            with conn.cursor() as cur:
                cur.execute(POLICIES_SQL)
                assert cur.fetchall() == policies
        finally:
            conn.close()


def test_plain_retention_drops_old_partitions_and_rollups(fresh_database_url):
    settings = WorkerSettings(database_url=fresh_database_url, storage_mode=StorageMode.POSTGRES,
                              retention_raw_days=2, retention_1m_days=3)
    migrate(settings)
    store = SampleStore(settings, StorageMode.POSTGRES)
    now = datetime.now(UTC)
    key = SeriesKey("kept", ())
    times = [now - timedelta(days=d) for d in (0, 1, 4)]
    batch = SampleBatch.from_samples([Sample(key, int(t.timestamp() * 1000), 1.0) for t in times])
    store.write([InboundMessage(1, "m", batch)])
    store.close()
    conn = psycopg2.connect(fresh_database_url)
    try:
        assert Maintenance(settings, StorageMode.POSTGRES).run_once(conn, now=now)
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM samples")
            assert cur.fetchone() == (2,)  # the 4-day-old partition is gone
            cur.execute("SELECT count(*) FROM samples_1m")
            assert cur.fetchone() == (2,)  # rolled up before the drop, then past 3 days
            cur.execute("SELECT count(*) FROM samples_1h")
            assert cur.fetchone() == (3,)  # the hour rollup keeps all three
            cur.execute("SELECT count(*) FROM rollup_invalidations")
            assert cur.fetchone() == (0,)
    finally:
        conn.close()
