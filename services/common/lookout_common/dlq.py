"""The dead-letter queue: look at what the worker could not store, put it back on the
ingest path once the cause is fixed, or drop it.

Used by ``lookout dlq ...`` (and later the admin API). Messages are read with
``basic_get`` without acking: what is not replayed or purged goes back to the queue,
in its order, when the channel closes. A pass reads at most the messages that were in
the queue when it began, so a replayed message that fails again is not read twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pika
from pika.adapters.blocking_connection import BlockingChannel

from .broker import (
    DEAD_LETTER_QUEUE,
    INGEST_EXCHANGE,
    INGEST_ROUTING_KEY,
    REASON_HEADER,
    connection_parameters,
    declare_topology,
)
from .codec import decode_batch
from .errors import WireFormatError
from .settings import BrokerSettings

REPLAYED_HEADER = "x-lookout-replayed"


@dataclass
class DeadLetter:
    message_id: str | None
    reason: str
    headers: dict[str, Any]
    body: bytes
    content_type: str | None
    published_at: datetime | None
    delivery_tag: int = 0

    def summary(self) -> str:
        """What the body holds, or why it cannot be read."""
        try:
            batch = decode_batch(self.body)
        except WireFormatError as exc:
            return f"undecodable: {exc}"
        metrics = sorted({k.metric for k in batch.series})
        shown = ", ".join(metrics[:5]) + (", ..." if len(metrics) > 5 else "")
        return f"{len(batch)} samples in {len(batch.series)} series ({shown})"


@dataclass
class Outcome:
    done: list[str | None] = field(default_factory=list)  # message ids acted on
    kept: int = 0  # left in the queue


class DeadLetterQueue:
    def __init__(self, settings: BrokerSettings) -> None:
        self.settings = settings

    @contextmanager
    def _channel(self) -> Iterator[BlockingChannel]:
        connection = pika.BlockingConnection(connection_parameters(self.settings, "lookout-dlq"))
        try:
            channel = connection.channel()
            declare_topology(channel, self.settings)
            yield channel
        finally:
            if connection.is_open:
                connection.close()  # unacked messages return to the queue

    def count(self) -> int:
        with self._channel() as channel:
            return int(channel.queue_declare(DEAD_LETTER_QUEUE, passive=True).method.message_count)

    def _read(self, channel: BlockingChannel, limit: int | None = None) -> Iterator[DeadLetter]:
        available = channel.queue_declare(DEAD_LETTER_QUEUE, passive=True).method.message_count
        for _ in range(available if limit is None else min(available, limit)):
            method, properties, body = channel.basic_get(DEAD_LETTER_QUEUE, auto_ack=False)
            if method is None:
                return
            headers = dict(properties.headers or {})
            reason = headers.get(REASON_HEADER)
            if reason is None:  # dead-lettered by the broker itself (nack, expiry)
                deaths = headers.get("x-death") or [{}]
                reason = f"dead-lettered by the broker: {deaths[0].get('reason', 'unknown')}"
            yield DeadLetter(
                properties.message_id, str(reason), headers, body, properties.content_type,
                datetime.fromtimestamp(properties.timestamp, tz=UTC)
                if properties.timestamp else None,
                method.delivery_tag,
            )

    def peek(self, limit: int = 100) -> list[DeadLetter]:
        with self._channel() as channel:
            return list(self._read(channel, limit))

    def find(self, message_id: str) -> DeadLetter | None:
        with self._channel() as channel:
            return next((m for m in self._read(channel) if m.message_id == message_id), None)

    def _each(self, selected: Callable[[DeadLetter], bool],
              act: Callable[[BlockingChannel, DeadLetter], None]) -> Outcome:
        outcome = Outcome()
        with self._channel() as channel:
            for message in self._read(channel):
                if selected(message):
                    act(channel, message)
                    channel.basic_ack(message.delivery_tag)
                    outcome.done.append(message.message_id)
                else:
                    outcome.kept += 1
        return outcome

    def replay(self, message_ids: Iterable[str] | None = None) -> Outcome:
        """Publish the chosen messages (all when ``message_ids`` is None) to the ingest
        exchange with their original id, confirmed, then remove them from the DLQ."""
        wanted = None if message_ids is None else set(message_ids)
        with self._channel() as publish_channel:
            publish_channel.confirm_delivery()

            def republish(_channel: BlockingChannel, message: DeadLetter) -> None:
                headers = {k: v for k, v in message.headers.items()
                           if k not in (REASON_HEADER, "x-death")}
                headers[REPLAYED_HEADER] = int(headers.get(REPLAYED_HEADER, 0)) + 1
                publish_channel.basic_publish(
                    INGEST_EXCHANGE, INGEST_ROUTING_KEY, message.body,
                    pika.BasicProperties(
                        delivery_mode=pika.DeliveryMode.Persistent,
                        content_type=message.content_type, message_id=message.message_id,
                        timestamp=int(message.published_at.timestamp())
                        if message.published_at else None,
                        headers=headers),
                    mandatory=True,
                )

            return self._each(lambda m: wanted is None or m.message_id in wanted, republish)

    def purge(self, message_ids: Iterable[str] | None = None) -> Outcome:
        """Drop the chosen messages (all when ``message_ids`` is None)."""
        wanted = None if message_ids is None else set(message_ids)
        return self._each(lambda m: wanted is None or m.message_id in wanted,
                          lambda _channel, _message: None)
