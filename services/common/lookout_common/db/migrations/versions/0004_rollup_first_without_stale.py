"""Rollups gain the first sample of each bucket and leave staleness markers out.

``samples_1m`` / ``samples_1h`` gain ``first`` and ``first_time`` (the earliest sample
of the bucket and its time), and all their columns (min, max, sum, count, first, last)
now describe real samples only: Prometheus's staleness marker, the NaN with bit pattern
0x7ff0000000000002 (float8 storage keeps a NaN's bits, so ``float8send`` tells it from
an ordinary NaN), is left out. An ordinary NaN is a real sample and stays in. A bucket
holding only markers has no row.

Existing rollups are recomputed from the raw samples in this migration, so they are
right as soon as it commits. Rows whose raw samples are already past retention cannot
be recomputed: they are kept as they were (markers counted) with ``first`` and
``first_time`` NULL.

TimescaleDB: a continuous aggregate cannot gain columns, so both are dropped and
created again (hierarchical, real-time aggregation, the refresh and retention policies
they had) and the kept rows are copied into the new materializations. The raw window
is then refreshed here, outside the transaction (``refresh_continuous_aggregate``
cannot run in one), with the refresh policies paused until it is done; if that refresh
is interrupted, the next run does only the refresh. Leaving it to the policies would
not do: their windows start a day inside raw retention, so the oldest raw day would
never be materialized, and the kept rows stay hidden until a refresh moves the
watermark past them.
Plain PostgreSQL: the tables gain the columns; the rows whose raw samples exist are
deleted and computed again, in the migration's transaction.

Revision ID: 0004
Revises: 0003
"""

from alembic import op
from sqlalchemy import text

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# A raw SQL fragment: true for every sample but a staleness marker.
REAL_SAMPLE = r"float8send(value) <> '\x7ff0000000000002'::bytea"

RAW_START_SQL = """
SELECT date_bin(interval '1 minute', min(time), timestamptz 'epoch'),
       date_bin(interval '1 hour', min(time), timestamptz 'epoch')
FROM samples
"""

POSTGRES_ADD_COLUMNS = """
ALTER TABLE samples_1m ADD COLUMN first double precision, ADD COLUMN first_time timestamptz;
ALTER TABLE samples_1h ADD COLUMN first double precision, ADD COLUMN first_time timestamptz;
"""

POSTGRES_RECOMPUTE_1M = f"""
INSERT INTO samples_1m (bucket, series_id, min, max, sum, count, first, first_time,
                        last, last_time)
SELECT date_bin(interval '1 minute', time, timestamptz 'epoch') AS bucket,
       series_id, min(value), max(value), sum(value), count(*),
       (array_agg(value ORDER BY time ASC))[1], min(time),
       (array_agg(value ORDER BY time DESC))[1], max(time)
FROM samples
WHERE time >= :since AND {REAL_SAMPLE}
GROUP BY 1, 2
"""

POSTGRES_RECOMPUTE_1H = """
INSERT INTO samples_1h (bucket, series_id, min, max, sum, count, first, first_time,
                        last, last_time)
SELECT date_bin(interval '1 hour', bucket, timestamptz 'epoch') AS bucket,
       series_id, min(min), max(max), sum(sum), sum(count)::bigint,
       (array_agg(first ORDER BY first_time ASC))[1], min(first_time),
       (array_agg(last ORDER BY last_time DESC))[1], max(last_time)
FROM samples_1m
WHERE bucket >= :since
GROUP BY 1, 2
"""

TIMESCALEDB_HAS_FIRST_SQL = """
SELECT EXISTS (SELECT 1 FROM information_schema.columns
               WHERE table_schema = current_schema() AND table_name = 'samples_1m'
                 AND column_name = 'first')
"""

TIMESCALEDB_POLICIES_SQL = """
SELECT hypertable_name, proc_name, schedule_interval,
       config->>'start_offset', config->>'end_offset', config->>'drop_after'
FROM timescaledb_information.jobs
WHERE hypertable_schema = current_schema() AND hypertable_name IN ('samples_1m', 'samples_1h')
  AND proc_name IN ('policy_refresh_continuous_aggregate', 'policy_retention')
ORDER BY job_id
"""

# Rows whose raw samples are gone, kept across the drop (the 'infinity' default: no raw
# samples at all, so every row is one of them).
TIMESCALEDB_KEEP_ROWS = """
CREATE TEMPORARY TABLE kept_1m ON COMMIT DROP AS
    SELECT bucket, series_id, min, max, sum, count, last, last_time FROM samples_1m
    WHERE bucket < coalesce(CAST(:minute_since AS timestamptz), 'infinity');
CREATE TEMPORARY TABLE kept_1h ON COMMIT DROP AS
    SELECT bucket, series_id, min, max, sum, count, last, last_time FROM samples_1h
    WHERE bucket < coalesce(CAST(:hour_since AS timestamptz), 'infinity');
"""

TIMESCALEDB_RECREATE = f"""
DROP MATERIALIZED VIEW samples_1h;
DROP MATERIALIZED VIEW samples_1m;

CREATE MATERIALIZED VIEW samples_1m
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(interval '1 minute', time) AS bucket,
       series_id,
       min(value) AS min,
       max(value) AS max,
       sum(value) AS sum,
       count(*) AS count,
       first(value, time) AS first,
       min(time) AS first_time,
       last(value, time) AS last,
       max(time) AS last_time
FROM samples
WHERE {REAL_SAMPLE}
GROUP BY bucket, series_id
WITH NO DATA;

CREATE MATERIALIZED VIEW samples_1h
WITH (timescaledb.continuous, timescaledb.materialized_only = false) AS
SELECT time_bucket(interval '1 hour', bucket) AS bucket,
       series_id,
       min(min) AS min,
       max(max) AS max,
       sum(sum) AS sum,
       sum(count)::bigint AS count,
       first(first, first_time) AS first,
       min(first_time) AS first_time,
       last(last, last_time) AS last,
       max(last_time) AS last_time
FROM samples_1m
GROUP BY 1, series_id
WITH NO DATA;
"""

