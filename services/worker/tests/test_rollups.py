"""Both storage modes give identical 1-minute and 1-hour rollups for the same data,
late samples included, and both equal what the raw samples say."""

import random
import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import psycopg2
import pytest

from lookout_common.codec import SampleBatch
from lookout_common.db.schema import migrate
from lookout_common.series import Sample, SeriesKey
from lookout_common.settings import StorageMode
from lookout_common.testing import timescaledb_available
from lookout_worker.maintenance import Maintenance
from lookout_worker.rollups import TimescaleRollups
from lookout_worker.settings import WorkerSettings
from lookout_worker.store import InboundMessage, SampleStore

SERIES = [SeriesKey("latency_ms", (("service", s),)) for s in ("api", "auth", "db")]
# Hour-aligned start four hours back: 170 minutes of data fill three hour buckets.
START_MS = (int(time.time() * 1000) // 3_600_000 - 4) * 3_600_000


def generate(seed: int) -> tuple[list[Sample], list[Sample]]:
    """On-time samples every 7 s and late ones that arrive after a first rollup.
    Values are small integers so every sum is exact in float64."""
    rng = random.Random(seed)
    on_time, late = [], []
    for key in SERIES:
        for t in range(START_MS, START_MS + 170 * 60_000, 7_000):
            on_time.append(Sample(key, t, float(rng.randint(-50, 500))))
        for _ in range(40):
            t = START_MS + rng.randrange(0, 170 * 60_000, 1000) + 500  # between on-time points
            late.append(Sample(key, t, float(rng.randint(-50, 500))))
    return on_time, late


def expected(samples: list[Sample], bucket_ms: int) -> dict:
    groups = defaultdict(list)
    for s in samples:
        groups[(s.timestamp_ms // bucket_ms * bucket_ms, s.series.labels[0][1])].append(s)
    out = {}
    for k, group in groups.items():
        values = [s.value for s in group]
        last = max(group, key=lambda s: s.timestamp_ms).value
        out[k] = (min(values), max(values), sum(values), len(values), last)
    return out


def read_rollup(url: str, table: str) -> dict:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(f"""
                SELECT (extract(epoch FROM r.bucket) * 1000)::bigint, s.labels->>'service',
                       r.min, r.max, r.sum, r.count, r.last
                FROM {table} r JOIN series s ON s.id = r.series_id""")
            return {(b, svc): (mn, mx, sm, int(c), last) for b, svc, mn, mx, sm, c, last
                    in cur.fetchall()}
    finally:
        conn.close()


def load_and_roll_up(url: str, mode: StorageMode) -> None:
    settings = WorkerSettings(database_url=url, storage_mode=mode)
    assert migrate(settings) is mode
    store = SampleStore(settings, mode)
    on_time, late = generate(seed=7)
    conn = psycopg2.connect(url)
    try:
        for i in range(0, len(on_time), 500):
            chunk = on_time[i:i + 500]
            store.write([InboundMessage(i, f"on-{i}", SampleBatch.from_samples(chunk))])
        roll_up(settings, mode, conn)
        # Late samples land in buckets that were already rolled up.
        store.write([InboundMessage(1, "late", SampleBatch.from_samples(late))])
        roll_up(settings, mode, conn)
    finally:
        store.close()
        conn.close()


def roll_up(settings: WorkerSettings, mode: StorageMode, conn) -> None:
    if mode is StorageMode.POSTGRES:
        assert Maintenance(settings, mode).run_once(conn, now=datetime.now(UTC))
    else:
        TimescaleRollups().refresh(conn, None, None)


def test_rollups_identical_in_both_modes(servers, database_url_factory):
    on_time, late = generate(seed=7)
    want_1m = expected(on_time + late, 60_000)
    want_1h = expected(on_time + late, 3_600_000)
    assert len(want_1h) == 3 * len(SERIES)

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
    # Materialized only: what the continuous aggregates stored, not real-time unions.
    conn = psycopg2.connect(ts_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("ALTER MATERIALIZED VIEW samples_1m SET (timescaledb.materialized_only = true)")
        cur.execute("ALTER MATERIALIZED VIEW samples_1h SET (timescaledb.materialized_only = true)")
    conn.close()
    assert read_rollup(ts_url, "samples_1m") == plain_1m
    assert read_rollup(ts_url, "samples_1h") == plain_1h


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
