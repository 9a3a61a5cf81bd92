"""Live push end to end with the real processes: two ingest and two query instances
(gevent, Socket.IO message queue on Redis), the worker, RabbitMQ, PostgreSQL and the
real nginx in front, and Socket.IO clients that must be on the WebSocket transport."""

from __future__ import annotations

import time

import pytest
import requests

from lookout_common.settings import StorageMode

from .live_client import LiveClient, result_values
from .stack import Nginx, ServiceProcess, free_port
from .test_pipeline import Stack


class LiveStack(Stack):
    def query(self, port: int | None = None, **env: str) -> ServiceProcess:
        port = port or free_port()
        p = ServiceProcess("lookout_query", {
            **self.base_env, "QUERY_PORT": str(port), "QUERY_LIVE_HEARTBEAT_S": "1",
            "QUERY_LIVE_DEBOUNCE_S": "0.1", "QUERY_DASHBOARDS_DIR": "", **env},
            self.log_dir, f"http://127.0.0.1:{port}/health/live")
        p.port = port  # type: ignore[attr-defined]
        p.url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
        p.log_path = self.log_dir / f"lookout_query-{port}.log"
        self.processes.append(p)
        return p.start()

    def ingest_named(self, **env: str) -> ServiceProcess:
        p = self.ingest(**env)
        return p


@pytest.fixture
def live(fresh_database_url, amqp_url, tmp_path, servers, redis_key_prefix):
    s = LiveStack(fresh_database_url, amqp_url, StorageMode.POSTGRES, tmp_path,
                  servers.redis_url, redis_key_prefix)
    s.base_env["WORKER_BATCH_MS"] = "50"
    yield s
    s.close()


@pytest.fixture
def clients():
    made: list[LiveClient] = []
    yield made
    for c in made:
        try:
            c.close()
        except Exception:
            pass


def address(p: ServiceProcess) -> str:
    return p.url.removeprefix("http://")  # type: ignore[attr-defined]


def post(url: str, items: list[dict]) -> None:
    r = requests.post(url + "/api/v1/metrics", json=items, timeout=30)
    assert r.status_code == 202, r.text


def test_through_nginx_websocket_subscription_and_stream(live, clients, tmp_path):
    ingest_a, ingest_b = live.ingest(), live.ingest()
    live.worker()
    query_a, query_b = live.query(), live.query()
    nginx = Nginx(tmp_path / "nginx", ingest=[address(ingest_a), address(ingest_b)],
                  query=[address(query_a), address(query_b)]).start()
    try:
        client = LiveClient(nginx.url).connect()
        clients.append(client)
        assert client.transport() == "websocket"
        client.wait_for("initial")
        ack = client.subscribe("cpu", 'sum by (host) (live_cpu{job="t"})', 300, 1)
        assert ack == {"ok": True, "id": "cpu"}
        first = client.wait_for("result", lambda d: d["id"] == "cpu")
        assert first["resultType"] == "matrix" and first["result"] == []
        assert first["data_time"] is None and isinstance(first["server_time"], int)

        sent = time.time()
        now_ms = int(sent * 1000)
        post(nginx.url, [{"name": "live_cpu", "value": 42.5,
                          "labels": {"job": "t", "host": "h1"}, "timestamp": now_ms}])
        fresh = client.wait_for("result", lambda d: 42.5 in result_values(d), since=sent)
        assert fresh["id"] == "cpu" and fresh["data_time"] == now_ms
        assert fresh["result"][0]["metric"] == {"host": "h1"}
        metric = client.wait_for("metric", lambda d: any(
            p["name"] == "live_cpu" for p in d["points"]), since=sent)
        assert metric["points"][-1] == {"name": "live_cpu", "labels": {"host": "h1", "job": "t"},
                                        "value": 42.5, "timestamp": now_ms}
        assert metric["data_time"] == now_ms
        client.wait_for("heartbeat", since=time.time(), timeout=5)
        # Still on the WebSocket after all that: no fallback happened.
        assert client.transport() == "websocket"
    finally:
        nginx.stop()
