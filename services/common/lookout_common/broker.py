"""RabbitMQ topology and confirmed publishing.

Topology (declared idempotently by every service at start, and exported for compose
as ``infra/rabbitmq/definitions.json``)::

    metrics (direct) --ingest--> metrics.ingest --(rejected)--> metrics.dlx (fanout) --> metrics.dlq
    metrics.ingested (fanout): the worker's "batch committed" events; each query
        instance binds its own short-lived queues to it (live push, see docs/live.md)

``metrics.ingest`` is durable, bounded by ``x-max-length`` with ``reject-publish`` so
an overloaded broker nacks the publish (the API answers 503) instead of growing.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Mapping
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
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
# The worker announces each committed batch here (metric names, time span, a few points).
INGESTED_EXCHANGE = "metrics.ingested"
# The alerts evaluator's transitions (topic, durable; declared by lookout_alerts and by
# the query service's live feed, with the same arguments).
ALERTS_EXCHANGE = "alerts"
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


def topology_operations(settings: BrokerSettings) -> list[tuple[str, dict[str, Any]]]:
    """The declarations, in order, as (channel method, keyword arguments)."""
    ingest, dead = ingest_queue_spec(settings), dead_letter_queue_spec(settings)
    return [
        ("exchange_declare", {"exchange": INGEST_EXCHANGE, "exchange_type": "direct",
                              "durable": True}),
        ("exchange_declare", {"exchange": DEAD_LETTER_EXCHANGE, "exchange_type": "fanout",
                              "durable": True}),
        ("exchange_declare", {"exchange": INGESTED_EXCHANGE, "exchange_type": "fanout",
                              "durable": True}),
        ("queue_declare", {"queue": ingest.name, "durable": True, "arguments": ingest.arguments}),
        ("queue_bind", {"queue": ingest.name, "exchange": INGEST_EXCHANGE,
                        "routing_key": INGEST_ROUTING_KEY}),
        ("queue_declare", {"queue": dead.name, "durable": True, "arguments": dead.arguments}),
        ("queue_bind", {"queue": dead.name, "exchange": DEAD_LETTER_EXCHANGE, "routing_key": ""}),
    ]


def declare_topology(channel: BlockingChannel, settings: BrokerSettings) -> None:
    """Declare exchanges and queues; safe to run any number of times."""
    for method, kwargs in topology_operations(settings):
        try:
            getattr(channel, method)(**kwargs)
        except pika.exceptions.ChannelClosedByBroker as exc:
            if exc.reply_code == 406:
                raise TopologyMismatch(
                    f"queue {kwargs.get('queue')} exists with other arguments than "
                    f"{kwargs.get('arguments')}: {exc.reply_text}. Drain and delete it, or "
                    "set the BROKER_QUEUE_* settings to match it."
                ) from None
            raise


def topology_definitions(settings: BrokerSettings, vhost: str = "/") -> dict[str, Any]:
    """The same topology in the management plugin's definitions format (for compose)."""
    return {
        "exchanges": [
            {"name": INGEST_EXCHANGE, "vhost": vhost, "type": "direct", "durable": True,
             "auto_delete": False, "internal": False, "arguments": {}},
            {"name": DEAD_LETTER_EXCHANGE, "vhost": vhost, "type": "fanout", "durable": True,
             "auto_delete": False, "internal": False, "arguments": {}},
            {"name": INGESTED_EXCHANGE, "vhost": vhost, "type": "fanout", "durable": True,
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
    """Publishes persistent messages; ``publish`` returns only once the broker confirmed.

    One I/O thread per process owns a pika ``SelectConnection`` with a confirm-mode
    channel; request threads hand it messages (``add_callback_threadsafe``, the one
    thread-safe call) and wait on a future, at most ``BROKER_CONFIRM_TIMEOUT_S``. So a
    broker that stops answering costs a request that long and no longer, whatever the
    heartbeat, and many requests' confirms are in flight on one connection at once.
    The thread starts on first use (after gunicorn's fork) and reconnects by itself
    with backoff; while it is disconnected, publishes fail at once with the reason.
    """

    def __init__(self, settings: BrokerSettings, name: str) -> None:
        self._settings = settings
        self._name = name
        self._timeout = settings.broker_confirm_timeout_s
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._connection: pika.SelectConnection | None = None
        self._channel: Any = None
        self._ready = threading.Event()
        self._attempting = threading.Event()  # a connection attempt is under way
        self._last_error = "not connected yet"
        # I/O-thread state: delivery tag -> (future, message id); ids the broker returned.
        self._pending: dict[int, tuple[Future[None], str]] = {}
        self._returned: set[str] = set()
        self._next_tag = 0

    # -- request threads ------------------------------------------------------------
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
        self._start()
        if not self._ready.is_set():
            # Wait for a connection attempt in progress; fail at once if the last failed.
            if not self._attempting.is_set() or not self._ready.wait(self._timeout):
                raise BrokerUnavailable(f"not connected to the broker: {self._last_error}")
        properties = pika.BasicProperties(
            delivery_mode=pika.DeliveryMode.Persistent,
            content_type=content_type,
            message_id=message_id,
            timestamp=int(time.time()),
            headers=dict(headers or {}),
        )
        future: Future[None] = Future()
        connection = self._connection
        if connection is None:
            raise BrokerUnavailable(f"not connected to the broker: {self._last_error}")
        try:
            connection.ioloop.add_callback_threadsafe(
                functools.partial(self._send, future, exchange, routing_key, body, properties)
            )
            future.result(timeout=self._timeout)
        except FutureTimeout:
            raise BrokerUnavailable(
                f"the broker did not confirm within {self._timeout:g} s"
            ) from None
        except BrokerUnavailable:
            raise
        except Exception as exc:  # the I/O loop is gone: connection lost meanwhile
            raise BrokerUnavailable(f"publish failed: {exc!r}") from None

    def close(self) -> None:
        self._stopping = True
        connection = self._connection
        if connection is not None:
            try:
                connection.ioloop.add_callback_threadsafe(self._close_connection)
            except Exception:  # already closed
                log.debug("publisher connection already gone", exc_info=True)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _start(self) -> None:
        with self._lock:
            if self._thread is None and not self._stopping:
                self._attempting.set()
                self._thread = threading.Thread(
                    target=self._run, name=f"{self._name}-publisher", daemon=True
                )
                self._thread.start()

    # -- the I/O thread -------------------------------------------------------------
    def _run(self) -> None:
        delay = 0.25
        while not self._stopping:
            self._attempting.set()
            try:
                connection = pika.SelectConnection(
                    connection_parameters(self._settings, self._name),
                    on_open_callback=self._on_connection_open,
                    on_open_error_callback=self._on_connection_error,
                    on_close_callback=self._on_connection_closed,
                )
            except Exception as exc:  # bad parameters, DNS failure
                self._last_error = repr(exc)
            else:
                self._connection = connection
                connection.ioloop.start()  # returns when the connection is gone
                connection.ioloop.close()
            was_ready = self._ready.is_set()
            self._ready.clear()
            self._attempting.clear()
            self._connection, self._channel = None, None
            self._fail_pending(BrokerUnavailable(f"broker connection lost: {self._last_error}"))
            if self._stopping:
                break
            delay = 0.25 if was_ready else min(delay * 2, 2.0)
            log.warning("broker connection down, reconnecting",
                        extra={"error": self._last_error, "retry_in_s": delay})
            time.sleep(delay)

    def _on_connection_open(self, connection: pika.SelectConnection) -> None:
        connection.channel(on_open_callback=self._on_channel_open)

    def _on_connection_error(self, connection: pika.SelectConnection, error: Any) -> None:
        self._last_error = f"cannot connect: {error!r}"
        connection.ioloop.stop()

    def _on_connection_closed(self, connection: pika.SelectConnection, reason: Any) -> None:
        if not isinstance(reason, pika.exceptions.ConnectionClosedByClient):
            self._last_error = f"connection closed: {reason!r}"
        connection.ioloop.stop()

    def _on_channel_open(self, channel: Any) -> None:
        self._channel = channel
        channel.add_on_close_callback(self._on_channel_closed)
        channel.add_on_return_callback(self._on_return)
        steps = topology_operations(self._settings)

        def declare_next(_frame: Any = None) -> None:
            if steps:
                method, kwargs = steps.pop(0)
                getattr(channel, method)(callback=declare_next, **kwargs)
            else:
                channel.confirm_delivery(ack_nack_callback=self._on_confirm,
                                         callback=self._on_confirm_mode)

        declare_next()

    def _on_confirm_mode(self, _frame: Any) -> None:
        self._next_tag = 0
        self._ready.set()
        log.info("publisher connected", extra={"connection": self._name})

    def _on_channel_closed(self, channel: Any, reason: Any) -> None:
        if getattr(reason, "reply_code", None) == 406:
            self._last_error = (
                f"topology mismatch: {reason.reply_text}; drain and delete the queue, or set "
                "the BROKER_QUEUE_* settings to match it"
            )
            log.error("broker topology mismatch", extra={"error": reason.reply_text})
        else:
            self._last_error = f"channel closed: {reason!r}"
        self._ready.clear()
        if self._connection is not None and self._connection.is_open:
            self._connection.close()

    def _close_connection(self) -> None:
        if self._connection is not None and self._connection.is_open:
            self._connection.close()

    def _send(self, future: Future[None], exchange: str, routing_key: str, body: bytes,
              properties: pika.BasicProperties) -> None:
        if not self._ready.is_set() or self._channel is None or not self._channel.is_open:
            future.set_exception(BrokerUnavailable(f"not connected: {self._last_error}"))
            return
        try:
            self._channel.basic_publish(exchange, routing_key, body, properties, mandatory=True)
        except Exception as exc:  # the channel broke between the check and the call
            future.set_exception(BrokerUnavailable(f"publish failed: {exc!r}"))
            return
        self._next_tag += 1
        self._pending[self._next_tag] = (future, properties.message_id)

    def _on_return(self, _channel: Any, _method: Any, properties: Any, _body: bytes) -> None:
        self._returned.add(properties.message_id)

    def _on_confirm(self, frame: Any) -> None:
        method = frame.method
        tags = ([t for t in self._pending if t <= method.delivery_tag] if method.multiple
                else [method.delivery_tag])
        acked = isinstance(method, pika.spec.Basic.Ack)
        for tag in tags:
            entry = self._pending.pop(tag, None)
            if entry is None:
                continue
            future, message_id = entry
            if not acked:
                # The queue is full (reject-publish) or the broker failed to store it.
                future.set_exception(
                    BrokerOverloaded("the broker refused the message (queue full)")
                )
            elif message_id in self._returned:
                self._returned.discard(message_id)
                future.set_exception(BrokerUnavailable("no queue is bound for the message"))
            else:
                future.set_result(None)

    def _fail_pending(self, error: BrokerUnavailable) -> None:
        pending, self._pending = self._pending, {}
        self._returned.clear()
        for future, _ in pending.values():
            if not future.done():
                future.set_exception(error)


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
