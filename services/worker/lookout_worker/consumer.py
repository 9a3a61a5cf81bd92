"""Consume ``metrics.ingest``: decode → batch by size or time → write → ack.

* A message is acked only after the transaction holding its samples committed
  (``basic_ack(multiple=True)`` up to the batch's last delivery tag).
* A message that cannot be decoded, or that the database rejects, is published to
  the dead-letter exchange with the reason in the ``x-lookout-error`` header, then
  acked. If even that publish fails it is nacked without requeue, and the broker
  dead-letters it by the queue's own dead-letter exchange.
* A transient database failure is retried with capped exponential backoff while the
  messages stay unacked (heartbeats keep flowing through ``connection.sleep``).
* SIGTERM: stop taking messages, write what was received, ack, exit.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Iterator
from typing import Any

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel
from pika.spec import Basic, BasicProperties
from prometheus_client import Counter, Gauge, Histogram
from tenacity import (
    RetryError,
    Retrying,
    retry_if_exception_type,
    wait_exponential_jitter,
)

from lookout_common.broker import (
    DEAD_LETTER_EXCHANGE,
    INGEST_QUEUE,
    REASON_HEADER,
    REQUEST_ID_HEADER,
    connection_parameters,
    declare_topology,
)
from lookout_common.codec import decode_batch
from lookout_common.errors import WireFormatError

from .announce import publish_ingested
from .settings import WorkerSettings
from .store import InboundMessage, SampleStore, TransientStoreError, WriteOutcome

log = logging.getLogger(__name__)

BATCHES = Counter("worker_batches_total", "Batches committed")
BATCH_SIZE = Histogram(
    "worker_batch_samples", "Samples per committed batch",
    buckets=(10, 100, 1_000, 5_000, 10_000, 20_000, 50_000, 100_000, 500_000),
)
DEAD_LETTERED = Counter("worker_dead_lettered_total", "Messages sent to the DLQ", ["reason"])
WRITE_RETRIES = Counter(
    "worker_write_retries_total", "Batch writes retried after a transient error"
)
LAG = Histogram(
    "worker_end_to_end_lag_seconds", "From the ingest API's publish to commit",
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300),
)
STOP_CHECK_S = 0.5
# Backoff between attempts to reach the broker / the database: attempts are cheap, and
# a short cap means work resumes within seconds of the server coming back.
RECONNECT_FIRST_S = 0.5
RECONNECT_MAX_S = 5.0

PENDING = Gauge("worker_pending_samples", "Samples received and not yet committed")


class BatchConsumer:
    def __init__(self, settings: WorkerSettings, store: SampleStore) -> None:
        self.settings = settings
        self.store = store
        self.stopping = False
        self._pending: list[InboundMessage] = []
        self._pending_samples = 0
        self._poison: list[tuple[int, BasicProperties, bytes, str]] = []
        self._batch_started: float | None = None
        self._connection: pika.BlockingConnection | None = None
        self._consuming = False
        self._channel: BlockingChannel | None = None

    # -- lifecycle ----------------------------------------------------------------
    def run(self) -> None:
        """Consume until ``stop()``; reconnect to the broker with backoff."""
        delay = RECONNECT_FIRST_S
        while not self.stopping:
            self._consuming = False
            try:
                self._consume()
            except (pika.exceptions.AMQPError, OSError) as exc:
                self._drop_batch_state()
                if self.stopping:
                    break
                if self._consuming:  # it was working: start the backoff afresh
                    delay = RECONNECT_FIRST_S
                log.warning("broker connection lost, reconnecting",
                            extra={"error": repr(exc), "retry_in_s": delay})
                time.sleep(delay)
                delay = min(delay * 2, RECONNECT_MAX_S)

    def stop(self) -> None:
        self.stopping = True

    def _consume(self) -> None:
        self._connection = pika.BlockingConnection(
            connection_parameters(self.settings, "lookout-worker")
        )
        try:
            channel = self._connection.channel()
            declare_topology(channel, self.settings)
            channel.basic_qos(prefetch_count=self.settings.worker_prefetch)
            channel.confirm_delivery()  # for dead-letter publishes
            self._channel = channel
            tag = channel.basic_consume(INGEST_QUEUE, self._on_message)
            self._consuming = True
            log.info("consuming", extra={"queue": INGEST_QUEUE})
            batch_s = self.settings.worker_batch_ms / 1000
            while not self.stopping:
                # Never wait long in one call: a stop request is checked between calls.
                wait = STOP_CHECK_S
                if self._batch_started is not None:
                    due_in = self._batch_started + batch_s - time.monotonic()
                    wait = min(wait, max(0.0, due_in))
                self._connection.process_data_events(time_limit=wait)
                if self._batch_due():
                    self._flush()
            # Stopping: take what is already delivered, write it, ack, leave.
            channel.basic_cancel(tag)
            self._connection.process_data_events(time_limit=0)
            self._flush()
        finally:
            self._close()

    def _close(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except Exception:  # the connection may already be broken
                log.debug("error closing broker connection", exc_info=True)

    def _drop_batch_state(self) -> None:
        # Unacked deliveries return to the queue when the connection dies; forget them.
        self._pending, self._poison = [], []
        self._pending_samples, self._batch_started = 0, None
        PENDING.set(0)

    # -- receiving ----------------------------------------------------------------
    def _on_message(
        self, channel: BlockingChannel, method: Basic.Deliver,
        properties: BasicProperties, body: bytes,
    ) -> None:
        if self._batch_started is None:
            self._batch_started = time.monotonic()
        try:
            batch = decode_batch(body)
        except WireFormatError as exc:
            self._poison.append((method.delivery_tag, properties, body, f"undecodable: {exc}"))
            return
        headers = properties.headers or {}
        # A message without an id (published by hand) is identified by its content.
        message_id = properties.message_id or "sha256:" + hashlib.sha256(body).hexdigest()
        self._pending.append(
            InboundMessage(
                method.delivery_tag, message_id, batch, body, properties,
                request_id=headers.get(REQUEST_ID_HEADER),
                published_at=properties.timestamp,
            )
        )
        self._pending_samples += len(batch)
        PENDING.set(self._pending_samples)

    def _batch_due(self) -> bool:
        if self._batch_started is None:
            return False
        if self._pending_samples >= self.settings.worker_batch_samples:
            return True
        return time.monotonic() - self._batch_started >= self.settings.worker_batch_ms / 1000

    # -- writing ------------------------------------------------------------------
    def _flush(self) -> None:
        if self._batch_started is None:
            return
        # Take the batch; what arrives while it is written (or retried) is the next one.
        messages, poison = self._pending, self._poison
        self._pending, self._poison = [], []
        self._pending_samples, self._batch_started = 0, None
        PENDING.set(0)
        # Undecodable messages first: an ack with multiple=True below would cover them.
        for tag, properties, body, reason in poison:
            self._dead_letter(tag, properties, body, reason)
        # After an outage the batch can hold up to WORKER_PREFETCH messages: write it
        # in transactions of at most WORKER_BATCH_SAMPLES samples each.
        for chunk in self._chunks(messages):
            if not self._write_chunk(chunk):
                return  # stopping while the database is down: the rest stays unacked

    def _chunks(self, messages: list[InboundMessage]) -> Iterator[list[InboundMessage]]:
        chunk: list[InboundMessage] = []
        samples = 0
        for message in messages:
            if chunk and samples + len(message.batch) > self.settings.worker_batch_samples:
                yield chunk
                chunk, samples = [], 0
            chunk.append(message)
            samples += len(message.batch)
        if chunk:
            yield chunk

    def _write_chunk(self, messages: list[InboundMessage]) -> bool:
        assert self._channel is not None
        started = time.monotonic()
        outcome = self._write_with_retry(messages)
        if outcome is None:
            return False
        rejected = {m.delivery_tag for m, _ in outcome.rejected}
        for message, reason in outcome.rejected:
            self._dead_letter(message.delivery_tag, message.properties, message.body,
                              f"rejected by the database: {reason}")
        # Ack the stored messages in one go, up to the highest of their tags (not a
        # dead-lettered one's: acking a tag twice is a channel error).
        stored_tags = [m.delivery_tag for m in messages if m.delivery_tag not in rejected]
        if stored_tags:
            self._channel.basic_ack(delivery_tag=max(stored_tags), multiple=True)
            # Committed and acked: now the query instances may hear of it.
            publish_ingested(self._channel,
                             [m for m in messages if m.delivery_tag not in rejected],
                             self.settings.worker_live_points)
        now = time.time()
        for message in messages:
            if message.published_at:
                LAG.observe(max(0.0, now - message.published_at))
        BATCHES.inc()
        BATCH_SIZE.observe(outcome.samples_written)
        log.info(
            "batch committed",
            extra={"messages": len(messages), "samples": outcome.samples_written,
                   "duplicates": outcome.duplicate_messages, "dead_lettered": len(rejected),
                   "duration_ms": round((time.monotonic() - started) * 1000, 1),
                   "request_ids": [m.request_id for m in messages[:5] if m.request_id]},
        )
        return True

    def _write_with_retry(self, messages: list[InboundMessage]) -> WriteOutcome | None:
        assert self._connection is not None
        if not messages:
            return WriteOutcome()
        retrying = Retrying(
            retry=retry_if_exception_type(TransientStoreError),
            wait=wait_exponential_jitter(multiplier=RECONNECT_FIRST_S, max=RECONNECT_MAX_S),
            stop=lambda _state: self.stopping,
            sleep=self._connection.sleep,  # keeps heartbeats flowing while we wait
            before_sleep=self._log_retry,
            reraise=False,
        )
        try:
            return retrying(self.store.write, messages)
        except RetryError:
            log.warning("stopping with the database unavailable; messages stay queued",
                        extra={"messages": len(messages)})
            return None

    def _log_retry(self, state: Any) -> None:
        WRITE_RETRIES.inc()
        exc = state.outcome.exception() if state.outcome else None
        log.warning("database write failed, retrying",
                    extra={"error": str(exc), "attempt": state.attempt_number,
                           "retry_in_s": round(state.next_action.sleep, 2)})

    def _dead_letter(
        self, tag: int, properties: BasicProperties | None, body: bytes, reason: str
    ) -> None:
        assert self._channel is not None
        kind = reason.split(":", 1)[0]
        headers = dict((properties.headers or {}) if properties else {})
        headers[REASON_HEADER] = reason[:1000]
        dl_properties = pika.BasicProperties(
            delivery_mode=pika.DeliveryMode.Persistent,
            content_type=properties.content_type if properties else None,
            message_id=properties.message_id if properties else None,
            timestamp=properties.timestamp if properties else None,
            headers=headers,
        )
        try:
            self._channel.basic_publish(
                DEAD_LETTER_EXCHANGE, "", body, dl_properties, mandatory=True
            )
            self._channel.basic_ack(delivery_tag=tag)
        except (pika.exceptions.NackError, pika.exceptions.UnroutableError):
            self._channel.basic_nack(delivery_tag=tag, requeue=False)
        DEAD_LETTERED.labels(kind).inc()
        log.warning("message dead-lettered", extra={"delivery_tag": tag, "reason": reason})
