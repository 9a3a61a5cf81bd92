"""The circuit breaker around the database: outages open it, an open breaker answers
503 at once, one probe at a time finds out when the database is back, and the service
recovers by itself. The database goes away for real: the service reaches PostgreSQL
through a small TCP proxy the test switches between forwarding, refusing connections
(a closed port) and swallowing them (a server that hangs)."""

import socket
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import psycopg2
import psycopg2.errors
import pytest
import sqlalchemy
import sqlalchemy.exc

from lookout_common.codec import SampleBatch
from lookout_common.db.schema import migrate
from lookout_common.series import Sample, SeriesKey
from lookout_common.settings import StorageMode
from lookout_query.app import create_app
from lookout_query.breaker import BreakerOpen, DependencyBreaker, is_database_outage
from lookout_query.settings import QuerySettings
from lookout_worker.settings import WorkerSettings
from lookout_worker.store import InboundMessage, SampleStore

API = "/prometheus/api/v1"
T0 = (int(time.time()) // 3600 - 2) * 3_600_000
T = T0 // 1000 + 300


class Proxy:
    """127.0.0.1:<port> → PostgreSQL, switchable: ``forward``, ``refuse`` (nothing
    listens on the port) or ``blackhole`` (connections accepted, never answered)."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.mode = "forward"
        self.port = 0
        self.lock = threading.Lock()
        self.open_sockets: list[socket.socket] = []
        self.accepted = 0
        self._listen()

    def _listen(self) -> None:
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.port = self.listener.getsockname()[1]
        self.listener.listen(64)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            with self.lock:
                self.accepted += 1
                self.open_sockets.append(client)
                if self.mode == "blackhole":
                    continue
                upstream = socket.create_connection(self.upstream)
                self.open_sockets.append(upstream)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def _drop_connections(self) -> None:
        with self.lock:
            for s in self.open_sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self.open_sockets.clear()

    def set(self, mode: str) -> None:
        if mode == self.mode:
            return
        self._drop_connections()
        if self.mode == "refuse":
            self._listen()  # the same port again
        elif mode == "refuse":
            self._stop_listening()
        self.mode = mode

    def _stop_listening(self) -> None:
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
        except OSError:
            pass
        self.listener.close()

    def close(self) -> None:
        self._stop_listening()
        self._drop_connections()


@pytest.fixture
def database(fresh_database_url):
    settings = WorkerSettings(database_url=fresh_database_url, storage_mode=StorageMode.POSTGRES)
    migrate(settings)
    key = SeriesKey("up", (("job", "api"),))
    samples = [Sample(key, T0 + k * 10_000, 1.0) for k in range(180)]
    store = SampleStore(settings, StorageMode.POSTGRES)
    try:
        store.write([InboundMessage(1, str(uuid.uuid4()), SampleBatch.from_samples(samples))])
    finally:
        store.close()
    return fresh_database_url


@pytest.fixture
def proxy(database):
    parts = urlsplit(database)
    p = Proxy((parts.hostname or "127.0.0.1", parts.port or 5432))
    yield p
    p.close()


@pytest.fixture
def make_client(database, proxy, servers, redis_key_prefix):
    parts = urlsplit(database)
    through_proxy = parts._replace(netloc=f"{parts.username or 'postgres'}@127.0.0.1:"
                                          f"{proxy.port}").geturl()

    def make(**overrides):
        settings = QuerySettings(
            database_url=through_proxy, storage_mode=StorageMode.POSTGRES,
            redis_url=servers.redis_url + "/0", redis_key_prefix=redis_key_prefix,
            query_cache_enabled=False, query_db_connect_timeout_s=2, **overrides)
        return create_app(settings).test_client()

    return make


def timed(fn, *args, **kwargs):
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, time.perf_counter() - started


def instant(client, query="up"):
    return client.get(API + "/query", query_string={"query": query, "time": str(T)})


def unavailable(response):
    assert response.status_code == 503, response.get_data(as_text=True)
    assert response.json["status"] == "error" and response.json["errorType"] == "unavailable"
    assert int(response.headers["Retry-After"]) >= 1
    return response.json["error"]


def test_database_down_opens_the_breaker_and_it_recovers(make_client, proxy):
    client = make_client(query_breaker_failures=2, query_breaker_reset_s=1)
    assert instant(client).status_code == 200
    proxy.set("refuse")
    for _ in range(2):
        assert unavailable(instant(client)).startswith("the database is unavailable: ")
    accepted = proxy.accepted
    for path in ("/query", "/query_range", "/series", "/labels", "/metadata"):
        response, elapsed = timed(client.get, API + path, query_string={
            "query": "up", "start": str(T - 60), "end": str(T), "step": "15",
            "match[]": "up"})
        assert "circuit open" in unavailable(response)
        assert elapsed < 0.5
    r = client.post("/api/v1/query", json={"query": "up", "time": T})
    assert r.status_code == 503 and r.json["error"]["type"] == "unavailable"
    # Open: the database is not even tried.
    assert proxy.accepted == accepted
    time.sleep(1.1)
    # Half-open, still down: the probe fails and the breaker opens again.
    assert unavailable(instant(client)).startswith("the database is unavailable: ")
    assert "circuit open" in unavailable(instant(client))
    proxy.set("forward")
    assert "circuit open" in unavailable(instant(client))  # until the reset time is up
    time.sleep(1.1)
    r = instant(client)
    assert r.status_code == 200 and r.json["data"]["result"][0]["value"] == [T, "1"]
    assert all(instant(client).status_code == 200 for _ in range(3))


def test_a_hanging_database_costs_one_timeout_then_one_probe_at_a_time(make_client, proxy):
    client = make_client(query_breaker_failures=1, query_breaker_reset_s=1)
    assert instant(client).status_code == 200
    proxy.set("blackhole")
    response, elapsed = timed(instant, client)
    unavailable(response)
    assert elapsed >= 1.5  # libpq's connect_timeout (2 s) ran out
    response, elapsed = timed(instant, client)
    assert "circuit open" in unavailable(response) and elapsed < 0.5
    time.sleep(1.1)
    # Two queries at once while half-open: one probes (and hangs), the other is
    # refused at once instead of queueing behind it.
    with ThreadPoolExecutor(2) as pool:
        first = pool.submit(timed, instant, client)
        time.sleep(0.3)
        second = pool.submit(timed, instant, client)
        (r2, t2), (r1, t1) = second.result(), first.result()
    assert "a probe is under way" in unavailable(r2) and t2 < 0.5
    unavailable(r1)
    assert t1 >= 1.5
    proxy.set("forward")
    time.sleep(1.1)
    assert instant(client).status_code == 200


def test_query_errors_do_not_open_the_breaker(make_client):
    client = make_client(query_breaker_failures=1, query_breaker_reset_s=60)
    for _ in range(3):
        assert instant(client, "up + on() up").status_code in (200, 422)
        assert instant(client, 'up{job=~"("}').status_code == 400
        r = client.get(API + "/query_range", query_string={
            "query": "up", "start": str(T - 3600), "end": str(T), "step": "1",
            "timeout": "0.000001"})
        assert r.status_code == 503 and r.json["errorType"] == "timeout"
    assert instant(client).status_code == 200


# -- the state machine and the classification, without the service ----------------------------


class Down(Exception):
    pass


def test_breaker_state_machine():
    breaker = DependencyBreaker("thing", fail_max=2, reset_s=0.2,
                                is_outage=lambda exc: isinstance(exc, Down))
    calls = []

    def down():
        calls.append("down")
        raise Down()

    def fine():
        calls.append("fine")
        return 42

    def wrong():
        calls.append("wrong")
        raise ValueError("bad input")

    with pytest.raises(Down):
        breaker.call(down)
    with pytest.raises(ValueError):
        breaker.call(wrong)  # not an outage: resets the count of consecutive failures
    with pytest.raises(Down):
        breaker.call(down)
    assert breaker.state == "closed"
    with pytest.raises(Down):
        breaker.call(down)
    assert breaker.state == "open"
    with pytest.raises(BreakerOpen):
        breaker.call(fine)
    assert calls == ["down", "wrong", "down", "down"]
    time.sleep(0.25)
    with pytest.raises(Down):
        breaker.call(down)  # the probe
    assert breaker.state == "open"
    time.sleep(0.25)
    assert breaker.call(fine) == 42
    assert breaker.state == "closed"
    assert breaker.call(fine) == 42


def test_outage_classification(database):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = s.getsockname()[1]
    with pytest.raises(psycopg2.OperationalError) as refused:
        psycopg2.connect(host="127.0.0.1", port=closed, user="postgres", connect_timeout=2)
    assert is_database_outage(refused.value)
    engine = sqlalchemy.create_engine(f"postgresql+psycopg2://postgres@127.0.0.1:{closed}/x")
    with pytest.raises(sqlalchemy.exc.OperationalError) as wrapped:
        engine.connect()
    assert is_database_outage(wrapped.value)
    conn = psycopg2.connect(database)
    try:
        with conn.cursor() as cur:
            cur.execute("SET statement_timeout = 10")
            with pytest.raises(psycopg2.errors.QueryCanceled) as cancelled:
                cur.execute("SELECT pg_sleep(1)")
        conn.rollback()
        with conn.cursor() as cur, pytest.raises(psycopg2.errors.UndefinedTable) as missing:
            cur.execute("SELECT * FROM nowhere")
    finally:
        conn.close()
    assert not is_database_outage(cancelled.value)
    assert not is_database_outage(missing.value)
    assert not is_database_outage(ValueError("x"))
