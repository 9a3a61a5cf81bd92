"""The StatsD listener over real UDP, publishing to a real RabbitMQ vhost of the test's
own: the `statsd` client library and raw DogStatsD lines in, flushed aggregates out."""

import math
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from urllib.parse import quote

import pika
import pytest
import requests
import statsd
from prometheus_client import REGISTRY

from lookout_common.broker import (
    INGEST_QUEUE,
    BrokerUnavailable,
    connection_parameters,
    declare_topology,
)
from lookout_common.codec import decode_batch
from lookout_common.settings import BrokerSettings
from lookout_common.testing import unique_name
from lookout_ingest.statsd.server import StatsdServer
from lookout_ingest.statsd.settings import StatsdSettings


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_tcp_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def next_interval_start(interval_s: float = 1.0, margin_s: float = 0.05) -> int:
    """Sleep until just after the next flush boundary; return it in unix ms."""
    now = time.time()
    boundary = math.floor(now / interval_s) * interval_s + interval_s
    time.sleep(boundary - now + margin_s)
    return round(boundary * 1000)


class Listener:
    """A StatsdServer on its own thread."""

    def __init__(self, settings: StatsdSettings, publisher=None, **kwargs) -> None:
        self.server = StatsdServer(settings, publisher, **kwargs)
        self.host, self.port = self.server.bind()
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def send(self, *datagrams: bytes) -> None:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            for data in datagrams:
                sock.sendto(data, (self.host, self.port))

    def stop(self) -> None:
        self.server.stop()
        self.thread.join(30)
        assert not self.thread.is_alive()


@pytest.fixture
def settings(amqp_url):
    return StatsdSettings(amqp_url=amqp_url, statsd_port=0, statsd_flush_interval_s=1,
                          statsd_percentiles="50,90", broker_confirm_timeout_s=2)


@pytest.fixture
def listeners():
    started: list[Listener] = []

    def start(settings, publisher=None, **kwargs) -> Listener:
        started.append(Listener(settings, publisher, **kwargs))
        return started[-1]

    yield start
    for listener in started:
        if listener.thread.is_alive():
            listener.stop()


def flushed(channel, *, until, timeout_s: float = 15.0) -> list:
    """Take messages from metrics.ingest until ``until(messages)`` holds."""
    messages: list = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        method, props, body = channel.basic_get(INGEST_QUEUE, auto_ack=True)
        if method is None:
            if until(messages):
                return messages
            time.sleep(0.05)
            continue
        messages.append((props, decode_batch(body)))
    raise AssertionError(f"timed out; got {len(messages)} messages")


def samples_at(messages, time_ms: int) -> dict:
    """(metric, labels) -> value of every sample stamped ``time_ms``, and how many
    messages held any."""
    out: dict = {}
    holders = 0
    for _, batch in messages:
        found = [s for s in batch.samples() if s.timestamp_ms == time_ms]
        holders += bool(found)
        for s in found:
            out[(s.series.metric, s.series.labels)] = s.value
    return out, holders


