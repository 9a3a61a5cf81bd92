"""The spine end to end, with the real processes: gunicorn ingest → RabbitMQ → worker →
PostgreSQL/TimescaleDB. Each test has its own database and vhost."""

from __future__ import annotations

import signal
import threading
import time
from urllib.parse import urlsplit

import psycopg2
import pytest
import requests

from lookout_common.settings import StorageMode
from lookout_common.testing import vhost_of
from lookout_worker.rollups import TimescaleRollups

from .stack import ServiceProcess, TcpProxy, free_port, wait_until


@pytest.fixture
def mode(storage_mode):
    return storage_mode


class Stack:
    def __init__(self, database_url: str, amqp_url: str, mode: StorageMode, log_dir,
                 redis_url: str = "redis://127.0.0.1:6379/0",
                 redis_key_prefix: str = "lookout_test:") -> None:
        self.database_url = database_url
        self.mode = mode
        self.log_dir = log_dir
        self.base_env = {
            "DATABASE_URL": database_url, "AMQP_URL": amqp_url, "STORAGE_MODE": mode.value,
            "LOG_FORMAT": "text", "BROKER_HEARTBEAT_S": "5", "BROKER_CONFIRM_TIMEOUT_S": "3",
            "REDIS_URL": redis_url, "REDIS_KEY_PREFIX": redis_key_prefix,
        }
        self.processes: list[ServiceProcess] = []

    def ingest(self, **env: str) -> ServiceProcess:
        port = free_port()
        p = ServiceProcess("lookout_ingest", {**self.base_env, "INGEST_PORT": str(port),
                                              "INGEST_WORKERS": "2", **env},
                           self.log_dir, f"http://127.0.0.1:{port}/health/live")
        p.url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
        self.processes.append(p)
        return p.start()

    def worker(self, **env: str) -> ServiceProcess:
        port = free_port()
        p = ServiceProcess("lookout_worker", {**self.base_env, "WORKER_PORT": str(port),
                                              "WORKER_MAINTENANCE_INTERVAL_S": "1", **env},
                           self.log_dir, f"http://127.0.0.1:{port}/health/ready")
        self.processes.append(p)
        return p.start()

    def sql(self, query: str, params=None):
        conn = psycopg2.connect(self.database_url)
        try:
            with conn.cursor() as cur:
                cur.execute(query, params)
                return cur.fetchall()
        finally:
            conn.close()

    def stored(self) -> int:
        return self.sql("SELECT count(*) FROM samples")[0][0]

    def close(self) -> None:
        for p in self.processes:
            p.stop()


@pytest.fixture
def stack(fresh_database_url, amqp_url, mode, tmp_path, servers, redis_key_prefix):
    s = Stack(fresh_database_url, amqp_url, mode, tmp_path, servers.redis_url, redis_key_prefix)
    yield s
    s.close()


def post(url: str, items: list[dict], timeout: float = 30) -> requests.Response:
    return requests.post(url + "/api/v1/metrics", json=items, timeout=timeout)


