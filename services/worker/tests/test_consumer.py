"""BatchConsumer against a real broker vhost and database."""

import threading
import time

import msgpack
import pika
import pytest

from lookout_common.broker import (
    DEAD_LETTER_QUEUE,
    INGEST_EXCHANGE,
    INGEST_QUEUE,
    INGEST_ROUTING_KEY,
    REASON_HEADER,
    connection_parameters,
    declare_topology,
)
from lookout_common.codec import SampleBatch, encode_batch
from lookout_common.series import Sample, SeriesKey
from lookout_common.testing import vhost_of
from lookout_worker.consumer import WRITE_RETRIES, BatchConsumer
from lookout_worker.settings import WorkerSettings
from lookout_worker.store import SampleStore

from .conftest import query

NOW_MS = int(time.time() * 1000)


@pytest.fixture
def consumer_settings(settings, amqp_url):
    return WorkerSettings(**{**settings.model_dump(), "amqp_url": amqp_url,
                             "worker_batch_ms": 50, "worker_batch_samples": 1000})


@pytest.fixture
def publish(consumer_settings):
    connection = pika.BlockingConnection(connection_parameters(consumer_settings, "test"))
    channel = connection.channel()
    declare_topology(channel, consumer_settings)
    channel.confirm_delivery()

    def _publish(body: bytes, message_id: str | None = None) -> None:
        channel.basic_publish(INGEST_EXCHANGE, INGEST_ROUTING_KEY, body,
                              pika.BasicProperties(delivery_mode=2, message_id=message_id))

    yield _publish
    connection.close()


def good(mid: str, value: float) -> bytes:
    key = SeriesKey("temperature", (("room", mid),))
    return encode_batch(SampleBatch.from_samples([Sample(key, NOW_MS, value)]))


class Running:
    def __init__(self, settings, mode):
        self.consumer = BatchConsumer(settings, SampleStore(settings, mode))
        self.thread = threading.Thread(target=self.consumer.run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    @staticmethod
    def consumer_retries() -> float:
        return WRITE_RETRIES._value.get()

    def __exit__(self, *exc):
        self.consumer.stop()
        self.thread.join(timeout=10)
        assert not self.thread.is_alive()
        self.consumer.store.close()


def ready_count(settings, queue: str) -> int:
    """Messages ready in ``queue`` (exact, unlike the management API's sampled stats)."""
    connection = pika.BlockingConnection(connection_parameters(settings, "test-count"))
    try:
        return connection.channel().queue_declare(queue, passive=True).method.message_count
    finally:
        connection.close()


def wait_for(predicate, timeout=15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


def test_poison_goes_to_dlq_with_reason_and_neighbours_are_stored(
    consumer_settings, mode, publish, db, rabbit_admin, amqp_url
):
    publish(good("a", 1.0), "m-a")
    publish(b"\xc1 definitely not msgpack", "m-poison-1")
    publish(good("b", 2.0), "m-b")
    publish(msgpack.packb({"v": 99}), "m-poison-2")
    publish(good("c", 3.0), "m-c")
    vhost = vhost_of(amqp_url)
    with Running(consumer_settings, mode):
        wait_for(lambda: ready_count(consumer_settings, DEAD_LETTER_QUEUE) == 2
                 and query(db, "SELECT count(*) FROM samples")[0][0] == 3)
    assert ready_count(consumer_settings, INGEST_QUEUE) == 0
    rows = query(db, "SELECT s.labels->>'room', x.value FROM samples x "
                     "JOIN series s ON s.id = x.series_id ORDER BY 1")
    assert rows == [("a", 1.0), ("b", 2.0), ("c", 3.0)]
    dead = rabbit_admin.get_messages(vhost, DEAD_LETTER_QUEUE)
    reasons = {m["properties"]["message_id"]: m["properties"]["headers"][REASON_HEADER]
               for m in dead}
    assert reasons["m-poison-1"].startswith("undecodable: not a msgpack document")
    assert reasons["m-poison-2"] == "undecodable: unsupported batch version 99, expected 1"


def test_redelivered_batch_is_not_stored_twice(consumer_settings, mode, publish, db):
    publish(good("x", 5.0), "dup-id")
    with Running(consumer_settings, mode):
        wait_for(lambda: query(db, "SELECT count(*) FROM samples")[0][0] == 1)
        # The same message again (as after a worker died before its ack).
        publish(good("x", 6.0), "dup-id")
        publish(good("y", 7.0), "other-id")
        wait_for(lambda: query(db, "SELECT count(*) FROM samples")[0][0] == 2)
    assert query(db, "SELECT x.value FROM samples x ORDER BY value") == [(5.0,), (7.0,)]


def test_database_down_keeps_messages_unacked_then_stores_them(
    consumer_settings, mode, publish, db, rabbit_admin, amqp_url
):
    vhost = vhost_of(amqp_url)
    broken = WorkerSettings(**{**consumer_settings.model_dump(),
                               "database_url": "postgresql://postgres@127.0.0.1:1/nowhere"})
    publish(good("d", 1.0), "m-d")
    running = Running(broken, mode)
    with running:
        # Delivered (no longer ready) but neither stored nor dead-lettered.
        wait_for(lambda: ready_count(consumer_settings, INGEST_QUEUE) == 0)
        wait_for(lambda: rabbit_admin.queue(vhost, INGEST_QUEUE).get("messages_unacknowledged")
                 == 1, timeout=30)
        wait_for(lambda: running.consumer_retries() >= 2)
        assert ready_count(consumer_settings, DEAD_LETTER_QUEUE) == 0
    # Stopped while the database was down: the message went back to the queue.
    assert ready_count(consumer_settings, INGEST_QUEUE) == 1
    with Running(consumer_settings, mode):
        wait_for(lambda: query(db, "SELECT count(*) FROM samples")[0][0] == 1)
    assert ready_count(consumer_settings, DEAD_LETTER_QUEUE) == 0
    assert ready_count(consumer_settings, INGEST_QUEUE) == 0


def test_a_large_backlog_is_written_in_bounded_transactions(consumer_settings, mode):
    """After an outage the pending batch may hold WORKER_PREFETCH messages; each
    transaction still holds at most WORKER_BATCH_SAMPLES samples (1000 here)."""
    consumer = BatchConsumer(consumer_settings, SampleStore(consumer_settings, mode))
    key = SeriesKey("backlog", ())

    def message(tag, n):
        batch = SampleBatch.from_samples([Sample(key, NOW_MS + tag * 1000 + i, 1.0)
                                          for i in range(n)])
        from lookout_worker.store import InboundMessage

        return InboundMessage(tag, f"m{tag}", batch)

    messages = [message(t, n) for t, n in enumerate([400, 400, 400, 1500, 100, 900], 1)]
    chunks = [[m.delivery_tag for m in c] for c in consumer._chunks(messages)]
    assert chunks == [[1, 2], [3], [4], [5, 6]]
    consumer.store.close()
