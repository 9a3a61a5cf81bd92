"""Migrations that change what the rollups hold.

PostgreSQL tables can gain a column; TimescaleDB's continuous aggregates cannot: a
migration drops ``samples_1m`` / ``samples_1h`` and creates them again from a new
definition (hierarchical, real-time aggregation, the refresh and retention policies they
had), copies the rows whose raw samples are already past retention into the new
materializations (a column they did not have is NULL there), and refreshes the raw window
outside the transaction (``refresh_continuous_aggregate`` cannot run in one) with the
refresh policies paused until it is done. If that refresh is interrupted, the next run
sees the new definition in place (``has_column``) and does only the refresh.

Leaving the refresh to the policies would not do: their windows start a day inside raw
retention, so the oldest raw day would never be materialized, and the kept rows stay
hidden until a refresh moves the watermark past them.
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import text

# A raw SQL fragment: true for every sample but a staleness marker, the NaN with bit
# pattern 0x7ff0000000000002 (float8 storage keeps a NaN's bits, so ``float8send`` tells
# it from an ordinary NaN).
REAL_SAMPLE = r"float8send(value) <> '\x7ff0000000000002'::bytea"

# The minute and the hour holding the oldest raw sample (NULL without samples).
RAW_START_SQL = """
SELECT date_bin(interval '1 minute', min(time), timestamptz 'epoch'),
       date_bin(interval '1 hour', min(time), timestamptz 'epoch')
FROM samples
"""

HAS_COLUMN_SQL = """
SELECT EXISTS (SELECT 1 FROM information_schema.columns
               WHERE table_schema = current_schema() AND table_name = 'samples_1m'
                 AND column_name = :column)
"""

POLICIES_SQL = """
SELECT hypertable_name, proc_name, schedule_interval,
       config->>'start_offset', config->>'end_offset', config->>'drop_after'
FROM timescaledb_information.jobs
WHERE hypertable_schema = current_schema() AND hypertable_name IN ('samples_1m', 'samples_1h')
  AND proc_name IN ('policy_refresh_continuous_aggregate', 'policy_retention')
ORDER BY job_id
"""

# Rows whose raw samples are gone, kept across the drop (the 'infinity' default: no raw
# samples at all, so every row is one of them).
KEEP_ROWS_SQL = """
CREATE TEMPORARY TABLE kept_{view} AS
    SELECT {columns} FROM {view}
    WHERE bucket < coalesce(CAST(:since AS timestamptz), 'infinity')
"""

DROP_SQL = """
DROP MATERIALIZED VIEW samples_1h;
DROP MATERIALIZED VIEW samples_1m;
"""

# The materialization hypertable behind a continuous aggregate, as a quoted name.
MATERIALIZATION_SQL = """
SELECT format('%I.%I', materialization_hypertable_schema, materialization_hypertable_name)
FROM timescaledb_information.continuous_aggregates
WHERE view_schema = current_schema() AND view_name = :view
"""

# Dropped at once: a later migration of the same run may keep rows again.
RESTORE_ROWS_SQL = """
INSERT INTO {materialization} ({columns}) SELECT {columns} FROM kept_{view};
DROP TABLE kept_{view};
"""

ADD_REFRESH_POLICY_SQL = """
SELECT add_continuous_aggregate_policy(:view,
    start_offset => CAST(:start_offset AS interval), end_offset => CAST(:end_offset AS interval),
    schedule_interval => :schedule_interval)
"""

ADD_RETENTION_POLICY_SQL = """
SELECT add_retention_policy(:view, drop_after => CAST(:drop_after AS interval),
                            schedule_interval => :schedule_interval)
"""

REFRESH_SQL = "CALL refresh_continuous_aggregate(:view, :since, NULL)"

# Paused while a migration refreshes: TimescaleDB refuses a refresh whose window overlaps
# one in progress, and the new policies would start at once.
SCHEDULE_REFRESH_POLICIES_SQL = """
SELECT alter_job(job_id, scheduled => :scheduled) FROM timescaledb_information.jobs
WHERE hypertable_schema = current_schema() AND hypertable_name IN ('samples_1m', 'samples_1h')
  AND proc_name = 'policy_refresh_continuous_aggregate'
"""


def rebuild_timescaledb_rollups(definitions: str, new_column: str, kept_columns: str,
                                removing: bool = False) -> None:
    """Replace both continuous aggregates by ``definitions`` (SQL creating ``samples_1m``
    and ``samples_1h`` WITH NO DATA), which add ``new_column`` (or, ``removing``, no
    longer have it: a downgrade); ``kept_columns`` are the columns the old and new
    aggregates share, copied for the rows past raw retention."""
    bind = op.get_bind()
    has_column = bind.execute(text(HAS_COLUMN_SQL), {"column": new_column}).scalar_one()
    if has_column == removing:
        _recreate(definitions, kept_columns)
    minute_since, hour_since = bind.execute(text(RAW_START_SQL)).one()
    # Without raw samples there is nothing to refresh; the kept rows show once a refresh
    # of new samples moves the watermark past them.
    if minute_since is not None:
        with op.get_context().autocommit_block():
            refresh = op.get_bind()
            refresh.execute(text(REFRESH_SQL), {"view": "samples_1m", "since": minute_since})
            refresh.execute(text(REFRESH_SQL), {"view": "samples_1h", "since": hour_since})
    op.get_bind().execute(text(SCHEDULE_REFRESH_POLICIES_SQL), {"scheduled": True})


def _recreate(definitions: str, kept_columns: str) -> None:
    bind = op.get_bind()
    minute_since, hour_since = bind.execute(text(RAW_START_SQL)).one()
    policies = bind.execute(text(POLICIES_SQL)).all()
    for view, since in (("samples_1m", minute_since), ("samples_1h", hour_since)):
        bind.execute(text(KEEP_ROWS_SQL.format(view=view, columns=kept_columns)),
                     {"since": since})
    op.execute(DROP_SQL)
    op.execute(definitions)
    for view in ("samples_1m", "samples_1h"):
        materialization = bind.execute(text(MATERIALIZATION_SQL), {"view": view}).scalar_one()
        bind.execute(text(RESTORE_ROWS_SQL.format(materialization=materialization,
                                                  columns=kept_columns, view=view)))
    for view, proc, schedule, start_offset, end_offset, drop_after in policies:
        if proc == "policy_refresh_continuous_aggregate":
            bind.execute(text(ADD_REFRESH_POLICY_SQL), {
                "view": view, "start_offset": start_offset, "end_offset": end_offset,
                "schedule_interval": schedule})
        else:
            bind.execute(text(ADD_RETENTION_POLICY_SQL), {
                "view": view, "drop_after": drop_after, "schedule_interval": schedule})
    bind.execute(text(SCHEDULE_REFRESH_POLICIES_SQL), {"scheduled": False})
