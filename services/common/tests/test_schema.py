"""Migrations: versioned, safe to re-run, and the storage mode is kept."""

import psycopg2
import pytest

from lookout_common.db.schema import StorageModeError, migrate, stored_storage_mode
from lookout_common.settings import DatabaseSettings, StorageMode


def tables(url):
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT version_num FROM alembic_version")
            version = cur.fetchall()
            cur.execute("SELECT relname FROM pg_class WHERE relnamespace = 'public'::regnamespace"
                        " AND relkind IN ('r', 'p', 'v') ORDER BY 1")
            return version, [r[0] for r in cur.fetchall()]
    finally:
        conn.close()


def test_migrate_twice_changes_nothing(fresh_database_url):
    settings = DatabaseSettings(database_url=fresh_database_url, storage_mode=StorageMode.POSTGRES)
    assert migrate(settings) is StorageMode.POSTGRES
    first = tables(fresh_database_url)
    assert migrate(settings) is StorageMode.POSTGRES
    assert tables(fresh_database_url) == first
    assert first[0] == [("0010",)]
    assert {"series", "samples", "samples_1m", "samples_1h", "ingested_messages",
            "rollup_invalidations", "lookout_meta"} <= set(first[1])


def test_contradicting_storage_mode_is_refused(fresh_database_url):
    migrate(DatabaseSettings(database_url=fresh_database_url, storage_mode=StorageMode.POSTGRES))
    with pytest.raises(StorageModeError, match="STORAGE_MODE=timescaledb but this database was "
                                                "created in postgres mode"):
        stored_storage_mode(DatabaseSettings(database_url=fresh_database_url,
                                             storage_mode=StorageMode.TIMESCALEDB))
    # auto accepts whatever the database already is.
    assert stored_storage_mode(DatabaseSettings(database_url=fresh_database_url)) is \
        StorageMode.POSTGRES


def test_concurrent_migrations_do_not_race(fresh_database_url):
    """Services starting together each run the migrations (separate processes)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "DATABASE_URL": fresh_database_url, "STORAGE_MODE": "postgres"}
    lookout = [sys.executable, "-c", "from lookout_common.cli import main; main()", "migrate"]
    procs = [subprocess.Popen(lookout, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for _ in range(3)]
    results = [(*p.communicate(timeout=120), p.returncode) for p in procs]
    for out, err, code in results:
        assert code == 0, err
        assert "schema is up to date (storage mode: postgres)" in out
    assert tables(fresh_database_url)[0] == [("0010",)]


def rows(url, sql):
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall()
    finally:
        conn.close()


def test_rollups_have_their_covering_index(fresh_database_url, storage_mode):
    """Migration 0009's index exists where the rollup rows are: the tables in plain mode,
    the continuous aggregates' materialization hypertables in TimescaleDB mode (created
    after 0008 rebuilt them)."""
    migrate(DatabaseSettings(database_url=fresh_database_url, storage_mode=storage_mode))
    found = rows(fresh_database_url, "SELECT tablename, indexdef FROM pg_indexes WHERE "
                 "indexname IN ('samples_1m_covering_idx', 'samples_1h_covering_idx')")
    tables = ["samples_1h", "samples_1m"]
    if storage_mode is StorageMode.TIMESCALEDB:
        tables = [name for (name,) in rows(
            fresh_database_url, "SELECT materialization_hypertable_name "
            "FROM timescaledb_information.continuous_aggregates")]
    assert sorted(table for table, _ in found) == sorted(tables)
    for _, definition in found:
        assert "(series_id, bucket) INCLUDE (count, sum, first, first_time, min, max, last, " \
               "last_time, correction)" in definition


def test_samples_unique_index_covers_the_value(fresh_database_url, storage_mode):
    """Migration 0010: one unique index on samples, (series_id, time) including value."""
    migrate(DatabaseSettings(database_url=fresh_database_url, storage_mode=storage_mode))
    ((definition,),) = rows(fresh_database_url, "SELECT indexdef FROM pg_indexes WHERE "
                            "tablename = 'samples' AND indexdef LIKE '%UNIQUE%'")
    assert "(series_id, \"time\") INCLUDE (value)" in definition


def test_rollup_migrations_go_down_and_up_again(fresh_database_url, storage_mode):
    """0010, 0009 and 0008 undo themselves (TimescaleDB: the aggregates rebuilt without the
    correction, rows refreshed) and apply again, in either mode."""
    from alembic import command

    from lookout_common.db.schema import alembic_config

    settings = DatabaseSettings(database_url=fresh_database_url, storage_mode=storage_mode)
    migrate(settings)
    conn = psycopg2.connect(fresh_database_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("INSERT INTO series (id, metric, labels, fingerprint) "
                        "VALUES (1, 'c', '{}', '\\x01')")
            if storage_mode is StorageMode.POSTGRES:
                cur.execute("CREATE TABLE samples_down PARTITION OF samples FOR VALUES "
                            "FROM ('2000-01-01') TO ('2100-01-01')")
            cur.execute("INSERT INTO samples SELECT now() - g * interval '10 s', 1, 100 - g "
                        "FROM generate_series(1, 30) g")
    finally:
        conn.close()
    command.downgrade(alembic_config(settings), "0007")
    column = ("SELECT count(*) FROM information_schema.columns "
              "WHERE table_name IN ('samples_1m', 'samples_1h') AND column_name = 'correction'")
    aggregates = "SELECT count(*) FROM pg_proc WHERE proname LIKE 'lookout_counter%'"
    unique = "SELECT indexname FROM pg_indexes WHERE tablename = 'samples' " \
             "AND indexdef LIKE '%UNIQUE%'"
    assert rows(fresh_database_url, column) == [(0,)]
    assert rows(fresh_database_url, aggregates) == [(0,)]
    assert rows(fresh_database_url, unique) == [("samples_series_id_time_idx",)]
    migrate(settings)
    assert rows(fresh_database_url, column) == [(2,)]
    assert rows(fresh_database_url, aggregates) == [(5,)]
    assert rows(fresh_database_url, unique) == [("samples_series_id_time_value_idx",)]
    if storage_mode is StorageMode.TIMESCALEDB:  # the samples were refreshed into the rollup
        assert rows(fresh_database_url, "SELECT sum(count) FROM samples_1m") == [(30,)]
