"""Live push end to end with the real processes: two ingest and two query instances
(gevent, Socket.IO message queue on Redis), the worker, RabbitMQ, PostgreSQL and the
real nginx in front, and Socket.IO clients that must be on the WebSocket transport."""

from __future__ import annotations

import signal
import time
import uuid
from urllib.parse import urlsplit

import psycopg2
import pytest
import requests
import socketio

from lookout_common import credentials
from lookout_common.settings import StorageMode

from .live_client import LiveClient, result_values
from .stack import Nginx, ServiceProcess, TcpProxy, free_port, wait_until
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


@pytest.mark.parametrize("mode", ["gevent", "threading"])
def test_through_nginx_websocket_subscription_and_stream(live, clients, tmp_path, mode):
    ingest_a, ingest_b = live.ingest(), live.ingest()
    live.worker()
    query_a, query_b = (live.query(QUERY_ASYNC_MODE=mode, QUERY_THREADS="32"),
                        live.query(QUERY_ASYNC_MODE=mode, QUERY_THREADS="32"))
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

        # Browsers' origin check: the page's own origin (as nginx forwards it) is let
        # in, another site's is not.
        handshake = nginx.url + "/socket.io/?EIO=4&transport=polling"
        assert requests.get(handshake, headers={"Origin": nginx.url},
                            timeout=10).status_code == 200
        assert requests.get(handshake, headers={"Origin": "http://elsewhere.example"},
                            timeout=10).status_code == 400

        # The long-polling fallback works through nginx too: every request of the
        # session must reach the instance that opened it (nginx pins the address).
        polling = LiveClient(nginx.url).connect(transports=["polling"])
        clients.append(polling)
        assert polling.transport() == "polling"
        assert polling.subscribe("p", "live_cpu", 300, 1)["ok"]
        answer = polling.wait_for("result", lambda d: d["id"] == "p")
        assert 42.5 in result_values(answer)
    finally:
        nginx.stop()


def test_data_through_ingest_a_reaches_clients_of_both_query_instances(live, clients):
    ingest_a, _ingest_b = live.ingest(), live.ingest()
    live.worker()
    query_a, query_b = live.query(), live.query()
    on_a = LiveClient(query_a.url).connect()
    on_b = LiveClient(query_b.url).connect()
    clients.extend([on_a, on_b])
    for c in (on_a, on_b):
        assert c.transport() == "websocket"
        c.wait_for("initial")
    assert on_b.subscribe("mem", "live_mem", 60, 1)["ok"]
    on_b.wait_for("result", lambda d: d["id"] == "mem")

    sent = time.time()
    marker = uuid.uuid4().hex
    now_ms = int(sent * 1000)
    post(ingest_a.url, [{"name": "live_mem", "value": 7, "labels": {"run": marker},
                         "timestamp": now_ms}])
    # The subscription held by instance B is re-evaluated by B.
    result = on_b.wait_for("result", lambda d: 7.0 in result_values(d), since=sent)
    assert result["result"][0]["metric"] == {"__name__": "live_mem", "run": marker}
    # The stream: one of the instances took the event from the shared queue and emitted
    # it through the message queue; the clients of both got it, each exactly once.

    def marked(d: dict) -> bool:
        return any(p["labels"].get("run") == marker for p in d["points"])

    for c in (on_a, on_b):
        c.wait_for("metric", marked, since=sent)
    time.sleep(1.0)  # a duplicate would have arrived by now
    for c in (on_a, on_b):
        assert len([d for d in c.received("metric", since=sent) if marked(d)]) == 1
    # The instance counts what it holds and sends (its /metrics, gevent worker).
    exposition = requests.get(query_b.url + "/metrics", timeout=10).text
    assert "live_subscriptions_active 1.0" in exposition
    assert 'live_events_emitted_total{event="result"}' in exposition
    assert "live_evaluation_seconds_count" in exposition
    assert requests.get(query_b.url + "/health/ready", timeout=10).status_code == 200
    # A client connecting now starts from the newest points.
    late = LiveClient(query_a.url).connect()
    clients.append(late)
    initial = late.wait_for("initial")
    assert initial["points"][-1]["labels"] == {"run": marker}


