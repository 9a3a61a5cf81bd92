"""Queue depths as metrics: how far behind the workers are, and how much is in the DLQ."""

from __future__ import annotations

import logging
import threading

import pika
import pika.exceptions
from prometheus_client import Gauge

from lookout_common.broker import DEAD_LETTER_QUEUE, INGEST_QUEUE, connection_parameters

from .settings import WorkerSettings

log = logging.getLogger(__name__)

QUEUE_DEPTH = Gauge("queue_depth", "Messages ready in a Lookout queue", ["queue"])
QUEUE_CONSUMERS = Gauge("queue_consumers", "Consumers of a Lookout queue", ["queue"])


class QueueDepthProbe(threading.Thread):
    def __init__(self, settings: WorkerSettings, interval_s: float = 5.0) -> None:
        super().__init__(name="queue-probe", daemon=True)
        self.settings = settings
        self.interval_s = interval_s
        self.stopped = threading.Event()

    def probe_once(self, connection: pika.BlockingConnection) -> dict[str, int]:
        channel = connection.channel()
        depths = {}
        try:
            for queue in (INGEST_QUEUE, DEAD_LETTER_QUEUE):
                method = channel.queue_declare(queue, passive=True).method
                QUEUE_DEPTH.labels(queue).set(method.message_count)
                QUEUE_CONSUMERS.labels(queue).set(method.consumer_count)
                depths[queue] = method.message_count
        finally:
            if channel.is_open:
                channel.close()
        return depths

    def run(self) -> None:
        connection: pika.BlockingConnection | None = None
        while not self.stopped.is_set():
            try:
                if connection is None or not connection.is_open:
                    connection = pika.BlockingConnection(
                        connection_parameters(self.settings, "lookout-worker-probe"))
                self.probe_once(connection)
                connection.process_data_events(0)  # answer heartbeats
            except (pika.exceptions.AMQPError, OSError) as exc:
                log.debug("queue depth probe failed", extra={"error": repr(exc)})
                connection = None
            self.stopped.wait(self.interval_s)
        if connection is not None and connection.is_open:
            connection.close()

    def stop(self) -> None:
        self.stopped.set()
