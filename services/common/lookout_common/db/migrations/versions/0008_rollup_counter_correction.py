"""Rollups gain each bucket's counter correction, so rate, increase and delta can be
answered from them.

``correction`` is what Prometheus adds to a counter's ``last - first`` for the resets
inside a bucket: the sum of the value just before each drop, over the bucket's real
samples (staleness markers left out) in time order; a pair with a NaN is no drop, as in
Prometheus. The 1-hour rollup's correction is its minutes' corrections plus, between two
consecutive minutes, the earlier one's last value where the later one's first is below
it. Two aggregates compute them, the same in both storage modes:
``lookout_counter_correction(value ORDER BY time)`` and
``lookout_counter_correction_merge(first, last, correction ORDER BY bucket)``.

Rows whose raw samples are already past retention cannot be recomputed: their
correction stays NULL (unknown), and the query engine answers no counter function from a
read holding such a row (it reads raw samples instead, as it does for non-finite values).

TimescaleDB: the continuous aggregates are rebuilt (``lookout_common.db.rollup_rebuild``),
which takes as long as refreshing the raw window (about 5 minutes for 63 M samples on a
2-core machine), while the services that run the migration wait to start.
Plain PostgreSQL: the tables gain the column, computed in this migration's transaction.
The functions are created with OR REPLACE: an interrupted TimescaleDB refresh makes the
next run start this migration again.

Revision ID: 0008
Revises: 0007
"""

from alembic import op
from sqlalchemy import text

from lookout_common.db.rollup_rebuild import (
    RAW_START_SQL,
    REAL_SAMPLE,
    rebuild_timescaledb_rollups,
)

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# State: {previous value, correction so far}. PostgreSQL orders NaN above every number,
# Prometheus's comparisons with NaN are false: hence the NaN tests.
AGGREGATES = """
CREATE OR REPLACE FUNCTION lookout_counter_step(state float8[], value float8) RETURNS float8[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF state IS NULL THEN
        RETURN ARRAY[value, 0];
    END IF;
    IF value < state[1] AND value <> 'NaN' AND state[1] <> 'NaN' THEN
        RETURN ARRAY[value, state[2] + state[1]];
    END IF;
    RETURN ARRAY[value, state[2]];
END
$$;

CREATE OR REPLACE FUNCTION lookout_counter_merge_step(state float8[], first float8, last float8,
                                           correction float8) RETURNS float8[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
BEGIN
    IF state IS NULL THEN
        RETURN ARRAY[last, correction];
    END IF;
    IF first < state[1] AND first <> 'NaN' AND state[1] <> 'NaN' THEN
        RETURN ARRAY[last, state[2] + state[1] + correction];
    END IF;
    RETURN ARRAY[last, state[2] + correction];
END
$$;

CREATE OR REPLACE FUNCTION lookout_counter_final(state float8[]) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT state[2] $$;

CREATE OR REPLACE AGGREGATE lookout_counter_correction(float8) (
    SFUNC = lookout_counter_step, STYPE = float8[], FINALFUNC = lookout_counter_final);
CREATE OR REPLACE AGGREGATE lookout_counter_correction_merge(float8, float8, float8) (
    SFUNC = lookout_counter_merge_step, STYPE = float8[], FINALFUNC = lookout_counter_final);
"""

POSTGRES_ADD_COLUMNS = """
ALTER TABLE samples_1m ADD COLUMN correction double precision;
ALTER TABLE samples_1h ADD COLUMN correction double precision;
"""

POSTGRES_COMPUTE_1M = f"""
UPDATE samples_1m r SET correction = c.correction
FROM (SELECT date_bin(interval '1 minute', time, timestamptz 'epoch') AS bucket, series_id,
             lookout_counter_correction(value ORDER BY time) AS correction
      FROM samples WHERE time >= :since AND {REAL_SAMPLE}
      GROUP BY 1, 2) c
WHERE r.series_id = c.series_id AND r.bucket = c.bucket
"""

POSTGRES_COMPUTE_1H = """
UPDATE samples_1h r SET correction = c.correction
FROM (SELECT date_bin(interval '1 hour', bucket, timestamptz 'epoch') AS bucket, series_id,
             lookout_counter_correction_merge(first, last, correction ORDER BY bucket)
               AS correction
      FROM samples_1m WHERE bucket >= :since
      GROUP BY 1, 2) c
WHERE r.series_id = c.series_id AND r.bucket = c.bucket
"""

# The definitions with and without the correction (what 0004 made: the downgrade).
TIMESCALEDB_TEMPLATE = f"""
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
       max(time) AS last_time{{correction_1m}}
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
       max(last_time) AS last_time{{correction_1h}}
FROM samples_1m
GROUP BY 1, series_id
WITH NO DATA;
"""
TIMESCALEDB_DEFINITIONS = TIMESCALEDB_TEMPLATE.format(
    correction_1m=",\n       lookout_counter_correction(value ORDER BY time) AS correction",
    correction_1h=",\n       lookout_counter_correction_merge(first, last, correction"
                  " ORDER BY bucket) AS correction")
TIMESCALEDB_DEFINITIONS_0004 = TIMESCALEDB_TEMPLATE.format(correction_1m="", correction_1h="")
KEPT_COLUMNS = "bucket, series_id, min, max, sum, count, first, first_time, last, last_time"

DROP_AGGREGATES = """
DROP AGGREGATE IF EXISTS lookout_counter_correction(float8);
DROP AGGREGATE IF EXISTS lookout_counter_correction_merge(float8, float8, float8);
DROP FUNCTION IF EXISTS lookout_counter_step(float8[], float8);
DROP FUNCTION IF EXISTS lookout_counter_merge_step(float8[], float8, float8, float8);
DROP FUNCTION IF EXISTS lookout_counter_final(float8[]);
"""


def upgrade() -> None:
    config = op.get_context().config
    assert config is not None, "run through lookout_common.db.schema.migrate"
    op.execute(AGGREGATES)
    if config.attributes["storage_mode"] == "timescaledb":
        rebuild_timescaledb_rollups(TIMESCALEDB_DEFINITIONS, "correction", KEPT_COLUMNS)
    else:
        upgrade_postgres()


def upgrade_postgres() -> None:
    bind = op.get_bind()
    op.execute(POSTGRES_ADD_COLUMNS)
    minute_since, hour_since = bind.execute(text(RAW_START_SQL)).one()
    if minute_since is None:
        return  # no raw samples: nothing can be computed
    bind.execute(text(POSTGRES_COMPUTE_1M), {"since": minute_since})
    bind.execute(text(POSTGRES_COMPUTE_1H), {"since": hour_since})


def downgrade() -> None:
    """Back to 0007: the rollups without the correction, the aggregates gone."""
    config = op.get_context().config
    assert config is not None, "run through lookout_common.db.schema.migrate"
    if config.attributes["storage_mode"] == "timescaledb":
        rebuild_timescaledb_rollups(TIMESCALEDB_DEFINITIONS_0004, "correction", KEPT_COLUMNS,
                                    removing=True)
    else:
        op.execute("ALTER TABLE samples_1m DROP COLUMN correction;"
                   "ALTER TABLE samples_1h DROP COLUMN correction;")
    op.execute(DROP_AGGREGATES)