def test_client_resumes_its_subscriptions_after_its_query_instance_restarts(live, clients,
                                                                             tmp_path):
    ingest = live.ingest()
    live.worker()
    query = live.query()
    nginx = Nginx(tmp_path / "nginx", ingest=[address(ingest)], query=[address(query)]).start()
    try:
        client = LiveClient(nginx.url).connect()
        clients.append(client)
        assert client.subscribe("up", 'max(live_up{job="r"})', 120, 1)["ok"]
        client.wait_for("result", lambda d: d["id"] == "up")

        query.kill(signal.SIGKILL)
        wait_until(lambda: not client.sio.connected, 20, "the client to notice")
        restarted = live.query(port=query.port)  # type: ignore[attr-defined]
        assert restarted.port == query.port  # type: ignore[attr-defined]
        wait_until(lambda: client.sio.connected and client.connects >= 2, 30,
                   "the client to reconnect by itself")
        assert client.transport() == "websocket"
        # The first answer after the reconnect proves the server holds the subscription.
        back = time.time()
        client.wait_for("result", lambda d: d["id"] == "up", since=back - 5)

        sent = time.time()
        post(nginx.url, [{"name": "live_up", "value": 99, "labels": {"job": "r"},
                          "timestamp": int(sent * 1000)}])
        fresh = client.wait_for("result", lambda d: d["id"] == "up" and 99.0 in
                                result_values(d), since=sent)
        assert fresh["data_time"] == int(sent * 1000)
    finally:
        nginx.stop()


def test_subscribe_refusals_and_unsubscribe(live, clients):
    live.worker()
    query = live.query(QUERY_LIVE_MAX_SUBSCRIPTIONS="2")
    client = LiveClient(query.url).connect()
    clients.append(client)
    bad = client.subscribe("x", "sum(", 60, 1)
    assert bad["ok"] is False and bad["error"]["type"] == "bad_data"
    assert "parse error" in bad["error"]["message"]
    steps = client.subscribe("x", "up", 86_400, 1)
    assert steps["ok"] is False and "11,000" in steps["error"]["message"]
    zero = client.subscribe("x", "up", 60, 0)
    assert zero["ok"] is False and "'step'" in zero["error"]["message"]
    assert client.sio.call("subscribe", "up", timeout=10)["ok"] is False
    assert client.subscribe("a", "up", 60, 1)["ok"]
    assert client.subscribe("b", "up", 60, 1)["ok"]
    third = client.subscribe("c", "up", 60, 1)
    assert third["ok"] is False and third["error"]["type"] == "too_many_subscriptions"
    assert client.unsubscribe("a") == {"ok": True}
    assert client.subscribe("c", "up", 60, 1)["ok"]


def refusals(client: socketio.Client, namespace: str = "/") -> list:
    """The data of every connect_error the server sends (the refusal's reason)."""
    seen: list = []
    client.on("connect_error", lambda error: seen.append(error["data"]), namespace=namespace)
    return seen


def test_connection_needs_a_session_or_token_when_queries_need_a_sign_in(live, clients):
    live.worker()
    query = live.query(QUERY_AUTH_REQUIRED="true", QUERY_ADMIN_PASSWORD="live-secret-1")
    client = socketio.Client(reconnection=False)
    reasons = refusals(client)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(query.url, transports=["websocket"], wait_timeout=10)
    assert reasons[-1]["type"] == "unauthorized"
    assert "QUERY_AUTH_REQUIRED" in reasons[-1]["message"]
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(query.url, transports=["websocket"], auth={"token": "nope"},
                       wait_timeout=10)
    assert "unknown or revoked" in reasons[-1]["message"]

    # The session cookie of a browser that signed in...
    session = requests.Session()
    login = session.post(query.url + "/api/v1/auth/login",
                         json={"username": "admin", "password": "live-secret-1"}, timeout=10)
    assert login.status_code == 200, login.text
    cookie = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
    signed_in = socketio.Client(reconnection=False)
    signed_in.connect(query.url, transports=["websocket"], headers={"Cookie": cookie},
                      wait_timeout=10)
    try:
        assert signed_in.call("subscribe", {"id": "a", "query": "up", "range": 60,
                                            "step": 1}, timeout=10)["ok"]
    finally:
        signed_in.disconnect()
    # ... or an API token.
    made = session.post(query.url + "/api/v1/tokens", json={"name": "live"}, timeout=10)
    assert made.status_code == 201, made.text
    with_token = LiveClient(query.url, auth={"token": made.json()["token"]}).connect()
    clients.append(with_token)
    with_token.wait_for("initial")


