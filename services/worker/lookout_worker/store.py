"""Writing batches of broker messages into ``samples`` exactly once.

One transaction per batch:

1. record the batch's message ids in ``ingested_messages`` (``ON CONFLICT DO NOTHING
   RETURNING``): ids that come back are new, the others were committed before and are
   skipped — a redelivered message has no second effect;
2. COPY the new messages' samples (binary format) into ``samples``; if a (series, time)
   pair already exists (an agent retried a request), fall back to a staging table and
   ``INSERT ... ON CONFLICT DO NOTHING``;
3. in plain-PostgreSQL mode, log the touched time ranges for rollup maintenance;
4. commit. The caller acks the messages only after this returns.

Errors are classified: the database rejecting the data (SQLSTATE classes 22 and 23)
is the data's fault, so the batch is retried message by message to find the one to
dead-letter; anything else (connection lost, server shutting down, disk full) is
transient and retried by the caller, never dead-lettered.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np
import psycopg2
import psycopg2.errors
import psycopg2.extensions
from prometheus_client import Counter, Histogram

from lookout_common.codec import SampleBatch
from lookout_common.db.connection import connect
from lookout_common.settings import StorageMode

from .copy_format import COPY_SAMPLES_SQL, encode_sample_rows
from .partitions import PartitionManager, day_of_ms
from .series_registry import SeriesRegistry
from .settings import WorkerSettings

log = logging.getLogger(__name__)

SAMPLES_WRITTEN = Counter("worker_samples_written_total", "Samples committed to storage")
DUPLICATE_MESSAGES = Counter(
    "worker_duplicate_messages_total", "Redelivered messages recognised and skipped"
)
DUPLICATE_SAMPLES = Counter(
    "worker_duplicate_samples_total", "Samples skipped because (series, time) was already stored"
)
WRITE_LATENCY = Histogram(
    "worker_write_latency_seconds", "Time to write and commit one batch",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

RECORD_MESSAGES_SQL = """
INSERT INTO ingested_messages (message_id, samples)
SELECT * FROM unnest(%s::text[], %s::int[])
ON CONFLICT (message_id) DO NOTHING
RETURNING message_id
"""
STAGING_SQL = """
CREATE TEMP TABLE IF NOT EXISTS samples_staging (
    time timestamptz NOT NULL, series_id integer NOT NULL, value double precision NOT NULL
) ON COMMIT DELETE ROWS
"""
MERGE_STAGING_SQL = """
INSERT INTO samples (time, series_id, value)
SELECT time, series_id, value FROM samples_staging
ON CONFLICT (series_id, time) DO NOTHING
"""
UPSERT_METADATA_SQL = """
INSERT INTO metric_metadata (metric, type, help, unit)
SELECT * FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[])
ON CONFLICT (metric) DO UPDATE SET
    type = EXCLUDED.type, help = EXCLUDED.help, unit = EXCLUDED.unit, updated_at = now()
WHERE (metric_metadata.type, metric_metadata.help, metric_metadata.unit)
      IS DISTINCT FROM (EXCLUDED.type, EXCLUDED.help, EXCLUDED.unit)