def test_client_library_and_dogstatsd_lines_flush_to_the_broker(settings, channel, listeners):
    listener = listeners(settings)
    client = statsd.StatsClient(listener.host, listener.port, prefix="shop")
    start_ms = next_interval_start()
    # -- the statsd client library (one datagram per call, pipelines packed) --
    for _ in range(3):
        client.incr("web.hits")
    client.incr("web.hits", 5)
    client.decr("web.errors", 2)
    for ms in (10, 20, 30, 40, 50, 60, 70, 80, 90, 100):
        client.timing("db.query", ms)
    client.gauge("queue.depth", 10)
    client.gauge("queue.depth", 5, delta=True)
    client.gauge("queue.depth", -3, delta=True)
    client.gauge("temp", -4)  # the library sends "0|g" then "-4|g"
    for user in ("alice", "bob", "alice"):
        client.set("users", user)
    with client.pipeline() as pipe:
        pipe.incr("pipe.count")
        pipe.incr("pipe.count")
    # -- raw DogStatsD, several lines to a datagram --
    stamped_s = start_ms // 1000 - 30
    listener.send(
        b"api.requests:1|c|@0.5|#service:api,env:prod\n"
        b"api.requests:1|c|@0.5|#env:prod,service:api\n"
        b"api.latency:100:200:300|h|#service:api\n"
        b"api.size:5|d|#service:api|c:abc123\n"
        b"canary.flag:1|c|#canary\n",
        b"_sc|db.check|0|#env:prod\n_e{5,4}:title|text\nbad line\nx:1|zz\n"
        + f"stamped:7|g|T{stamped_s}".encode(),
    )
    client.close()
    library_packets, library_lines = 4 + 1 + 10 + 3 + 1 + 3 + 1, 4 + 1 + 10 + 3 + 2 + 3 + 2

    messages = flushed(channel, until=lambda ms: any(
        s.timestamp_ms > start_ms for _, b in ms for s in b.samples()))
    got, holders = samples_at(messages, start_ms)
    assert holders == 1  # one flush holds the whole interval
    t_api = (("service", "api"),)
    expected = {
        # counters: count and per-second rate (1 s interval)
        ("shop_web_hits_count", ()): 8.0, ("shop_web_hits_rate", ()): 8.0,
        ("shop_web_errors_count", ()): -2.0, ("shop_web_errors_rate", ()): -2.0,
        ("shop_pipe_count_count", ()): 2.0, ("shop_pipe_count_rate", ()): 2.0,
        ("api_requests_count", (("env", "prod"), ("service", "api"))): 4.0,  # 2 x 1/0.5
        ("api_requests_rate", (("env", "prod"), ("service", "api"))): 4.0,
        ("canary_flag_count", (("canary", "true"),)): 1.0,
        ("canary_flag_rate", (("canary", "true"),)): 1.0,
        # timer: 10..100 ms; p90 = sorted[round(0.9 * 10) - 1], p50 = sorted[5 - 1]
        ("shop_db_query_count", ()): 10.0, ("shop_db_query_rate", ()): 10.0,
        ("shop_db_query_lower", ()): 10.0, ("shop_db_query_upper", ()): 100.0,
        ("shop_db_query_mean", ()): 55.0, ("shop_db_query_median", ()): 55.0,
        ("shop_db_query_std", ()): math.sqrt(825.0), ("shop_db_query_sum", ()): 550.0,
        ("shop_db_query_p50", ()): 50.0, ("shop_db_query_p90", ()): 90.0,
        # histogram 100, 200, 300: p50 = sorted[round(1.5) - 1] = 200, p90 = [round(2.7) - 1]
        ("api_latency_count", t_api): 3.0, ("api_latency_rate", t_api): 3.0,
        ("api_latency_lower", t_api): 100.0, ("api_latency_upper", t_api): 300.0,
        ("api_latency_mean", t_api): 200.0, ("api_latency_median", t_api): 200.0,
        ("api_latency_std", t_api): math.sqrt(20000.0 / 3), ("api_latency_sum", t_api): 600.0,
        ("api_latency_p50", t_api): 200.0, ("api_latency_p90", t_api): 300.0,
        # distribution with one value
        ("api_size_count", t_api): 1.0, ("api_size_rate", t_api): 1.0,
        ("api_size_lower", t_api): 5.0, ("api_size_upper", t_api): 5.0,
        ("api_size_mean", t_api): 5.0, ("api_size_median", t_api): 5.0,
        ("api_size_std", t_api): 0.0, ("api_size_sum", t_api): 5.0,
        ("api_size_p50", t_api): 5.0, ("api_size_p90", t_api): 5.0,
        # gauges: 10 + 5 - 3; 0 then -4; sets: distinct members
        ("shop_queue_depth", ()): 12.0, ("shop_temp", ()): -4.0, ("shop_users", ()): 2.0,
        # the listener's own series
        ("statsd_bad_lines_seen", ()): 2.0,
        ("statsd_packets_received", ()): library_packets + 2.0,
        ("statsd_metrics_received", ()): library_lines + 5.0 + 5.0,
    }
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        assert got[key] == pytest.approx(value, rel=1e-12), key
    stamped, _ = samples_at(messages, stamped_s * 1000)
    assert stamped == {("stamped", ()): 7.0}
    # Gauges go on being sent in the next intervals.
    later, _ = samples_at(messages, start_ms + 1000)
    assert later[("shop_queue_depth", ())] == 12.0 and ("shop_web_hits_count", ()) not in later
    props = messages[0][0]
    assert props.delivery_mode == 2 and props.headers["x-lookout-protocol"] == "statsd"