def test_websocket_ingestion_acks_rejects_and_stores_once(live, tmp_path):
    ingest_a, ingest_b = live.ingest(), live.ingest()
    live.worker()
    query = live.query()
    nginx = Nginx(tmp_path / "nginx", ingest=[address(ingest_a), address(ingest_b)],
                  query=[address(query)]).start()
    agent = socketio.Client(reconnection=False)
    agent.connect(nginx.url, socketio_path="ingest/socket.io", namespaces=["/ingest"],
                  transports=["websocket"], wait_timeout=10)
    try:
        assert agent.transport() == "websocket"
        base_ms = int(time.time() * 1000) - 60_000
        acks = []
        for frame in range(20):
            items = [{"name": "ws_frames", "value": frame * 10 + i,
                      "labels": {"i": str(i)}, "timestamp": base_ms + frame * 100}
                     for i in range(10)]
            acks.append(agent.call("metrics", items, namespace="/ingest", timeout=10))
        assert all(a["status"] == "accepted" and a["samples"] == 10 for a in acks), acks
        assert len({a["message_id"] for a in acks}) == 20

        bad = agent.call("metrics", [{"name": "ws_frames", "value": "x"}],
                         namespace="/ingest", timeout=10)
        assert bad["error"]["type"] == "validation_error", bad
        assert "value" in bad["error"]["message"]
        not_list = agent.call("metrics", {"name": "ws_frames"}, namespace="/ingest",
                              timeout=10)
        assert "JSON array" in not_list["error"]["message"]

        wait_until(lambda: live.stored() == 200, 30, "the 200 accepted samples stored")
        time.sleep(1)
        count, distinct, total = live.sql(
            "SELECT count(*), count(DISTINCT (series_id, time)), sum(value) FROM samples")[0]
        assert (count, distinct, total) == (200, 200, sum(range(200)))
        # The polling transport is not offered on the ingest path.
        polling = requests.get(nginx.url + "/ingest/socket.io/?EIO=4&transport=polling",
                               timeout=10)
        assert polling.status_code == 400
    finally:
        agent.disconnect()
        nginx.stop()


def test_websocket_ingestion_token_when_ingest_auth_is_on(live):
    live.worker()  # migrates the database (the credentials table)
    conn = psycopg2.connect(live.database_url)
    try:
        token = credentials.create_token(conn, "ws-agent")
        conn.commit()
    finally:
        conn.close()
    ingest = live.ingest(INGEST_AUTH="true")
    agent = socketio.Client(reconnection=False)
    reasons = refusals(agent, "/ingest")
    with pytest.raises(socketio.exceptions.ConnectionError):
        agent.connect(ingest.url, socketio_path="ingest/socket.io", namespaces=["/ingest"],
                      transports=["websocket"], wait_timeout=10)
    assert reasons[-1]["type"] == "unauthorized" and "INGEST_AUTH" in reasons[-1]["message"]
    with pytest.raises(socketio.exceptions.ConnectionError):
        agent.connect(ingest.url, socketio_path="ingest/socket.io", namespaces=["/ingest"],
                      transports=["websocket"], auth={"token": "wrong"}, wait_timeout=10)
    assert reasons[-1]["type"] == "unauthorized"
    assert "invalid or revoked" in reasons[-1]["message"]
    agent.connect(ingest.url, socketio_path="ingest/socket.io", namespaces=["/ingest"],
                  transports=["websocket"], auth={"token": token}, wait_timeout=10)
    try:
        ack = agent.call("metrics", [{"name": "ws_auth", "value": 1}], namespace="/ingest",
                         timeout=10)
        assert ack["status"] == "accepted" and ack["samples"] == 1
        wait_until(lambda: live.stored() == 1, 30, "the sample stored")
    finally:
        agent.disconnect()


