"""pytest fixtures for tests that need the real PostgreSQL, RabbitMQ and Redis.

Where the servers come from, in order:

1. ``LOOKOUT_TEST_PG_URL`` / ``LOOKOUT_TEST_AMQP_URL`` / ``LOOKOUT_TEST_RABBITMQ_API`` /
   ``LOOKOUT_TEST_REDIS_URL`` when set (CI, a developer's own servers);
2. the standard local ports (127.0.0.1:5432, :5672, :15672, :6379) when they answer;
3. otherwise, where a Docker engine runs, testcontainers starts TimescaleDB,
   RabbitMQ (with management) and Redis for the session.

Every test gets its own database, vhost and Redis key prefix, created here and
dropped afterwards, so a running ``make run`` stack is never touched.
"""

from __future__ import annotations

import os
import shutil
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlsplit

import psycopg2
import pytest
import requests

from .db.connection import drop_database, ensure_database
from .settings import StorageMode


@dataclass(frozen=True)
class ServerUrls:
    pg_admin_url: str  # a database URL whose database part is replaced per test
    amqp_base: str  # amqp://user:pass@host:port (no vhost)
    rabbitmq_api: str  # http://user:pass@host:15672
    redis_url: str


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port),
                                      timeout=1):
            return True
    except OSError:
        return False


def _from_environment() -> ServerUrls:
    return ServerUrls(
        os.environ.get("LOOKOUT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        os.environ.get("LOOKOUT_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672"),
        os.environ.get("LOOKOUT_TEST_RABBITMQ_API", "http://guest:guest@127.0.0.1:15672"),
        os.environ.get("LOOKOUT_TEST_REDIS_URL", "redis://127.0.0.1:6379"),
    )


def _from_containers(stack: list[object]) -> ServerUrls:  # pragma: no cover - needs Docker
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.waiting_utils import wait_for_logs
    from testcontainers.postgres import PostgresContainer
    from testcontainers.redis import RedisContainer

    pg = PostgresContainer("timescale/timescaledb:latest-pg15", username="postgres",
                           password="postgres", dbname="postgres")
    pg.start()
    stack.append(pg)
    rabbit = DockerContainer("rabbitmq:3-management").with_exposed_ports(5672, 15672)
    rabbit.start()
    stack.append(rabbit)
    wait_for_logs(rabbit, "Server startup complete", timeout=120)
    redis = RedisContainer("redis:7")
    redis.start()
    stack.append(redis)
    host = pg.get_container_host_ip()
    return ServerUrls(
        f"postgresql://postgres:postgres@{host}:{pg.get_exposed_port(5432)}/postgres",
        f"amqp://guest:guest@{host}:{rabbit.get_exposed_port(5672)}",
        f"http://guest:guest@{host}:{rabbit.get_exposed_port(15672)}",
        f"redis://{host}:{redis.get_exposed_port(6379)}",
    )


@pytest.fixture(scope="session")
def servers() -> Iterator[ServerUrls]:
    urls = _from_environment()
    stack: list[object] = []
    explicit = any(k.startswith("LOOKOUT_TEST_") for k in os.environ)
    if not explicit and not _reachable(urls.pg_admin_url, 5432) and shutil.which("docker"):
        urls = _from_containers(stack)
    yield urls
    for container in reversed(stack):  # pragma: no cover - needs Docker
        container.stop()  # type: ignore[attr-defined]


def unique_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def database_url(servers: ServerUrls, name: str) -> str:
    parts = urlsplit(servers.pg_admin_url)
    return parts._replace(path="/" + name).geturl()


@pytest.fixture
def database_url_factory(servers: ServerUrls) -> Iterator[Callable[[], str]]:
    """Make fresh, empty databases; all are dropped after the test."""
    created: list[str] = []

    def make() -> str:
        url = database_url(servers, unique_name("lookout_test"))
        ensure_database(url)
        created.append(url)
        return url

    yield make
    for url in created:
        drop_database(url)


@pytest.fixture
def fresh_database_url(database_url_factory: Callable[[], str]) -> str:
    return database_url_factory()


def timescaledb_available(servers: ServerUrls) -> tuple[bool, str]:
    conn = psycopg2.connect(servers.pg_admin_url)
    try:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name='timescaledb'),"
                " current_setting('shared_preload_libraries')"
            )
            available, preload = cur.fetchone()
    finally:
        conn.close()
    if not available:
        return False, "the TimescaleDB extension is not installed on the test PostgreSQL server"
    if "timescaledb" not in preload:
        return False, "TimescaleDB is installed but not in shared_preload_libraries"
    return True, ""