# The materialization hypertable behind a continuous aggregate, as a quoted name.
TIMESCALEDB_MATERIALIZATION_SQL = """
SELECT format('%I.%I', materialization_hypertable_schema, materialization_hypertable_name)
FROM timescaledb_information.continuous_aggregates
WHERE view_schema = current_schema() AND view_name = :view
"""

TIMESCALEDB_RESTORE_ROWS = """
INSERT INTO {materialization} (bucket, series_id, min, max, sum, count, last, last_time)
SELECT bucket, series_id, min, max, sum, count, last, last_time FROM {kept}
"""

TIMESCALEDB_ADD_REFRESH_POLICY = """
SELECT add_continuous_aggregate_policy(:view,
    start_offset => CAST(:start_offset AS interval), end_offset => CAST(:end_offset AS interval),
    schedule_interval => :schedule_interval)
"""

TIMESCALEDB_ADD_RETENTION_POLICY = """
SELECT add_retention_policy(:view, drop_after => CAST(:drop_after AS interval),
                            schedule_interval => :schedule_interval)
"""

TIMESCALEDB_REFRESH = "CALL refresh_continuous_aggregate(:view, :since, NULL)"

# Paused while this migration refreshes: TimescaleDB refuses a refresh whose window
# overlaps one in progress, and the new policies would start at once.
TIMESCALEDB_SCHEDULE_REFRESH_POLICIES = """
SELECT alter_job(job_id, scheduled => :scheduled) FROM timescaledb_information.jobs
WHERE hypertable_schema = current_schema() AND hypertable_name IN ('samples_1m', 'samples_1h')
  AND proc_name = 'policy_refresh_continuous_aggregate'
"""


def upgrade() -> None:
    config = op.get_context().config
    assert config is not None, "run through lookout_common.db.schema.migrate"
    if config.attributes["storage_mode"] == "timescaledb":
        upgrade_timescaledb()
    else:
        upgrade_postgres()


def upgrade_postgres() -> None:
    bind = op.get_bind()
    op.execute(POSTGRES_ADD_COLUMNS)
    minute_since, hour_since = bind.execute(text(RAW_START_SQL)).one()
    if minute_since is None:
        return  # no raw samples: nothing can be recomputed, every row is kept
    bind.execute(text("DELETE FROM samples_1m WHERE bucket >= :since"), {"since": minute_since})
    bind.execute(text(POSTGRES_RECOMPUTE_1M), {"since": minute_since})
    bind.execute(text("DELETE FROM samples_1h WHERE bucket >= :since"), {"since": hour_since})
    bind.execute(text(POSTGRES_RECOMPUTE_1H), {"since": hour_since})


def upgrade_timescaledb() -> None:
    bind = op.get_bind()
    # Already recreated: a previous run stopped during the refresh below, after its
    # transaction had committed; only the refresh is left to do.
    if not bind.execute(text(TIMESCALEDB_HAS_FIRST_SQL)).scalar_one():
        recreate_continuous_aggregates()
    minute_since, hour_since = bind.execute(text(RAW_START_SQL)).one()
    # Without raw samples there is nothing to refresh; the kept rows show once a refresh
    # of new samples moves the watermark past them.
    if minute_since is not None:
        with op.get_context().autocommit_block():
            refresh = op.get_bind()
            refresh.execute(text(TIMESCALEDB_REFRESH),
                            {"view": "samples_1m", "since": minute_since})
            refresh.execute(text(TIMESCALEDB_REFRESH),
                            {"view": "samples_1h", "since": hour_since})
    op.get_bind().execute(text(TIMESCALEDB_SCHEDULE_REFRESH_POLICIES), {"scheduled": True})


def recreate_continuous_aggregates() -> None:
    bind = op.get_bind()
    minute_since, hour_since = bind.execute(text(RAW_START_SQL)).one()
    policies = bind.execute(text(TIMESCALEDB_POLICIES_SQL)).all()
    bind.execute(text(TIMESCALEDB_KEEP_ROWS),
                 {"minute_since": minute_since, "hour_since": hour_since})
    op.execute(TIMESCALEDB_RECREATE)
    for view, kept in (("samples_1m", "kept_1m"), ("samples_1h", "kept_1h")):
        materialization = bind.execute(
            text(TIMESCALEDB_MATERIALIZATION_SQL), {"view": view}).scalar_one()
        bind.execute(text(TIMESCALEDB_RESTORE_ROWS.format(materialization=materialization,
                                                          kept=kept)))
    for view, proc, schedule, start_offset, end_offset, drop_after in policies:
        if proc == "policy_refresh_continuous_aggregate":
            bind.execute(text(TIMESCALEDB_ADD_REFRESH_POLICY), {
                "view": view, "start_offset": start_offset, "end_offset": end_offset,
                "schedule_interval": schedule})
        else:
            bind.execute(text(TIMESCALEDB_ADD_RETENTION_POLICY), {
                "view": view, "drop_after": drop_after, "schedule_interval": schedule})
    bind.execute(text(TIMESCALEDB_SCHEDULE_REFRESH_POLICIES), {"scheduled": False})


def downgrade() -> None:
    raise NotImplementedError("Lookout migrations only go forward")
