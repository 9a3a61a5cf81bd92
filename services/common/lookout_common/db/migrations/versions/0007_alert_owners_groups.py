"""Alerting, second step: who owns a rule, per-rule evaluation interval and alert limit
(a Prometheus rule file group's ``interval`` and ``limit``), and the notification
groups' memory so a restarted evaluator keeps Alertmanager's timers.

``alert_rules.owner_id``: the user who created (or last imported) the rule. Rules that
existed before (the provisioned defaults and anything created while the alerts API did
not check accounts) get NULL: no owner, so only admins may change them.
``alert_rules.interval_s``: evaluate no more often than this (NULL: every evaluation).
``alert_rules.alert_limit``: more alerts than this in one evaluation fails the rule
(0: no limit).
``alert_notification_groups``: per group (target + group labels) when it was created,
when it was last notified, and which alerts (fingerprint → status) that notification
carried.

Plain tables and columns: the same in both storage modes.

Revision ID: 0007
Revises: 0006
"""

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("""
        ALTER TABLE alert_rules
            ADD COLUMN owner_id    integer REFERENCES users (id) ON DELETE SET NULL,
            ADD COLUMN interval_s  double precision CHECK (interval_s > 0),
            ADD COLUMN alert_limit integer NOT NULL DEFAULT 0 CHECK (alert_limit >= 0)
    """)
    op.execute("CREATE INDEX alert_rules_owner ON alert_rules (owner_id)")
    op.execute("""
        CREATE TABLE alert_notification_groups (
            group_key     text PRIMARY KEY,
            target        jsonb NOT NULL,
            labels        jsonb NOT NULL,
            created_at    timestamptz NOT NULL,
            last_sent_at  timestamptz,
            -- fingerprint -> "firing" | "resolved": what the last notification carried
            notified      jsonb NOT NULL DEFAULT '{}',
            updated_at    timestamptz NOT NULL DEFAULT now()
        )
    """)


def downgrade() -> None:
    op.execute("DROP TABLE alert_notification_groups")
    op.execute("DROP INDEX alert_rules_owner")
    op.execute("ALTER TABLE alert_rules DROP COLUMN alert_limit, DROP COLUMN interval_s,"
               " DROP COLUMN owner_id")