"""
INVALIDATE_SQL = """
INSERT INTO rollup_invalidations (lo, hi)
SELECT to_timestamp(lo / 1000.0), to_timestamp(hi / 1000.0)
FROM unnest(%s::bigint[], %s::bigint[]) AS r(lo, hi)
"""

MINUTE_MS = 60_000
DAY_MS = 86_400_000


class TransientStoreError(Exception):
    """The database cannot take the batch now; retry it later, keep it unacked."""


class DataRejected(Exception):
    """The database refuses this data; retrying cannot help."""


@dataclass
class InboundMessage:
    delivery_tag: int
    message_id: str
    batch: SampleBatch
    body: bytes = b""
    properties: Any = None  # pika BasicProperties, kept to dead-letter the original
    request_id: str | None = None
    published_at: float | None = None


@dataclass
class WriteOutcome:
    samples_written: int = 0
    duplicate_messages: int = 0
    rejected: list[tuple[InboundMessage, str]] = field(default_factory=list)


def touched_minute_ranges(time_ms: np.ndarray) -> tuple[list[int], list[int]]:
    """Contiguous runs of the 1-minute buckets in ``time_ms`` as [lo, hi) in unix ms."""
    if not len(time_ms):
        return [], []
    minutes = np.unique(time_ms // MINUTE_MS)
    breaks = np.nonzero(np.diff(minutes) > 1)[0]
    starts = np.concatenate(([minutes[0]], minutes[breaks + 1]))
    ends = np.concatenate((minutes[breaks], [minutes[-1]])) + 1
    return (starts * MINUTE_MS).tolist(), (ends * MINUTE_MS).tolist()


class SampleStore:
    def __init__(self, settings: WorkerSettings, mode: StorageMode) -> None:
        self._settings = settings
        self._mode = mode
        self._conn: psycopg2.extensions.connection | None = None
        self.series = SeriesRegistry(settings.worker_series_cache_size)
        self.partitions = PartitionManager()

    # -- connection -------------------------------------------------------------
    def _connection(self) -> psycopg2.extensions.connection:
        if self._conn is None or self._conn.closed:
            try:
                self._conn = connect(self._settings, application_name="lookout-worker")
            except psycopg2.Error as exc:
                raise TransientStoreError(f"cannot connect to the database: {exc}") from None
        return self._conn

    def close(self) -> None:
        if self._conn is not None and not self._conn.closed:
            self._conn.close()
        self._conn = None

    # -- writing ----------------------------------------------------------------
    def write(self, messages: Sequence[InboundMessage]) -> WriteOutcome:
        """Store ``messages`` in one transaction; isolate data the database rejects."""
        try:
            return self._write_transaction(messages)
        except DataRejected as exc:
            if len(messages) == 1:
                return WriteOutcome(rejected=[(messages[0], str(exc))])
            log.warning("batch rejected by the database, retrying message by message",
                        extra={"messages": len(messages), "error": str(exc)})
        outcome = WriteOutcome()
        for message in messages:
            try:
                single = self._write_transaction([message])
            except DataRejected as exc:
                outcome.rejected.append((message, str(exc)))
                continue
            outcome.samples_written += single.samples_written
            outcome.duplicate_messages += single.duplicate_messages
        return outcome

    def _write_transaction(self, messages: Sequence[InboundMessage]) -> WriteOutcome:
        conn = self._connection()
        started = time.perf_counter()
        try:
            outcome = self._write(conn, messages)
            conn.commit()
        except psycopg2.errors.CheckViolation as exc:
            self._rollback(conn)
            if "no partition of relation" not in str(exc):
                raise DataRejected(f"{exc.pgcode}: {str(exc).strip()}") from None
            # Retention dropped a partition this worker believed in: re-read, retry.
            self.partitions.forget()
            raise TransientStoreError(f"partition missing: {str(exc).strip()}") from None
        except (psycopg2.DataError, psycopg2.IntegrityError) as exc:
            self._rollback(conn)
            raise DataRejected(f"{exc.pgcode}: {str(exc).strip()}") from None
        except psycopg2.Error as exc:
            self._rollback(conn)
            raise TransientStoreError(f"{exc.pgcode}: {str(exc).strip()}") from None
        WRITE_LATENCY.observe(time.perf_counter() - started)
        SAMPLES_WRITTEN.inc(outcome.samples_written)
        DUPLICATE_MESSAGES.inc(outcome.duplicate_messages)
        return outcome

    def _rollback(self, conn: psycopg2.extensions.connection) -> None:
        try:
            conn.rollback()
        except psycopg2.Error:
            self.close()

    @staticmethod
    def _store_metadata(cur: Any, messages: Sequence[InboundMessage]) -> None:
        latest = {m.metric: m for message in messages for m in message.batch.metadata}
        if latest:
            rows = sorted(latest.values(), key=lambda m: m.metric)
            cur.execute(UPSERT_METADATA_SQL, ([m.metric for m in rows], [m.type for m in rows],
                                              [m.help for m in rows], [m.unit for m in rows]))

    def _write(
        self, conn: psycopg2.extensions.connection, messages: Sequence[InboundMessage]
    ) -> WriteOutcome:
        # First occurrence of each message id wins (a replayed copy in the same batch).
        unique: dict[str, InboundMessage] = {}
        for message in messages:
            unique.setdefault(message.message_id, message)
        ids = self.series.resolve(conn, {k for m in unique.values() for k in m.batch.series})
        if self._mode is StorageMode.POSTGRES:
            days: set[date] = set()
            for message in unique.values():
                if len(message.batch):
                    day_numbers = np.unique(message.batch.time_ms // DAY_MS)
                    days.update(day_of_ms(int(d) * DAY_MS) for d in day_numbers)
            self.partitions.ensure(conn, days)
        with conn.cursor() as cur:
            cur.execute(
                RECORD_MESSAGES_SQL,
                (list(unique), [len(m.batch) for m in unique.values()]),
            )
            fresh = {row[0] for row in cur.fetchall()}
            new = [m for mid, m in unique.items() if mid in fresh]
            outcome = WriteOutcome(duplicate_messages=len(messages) - len(new))
            self._store_metadata(cur, new)
            if not new:
                return outcome
            series_ids = np.concatenate([
                np.asarray([ids[k] for k in m.batch.series], dtype=np.int32)[m.batch.index]
                if len(m.batch) else np.empty(0, dtype=np.int32)
                for m in new
            ])
            time_ms = np.concatenate([m.batch.time_ms for m in new])
            values = np.concatenate([m.batch.value for m in new])
            if not len(time_ms):
                return outcome
            payload = encode_sample_rows(time_ms, series_ids, values)
            cur.execute("SAVEPOINT copy_samples")
            try:
                cur.copy_expert(COPY_SAMPLES_SQL.format(table="samples"), io.BytesIO(payload))
                written = len(time_ms)
            except psycopg2.errors.UniqueViolation:
                cur.execute("ROLLBACK TO SAVEPOINT copy_samples")
                cur.execute(STAGING_SQL)
                cur.copy_expert(
                    COPY_SAMPLES_SQL.format(table="samples_staging"), io.BytesIO(payload)
                )
                cur.execute(MERGE_STAGING_SQL)
                written = cur.rowcount
                DUPLICATE_SAMPLES.inc(len(time_ms) - written)
            cur.execute("RELEASE SAVEPOINT copy_samples")
            if self._mode is StorageMode.POSTGRES:
                lo, hi = touched_minute_ranges(time_ms)
                cur.execute(INVALIDATE_SQL, (lo, hi))
        outcome.samples_written = written
        return outcome
