"""Loading the ``bench-query`` data set straight into Lookout's storage, once.

The database is the benchmark's own (``lookout_bench_query`` by default), created and
migrated like any Lookout database. Series rows go in through the worker's
``SeriesRegistry`` (so ids and fingerprints are the worker's), samples with the
worker's binary COPY format in time order, as the worker would write them, and the
rollups are brought up to date the way the service does it: plain PostgreSQL through
``PlainRollups.catch_up`` on the ranges logged in ``rollup_invalidations`` (one day at
a time), TimescaleDB by refreshing the continuous aggregates.

When the load has finished, a row in ``bench_query_dataset`` records its parameters;
a later run with the same parameters (and storage mode) reuses the database.
"""

from __future__ import annotations

import io
import json
import time
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg2
import psycopg2.extensions
from alembic.script import ScriptDirectory

from lookout_common.db.connection import drop_database, ensure_database
from lookout_common.db.schema import alembic_config, migrate
from lookout_common.series import SeriesKey
from lookout_common.settings import DatabaseSettings, StorageMode
from lookout_worker.copy_format import COPY_SAMPLES_SQL, encode_sample_rows
from lookout_worker.partitions import PartitionManager, day_of_ms
from lookout_worker.rollups import PlainRollups, TimescaleRollups
from lookout_worker.series_registry import SeriesRegistry
from lookout_worker.store import INVALIDATE_SQL, touched_minute_ranges

from .query_data import Dataset, DatasetParams

DATASET_TABLE_SQL = """
CREATE TABLE IF NOT EXISTS bench_query_dataset (
    id           integer PRIMARY KEY CHECK (id = 1),
    params       jsonb NOT NULL,
    storage_mode text NOT NULL,
    series       integer NOT NULL,
    samples      bigint NOT NULL,
    load_seconds double precision NOT NULL,
    loaded_at    timestamptz NOT NULL DEFAULT now()
)
"""
RECORD_DATASET_SQL = """
INSERT INTO bench_query_dataset (id, params, storage_mode, series, samples, load_seconds)
VALUES (1, %s, %s, %s, %s, %s)
ON CONFLICT (id) DO UPDATE SET params = EXCLUDED.params, storage_mode = EXCLUDED.storage_mode,
    series = EXCLUDED.series, samples = EXCLUDED.samples,
    load_seconds = EXCLUDED.load_seconds, loaded_at = now()
"""
COPY_POINTS = 360  # scrapes per COPY: one hour of the data set


class RecordedDataset:
    def __init__(self, params: DatasetParams, storage_mode: StorageMode, samples: int,
                 load_seconds: float, loaded_at: datetime, schema_version: str) -> None:
        self.params = params
        self.storage_mode = storage_mode
        self.samples = samples
        self.load_seconds = load_seconds
        self.loaded_at = loaded_at
        self.schema_version = schema_version


def schema_head(url: str) -> str:
    """The newest migration (a kept database is migrated to it, as a live one would be)."""
    config = alembic_config(DatabaseSettings(database_url=url))
    return ScriptDirectory.from_config(config).get_current_head() or ""


def database_name(url: str) -> str:
    return psycopg2.extensions.parse_dsn(url)["dbname"]


def recorded_dataset(url: str) -> RecordedDataset | None:
    """What a finished earlier load recorded, or None (no database, no record)."""
    try:
        conn = psycopg2.connect(url, connect_timeout=5)
    except psycopg2.OperationalError as exc:
        if "does not exist" in str(exc):
            return None
        raise
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT to_regclass('bench_query_dataset') IS NOT NULL")
            if not cur.fetchone()[0]:
                return None
            cur.execute("SELECT params, storage_mode, samples, load_seconds, loaded_at"
                        " FROM bench_query_dataset WHERE id = 1")
            row = cur.fetchone()
            cur.execute("SELECT version_num FROM alembic_version")
            (schema_version,) = cur.fetchone()
    finally:
        conn.close()
    if row is None:
        return None
    params, mode, samples, seconds, loaded_at = row
    known = set(DatasetParams.__dataclass_fields__)
    return RecordedDataset(DatasetParams(**{k: v for k, v in params.items() if k in known}),
                           StorageMode(mode), samples, seconds, loaded_at, schema_version)


