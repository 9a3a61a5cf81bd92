"""Migrations 0006 and 0007: their tables come and go with upgrade and downgrade; rules
that existed before 0007 get no owner (admins only), no interval and no limit."""

from __future__ import annotations

import psycopg2
from alembic import command

from lookout_common.db.schema import alembic_config

TABLES = {"alert_rules", "alert_state", "alert_events", "silences",
          "alert_notification_groups"}


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


def test_0007_gives_existing_rules_no_owner(alerts_settings) -> None:
    url = alerts_settings.database_url
    command.downgrade(alembic_config(alerts_settings), "0006")
    assert alerting_tables(url) == TABLES - {"alert_notification_groups"}
    conn = psycopg2.connect(url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("INSERT INTO alert_rules (name, query) VALUES ('Old', 'up')")
        command.upgrade(alembic_config(alerts_settings), "head")
        with conn, conn.cursor() as cur:
            cur.execute("SELECT owner_id, interval_s, alert_limit FROM alert_rules")
            assert cur.fetchall() == [(None, None, 0)]
    finally:
        conn.close()
    assert alerting_tables(url) == TABLES
