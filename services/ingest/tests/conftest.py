"""Fixtures shared by the ingest API tests: an app per test on the test's own broker
vhost, and a channel to read what it published."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pika
import pytest
from flask.testing import FlaskClient

from lookout_common.broker import INGEST_QUEUE, connection_parameters, declare_topology
from lookout_common.codec import SampleBatch, decode_batch
from lookout_ingest.app import create_app
from lookout_ingest.settings import IngestSettings


@pytest.fixture
def channel(settings: IngestSettings) -> Iterator[pika.adapters.blocking_connection.BlockingChannel]:
    connection = pika.BlockingConnection(connection_parameters(settings, "test"))
    ch = connection.channel()
    declare_topology(ch, settings)
    yield ch
    connection.close()


@pytest.fixture
def make_client() -> Iterator[Callable[..., FlaskClient]]:
    """Build apps (optionally with a test double publisher); closes their publishers."""
    apps = []

    def make(settings: IngestSettings, publisher: object = None) -> FlaskClient:
        apps.append(create_app(settings, publisher))  # type: ignore[arg-type]
        return apps[-1].test_client()

    yield make
    for app in apps:
        app.extensions["lookout.publisher"].close()


@pytest.fixture
def client(settings: IngestSettings, channel: object,
           make_client: Callable[..., FlaskClient]) -> FlaskClient:
    return make_client(settings)


def queued(channel: pika.adapters.blocking_connection.BlockingChannel
           ) -> list[tuple[pika.BasicProperties, SampleBatch]]:
    """Take every message from metrics.ingest, decoded."""
    out = []
    while True:
        method, props, body = channel.basic_get(INGEST_QUEUE, auto_ack=True)
        if method is None:
            return out
        out.append((props, decode_batch(body)))


class RecordingPublisher:
    """Stands in for the broker in the fuzz tests, so 10,000 requests measure the
    parsers and not the confirms (the broker path is tested against the real broker)."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def publish(self, body: bytes, **_properties: object) -> None:
        self.bodies.append(body)

    def close(self) -> None:
        pass


@pytest.fixture
def fuzz_client(servers: object, redis_key_prefix: str,
                make_client: Callable[..., FlaskClient]) -> tuple[FlaskClient, RecordingPublisher]:
    settings = IngestSettings(redis_url=servers.redis_url,  # type: ignore[attr-defined]
                              redis_key_prefix=redis_key_prefix,
                              ingest_max_body_bytes=64 * 1024,
                              ingest_rate_limit="1000000/second")
    publisher = RecordingPublisher()
    return make_client(settings, publisher), publisher