def reusable(recorded: RecordedDataset | None, wanted: DatasetParams,
             mode: StorageMode) -> bool:
    """Same shape, seed and generator (the end time is the recorded one's)."""
    if recorded is None:
        return False
    same = recorded.params.record() | {"end_ms": 0} == wanted.record() | {"end_ms": 0}
    return same and mode in (StorageMode.AUTO, recorded.storage_mode)


def migrate_kept(url: str, recorded: RecordedDataset) -> str:
    """Bring a kept database to the newest schema; returns what was done, for the log."""
    head = schema_head(url)
    if recorded.schema_version == head:
        return f"schema {head}"
    started = time.perf_counter()
    migrate(DatabaseSettings(database_url=url, storage_mode=recorded.storage_mode))
    return (f"schema migrated from {recorded.schema_version} to {head} in "
            f"{time.perf_counter() - started:.0f} s")


def copy_chunk_rows(cur: psycopg2.extensions.cursor, times: np.ndarray, series_ids: np.ndarray,
                    values: np.ndarray, mode: StorageMode) -> None:
    """One COPY of a (series by scrapes) block, rows in time order (scrape by scrape);
    in plain mode the touched minutes are logged for rollup maintenance, as the
    worker does."""
    t = times.T.ravel()
    sid = np.broadcast_to(series_ids[None, :], times.T.shape).ravel()
    payload = encode_sample_rows(t, sid, values.T.ravel())
    cur.copy_expert(COPY_SAMPLES_SQL.format(table="samples"), io.BytesIO(payload))
    if mode is StorageMode.POSTGRES:
        lo, hi = touched_minute_ranges(t)
        cur.execute(INVALIDATE_SQL, (lo, hi))


POLICY_JOBS_SQL = """
SELECT alter_job(job_id, scheduled => %s) FROM timescaledb_information.jobs
WHERE proc_name = ANY(%s)
"""
POLICIES = ["policy_refresh_continuous_aggregate", "policy_compression", "policy_retention"]


def pause_policies(conn: psycopg2.extensions.connection) -> None:
    """No background refresh or compression while the data set is written: the load
    refreshes and compresses itself when every sample is in."""
    with conn.cursor() as cur:
        cur.execute(POLICY_JOBS_SQL, (False, POLICIES))
    conn.commit()


def settle_timescaledb(conn: psycopg2.extensions.connection, params: DatasetParams) -> None:
    """Bring a freshly loaded TimescaleDB database to the state its policies keep a live
    one in when the data set ends now, then freeze it there for later runs:

    * refresh both continuous aggregates over the whole data set, a day at a time
      (whole days: a refresh only materialises buckets entirely inside its window);
    * compress the chunks older than 2 days before the data's end, as the compression
      policy does, then remove that policy and the retention policies, so that a kept
      database is the same data set next week (retention would drop its first days,
      the policy would compress the rest); the refresh policies run again.
    """
    refresh = TimescaleRollups()
    day = datetime.fromtimestamp(params.start_ms / 1000, tz=UTC).replace(
        hour=0, minute=0, second=0, microsecond=0)
    end = datetime.fromtimestamp(params.end_ms / 1000, tz=UTC)
    while day < end:
        refresh.refresh(conn, day, day + timedelta(days=1))
        day += timedelta(days=1)
    with conn.cursor() as cur:
        for relation in ("samples", "samples_1m", "samples_1h"):
            cur.execute("SELECT remove_retention_policy(%s, if_exists => true)", (relation,))
        cur.execute("SELECT remove_compression_policy('samples', if_exists => true)")
        cur.execute(POLICY_JOBS_SQL, (True, ["policy_refresh_continuous_aggregate"]))
        cur.execute("SELECT count(compress_chunk(c, if_not_compressed => true))"
                    " FROM show_chunks('samples', older_than => %s) c",
                    (end - timedelta(days=2),))
    conn.commit()