def test_alert_transitions_reach_clients_of_every_instance(live, clients, amqp_url):
    from lookout_alerts.transitions import TransitionPublisher
    from lookout_common.settings import BrokerSettings

    live.worker()
    query_a, query_b = live.query(), live.query()
    on_a, on_b = LiveClient(query_a.url).connect(), LiveClient(query_b.url).connect()
    clients.extend([on_a, on_b])
    for c in (on_a, on_b):
        c.wait_for("initial")
    # The evaluator's own publisher and message shape (lookout_alerts.evaluator).
    message = {"rule_id": 7, "alertname": "HighLatency", "state": "firing",
               "previous_state": "pending", "labels": {"severity": "page", "service": "api"},
               "annotations": {"summary": "api is slow"}, "value": 812.5,
               "at": "2026-12-05T10:00:00+00:00", "fingerprint": "abc123"}
    publisher = TransitionPublisher(BrokerSettings(amqp_url=amqp_url))
    sent = time.time()
    try:
        wait_until(lambda: publisher.publish(message) and on_a.received("alert", since=sent),
                   20, "an alert event (the live queues bound)", interval=1.0)
    finally:
        publisher.close()
    for c in (on_a, on_b):
        got = c.wait_for("alert", since=sent)
        assert {k: got[k] for k in message} == message
        assert abs(got["server_time"] / 1000 - time.time()) < 30


def test_websocket_ingestion_while_the_broker_is_down(live, amqp_url):
    broker = urlsplit(amqp_url)
    proxy = TcpProxy(broker.port or 5672).start()
    via_proxy = amqp_url.replace(f":{broker.port or 5672}/", f":{proxy.port}/")
    ingest = live.ingest(AMQP_URL=via_proxy, INGEST_RETRY_AFTER_S="3")
    live.worker()
    agent = socketio.Client(reconnection=False)
    agent.connect(ingest.url, socketio_path="ingest/socket.io", namespaces=["/ingest"],
                  transports=["websocket"], wait_timeout=10)
    try:
        now = int(time.time() * 1000)
        ok = agent.call("metrics", [{"name": "ws_outage", "value": 1, "timestamp": now}],
                        namespace="/ingest", timeout=10)
        assert ok["status"] == "accepted"
        proxy.cut()
        down = agent.call("metrics", [{"name": "ws_outage", "value": 2, "timestamp": now + 1}],
                          namespace="/ingest", timeout=15)
        assert down["error"]["type"] == "unavailable" and down["retry_after"] == 3
        assert "message broker unavailable" in down["error"]["message"]
        proxy.restore()
        acks: list[dict] = []

        def accepted() -> bool:
            ack = agent.call("metrics", [{"name": "ws_outage", "value": 3,
                                          "timestamp": now + 2 + len(acks)}],
                             namespace="/ingest", timeout=15)
            acks.append(ack)
            return ack.get("status") == "accepted"

        wait_until(accepted, 30, "frames accepted again", interval=0.5)
        # Exactly what was acknowledged as accepted is stored; the refused frame is not.
        wait_until(lambda: live.stored() == 2, 30, "both accepted samples stored")
        assert live.sql("SELECT count(*) FROM samples WHERE value = 2")[0][0] == 0
    finally:
        agent.disconnect()
        proxy.cut()


def counter(url: str, line_start: str) -> float:
    """A sample's value from a service's /metrics (0 when it has none yet)."""
    for line in requests.get(url + "/metrics", timeout=10).text.splitlines():
        if line.startswith(line_start + " "):
            return float(line.split()[-1])
    return 0.0


def test_one_evaluation_serves_the_same_query_on_both_instances(live, clients):
    ingest = live.ingest()
    live.worker()
    query_a, query_b = live.query(), live.query()
    on_a, on_b = LiveClient(query_a.url).connect(), LiveClient(query_b.url).connect()
    clients.extend([on_a, on_b])
    for c in (on_a, on_b):
        assert c.subscribe("s", 'avg(shared_q{job="x"})', 3600, 60)["ok"]
        c.wait_for("result", lambda d: d["id"] == "s")
    urls = (query_a.url, query_b.url)  # type: ignore[attr-defined]

    def totals() -> tuple[float, float]:
        return (sum(counter(u, "live_evaluation_seconds_count") for u in urls),
                sum(counter(u, 'live_shared_results_total{outcome="hit"}') for u in urls))

    evaluations, hits = totals()
    sent = time.time()
    post(ingest.url, [{"name": "shared_q", "value": 3, "labels": {"job": "x"},
                       "timestamp": int(sent * 1000)}])
    got = [c.wait_for("result", lambda d: 3.0 in result_values(d), since=sent)
           for c in (on_a, on_b)]
    assert got[0]["result"] == got[1]["result"]
    # One instance evaluated; the other took its answer from Redis.
    assert totals() == (evaluations + 1, hits + 1)
