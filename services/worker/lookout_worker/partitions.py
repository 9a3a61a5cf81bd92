"""Daily range partitions of ``samples`` in plain-PostgreSQL mode."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

import psycopg2.extensions
from psycopg2 import sql

log = logging.getLogger(__name__)

PARTITION_NAME_RE = re.compile(r"^samples_p(\d{8})$")
# Serialises partition DDL between workers (transaction-scoped advisory lock).
PARTITION_LOCK_ID = 0x70617274  # "part"


def partition_name(day: date) -> str:
    return f"samples_p{day:%Y%m%d}"


def day_of_ms(ts_ms: int) -> date:
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).date()


class PartitionManager:
    def __init__(self) -> None:
        self._known: set[date] | None = None

    def existing(self, conn: psycopg2.extensions.connection) -> set[date]:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
                " WHERE i.inhparent = 'samples'::regclass"
            )
            names = [r[0] for r in cur.fetchall()]
        conn.commit()
        days = set()
        for name in names:
            m = PARTITION_NAME_RE.match(name)
            if m:
                days.add(datetime.strptime(m.group(1), "%Y%m%d").date())
        return days

    def ensure(self, conn: psycopg2.extensions.connection, days: Iterable[date]) -> int:
        """Create the partitions for ``days`` that do not exist yet; returns how many."""
        if self._known is None:
            self._known = self.existing(conn)
        wanted = sorted(set(days) - self._known)
        if not wanted:
            return 0
        created = 0
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (PARTITION_LOCK_ID,))
            for day in wanted:
                start = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
                cur.execute(
                    sql.SQL(
                        "CREATE TABLE IF NOT EXISTS {} PARTITION OF samples"
                        " FOR VALUES FROM (%s) TO (%s)"
                    ).format(sql.Identifier(partition_name(day))),
                    (start, start + timedelta(days=1)),
                )
                created += 1
        conn.commit()
        self._known.update(wanted)
        if created:
            log.info("partitions ensured", extra={"days": [d.isoformat() for d in wanted]})
        return created

    def drop_before(self, conn: psycopg2.extensions.connection, cutoff: date) -> list[date]:
        """Drop partitions whose whole day is before ``cutoff`` (retention)."""
        dropped = []
        for day in sorted(self.existing(conn)):
            if day >= cutoff:
                continue
            with conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (PARTITION_LOCK_ID,))
                cur.execute(
                    sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(partition_name(day)))
                )
            conn.commit()
            dropped.append(day)
        if dropped:
            self.forget()
            log.info("partitions dropped", extra={"days": [d.isoformat() for d in dropped]})
        return dropped

    def forget(self) -> None:
        """Re-read the partition list next time (after retention or a failed COPY)."""
        self._known = None