def load_dataset(url: str, params: DatasetParams, mode: StorageMode) -> RecordedDataset:
    """Drop and recreate the benchmark database, then write the whole data set."""
    if database_name(url) == "lookout":
        raise SystemExit("refusing to load benchmark data into the `lookout` database")
    started = time.perf_counter()
    drop_database(url)
    ensure_database(url)
    stored_mode = migrate(DatabaseSettings(database_url=url, storage_mode=mode))
    dataset = Dataset(params)
    conn = psycopg2.connect(url, application_name="lookout-bench-query")
    try:
        if stored_mode is StorageMode.TIMESCALEDB:
            pause_policies(conn)
        keys = [SeriesKey(s.metric, s.labels) for s in dataset.series]
        ids_by_key = SeriesRegistry(len(keys) + 1).resolve(conn, keys)
        series_ids = np.array([ids_by_key[k] for k in keys], dtype=np.int32)
        if stored_mode is StorageMode.POSTGRES:
            first_day, last_day = day_of_ms(params.start_ms), day_of_ms(params.end_ms)
            days = [first_day + timedelta(days=i) for i in range((last_day - first_day).days + 1)]
            PartitionManager().ensure(conn, days)
        rollups = PlainRollups()
        written = 0
        for chunk in dataset.chunks():
            chunk_started = time.perf_counter()
            with conn.cursor() as cur:
                for a in range(0, chunk.time_ms.shape[1], COPY_POINTS):
                    copy_chunk_rows(cur, chunk.time_ms[:, a:a + COPY_POINTS], series_ids,
                                    chunk.value[:, a:a + COPY_POINTS], stored_mode)
            conn.commit()
            copied = time.perf_counter() - chunk_started
            if stored_mode is StorageMode.POSTGRES:
                rollups.catch_up(conn)
            written += chunk.samples
            day = datetime.fromtimestamp(chunk.time_ms[0, 0] / 1000, tz=UTC)
            print(f"  {day:%Y-%m-%d %H:%M}: {chunk.samples:,} samples, COPY {copied:.1f} s "
                  f"({chunk.samples / copied:,.0f}/s), rollups "
                  f"{time.perf_counter() - chunk_started - copied:.1f} s", flush=True)
        if stored_mode is StorageMode.TIMESCALEDB:
            settle_started = time.perf_counter()
            settle_timescaledb(conn, params)
            print(f"  continuous aggregates refreshed, chunks older than 2 days compressed: "
                  f"{time.perf_counter() - settle_started:.0f} s", flush=True)
        conn.autocommit = True
        with conn.cursor() as cur:
            # What autovacuum does on a live system: statistics and visibility maps.
            vacuum_started = time.perf_counter()
            cur.execute("VACUUM (ANALYZE)")
            print(f"  VACUUM (ANALYZE): {time.perf_counter() - vacuum_started:.0f} s", flush=True)
            seconds = time.perf_counter() - started
            cur.execute(DATASET_TABLE_SQL)
            cur.execute(RECORD_DATASET_SQL, (json.dumps(params.record()), stored_mode.value,
                                             len(keys), written, seconds))
            cur.execute("SELECT version_num FROM alembic_version")
            (schema_version,) = cur.fetchone()
    finally:
        conn.close()
    return RecordedDataset(params, stored_mode, written, seconds, datetime.now(UTC),
                           schema_version)


WINDOW_SUMS_SQL = """
SELECT coalesce(sum(s.value), 0), count(*) FROM samples s JOIN series r ON r.id = s.series_id
WHERE r.metric = %s AND s.time > to_timestamp(%s) - make_interval(secs => %s)
  AND s.time <= to_timestamp(%s)
"""


def window_sums(url: str, metric: str, t_s: int, window_s: int) -> tuple[float, int]:
    """Sum and count of ``metric``'s raw samples in (t - window, t]."""
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(WINDOW_SUMS_SQL, (metric, t_s, window_s, t_s))
            total, n = cur.fetchone()
            return float(total), int(n)
    finally:
        conn.close()


def database_size(url: str) -> int:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_database_size(current_database())")
            return cur.fetchone()[0]
    finally:
        conn.close()