class RabbitAdmin:
    """The management HTTP API, for creating and inspecting test vhosts."""

    def __init__(self, api_url: str) -> None:
        parts = urlsplit(api_url)
        self.base = f"{parts.scheme}://{parts.hostname}:{parts.port or 15672}/api"
        self.auth = (parts.username or "guest", parts.password or "guest")

    def _url(self, *segments: str) -> str:
        return "/".join([self.base, *(quote(s, safe="") for s in segments)])

    def create_vhost(self, vhost: str) -> None:
        requests.put(self._url("vhosts", vhost), auth=self.auth, timeout=10).raise_for_status()
        requests.put(
            self._url("permissions", vhost, self.auth[0]), auth=self.auth, timeout=10,
            json={"configure": ".*", "write": ".*", "read": ".*"},
        ).raise_for_status()

    def delete_vhost(self, vhost: str) -> None:
        requests.delete(self._url("vhosts", vhost), auth=self.auth, timeout=30)

    def queue(self, vhost: str, name: str) -> dict:  # type: ignore[type-arg]
        r = requests.get(self._url("queues", vhost, name), auth=self.auth, timeout=10)
        r.raise_for_status()
        return r.json()  # type: ignore[no-any-return]

    def get_messages(self, vhost: str, queue: str, count: int = 100) -> list[dict]:  # type: ignore[type-arg]
        """Peek (requeue) up to ``count`` messages, bodies base64-encoded."""
        r = requests.post(
            self._url("queues", vhost, queue, "get"), auth=self.auth, timeout=30,
            json={"count": count, "ackmode": "ack_requeue_true", "encoding": "base64"},
        )
        r.raise_for_status()
        return r.json()  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def rabbit_admin(servers: ServerUrls) -> RabbitAdmin:
    admin = RabbitAdmin(servers.rabbitmq_api)
    try:
        requests.get(admin.base + "/overview", auth=admin.auth, timeout=5).raise_for_status()
    except requests.RequestException as exc:
        pytest.fail(
            f"RabbitMQ management API unreachable at {admin.base} ({exc}); "
            "enable it with `rabbitmq-plugins enable rabbitmq_management`"
        )
    return admin


@pytest.fixture
def amqp_url(servers: ServerUrls, rabbit_admin: RabbitAdmin) -> Iterator[str]:
    """An AMQP URL on a fresh vhost, deleted (with its queues) after the test."""
    vhost = unique_name("lookout_test")
    rabbit_admin.create_vhost(vhost)
    yield f"{servers.amqp_base}/{quote(vhost, safe='')}"
    rabbit_admin.delete_vhost(vhost)


def vhost_of(amqp_url: str) -> str:
    from urllib.parse import unquote

    return unquote(urlsplit(amqp_url).path.lstrip("/"))


@pytest.fixture(params=[StorageMode.POSTGRES, StorageMode.TIMESCALEDB], ids=lambda m: m.value)
def storage_mode(request: pytest.FixtureRequest, servers: ServerUrls) -> StorageMode:
    """Run the test in each storage mode; TimescaleDB only where the server has it."""
    mode: StorageMode = request.param
    if mode is StorageMode.TIMESCALEDB:
        ok, why = timescaledb_available(servers)
        if not ok:
            pytest.skip(f"TimescaleDB mode not tested: {why}")
    return mode


@pytest.fixture
def redis_key_prefix(servers: ServerUrls) -> Iterator[str]:
    """A Redis key prefix of the test's own; its keys are deleted afterwards."""
    import redis

    prefix = unique_name("lookout_test") + ":"
    yield prefix
    client = redis.Redis.from_url(servers.redis_url)
    try:
        keys = list(client.scan_iter(match=prefix + "*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


def drain_ingest_queue(settings: Any) -> list[tuple[Any, Any]]:
    """Take every message from ``metrics.ingest`` on ``settings``' broker: (properties,
    decoded SampleBatch) pairs, oldest first."""
    import pika

    from .broker import INGEST_QUEUE, connection_parameters, declare_topology
    from .codec import decode_batch

    connection = pika.BlockingConnection(connection_parameters(settings, "test-drain"))
    try:
        channel = connection.channel()
        declare_topology(channel, settings)
        out: list[tuple[Any, Any]] = []
        while True:
            method, properties, body = channel.basic_get(INGEST_QUEUE, auto_ack=True)
            if method is None:
                return out
            out.append((properties, decode_batch(body)))
    finally:
        connection.close()
