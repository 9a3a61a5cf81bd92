"""`lookout dlq list|show|replay|purge` against a real broker, with the real worker
consumer storing what is replayed."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import msgpack
import pika
import psycopg2
import pytest

from lookout_common.broker import (
    DEAD_LETTER_QUEUE,
    INGEST_EXCHANGE,
    INGEST_ROUTING_KEY,
    connection_parameters,
    declare_topology,
)
from lookout_common.codec import SampleBatch, encode_batch
from lookout_common.db.schema import migrate
from lookout_common.dlq import REPLAYED_HEADER, DeadLetterQueue
from lookout_common.series import Sample, SeriesKey
from lookout_common.settings import StorageMode
from lookout_worker.consumer import BatchConsumer
from lookout_worker.settings import WorkerSettings
from lookout_worker.store import SampleStore

from .stack import wait_until

NOW_MS = int(time.time() * 1000)


@pytest.fixture
def settings(fresh_database_url, amqp_url):
    s = WorkerSettings(database_url=fresh_database_url, amqp_url=amqp_url,
                       storage_mode=StorageMode.POSTGRES, worker_batch_ms=50)
    migrate(s)
    return s


@pytest.fixture
def worker(settings):
    consumer = BatchConsumer(settings, SampleStore(settings, StorageMode.POSTGRES))
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    yield consumer
    consumer.stop()
    thread.join(timeout=10)
    consumer.store.close()


def sql(settings, query):
    conn = psycopg2.connect(settings.database_url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(query)
            return cur.fetchall() if cur.description else None
    finally:
        conn.close()


def publish(settings, body, message_id):
    connection = pika.BlockingConnection(connection_parameters(settings, "test"))
    try:
        channel = connection.channel()
        declare_topology(channel, settings)
        channel.confirm_delivery()
        channel.basic_publish(INGEST_EXCHANGE, INGEST_ROUTING_KEY, body,
                              pika.BasicProperties(delivery_mode=2, message_id=message_id,
                                                   timestamp=int(time.time())))
    finally:
        connection.close()


def batch(room, *values):
    key = SeriesKey("temperature", (("room", room),))
    return encode_batch(SampleBatch.from_samples(
        [Sample(key, NOW_MS + i, v) for i, v in enumerate(values)]))


def lookout(settings, *args):
    env = {**os.environ, "AMQP_URL": settings.amqp_url, "DATABASE_URL": settings.database_url}
    result = subprocess.run(
        [sys.executable, "-c", "from lookout_common.cli import main; main()", "dlq", *args],
        env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_list_show_replay_purge(settings, worker):
    dlq = DeadLetterQueue(settings)
    sql(settings, "ALTER TABLE samples ADD CONSTRAINT no_13 CHECK (value <> 13)")
    publish(settings, batch("a", 1.0), "good")
    publish(settings, batch("b", 13.0, 14.0), "refused")
    publish(settings, msgpack.packb({"v": 7}), "garbled")
    wait_until(lambda: dlq.count() == 2, 30, "two dead letters")
    assert sql(settings, "SELECT count(*) FROM samples") == [(1,)]

    listed = lookout(settings, "list")
    assert "2 message(s) in metrics.dlq" in listed
    lines = {line.split("\t")[0]: line for line in listed.splitlines() if "\t" in line}
    assert "rejected by the database" in lines["refused"] and "no_13" in lines["refused"]
    assert lines["garbled"].endswith("undecodable: unsupported batch version 7, expected 1")

    shown = lookout(settings, "show", "refused")
    assert "content:      2 samples in 1 series (temperature)" in shown
    assert "reason:       rejected by the database" in shown

    # The cause is fixed; replaying the refused message stores it, the other stays.
    sql(settings, "ALTER TABLE samples DROP CONSTRAINT no_13")
    assert lookout(settings, "replay", "refused", "nope").strip() == (
        "replayed 1, left 1 in metrics.dlq; not found: nope")
    wait_until(lambda: sql(settings, "SELECT count(*) FROM samples") == [(3,)], 30,
               "the replayed samples stored")

    # A message that cannot be decoded comes back to the DLQ, marked as replayed.
    assert lookout(settings, "replay", "--all").strip() == "replayed 1, left 0 in metrics.dlq"
    wait_until(lambda: dlq.count() == 1, 30, "the garbled message dead-lettered again")
    [again] = dlq.peek()
    assert again.message_id == "garbled" and again.headers[REPLAYED_HEADER] == 1

    assert lookout(settings, "purge", "--all", "--yes").strip() == "purged 1, left 0 in metrics.dlq"
    assert dlq.count() == 0
    assert sql(settings, "SELECT count(*) FROM samples") == [(3,)]


def test_show_unknown_message_fails_clearly(settings):
    env = {**os.environ, "AMQP_URL": settings.amqp_url}
    result = subprocess.run(
        [sys.executable, "-c", "from lookout_common.cli import main; main()", "dlq", "show", "x"],
        env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert f"no message 'x' in {DEAD_LETTER_QUEUE}" in result.stderr
