"""Pushing the Prometheus text format and OpenMetrics: POST /api/v1/import/prometheus
(with Pushgateway-style grouping labels in the path) against a real RabbitMQ vhost of
the test's own; fuzzing through the Flask app with a recording publisher."""

from __future__ import annotations

import base64
import collections
import gzip
import math
import random
import time
from pathlib import Path
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, Counter, Gauge, push_to_gateway

from lookout_common.codec import decode_batch
from lookout_common.errors import ValidationFailed
from lookout_ingest.exposition import parse_grouping_path
from lookout_ingest.settings import IngestSettings

from .conftest import queued

IMPORT = "/api/v1/import/prometheus"
OPENMETRICS = "application/openmetrics-text; version=1.0.0; charset=utf-8"
TEXT = "text/plain; version=0.0.4; charset=utf-8"
GOLDEN = Path(__file__).parent / "golden" / "exposition"


def now_ms() -> int:
    return int(time.time() * 1000)


def b64(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


# --- grouping labels in the path (pure) ----------------------------------------------


@pytest.mark.parametrize(("path", "labels"), [
    ("job/backup", {"job": "backup"}),
    ("job/backup/instance/db1/", {"job": "backup", "instance": "db1"}),
    ("job/backup/path@base64/" + b64("/var/tmp"), {"job": "backup", "path": "/var/tmp"}),
    ("job@base64/" + b64("a/b") + "==", {"job": "a/b"}),  # padding or none
    ("job/x/empty@base64/=", {"job": "x", "empty": ""}),  # a lone = is the empty value
    ("job/x/greeting@base64/" + b64("こんにちは"), {"job": "x", "greeting": "こんにちは"}),
])
def test_grouping_path(path, labels):
    assert parse_grouping_path(path) == labels


@pytest.mark.parametrize(("path", "message"), [
    ("job", "grouping label 'job' has no value in the path "
            "(expected job/<job>[/<label>/<value>]...)"),
    ("instance/a/job/b", "the grouping path must start with job/<job>"),
    ("job@base64/=", "the job in the grouping path must not be empty"),
    ("job/a/job/b", "grouping label 'job' appears twice in the path"),
    ("job/a/x@base64/***", "grouping label 'x': '***' is not URL-safe base64 of UTF-8 text"),
    ("job/a/x@base64/" + base64.urlsafe_b64encode(b"\xff\xfe").decode(),
     "grouping label 'x': '__4=' is not URL-safe base64 of UTF-8 text"),
    ("job/a/bad-name/v",
     "grouping labels: path.bad-name: label name 'bad-name' does not match [a-zA-Z_][a-zA-Z0-9_]*"),
    ("job/a/__x/v",
     "grouping labels: path.__x: label name '__x' is reserved (names starting with __)"),
])
def test_bad_grouping_path(path, message):
    with pytest.raises(ValidationFailed) as raised:
        parse_grouping_path(path)
    assert raised.value.message == message


# --- HTTP, with the real broker ------------------------------------------------------


@pytest.fixture
def settings(amqp_url, servers, redis_key_prefix):
    return IngestSettings(amqp_url=amqp_url, ingest_max_body_bytes=64 * 1024,
                          broker_confirm_timeout_s=2, redis_url=servers.redis_url,
                          redis_key_prefix=redis_key_prefix)


def rows(batch):
    return [(s.series.metric, dict(s.series.labels), s.timestamp_ms, s.value)
            for s in batch.samples()]


def test_text_format_push(client, channel):
    t = now_ms() - 60_000
    payload = f"""# HELP jobs_processed_total Jobs processed.
# TYPE jobs_processed_total counter
jobs_processed_total{{queue="mail"}} 42 {t}
# TYPE queue_depth gauge
queue_depth{{queue="mail"}} 3
"""
    r = client.post(IMPORT, data=payload, headers={"Content-Type": TEXT, "X-Request-ID": "p-1"})
    assert r.status_code == 204, r.get_data(as_text=True)
    [(props, batch)] = queued(channel)
    assert props.headers["x-lookout-protocol"] == "exposition"
    assert props.headers["x-request-id"] == "p-1"
    [processed, depth] = rows(batch)
    assert processed == ("jobs_processed_total", {"queue": "mail"}, t, 42.0)
    assert depth[:2] == ("queue_depth", {"queue": "mail"}) and depth[3] == 3.0
    assert abs(depth[2] - now_ms()) < 5_000  # no timestamp: now
    assert [(m.metric, m.type, m.help) for m in batch.metadata] == [
        ("jobs_processed_total", "counter", "Jobs processed."), ("queue_depth", "gauge", "")]


def test_grouping_labels_are_added_and_win(client, channel):
    payload = 'backup_last_success{job="ignored",db="main"} 1\nbackup_size_bytes 1e9\n'
    path = f"{IMPORT}/metrics/job/nightly/instance@base64/{b64('db/1')}"
    assert client.post(path, data=payload).status_code == 204
    [(_, batch)] = queued(channel)
    assert [r[:2] for r in rows(batch)] == [
        ("backup_last_success", {"db": "main", "instance": "db/1", "job": "nightly"}),
        ("backup_size_bytes", {"instance": "db/1", "job": "nightly"}),
    ]


def test_push_to_gateway_from_a_client_library(client, channel):
    """prometheus_client's own push: PUT, its exposition, its grouping-key encoding."""
    registry = CollectorRegistry()
    Gauge("backup_last_success_unixtime", "Last successful backup.", registry=registry).set(17)
    Counter("backup_files", "Files backed up.", ["kind"], registry=registry).labels("db").inc(3)

    def handler(url, method, timeout, headers, data):
        def send():
            r = client.open(url.removeprefix("http://lookout"), method=method, data=data,
                            headers=dict(headers))
            assert r.status_code == 204, r.get_data(as_text=True)
        return send

    push_to_gateway("http://lookout" + IMPORT, job="nightly backup", registry=registry,
                    grouping_key={"path": "/srv/db", "instance": ""}, handler=handler)
    [(_, batch)] = queued(channel)
    group = {"job": "nightly backup", "path": "/srv/db"}
    assert [r[:2] for r in rows(batch)] == [
        ("backup_last_success_unixtime", group),
        ("backup_files_total", {**group, "kind": "db"}),
        ("backup_files_created", {**group, "kind": "db"}),
    ]
    assert {(m.metric, m.type) for m in batch.metadata} == {
        ("backup_last_success_unixtime", "gauge"), ("backup_files_total", "counter"),
        ("backup_files_created", "gauge")}  # the client library writes it as a gauge


def test_bad_grouping_path_is_400(client, channel):
    r = client.post(f"{IMPORT}/metrics/instance/a", data="up 1\n")
    assert r.status_code == 400
    assert r.json["error"]["message"] == "the grouping path must start with job/<job>"
    assert queued(channel) == []


def test_openmetrics_by_content_type(client, channel):
    t = time.time() - 30
    payload = f"""# TYPE rpc_requests counter
# UNIT rpc_requests requests
# HELP rpc_requests RPCs served.
rpc_requests_total 17 {t:.3f} # {{trace_id="abc"}} 1.0
rpc_requests_created {t - 3600:.3f} {t:.3f}
# EOF
"""
    r = client.post(IMPORT, data=payload, headers={"Content-Type": OPENMETRICS})
    assert r.status_code == 204, r.get_data(as_text=True)
    [(_, batch)] = queued(channel)
    assert rows(batch) == [("rpc_requests_total", {}, round(t * 1000), 17.0),
                           ("rpc_requests_created", {}, round(t * 1000), round(t - 3600, 3))]
    assert [(m.metric, m.type, m.help, m.unit) for m in batch.metadata] == [
        ("rpc_requests", "counter", "RPCs served.", "requests")]


@pytest.mark.parametrize(("payload", "content_type", "message"), [
    ('up 1\nup{job="a" 1\n', TEXT,
     "line 2: invalid Prometheus text format: could not convert string to float: "
     "'{job=\"a\"' (in 'up{job=\"a\" 1')"),
    ("up 1\n", OPENMETRICS, "line 1: invalid OpenMetrics: Missing # EOF at end"),
    ("# TYPE up gauge\nup 1\n\n# EOF\n", OPENMETRICS,
     "line 3: invalid OpenMetrics: Received blank line"),
    # The parser builds a family when the next one starts: it notices there.
    ("# TYPE x nonsense\nx 1\n", TEXT,
     "line 2: invalid Prometheus text format: Invalid metric type: nonsense"),
    ('up{le="1",le="2"} 1\n', TEXT, "line 1: invalid Prometheus text format: Invalid labels: "),
    ("up 1\nup x\n", TEXT,
     "line 2: invalid Prometheus text format: could not convert string to float: 'x'"),
    ('up{x="' + "v" * 257 + '"} 1\n', TEXT,
     "sample 0 (up): labels.x: label value is 257 characters long, the limit is 256"),
    ("a 1\nb 2 99999999999999999\n", TEXT,
     "sample 1 (b): timestamp: timestamp "),
])
def test_unparseable_or_invalid_payload_is_400(client, channel, payload, content_type, message):
    r = client.post(IMPORT, data=payload, headers={"Content-Type": content_type})
    assert r.status_code == 400, r.get_data(as_text=True)
    assert r.json["error"]["type"] == "validation_error"
    assert r.json["error"]["message"].startswith(message)
    assert queued(channel) == []


def test_parse_error_names_the_line(client, channel):
    r = client.post(IMPORT, data="a 1\nb 2\nc{ 3\n")
    assert r.status_code == 400
    assert r.json["error"]["line"] == 3


def test_invalid_utf8_is_400_with_its_line(client, channel):
    r = client.post(IMPORT, data=b'a 1\nb{x="caf\xe9"} 2\n')
    assert r.status_code == 400
    assert r.json["error"]["message"] == "line 2: the payload is not valid UTF-8"


def test_protobuf_exposition_is_415(client, channel):
    r = client.post(IMPORT, data=b"\x00", headers={
        "Content-Type": "application/vnd.google.protobuf; "
                        "proto=io.prometheus.client.MetricFamily; encoding=delimited"})
    assert r.status_code == 415


def test_gzip_body(client, channel):
    r = client.post(IMPORT, data=gzip.compress(b"up 1\n"), headers={"Content-Encoding": "gzip"})
    assert r.status_code == 204
    assert len(queued(channel)) == 1


def test_empty_payload_publishes_nothing(client, channel):
    assert client.post(IMPORT, data=b"").status_code == 204
    assert client.post(IMPORT, data=b"# just a comment\n").status_code == 204
    assert queued(channel) == []


def test_special_values(client, channel):
    r = client.post(IMPORT, data="a +Inf\nb -Inf\nc NaN\nd 1e400\n")
    assert r.status_code == 204
    [(_, batch)] = queued(channel)
    values = [v for *_, v in rows(batch)]
    assert values[:2] == [math.inf, -math.inf] and math.isnan(values[2])
    assert values[3] == math.inf


def test_broker_unreachable_is_503(make_client, settings):
    settings = settings.model_copy(update={"amqp_url": "amqp://guest:guest@127.0.0.1:1/%2F",
                                           "broker_confirm_timeout_s": 1})
    r = make_client(settings).post(IMPORT, data="up 1\n")
    assert r.status_code == 503 and "Retry-After" in r.headers


# --- fuzzing: random and mutated payloads never make a 5xx ----------------------------


def check_answer(client, publisher, path: str, body: bytes, content_type: str) -> int:
    published = len(publisher.bodies)
    r = client.post(path, data=body, headers={"Content-Type": content_type})
    assert r.status_code < 500, r.get_data(as_text=True)
    if r.status_code == 204:
        for message in publisher.bodies[published:]:
            decode_batch(message)  # what ingest accepts, the worker can read
    elif r.status_code != 404:
        assert r.json["error"]["type"] and r.json["error"]["message"]
    return r.status_code


NAMES = ["up", "http_requests_total", "x_bucket", "x_count", "x_sum", "x_created", "x_info",
         "x", "1x", "a.b", "a-b", "_", ":", "__name__", "x_total", "x_gcount"]
LABEL_NAMES = ["job", "le", "quantile", "x", "__x", "1a", "a-b", "", "__name__"]
LABEL_VALUES = ["", "a", "+Inf", "0.5", "1.0", "NaN", 'q"uote', "back\\\\slash", "new\\nline",
                "ü👋", "\\", '"', "a" * 257]
VALUES = ["1", "0", "-1.5", "NaN", "+Inf", "-Inf", "1e400", "0x1", "1_000", "abc", "", "17.0",
          "99999999999999999999999999"]
TIMESTAMPS = ["", "", "", str(int(time.time() * 1000)), f"{time.time():.3f}", "-1", "1e30",
              "abc", "0", str(2**63)]
TYPES = ["counter", "gauge", "histogram", "summary", "untyped", "unknown", "info", "stateset",
         "gaugehistogram", "bogus", ""]
PIECES = ["{", "}", '"', "=", ",", "#", " ", "\n", "\\", "\t", "# EOF\n", "\r", "\x00", "ü"]


def random_line(rng: random.Random) -> str:
    kind = rng.random()
    name = rng.choice(NAMES)
    if kind < 0.15:
        return f"# {rng.choice(['HELP', 'TYPE', 'UNIT', 'help', 'X'])} {name} " + (
            rng.choice(TYPES) if rng.random() < 0.6 else rng.choice(VALUES + LABEL_VALUES))
    if kind < 0.2:
        return rng.choice(["# EOF", "", "# a comment", "#", rng.choice(PIECES)])
    labels = ",".join(f'{rng.choice(LABEL_NAMES)}="{rng.choice(LABEL_VALUES)}"'
                      for _ in range(rng.randint(0, 3)))
    line = f"{name}{{{labels}}}" if labels or rng.random() < 0.2 else name
    line += f" {rng.choice(VALUES)}"
    if ts := rng.choice(TIMESTAMPS):
        line += f" {ts}"
    if rng.random() < 0.1:
        line += f' # {{trace_id="{rng.choice(LABEL_VALUES)}"}} {rng.choice(VALUES)}'
    return line


def random_path(rng: random.Random) -> str:
    if rng.random() < 0.4:
        return IMPORT
    segments = ["job", rng.choice(["a", "batch", "", "x y", "ü"])]
    for _ in range(rng.randint(0, 2)):
        name = rng.choice([*LABEL_NAMES, "instance", "path@base64", "job@base64"])
        value = rng.choice(["v", "", "=", b64("/var/tmp"), "***", "a/b", "ü"])
        segments += [name, value] if rng.random() < 0.9 else [name]
    return f"{IMPORT}/metrics/" + quote("/".join(segments), safe="/@=")


CONTENT_TYPES = [TEXT, OPENMETRICS, "", "text/plain", "application/json",
                 "application/openmetrics-text", "application/vnd.google.protobuf"]
SEEDS = sorted((p.read_bytes(), OPENMETRICS if p.suffix == ".om" else TEXT)
               for p in GOLDEN.glob("*") if p.suffix in (".prom", ".om"))
# Hypothesis draws the seed of a random.Random, which builds the payload: one draw per
# example keeps 5,000 examples per test to seconds; a failure is replayed from its seed.
FUZZ = hypothesis_settings(max_examples=5_000, deadline=None, database=None,
                           suppress_health_check=[HealthCheck.too_slow])


def test_fuzz_random_payloads(fuzz_client):
    client, publisher = fuzz_client
    codes: collections.Counter[int] = collections.Counter()

    @FUZZ
    @given(st.randoms(use_true_random=False))
    def post(rng):
        lines = [random_line(rng) for _ in range(rng.randint(0, 6))]
        content_type = rng.choice(CONTENT_TYPES)
        if content_type.startswith("application/openmetrics") and rng.random() < 0.7:
            lines.append("# EOF")
        body = "\n".join(lines) + rng.choice(["\n", "", "\r\n"])
        codes[check_answer(client, publisher, random_path(rng), body.encode(),
                           content_type)] += 1

    post()
    assert codes[204] and codes[400], codes  # both paths were exercised


def mutate(text: str, rng: random.Random) -> str:
    """A few random edits: insert a character of the syntax, delete, duplicate or swap."""
    for _ in range(rng.randint(1, 4)):
        at = rng.randint(0, len(text))
        op = rng.choice(["insert", "insert", "delete", "duplicate", "truncate", "swap_lines"])
        if op == "insert":
            text = text[:at] + rng.choice([*PIECES, chr(rng.randint(1, 0x2FFF))]) + text[at:]
        elif op == "delete":
            text = text[:at] + text[at + rng.randint(1, 6):]
        elif op == "duplicate":
            text = text[:at] + text[at:at + rng.randint(1, 30)] + text[at:]
        elif op == "truncate":
            text = text[:at]
        else:
            lines = text.split("\n")
            i, j = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
            text = "\n".join(lines)
    return text


def test_fuzz_mutated_payloads(fuzz_client):
    client, publisher = fuzz_client
    codes: collections.Counter[int] = collections.Counter()

    @FUZZ
    @given(st.randoms(use_true_random=False))
    def post(rng):
        payload, content_type = rng.choice(SEEDS)
        body = mutate(payload.decode(), rng).encode()
        if rng.random() < 0.05:  # break the UTF-8
            at = rng.randint(0, len(body))
            body = body[:at] + rng.randbytes(2) + body[at:]
        codes[check_answer(client, publisher, random_path(rng), body, content_type)] += 1

    post()
    assert codes[204] and codes[400], codes
