"""Metric definitions sent by agents (remote_write metadata, exposition HELP/TYPE/UNIT).

Revision ID: 0002
Revises: 0001
"""

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        CREATE TABLE metric_metadata (
            metric     text PRIMARY KEY,
            type       text NOT NULL,
            help       text NOT NULL DEFAULT '',
            unit       text NOT NULL DEFAULT '',
            updated_at timestamptz NOT NULL DEFAULT now()
        )
    """)


def downgrade() -> None:
    raise NotImplementedError("Lookout migrations only go forward")
