"""Raw samples' unique index on ``(series_id, time)`` gains ``value`` as an included
column.

The query engine reads a few series' samples over a range; samples are written in time
order, so one series' samples lie on every page of the range and the index scan fetched
nearly every heap page (24 h of 720 series of 1,040: 4.7 M buffer reads). With ``value``
in the index the same read is an index-only scan, each series' samples side by side: 11 s
became 2.6 s (docs/benchmarks.md). Each index entry grows by the value's 8 bytes.

The new unique index is built before the old one is dropped, so uniqueness — which the
worker's ``INSERT ... ON CONFLICT (series_id, time) DO NOTHING`` relies on — never lapses.
Building it on a large database takes a while (about a minute per 20 M uncompressed
samples here), during which writes to ``samples`` wait. TimescaleDB's compressed chunks
keep no row index: they are already segmented by series.

Revision ID: 0010
Revises: 0009
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

COVERING_INDEX = """
CREATE UNIQUE INDEX IF NOT EXISTS samples_series_id_time_value_idx
    ON samples (series_id, time) INCLUDE (value);
DROP INDEX IF EXISTS samples_series_id_time_idx;
"""


def upgrade() -> None:
    op.execute(COVERING_INDEX)


def downgrade() -> None:
    op.execute("CREATE UNIQUE INDEX IF NOT EXISTS samples_series_id_time_idx "
               "ON samples (series_id, time);"
               "DROP INDEX IF EXISTS samples_series_id_time_value_idx;")
