"""Publishing alert transitions to the broker for live push.

Every change of phase (pending, firing, resolved, and back to inactive) goes to the
durable topic exchange ``alerts`` with routing key ``alert.<phase>.<severity>``, so a
consumer binds ``alert.#`` for everything or ``alert.firing.critical`` for pages only.
The body is JSON: rule id and name, labels, annotations, phase before and after, value
and time. A broker that is down costs the message (logged and counted), never the
evaluation: events and state are in PostgreSQL already.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pika
import pika.exceptions
from prometheus_client import Counter

from lookout_common.broker import connection_parameters
from lookout_common.settings import BrokerSettings

log = logging.getLogger(__name__)

ALERTS_EXCHANGE = "alerts"
PUBLISHED = Counter("alerts_transitions_published_total",
                    "Alert transitions published to the broker", ["outcome"])


def routing_key(phase: str, severity: str) -> str:
    return f"alert.{phase}.{severity}"


def declare_alerts_exchange(channel: Any) -> None:
    channel.exchange_declare(exchange=ALERTS_EXCHANGE, exchange_type="topic", durable=True)


class TransitionPublisher:
    def __init__(self, settings: BrokerSettings) -> None:
        self.settings = settings
        self._connection: pika.BlockingConnection | None = None
        self._channel: Any = None

    def _connect(self) -> None:
        self._connection = pika.BlockingConnection(
            connection_parameters(self.settings, "lookout-alerts-evaluator"))
        self._channel = self._connection.channel()
        self._channel.confirm_delivery()
        declare_alerts_exchange(self._channel)

    def publish(self, message: dict[str, Any]) -> bool:
        body = json.dumps(message, separators=(",", ":")).encode()
        key = routing_key(message["state"], message["labels"].get("severity", "none"))
        for attempt in (1, 2):  # one reconnect: the connection may have gone idle
            try:
                if self._channel is None:
                    self._connect()
                self._channel.basic_publish(
                    ALERTS_EXCHANGE, key, body,
                    pika.BasicProperties(content_type="application/json", delivery_mode=2))
                PUBLISHED.labels("ok").inc()
                return True
            except (pika.exceptions.AMQPError, OSError) as exc:
                self.close()
                if attempt == 2:
                    log.warning("alert transition not published", extra={"error": repr(exc)})
        PUBLISHED.labels("failed").inc()
        return False

    def keepalive(self) -> None:
        """Serve heartbeats between evaluations."""
        if self._connection is not None:
            try:
                self._connection.process_data_events(0)
            except (pika.exceptions.AMQPError, OSError):
                self.close()

    def close(self) -> None:
        if self._connection is not None:
            try:
                self._connection.close()
            except (pika.exceptions.AMQPError, OSError):
                pass
        self._connection, self._channel = None, None