def test_bad_lines_are_counted_and_never_stop_the_listener(settings, channel, listeners):
    before = REGISTRY.get_sample_value("statsd_bad_lines_seen_total") or 0.0
    listener = listeners(settings)
    listener.send(b"\xff\xfe garbage", b"", b"no_value|c\n::|", b"ok:1|c")
    deadline = time.monotonic() + 5
    while listener.server.lines_received < 4 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert listener.server.bad_lines == 3
    assert REGISTRY.get_sample_value("statsd_bad_lines_seen_total") - before == 3
    assert listener.thread.is_alive()
    messages = flushed(channel, until=lambda ms: any(
        s.series.metric == "ok_count" for _, b in ms for s in b.samples()))
    bad = sum(s.value for _, b in messages for s in b.samples()
              if s.series.metric == "statsd_bad_lines_seen")
    assert bad == 3


def test_receive_buffer(settings, listeners):
    listener = listeners(settings)
    if os.geteuid() != 0 and listener.server.receive_buffer_bytes < (8 << 20):
        pytest.skip("SO_RCVBUFFORCE needs CAP_NET_ADMIN; rmem_max caps the buffer")
    assert listener.server.receive_buffer_bytes == 8 << 20


def test_broker_down_then_up_loses_nothing(servers, rabbit_admin, listeners):
    vhost = unique_name("lookout_test")  # does not exist yet: every publish fails
    settings = StatsdSettings(amqp_url=f"{servers.amqp_base}/{quote(vhost, safe='')}",
                              statsd_port=0, statsd_flush_interval_s=1,
                              broker_confirm_timeout_s=1)
    try:
        listener = listeners(settings, retry_initial_s=0.1, retry_max_s=0.5)
        start_ms = next_interval_start()
        listener.send(b"late:5|c\nlate:2|c")
        time.sleep(2.5)  # two or three flushes, none of them published
        assert len(listener.server.pending_flushes) >= 2
        rabbit_admin.create_vhost(vhost)
        connection = pika.BlockingConnection(connection_parameters(settings, "test"))
        channel = connection.channel()
        declare_topology(channel, settings)
        messages = flushed(channel, until=lambda ms: any(
            s.timestamp_ms > start_ms + 2000 for _, b in ms for s in b.samples()))
        connection.close()
        got, holders = samples_at(messages, start_ms)
        assert holders == 1 and got[("late_count", ())] == 7.0
        # Published in interval order, each once.
        starts = [int(b.time_ms.min()) for _, b in messages]
        assert starts == sorted(starts) and len(set(starts)) == len(starts)
    finally:
        rabbit_admin.delete_vhost(vhost)


