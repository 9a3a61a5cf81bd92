"""Migration 0006: its tables come and go with upgrade and downgrade."""

from __future__ import annotations

import psycopg2
from alembic import command

from lookout_common.db.schema import alembic_config

TABLES = {"alert_rules", "alert_state", "alert_events", "silences"}


def alerting_tables(url: str) -> set[str]:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT tablename FROM pg_tables WHERE tablename = ANY(%s)",
                        (sorted(TABLES),))
            return {r[0] for r in cur.fetchall()}
    finally:
        conn.close()


def test_upgrade_downgrade_upgrade(alerts_settings) -> None:
    url = alerts_settings.database_url
    assert alerting_tables(url) == TABLES
    command.downgrade(alembic_config(alerts_settings), "0006-1")
    assert alerting_tables(url) == set()
    command.upgrade(alembic_config(alerts_settings), "head")
    assert alerting_tables(url) == TABLES
