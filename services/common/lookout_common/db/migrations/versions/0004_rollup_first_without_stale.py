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
created again, the kept rows copied over and the raw window refreshed
(``lookout_common.db.rollup_rebuild``).
Plain PostgreSQL: the tables gain the columns; the rows whose raw samples exist are
deleted and computed again, in the migration's transaction.

Revision ID: 0004
Revises: 0003
"""

from alembic import op
from sqlalchemy import text

from lookout_common.db.rollup_rebuild import (
    RAW_START_SQL,
    REAL_SAMPLE,
    rebuild_timescaledb_rollups,
)

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

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

TIMESCALEDB_DEFINITIONS = f"""
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
    rebuild_timescaledb_rollups(TIMESCALEDB_DEFINITIONS, "first",
                                "bucket, series_id, min, max, sum, count, last, last_time")


def downgrade() -> None:
    raise NotImplementedError("Lookout migrations only go forward")