class FlakyPublisher:
    """Fails the first ``failures`` publishes (as the broker being down does)."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.attempts: list[str] = []
        self.published: list[tuple[str, bytes]] = []

    def publish(self, body: bytes, *, message_id: str, **_: object) -> None:
        self.attempts.append(message_id)
        if len(self.attempts) <= self.failures:
            raise BrokerUnavailable("broker connection lost: test")
        self.published.append((message_id, body))

    def close(self) -> None:
        pass


def quiet_settings(**changes) -> StatsdSettings:
    """Settings for a listener whose publisher is a test double (no broker)."""
    return StatsdSettings(**{"amqp_url": "amqp://guest:guest@127.0.0.1:1/%2F",
                             "statsd_port": 0, "statsd_flush_interval_s": 0.2, **changes})


def test_a_failed_publish_is_retried_with_the_same_message_id_in_order(listeners):
    publisher = FlakyPublisher(failures=3)
    listener = listeners(quiet_settings(), publisher, retry_initial_s=0.05, retry_max_s=0.2)
    listener.send(b"c:1|c")
    deadline = time.monotonic() + 10
    while len(publisher.published) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    first = publisher.attempts[0]
    assert publisher.attempts[:4] == [first] * 4  # retried, not replaced
    assert publisher.published[0][0] == first
    starts = [int(decode_batch(body).time_ms.min()) for _, body in publisher.published]
    assert starts == sorted(starts)
    assert sum(s.value for _, body in publisher.published
               for s in decode_batch(body).samples() if s.series.metric == "c_count") == 1.0


def test_pending_flushes_are_bounded_oldest_dropped():
    server = StatsdServer(quiet_settings(statsd_max_pending_flushes=2), FlakyPublisher(10**9))
    before = REGISTRY.get_sample_value("statsd_flushes_dropped_total") or 0.0
    t0 = server.aggregator.interval_start_ms
    flushes = [server.flush(t0 + i * 200) for i in range(1, 5)]
    assert server.pending_flushes == flushes[2:]
    assert REGISTRY.get_sample_value("statsd_flushes_dropped_total") - before == 2


def test_stop_flushes_the_interval_in_progress(listeners):
    publisher = FlakyPublisher(failures=0)
    listener = listeners(quiet_settings(statsd_flush_interval_s=3600), publisher)
    listener.send(b"bye:3|c")
    deadline = time.monotonic() + 5
    while listener.server.lines_received < 1 and time.monotonic() < deadline:
        time.sleep(0.02)
    listener.stop()
    [(_, body)] = publisher.published
    got = {s.series.metric: s.value for s in decode_batch(body).samples()}
    assert got["bye_count"] == 3.0


def test_entry_point_serves_metrics_and_flushes_on_sigterm(amqp_url):
    port, metrics_port = free_udp_port(), free_tcp_port()
    env = {**os.environ, "AMQP_URL": amqp_url, "STATSD_PORT": str(port),
           "STATSD_FLUSH_INTERVAL_S": "3600", "STATSD_METRICS_PORT": str(metrics_port),
           "STATSD_PREFIX": "svc", "LOG_FORMAT": "text"}
    proc = subprocess.Popen([sys.executable, "-m", "lookout_ingest.statsd"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 20
        while True:  # send until the listener's /metrics shows it received something
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                sock.sendto(f"up.{uuid.uuid4().hex[:4]}:1|c".encode(), ("127.0.0.1", port))
            try:
                text = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=2).text
            except requests.ConnectionError:
                text = ""
            received = re.search(r"^statsd_metrics_received_total (\S+)$", text, re.M)
            if received and float(received.group(1)) >= 1:
                break
            assert time.monotonic() < deadline, text
            time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=30)[0].decode()
        assert proc.returncode == 0, output
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    settings = BrokerSettings(amqp_url=amqp_url)
    connection = pika.BlockingConnection(connection_parameters(settings, "test"))
    channel = connection.channel()
    messages = flushed(channel, until=lambda ms: bool(ms))
    connection.close()
    metrics = {s.series.metric for _, b in messages for s in b.samples()}
    assert any(m.startswith("svc_up_") and m.endswith("_count") for m in metrics), metrics
    assert "statsd_metrics_received" in metrics


def test_bad_setting_exits_naming_the_variable():
    env = {**os.environ, "STATSD_PERCENTILES": "90,abc"}
    proc = subprocess.run([sys.executable, "-m", "lookout_ingest.statsd"], env=env,
                          capture_output=True, text=True, timeout=30)
    assert proc.returncode == 1
    assert "invalid setting STATSD_PERCENTILES='90,abc'" in proc.stderr
    assert "percentile 'abc' is not a number in (0, 100]" in proc.stderr
