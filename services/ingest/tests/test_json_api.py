"""POST /api/v1/metrics against a real RabbitMQ vhost of the test's own."""

import gzip
import time

import orjson
import pytest

from lookout_ingest.settings import IngestSettings

from .conftest import queued


@pytest.fixture
def settings(amqp_url, servers, redis_key_prefix):
    return IngestSettings(amqp_url=amqp_url, ingest_max_body_bytes=64 * 1024,
                          broker_confirm_timeout_s=2, redis_url=servers.redis_url,
                          redis_key_prefix=redis_key_prefix)


def now_s():
    return time.time()


def test_good_batch_becomes_one_persistent_message(client, channel):
    body = [
        {"name": "http_requests_total", "value": 12, "labels": {"service": "api"}},
        {"name": "latency_ms", "value": 3.5, "tags": {"service": "api", "q": "p99"},
         "timestamp": now_s() - 10},
        {"name": "latency_ms", "value": "NaN", "tags": {"service": "auth"},
         "timestamp": int(now_s() * 1000) - 5000},
        {"name": "up", "value": 1, "timestamp": "2026-11-22T05:00:00Z"
         if now_s() < 1_795_410_000 + 3e7 else None},
    ]
    r = client.post("/api/v1/metrics", json=body, headers={"X-Request-ID": "req-42"})
    assert r.status_code == 202, r.json
    assert r.json["samples"] == 4 and r.json["status"] == "accepted"
    assert r.headers["X-Request-ID"] == "req-42"
    messages = queued(channel)
    assert len(messages) == 1
    props, batch = messages[0]
    assert props.delivery_mode == 2 and props.message_id == r.json["message_id"]
    assert props.headers["x-request-id"] == "req-42"
    samples = batch.samples()
    assert [(s.series.metric, s.series.labels) for s in samples] == [
        ("http_requests_total", (("service", "api"),)),
        ("latency_ms", (("q", "p99"), ("service", "api"))),
        ("latency_ms", (("service", "auth"),)),
        ("up", ()),
    ]
    assert samples[0].value == 12.0 and samples[1].value == 3.5
    assert abs(samples[0].timestamp_ms - now_s() * 1000) < 5_000  # missing → now


def test_gzip_body(client, channel):
    payload = gzip.compress(orjson.dumps([{"name": "x", "value": 1}]))
    r = client.post("/api/v1/metrics", data=payload,
                    headers={"Content-Encoding": "gzip", "Content-Type": "application/json"})
    assert r.status_code == 202
    assert len(queued(channel)) == 1


def _ts(offset_s: float) -> int:
    return int((time.time() + offset_s) * 1000)


BAD_ITEMS = [
    ({"name": "1cpu", "value": 1}, "name",
     "metric name '1cpu' does not match [a-zA-Z_:][a-zA-Z0-9_:]*"),
    ({"name": "a" * 256, "value": 1}, "name", "metric name is 256 characters long, the limit is 255"),
    ({"value": 1}, "name", "field 'name' is required"),
    ({"name": "x"}, "value", "field 'value' is required"),
    ({"name": "x", "value": "12"}, "value",
     "value must be a number or one of \"NaN\", \"+Inf\", \"-Inf\", got '12'"),
    ({"name": "x", "value": True}, "value", "value must be a number, got True"),
    ({"name": "x", "value": 1, "labels": {"bad-name": "v"}}, "labels.bad-name",
     "label name 'bad-name' does not match [a-zA-Z_][a-zA-Z0-9_]*"),
    ({"name": "x", "value": 1, "tags": {"l" * 65: "v"}}, "tags." + "l" * 65,
     "label name is 65 characters long, the limit is 64"),
    ({"name": "x", "value": 1, "labels": {"k": "v" * 257}}, "labels.k",
     "label value is 257 characters long, the limit is 256"),
    ({"name": "x", "value": 1, "labels": {"k": 1}}, "labels.k", "label value must be a string, got int"),
    ({"name": "x", "value": 1, "labels": {"k": "a\u0000b"}}, "labels.k",
     "label value contains a NUL character"),
    ({"name": "x", "value": 1, "labels": {"__name__": "y"}}, "labels.__name__",
     "label name '__name__' is reserved (names starting with __)"),
    ({"name": "x", "value": 1, "labels": {}, "tags": {}}, "tags",
     "give either 'labels' or 'tags', not both"),
    ({"name": "x", "value": 1, "labels": "host=a"}, "labels",
     "labels must be an object of label name to string value"),
    ({"name": "x", "value": 1, "valu": 2}, "valu",
     "unknown field 'valu' (allowed: name, value, labels or tags, timestamp)"),
    ({"name": "x", "value": 1, "timestamp": "last tuesday"}, "timestamp",
     "timestamp 'last tuesday' is not RFC 3339"),
    ("not an object", "item", "each item must be a JSON object, got a JSON string"),
]


@pytest.mark.parametrize(("item", "field", "rule"), BAD_ITEMS)
def test_each_rule_rejects_the_whole_request(client, channel, item, field, rule):
    good = {"name": "ok", "value": 1}
    r = client.post("/api/v1/metrics", json=[good, item, good])
    assert r.status_code == 400
    error = r.json["error"]
    assert error["type"] == "validation_error"
    assert error["index"] == 1 and error["field"] == field
    assert error["message"] == f"item 1: {field}: {rule}; nothing in this request was accepted"
    assert queued(channel) == []


