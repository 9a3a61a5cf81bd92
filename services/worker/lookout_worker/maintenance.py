"""The worker's maintenance loop: partitions ahead, rollups, retention, dedupe log.

Every worker runs the loop; a session advisory lock lets one of them do each round.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta

import psycopg2
import psycopg2.extensions
from prometheus_client import Counter, Gauge

from lookout_common.db.connection import connect
from lookout_common.settings import StorageMode

from .partitions import PartitionManager
from .rollups import PlainRollups
from .settings import WorkerSettings

log = logging.getLogger(__name__)

MAINTENANCE_LOCK_ID = 0x6D61696E  # "main"
# Message ids are only needed while a message can still be redelivered (it is
# unacked); a day is far beyond any redelivery.
DEDUPE_KEEP = timedelta(days=1)

MAINTENANCE_RUNS = Counter("worker_maintenance_runs_total", "Maintenance rounds", ["outcome"])
LAST_MAINTENANCE = Gauge(
    "worker_maintenance_last_success_timestamp_seconds", "When a round last succeeded"
)


class Maintenance:
    def __init__(self, settings: WorkerSettings, mode: StorageMode) -> None:
        self.settings = settings
        self.mode = mode
        self.partitions = PartitionManager()
        self.rollups = PlainRollups()

    def run_once(self, conn: psycopg2.extensions.connection, now: datetime | None = None) -> bool:
        """One round; False if another worker holds the lock."""
        now = now or datetime.now(UTC)
        with conn.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_lock(%s)", (MAINTENANCE_LOCK_ID,))
            (locked,) = cur.fetchone()
        conn.commit()
        if not locked:
            return False
        try:
            if self.mode is StorageMode.POSTGRES:
                today = now.date()
                self.partitions.ensure(
                    conn,
                    (today + timedelta(days=i)
                     for i in range(self.settings.worker_partitions_ahead_days + 1)),
                )
                self.rollups.catch_up(conn)
                self.apply_retention(conn, now)
            with conn.cursor() as cur:
                cur.execute(
                    "DELETE FROM ingested_messages WHERE ingested_at < %s", (now - DEDUPE_KEEP,)
                )
            conn.commit()
        finally:
            with conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock(%s)", (MAINTENANCE_LOCK_ID,))
            conn.commit()
        return True

    def apply_retention(self, conn: psycopg2.extensions.connection, now: datetime) -> None:
        """Plain mode: drop raw partitions and delete rollup rows past their retention.
        (TimescaleDB does this with its retention policies.)"""
        s = self.settings
        self.partitions.drop_before(conn, (now - timedelta(days=s.retention_raw_days)).date())
        with conn.cursor() as cur:
            cur.execute("DELETE FROM samples_1m WHERE bucket < %s",
                        (now - timedelta(days=s.retention_1m_days),))
            cur.execute("DELETE FROM samples_1h WHERE bucket < %s",
                        (now - timedelta(days=s.retention_1h_days),))
        conn.commit()


class MaintenanceThread(threading.Thread):
    def __init__(self, maintenance: Maintenance) -> None:
        super().__init__(name="maintenance", daemon=True)
        self.maintenance = maintenance
        self.stopped = threading.Event()

    def run(self) -> None:
        conn = None
        while not self.stopped.is_set():
            try:
                if conn is None or conn.closed:
                    conn = connect(
                        self.maintenance.settings, application_name="lookout-maintenance"
                    )
                if self.maintenance.run_once(conn):
                    MAINTENANCE_RUNS.labels("done").inc()
                    LAST_MAINTENANCE.set_to_current_time()
                else:
                    MAINTENANCE_RUNS.labels("skipped").inc()
            except psycopg2.Error as exc:
                MAINTENANCE_RUNS.labels("failed").inc()
                log.warning("maintenance failed, will retry", extra={"error": str(exc).strip()})
                if conn is not None:
                    conn.close()
                conn = None
            self.stopped.wait(self.maintenance.settings.worker_maintenance_interval_s)
        if conn is not None:
            conn.close()

    def stop(self) -> None:
        self.stopped.set()