def test_post_to_rows_and_rollups(stack):
    ingest = stack.ingest()
    stack.worker()
    start_ms = (int(time.time() * 1000) // 60_000 - 10) * 60_000  # ten whole minutes back
    items = []
    for minute in range(3):
        for second in range(0, 60, 10):
            t = start_ms + minute * 60_000 + second * 1000
            for svc, base in (("api", 100), ("db", 7)):
                items.append({"name": "latency_ms", "value": base + minute * 10 + second,
                              "labels": {"service": svc}, "timestamp": t})
    r = post(ingest.url, items)
    assert r.status_code == 202, r.text
    wait_until(lambda: stack.stored() == len(items), 30, "all samples stored")
    rows = stack.sql("""SELECT s.metric, s.labels->>'service', (extract(epoch FROM x.time)*1000)::bigint,
                               x.value FROM samples x JOIN series s ON s.id = x.series_id""")
    assert sorted(rows) == sorted(("latency_ms", i["labels"]["service"], i["timestamp"],
                                   float(i["value"])) for i in items)
    if stack.mode is StorageMode.TIMESCALEDB:
        conn = psycopg2.connect(stack.database_url)
        try:
            TimescaleRollups().refresh(conn)  # waits out a policy job's refresh in progress
        finally:
            conn.close()

    def rollup():
        return stack.sql("""
            SELECT s.labels->>'service', (extract(epoch FROM r.bucket)*1000)::bigint,
                   r.min, r.max, r.sum / r.count, r.count
            FROM samples_1m r JOIN series s ON s.id = r.series_id ORDER BY 1, 2""")

    want = [(svc, start_ms + m * 60_000, base + m * 10.0, base + m * 10 + 50.0,
             base + m * 10 + 25.0, 6) for svc, base in (("api", 100), ("db", 7)) for m in range(3)]
    # Plain mode: the worker's maintenance loop (every second here) rolls up.
    wait_until(lambda: rollup() == want, 30, "the 1-minute rollup")


def test_worker_killed_mid_load_stores_every_sample_exactly_once(stack, amqp_url, rabbit_admin):
    total_requests, per_request, n_series = 200, 1000, 1000
    ingest = stack.ingest()
    worker = stack.worker(WORKER_BATCH_SAMPLES="5000", WORKER_BATCH_MS="100")
    base_ms = int(time.time() * 1000) - 3_600_000
    accepted: list[int] = []

    def load() -> None:
        session = requests.Session()
        for r in range(total_requests):
            items = []
            for j in range(per_request):
                n = r * per_request + j  # sample number 0..199999, also its value
                items.append({"name": "load", "value": n,
                              "labels": {"series": f"s{n % n_series:04d}"},
                              "timestamp": base_ms + n // n_series * 1000})
            resp = session.post(ingest.url + "/api/v1/metrics", json=items, timeout=30)
            assert resp.status_code == 202, resp.text
            accepted.append(len(items))

    loader = threading.Thread(target=load)
    loader.start()
    wait_until(lambda: stack.stored() >= 40_000, 120, "40,000 samples stored before the kill")
    worker.kill(signal.SIGKILL)
    at_kill = stack.stored()
    assert at_kill < total_requests * per_request, "the load finished before the kill"
    time.sleep(1)
    stack.worker(WORKER_BATCH_SAMPLES="5000", WORKER_BATCH_MS="100")
    loader.join(timeout=300)
    assert sum(accepted) == 200_000
    wait_until(lambda: stack.stored() >= 200_000, 180, "all 200,000 samples stored")
    time.sleep(2)  # anything still in flight would show up as more rows now
    count, distinct, total = stack.sql(
        "SELECT count(*), count(DISTINCT (series_id, time)), sum(value) FROM samples")[0]
    assert (count, distinct) == (200_000, 200_000)
    assert total == sum(range(200_000))
    assert stack.sql("SELECT count(*), sum(samples) FROM ingested_messages")[0] == (200, 200_000)
    vhost = vhost_of(amqp_url)
    wait_until(lambda: rabbit_admin.queue(vhost, "metrics.ingest").get("messages") == 0, 30,
               "an empty ingest queue")
    assert rabbit_admin.queue(vhost, "metrics.dlq").get("messages", 0) == 0


def test_broker_outage_is_503_and_recovers_by_itself(stack, amqp_url):
    broker = urlsplit(amqp_url)
    proxy = TcpProxy(broker.port or 5672).start()
    via_proxy = amqp_url.replace(f":{broker.port or 5672}/", f":{proxy.port}/")
    try:
        ingest = stack.ingest(AMQP_URL=via_proxy, INGEST_RETRY_AFTER_S="3")
        stack.worker()
        now = int(time.time() * 1000)
        assert post(ingest.url, [{"name": "outage", "value": 1, "timestamp": now}]).status_code == 202

        proxy.cut()
        refused = [post(ingest.url, [{"name": "outage", "value": 2, "timestamp": now + i}])
                   for i in range(1, 5)]
        assert {r.status_code for r in refused} == {503}
        for r in refused:
            assert r.headers["Retry-After"] == "3"
            assert r.json()["error"]["type"] == "unavailable"
            assert "message broker unavailable" in r.json()["error"]["message"]
        ready = requests.get(ingest.url + "/health/ready", timeout=10)
        assert ready.status_code == 503

        proxy.restore()
        # No restart: the next requests reconnect by themselves.
        accepted = []

        def recovered() -> bool:
            r = post(ingest.url, [{"name": "outage", "value": 3, "timestamp": now + 100 + len(accepted)}])
            if r.status_code == 202:
                accepted.append(r)
            return r.status_code == 202

        wait_until(recovered, 30, "ingest to accept again", interval=0.5)
        assert requests.get(ingest.url + "/health/ready", timeout=10).status_code == 200
        # Everything answered 202 is stored; nothing answered 503 is.
        wait_until(lambda: stack.stored() == 2, 30, "both accepted samples stored")
        assert sorted(v for (v,) in stack.sql("SELECT value FROM samples")) == [1.0, 3.0]
    finally:
        proxy.cut()


def test_sigterm_writes_what_was_received_then_exits(stack, amqp_url, rabbit_admin):
    ingest = stack.ingest()
    # A batch that would only be written after a minute: SIGTERM must write it now.
    worker = stack.worker(WORKER_BATCH_MS="60000", WORKER_BATCH_SAMPLES="1000000")
    now = int(time.time() * 1000)
    for i in range(5):
        r = post(ingest.url, [{"name": "term", "value": i, "timestamp": now + i}])
        assert r.status_code == 202
    vhost = vhost_of(amqp_url)
    wait_until(lambda: rabbit_admin.queue(vhost, "metrics.ingest").get("messages_unacknowledged")
               == 5, 30, "the worker to hold five unacked messages")
    assert stack.stored() == 0
    worker.proc.send_signal(signal.SIGTERM)
    assert worker.proc.wait(timeout=30) == 0
    assert stack.stored() == 5
    assert "stopping: writing what was received" in worker.log_tail()
    wait_until(lambda: rabbit_admin.queue(vhost, "metrics.ingest").get("messages") == 0, 30,
               "the queue to be empty (all acked)")


def test_broker_that_stops_confirming_is_503_in_time(stack, amqp_url):
    broker = urlsplit(amqp_url)
    proxy = TcpProxy(broker.port or 5672).start()
    via_proxy = amqp_url.replace(f":{broker.port or 5672}/", f":{proxy.port}/")
    try:
        # A long heartbeat: only the confirm timeout can notice the hang in time.
        # One gunicorn worker, so both requests use the same (connected) publisher.
        ingest = stack.ingest(AMQP_URL=via_proxy, BROKER_HEARTBEAT_S="60",
                              BROKER_CONFIRM_TIMEOUT_S="2", INGEST_WORKERS="1")
        now = int(time.time() * 1000)
        assert post(ingest.url, [{"name": "hang", "value": 1, "timestamp": now}]).status_code == 202
        proxy.freeze()
        started = time.monotonic()
        r = post(ingest.url, [{"name": "hang", "value": 2, "timestamp": now + 1}])
        waited = time.monotonic() - started
        assert r.status_code == 503
        assert r.json()["error"]["message"] == (
            "message broker unavailable, retry later (the broker did not confirm within 2 s)")
        assert "Retry-After" in r.headers
        assert 1.5 < waited < 10  # the confirm timeout, not a heartbeat or a TCP timeout
        proxy.thaw()
        wait_until(lambda: post(ingest.url, [{"name": "hang", "value": 3,
                                              "timestamp": now + 2}]).status_code == 202,
                   30, "ingest to accept again", interval=0.5)
    finally:
        proxy.cut()
