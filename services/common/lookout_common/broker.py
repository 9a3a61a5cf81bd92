"""RabbitMQ topology and confirmed publishing.

Topology (declared idempotently by every service at start, and exported for compose
as ``infra/rabbitmq/definitions.json``)::

    metrics (direct) --ingest--> metrics.ingest --(rejected)--> metrics.dlx (fanout) --> metrics.dlq

``metrics.ingest`` is durable, bounded by ``x-max-length`` with ``reject-publish`` so
an overloaded broker nacks the publish (the API answers 503) instead of growing.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from .settings import BrokerSettings

log = logging.getLogger(__name__)

INGEST_EXCHANGE = "metrics"
INGEST_ROUTING_KEY = "ingest"
INGEST_QUEUE = "metrics.ingest"
DEAD_LETTER_EXCHANGE = "metrics.dlx"
DEAD_LETTER_QUEUE = "metrics.dlq"
# Header the worker sets on a dead-lettered message: why it could not be stored.
REASON_HEADER = "x-lookout-error"
REQUEST_ID_HEADER = "x-request-id"


class BrokerUnavailable(Exception):
    """The broker could not be reached or did not confirm: nothing was accepted."""


class BrokerOverloaded(BrokerUnavailable):
    """The broker refused the message (queue at its max length)."""


class TopologyMismatch(RuntimeError):
    """A queue exists with arguments other than the settings ask for."""


@dataclass(frozen=True)
class QueueSpec:
    name: str
    arguments: dict[str, Any]


def ingest_queue_spec(settings: BrokerSettings) -> QueueSpec:
    return QueueSpec(
        INGEST_QUEUE,
        {
            "x-queue-type": settings.broker_queue_type.value,
            "x-max-length": settings.broker_queue_max_length,
            "x-overflow": "reject-publish",
            "x-dead-letter-exchange": DEAD_LETTER_EXCHANGE,
        },
    )


def dead_letter_queue_spec(settings: BrokerSettings) -> QueueSpec:
    return QueueSpec(DEAD_LETTER_QUEUE, {"x-queue-type": settings.broker_queue_type.value})


def connection_parameters(settings: BrokerSettings, name: str) -> pika.URLParameters:
    params = pika.URLParameters(settings.amqp_url)
    params.heartbeat = settings.broker_heartbeat_s
    params.blocked_connection_timeout = settings.broker_confirm_timeout_s
    params.socket_timeout = settings.broker_confirm_timeout_s
    params.stack_timeout = settings.broker_confirm_timeout_s
    params.connection_attempts = 1
    params.client_properties = {"connection_name": name}
    return params


def declare_topology(channel: BlockingChannel, settings: BrokerSettings) -> None:
    """Declare exchanges and queues; safe to run any number of times."""
    channel.exchange_declare(INGEST_EXCHANGE, exchange_type="direct", durable=True)
    channel.exchange_declare(DEAD_LETTER_EXCHANGE, exchange_type="fanout", durable=True)
    for spec, exchange, key in (
        (ingest_queue_spec(settings), INGEST_EXCHANGE, INGEST_ROUTING_KEY),
        (dead_letter_queue_spec(settings), DEAD_LETTER_EXCHANGE, ""),
    ):
        try:
            channel.queue_declare(spec.name, durable=True, arguments=spec.arguments)
        except pika.exceptions.ChannelClosedByBroker as exc:
            if exc.reply_code == 406:
                raise TopologyMismatch(
                    f"queue {spec.name} exists with other arguments than {spec.arguments}: "
                    f"{exc.reply_text}. Drain and delete it, or set the BROKER_QUEUE_* "
                    "settings to match it."
                ) from None
            raise
        channel.queue_bind(spec.name, exchange, routing_key=key)


def topology_definitions(settings: BrokerSettings, vhost: str = "/") -> dict[str, Any]:
    """The same topology in the management plugin's definitions format (for compose)."""
    return {
        "exchanges": [
            {"name": INGEST_EXCHANGE, "vhost": vhost, "type": "direct", "durable": True,
             "auto_delete": False, "internal": False, "arguments": {}},
            {"name": DEAD_LETTER_EXCHANGE, "vhost": vhost, "type": "fanout", "durable": True,
             "auto_delete": False, "internal": False, "arguments": {}},
        ],
        "queues": [
            {"name": spec.name, "vhost": vhost, "durable": True, "auto_delete": False,
             "arguments": spec.arguments}
            for spec in (ingest_queue_spec(settings), dead_letter_queue_spec(settings))
        ],
        "bindings": [
            {"source": INGEST_EXCHANGE, "vhost": vhost, "destination": INGEST_QUEUE,
             "destination_type": "queue", "routing_key": INGEST_ROUTING_KEY, "arguments": {}},
            {"source": DEAD_LETTER_EXCHANGE, "vhost": vhost, "destination": DEAD_LETTER_QUEUE,
             "destination_type": "queue", "routing_key": "", "arguments": {}},
        ],
    }


