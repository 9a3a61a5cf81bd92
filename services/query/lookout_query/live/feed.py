"""What the query service hears from the broker for live push.

Three queues on one connection, all transient (a live event is only worth sending now):

* its own exclusive queue on ``metrics.ingested``: every committed batch, so this
  instance re-evaluates those of *its* subscriptions that the batch touched;
* ``live.stream`` on ``metrics.ingested``, shared by every query instance (each event
  goes to one of them): that instance keeps the newest points in Redis (for
  ``initial``) and broadcasts ``metric`` through the Socket.IO message queue, which
  delivers it to the clients of every instance, once;
* ``live.alerts`` on the evaluator's ``alerts`` topic exchange (``alert.#``), shared the
  same way, broadcast as ``alert``.

Runs as a Socket.IO background task (a greenlet under gevent, pika's sockets are then
cooperative) and reconnects by itself with backoff.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import orjson
import pika
import pika.exceptions
import redis
from prometheus_client import Counter

from lookout_common.broker import ALERTS_EXCHANGE, INGESTED_EXCHANGE, connection_parameters

from ..settings import QuerySettings
from .server import LiveServer

log = logging.getLogger(__name__)

STREAM_QUEUE = "live.stream"
ALERTS_QUEUE = "live.alerts"
# Shared queues: events older than this are not worth sending; bounded meanwhile.
SHARED_QUEUE_ARGUMENTS = {"x-message-ttl": 10_000, "x-max-length": 10_000}
RECONNECT_FIRST_S, RECONNECT_MAX_S = 0.5, 5.0

RECEIVED = Counter("live_feed_events_total", "Broker events received for live push", ["kind"])


class LiveFeed:
    def __init__(self, settings: QuerySettings, server: LiveServer,
                 recent: redis.Redis) -> None:
        self.settings = settings
        self.server = server
        self.recent = recent
        self.stopping = False

    def run(self) -> None:
        delay = RECONNECT_FIRST_S
        while not self.stopping:
            started = time.monotonic()
            try:
                self._consume()
            except (pika.exceptions.AMQPError, OSError) as exc:
                if time.monotonic() - started > 10:  # it was working: back off afresh
                    delay = RECONNECT_FIRST_S
                log.warning("live feed lost the broker, reconnecting",
                            extra={"error": repr(exc), "retry_in_s": delay})
            except Exception:
                log.exception("live feed failed, restarting")
            self.server.socketio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_S)

    def _consume(self) -> None:
        connection = pika.BlockingConnection(
            connection_parameters(self.settings, "lookout-query-live"))
        try:
            channel = connection.channel()
            channel.exchange_declare(INGESTED_EXCHANGE, "fanout", durable=True)
            channel.exchange_declare(ALERTS_EXCHANGE, "topic", durable=True)
            own = channel.queue_declare("", exclusive=True, auto_delete=True).method.queue
            channel.queue_bind(own, INGESTED_EXCHANGE)
            for queue, exchange, key in ((STREAM_QUEUE, INGESTED_EXCHANGE, ""),
                                         (ALERTS_QUEUE, ALERTS_EXCHANGE, "alert.#")):
                channel.queue_declare(queue, auto_delete=True,
                                      arguments=SHARED_QUEUE_ARGUMENTS)
                channel.queue_bind(queue, exchange, routing_key=key)
            channel.basic_qos(prefetch_count=100)
            channel.basic_consume(own, self._on_own, auto_ack=True)
            channel.basic_consume(STREAM_QUEUE, self._on_stream, auto_ack=True)
            channel.basic_consume(ALERTS_QUEUE, self._on_alert, auto_ack=True)
            log.info("live feed consuming", extra={"queue": own})
            while not self.stopping:
                connection.process_data_events(time_limit=1)
        finally:
            try:
                if connection.is_open:
                    connection.close()
            except Exception:  # the connection may be broken already
                log.debug("error closing the live feed connection", exc_info=True)

    # -- events ---------------------------------------------------------------------------
    def _on_own(self, _ch: Any, _method: Any, _props: Any, body: bytes) -> None:
        RECEIVED.labels("ingested").inc()
        try:
            event = orjson.loads(body)
            self.server.touched(list(event["metrics"]), int(event["end_ms"]),
                                int(event["committed_ms"]))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            log.warning("malformed 'ingested' event", extra={"error": repr(exc)})

    def _on_stream(self, _ch: Any, _method: Any, _props: Any, body: bytes) -> None:
        RECEIVED.labels("stream").inc()
        try:
            points = list(orjson.loads(body)["points"])
        except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
            log.warning("malformed 'ingested' event", extra={"error": repr(exc)})
            return
        if not points:
            return
        keep = self.settings.query_live_initial_points
        if keep:
            try:
                pipe = self.recent.pipeline()
                pipe.rpush(self.server.recent_key, *(orjson.dumps(p) for p in points[-keep:]))
                pipe.ltrim(self.server.recent_key, -keep, -1)
                pipe.execute()
            except redis.RedisError as exc:
                log.warning("recent points not kept", extra={"error": repr(exc)})
        size = self.settings.query_live_points_per_message
        for i in range(0, len(points), size):
            chunk = points[i:i + size]
            self.server.emit("metric", {"points": chunk,
                                        "data_time": max(p["timestamp"] for p in chunk)})

    def _on_alert(self, _ch: Any, _method: Any, _props: Any, body: bytes) -> None:
        RECEIVED.labels("alert").inc()
        try:
            message = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            log.warning("malformed alert transition", extra={"error": repr(exc)})
            return
        if isinstance(message, dict):
            self.server.emit("alert", message)
