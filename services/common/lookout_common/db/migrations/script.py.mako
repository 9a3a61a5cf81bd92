"""${message}

Revision ID: ${up_revision}
Revises: ${down_revision | comma,n}
"""

from alembic import op

revision = ${repr(up_revision)}
down_revision = ${repr(down_revision)}
branch_labels = None
depends_on = None


def upgrade() -> None:
    mode = op.get_context().config.attributes["storage_mode"]


def downgrade() -> None:
    raise NotImplementedError("Lookout migrations only go forward")