@pytest.mark.parametrize(
    "bad_value",
    [b"\\ud800",  # a lone surrogate: valid JSON escape syntax, not encodable as UTF-8
     b"caf\xe9"],  # Latin-1 bytes in the body
)
def test_label_value_must_be_valid_utf8(client, channel, bad_value):
    body = b'[{"name": "ok", "value": 1}, {"name": "x", "value": 1, "labels": {"k": "' + bad_value + b'"}}]'
    r = client.post("/api/v1/metrics", data=body, content_type="application/json")
    assert r.status_code == 400, r.json
    assert r.json["error"]["message"] == (
        "item 1: labels.k: label value is not valid UTF-8; nothing in this request was accepted"
    )
    assert queued(channel) == []


@pytest.mark.parametrize(
    ("offset_s", "rule"),
    [(-366 * 86400, "is more than 1 year in the past"),
     (301, "is more than 5 minutes in the future")],
)
def test_timestamp_window(client, channel, offset_s, rule):
    r = client.post("/api/v1/metrics", json=[{"name": "x", "value": 1, "timestamp": _ts(offset_s)}])
    assert r.status_code == 400
    assert rule in r.json["error"]["message"]
    assert r.json["error"]["field"] == "timestamp"
    assert queued(channel) == []


def test_all_problems_listed(client, channel):
    r = client.post("/api/v1/metrics", json=[{"name": "1a", "value": 1}, {"name": "ok", "value": 1},
                                             {"name": "b", "value": None}])
    assert r.status_code == 400
    assert [(e["index"], e["field"]) for e in r.json["error"]["errors"]] == [(0, "name"), (2, "value")]
    assert "(and 1 more problems)" in r.json["error"]["message"]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "request body is not valid JSON"),
        (b'{"name": "x", "value": 1}', "request body must be a JSON array of samples, got a JSON object"),
    ],
)
def test_body_must_be_a_json_array(client, channel, body, message):
    r = client.post("/api/v1/metrics", data=body, content_type="application/json")
    assert r.status_code == 400
    assert r.json["error"]["message"].startswith(message)
    assert queued(channel) == []


def test_body_size_limit_is_413(client, channel):
    big = [{"name": "x", "value": 1, "labels": {"k": "v" * 200}}] * 400  # > 64 KiB
    r = client.post("/api/v1/metrics", json=big)
    assert r.status_code == 413
    assert r.json["error"] == {"type": "payload_too_large",
                               "message": "request body is larger than the limit of 65536 bytes"}
    bomb = gzip.compress(b"[" + b" " * (200 * 1024) + b"]")
    r = client.post("/api/v1/metrics", data=bomb, headers={"Content-Encoding": "gzip"})
    assert r.status_code == 413
    assert "decompressed body is larger than the limit of 65536 bytes" in r.json["error"]["message"]
    assert queued(channel) == []


def test_unsupported_content_encoding(client, channel):
    r = client.post("/api/v1/metrics", data=b"[]", headers={"Content-Encoding": "br"})
    assert r.status_code == 400
    assert r.json["error"]["message"] == "unsupported Content-Encoding 'br' (use gzip)"


def test_broker_unreachable_is_503_with_retry_after(make_client, settings):
    settings = settings.model_copy(update={"amqp_url": "amqp://guest:guest@127.0.0.1:1/%2F",
                                           "broker_confirm_timeout_s": 1,
                                           "ingest_retry_after_s": 7})
    client = make_client(settings)
    r = client.post("/api/v1/metrics", json=[{"name": "x", "value": 1}])
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "7"
    assert r.json["error"]["type"] == "unavailable"
    assert r.json["error"]["message"].startswith("message broker unavailable, retry later")
    ready = client.get("/health/ready")
    assert ready.status_code == 503 and ready.json["dependencies"]["broker"]["status"] == "down"


def test_full_queue_is_503(settings, make_client):
    settings = settings.model_copy(update={"broker_queue_max_length": 2})
    client = make_client(settings)
    codes = [client.post("/api/v1/metrics", json=[{"name": "x", "value": i}]).status_code
             for i in range(3)]
    assert codes == [202, 202, 503]
    r = client.post("/api/v1/metrics", json=[{"name": "x", "value": 9}])
    assert r.status_code == 503 and "queue is full" in r.json["error"]["message"]


def test_empty_batch_is_accepted_and_publishes_nothing(client, channel):
    r = client.post("/api/v1/metrics", json=[])
    assert r.status_code == 202 and r.json["samples"] == 0
    assert queued(channel) == []


def test_health_and_metrics(client):
    assert client.get("/health/live").json["status"] == "ok"
    ready = client.get("/health/ready")
    assert ready.status_code == 200 and ready.json["dependencies"]["broker"]["status"] == "ok"
    client.post("/api/v1/metrics", json=[{"name": "x", "value": 1}])
    text = client.get("/metrics").get_data(as_text=True)
    assert 'ingest_requests_total{code="202",protocol="json"}' in text