class ConfirmingPublisher:
    """Publishes persistent messages and returns only once the broker confirmed them.

    pika connections are not thread-safe, so each thread (gunicorn gthread worker)
    gets its own connection and confirm-mode channel, opened on first use and
    dropped on any failure so the next publish reconnects.
    """

    def __init__(self, settings: BrokerSettings, name: str) -> None:
        self._settings = settings
        self._name = name
        self._local = threading.local()

    def _channel(self) -> BlockingChannel:
        channel = getattr(self._local, "channel", None)
        if channel is not None and channel.is_open:
            return channel
        self._drop()
        try:
            connection = pika.BlockingConnection(
                connection_parameters(self._settings, self._name)
            )
        except (pika.exceptions.AMQPError, OSError) as exc:
            raise BrokerUnavailable(f"cannot connect to the broker: {exc!r}") from None
        try:
            channel = connection.channel()
            declare_topology(channel, self._settings)
            channel.confirm_delivery()
        except (pika.exceptions.AMQPError, OSError) as exc:
            _close_quietly(connection)
            raise BrokerUnavailable(f"cannot open a channel: {exc!r}") from None
        self._local.connection = connection
        self._local.channel = channel
        return channel

    def publish(
        self,
        body: bytes,
        *,
        message_id: str,
        content_type: str,
        headers: Mapping[str, Any] | None = None,
        exchange: str = INGEST_EXCHANGE,
        routing_key: str = INGEST_ROUTING_KEY,
    ) -> None:
        channel = self._channel()
        properties = pika.BasicProperties(
            delivery_mode=pika.DeliveryMode.Persistent,
            content_type=content_type,
            message_id=message_id,
            timestamp=int(time.time()),
            headers=dict(headers or {}),
        )
        try:
            channel.basic_publish(exchange, routing_key, body, properties, mandatory=True)
        except pika.exceptions.NackError:
            # The queue is full (reject-publish) or the broker failed to store it.
            raise BrokerOverloaded("the broker refused the message (queue full)") from None
        except pika.exceptions.UnroutableError:
            raise BrokerUnavailable(f"no queue is bound for {exchange}/{routing_key}") from None
        except (pika.exceptions.AMQPError, OSError) as exc:
            self._drop()
            raise BrokerUnavailable(f"publish not confirmed: {exc!r}") from None

    def _drop(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        self._local.channel = None
        if connection is not None:
            _close_quietly(connection)

    def close(self) -> None:
        self._drop()


def _close_quietly(connection: pika.BlockingConnection) -> None:
    try:
        if connection.is_open:
            connection.close()
    except Exception:  # closing a broken connection may raise anything
        log.debug("ignored error while closing a broker connection", exc_info=True)


def check_broker(settings: BrokerSettings) -> float:
    """Open and close a connection; return the latency in seconds (for readiness)."""
    started = time.perf_counter()
    connection = pika.BlockingConnection(connection_parameters(settings, "lookout-health"))
    _close_quietly(connection)
    return time.perf_counter() - started
