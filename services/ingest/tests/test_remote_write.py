"""Prometheus remote_write 1.0: the decoder, the generated protobuf code, and
POST /api/v1/write against a real RabbitMQ vhost of the test's own; fuzzing through
the Flask app with a recording publisher in place of the broker."""

from __future__ import annotations

import collections
import gzip
import math
import random
import struct
import subprocess
import sys
import time
from pathlib import Path

import cramjam
import numpy as np
import pytest
from google.protobuf.internal import api_implementation
from google.protobuf.message import DecodeError
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

import lookout_ingest.proto
from lookout_common.codec import decode_batch
from lookout_ingest.proto.remote_pb2 import MetricMetadata, Sample, WriteRequest
from lookout_ingest.remote_write import decode_samples
from lookout_ingest.settings import IngestSettings

from .conftest import queued

STALE_NAN_BITS = 0x7FF0000000000002
PROTO_DIR = Path(lookout_ingest.proto.__file__).parent
ROUTES = ("/api/v1/write", "/prometheus/api/v1/write")
STARTED_MS = int(time.time() * 1000)  # strategies must not change between examples


def from_bits(bits: int) -> float:
    return struct.unpack("<d", struct.pack("<Q", bits))[0]


def bits_of(value: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", value))[0]


def now_ms() -> int:
    return int(time.time() * 1000)


def write_request(series: list[tuple[dict[str, str], list[tuple[float, int]]]],
                  metadata: list[MetricMetadata] = ()) -> WriteRequest:
    """A WriteRequest with each series' labels sorted by name, as Prometheus sends."""
    request = WriteRequest()
    for labels, samples in series:
        ts = request.timeseries.add()
        for name in sorted(labels):
            ts.labels.add(name=name, value=labels[name])
        for value, timestamp in samples:
            ts.samples.add(value=value, timestamp=timestamp)
    request.metadata.extend(metadata)
    return request


def snappy(data: bytes) -> bytes:
    return bytes(cramjam.snappy.compress_raw(data))


def body_of(request: WriteRequest) -> bytes:
    return snappy(request.SerializeToString())


HEADERS = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
           "X-Prometheus-Remote-Write-Version": "0.1.0"}


# --- the protobuf runtime and the generated code ---------------------------------------


def test_protobuf_runs_on_the_upb_backend():
    assert api_implementation.Type() == "upb"


def test_generated_code_matches_the_proto(tmp_path):
    """remote_pb2.py(i) are protoc's output for remote.proto, unedited: regenerate
    them (grpcio-tools' protoc, pinned in requirements-dev.txt) and compare."""
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{PROTO_DIR}", f"--python_out={tmp_path}",
         f"--pyi_out={tmp_path}", str(PROTO_DIR / "remote.proto")],
        check=True, capture_output=True,
    )
    for name in ("remote_pb2.py", "remote_pb2.pyi"):
        assert (tmp_path / name).read_text() == (PROTO_DIR / name).read_text(), (
            f"{name} is out of date with remote.proto; regenerate it (command in remote.proto)"
        )


# --- sample decoding: the vectorised path decodes as protobuf does --------------------


def _varint(n: int) -> bytes:
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _value_field(bits: int) -> bytes:
    return b"\x09" + struct.pack("<Q", bits)


def _timestamp_field(ts: int, padding: int = 0) -> bytes:
    raw = bytearray(_varint(ts))
    for _ in range(min(padding, 10 - len(raw))):  # non-minimal: longer, same number
        raw[-1] |= 0x80
        raw.append(0)
    return b"\x10" + bytes(raw)


@st.composite
def encoded_samples(draw: st.DrawFn) -> bytes:
    """A Sample encoded as a protobuf library would, or in any other valid way."""
    bits = draw(st.one_of(st.integers(0, 2**64 - 1),
                          st.sampled_from([STALE_NAN_BITS, 0, 1 << 63, 0x7FF8000000000000,
                                           0x7FF0000000000000, bits_of(1.5)])))
    ts = draw(st.one_of(st.integers(-(2**63), 2**63 - 1),
                        st.integers(STARTED_MS - 10**10, STARTED_MS + 10**10),
                        st.sampled_from([0, 2**35, 2**42 - 1, 2**42])))
    kind = draw(st.sampled_from(["canonical", "swapped", "repeated", "unknown", "padded",
                                 "garbage"]))
    if kind == "canonical":
        return Sample(value=from_bits(bits), timestamp=ts).SerializeToString()
    if kind == "swapped":
        return _timestamp_field(ts) + _value_field(bits)
    if kind == "repeated":  # the last occurrence of a field wins
        return _value_field(draw(st.integers(0, 2**64 - 1))) + _value_field(bits) + \
            _timestamp_field(ts)
    if kind == "unknown":  # a field this message does not have: skipped
        return _value_field(bits) + b"\x1a\x03abc" + _timestamp_field(ts)
    if kind == "garbage":  # most of it not a Sample at all
        return draw(st.binary(max_size=20))
    return _value_field(bits) + _timestamp_field(ts, padding=draw(st.integers(1, 3)))


@hypothesis_settings(max_examples=300, deadline=None, database=None)
@given(st.lists(encoded_samples(), max_size=50))
def test_decode_samples_is_protobufs_decoding(encoded):
    try:
        want = [Sample.FromString(raw) for raw in encoded]
    except DecodeError:
        with pytest.raises(DecodeError):
            decode_samples(encoded)
        return
    values, times = decode_samples(encoded)
    assert [bits_of(v) for v in values.tolist()] == [bits_of(s.value) for s in want]
    assert times.tolist() == [s.timestamp for s in want]


# --- HTTP, with the real broker ------------------------------------------------------


@pytest.fixture
def settings(amqp_url, servers, redis_key_prefix):
    return IngestSettings(amqp_url=amqp_url, ingest_max_body_bytes=64 * 1024,
                          broker_confirm_timeout_s=2, redis_url=servers.redis_url,
                          redis_key_prefix=redis_key_prefix)


@pytest.mark.parametrize("route", ROUTES)
def test_write_request_becomes_one_message(client, channel, route):
    t = now_ms()
    request = write_request([
        ({"__name__": "up", "job": "node", "instance": "a:9100"}, [(1.0, t - 30_000), (0.0, t)]),
        ({"__name__": "temperature", "room": "lab"}, [(math.inf, t), (-12.5, t + 1)]),
    ], [MetricMetadata(type=MetricMetadata.GAUGE, metric_family_name="up", help="Target up.")])
    r = client.post(route, data=body_of(request), headers={**HEADERS, "X-Request-ID": "rw-1"})
    assert r.status_code == 204, r.get_data(as_text=True)
    assert r.get_data() == b""
    [(props, batch)] = queued(channel)
    assert props.delivery_mode == 2
    assert props.headers["x-lookout-protocol"] == "remote_write"
    assert props.headers["x-request-id"] == "rw-1"
    assert [(s.series.metric, s.series.labels, s.timestamp_ms, s.value) for s in batch.samples()] == [
        ("up", (("instance", "a:9100"), ("job", "node")), t - 30_000, 1.0),
        ("up", (("instance", "a:9100"), ("job", "node")), t, 0.0),
        ("temperature", (("room", "lab"),), t, math.inf),
        ("temperature", (("room", "lab"),), t + 1, -12.5),
    ]
    assert [(m.metric, m.type, m.help) for m in batch.metadata] == [("up", "gauge", "Target up.")]


def test_stale_marker_arrives_bit_exact(client, channel):
    t = now_ms()
    stale, other_nan = from_bits(STALE_NAN_BITS), from_bits(0x7FF8000000000001)
    request = write_request([({"__name__": "up", "job": "node"},
                              [(1.0, t - 2000), (stale, t - 1000), (other_nan, t)])])
    assert client.post("/api/v1/write", data=body_of(request), headers=HEADERS).status_code == 204
    [(_, batch)] = queued(channel)
    assert batch.value.view(np.uint64).tolist() == [bits_of(1.0), STALE_NAN_BITS,
                                                    0x7FF8000000000001]


def test_metadata_only_request(client, channel):
    request = write_request([], [
        MetricMetadata(type=MetricMetadata.COUNTER, metric_family_name="http_requests_total",
                       help="Requests.", unit=""),
        MetricMetadata(type=MetricMetadata.HISTOGRAM, metric_family_name="latency_seconds",
                       unit="seconds"),
    ])
    assert client.post("/api/v1/write", data=body_of(request), headers=HEADERS).status_code == 204
    [(_, batch)] = queued(channel)
    assert len(batch) == 0
    assert [(m.metric, m.type, m.unit) for m in batch.metadata] == [
        ("http_requests_total", "counter", ""), ("latency_seconds", "histogram", "seconds")]


def test_empty_request_publishes_nothing(client, channel):
    assert client.post("/api/v1/write", data=body_of(WriteRequest()),
                       headers=HEADERS).status_code == 204
    assert queued(channel) == []


def _ok_series():
    return ({"__name__": "ok", "job": "a"}, [(1.0, now_ms())])


def _unsorted() -> WriteRequest:
    request = write_request([_ok_series(), _ok_series()])
    labels = request.timeseries[1].labels
    labels[0].name, labels[1].name = labels[1].name, labels[0].name
    labels[0].value, labels[1].value = labels[1].value, labels[0].value
    return request


BAD_BODIES = [
    (b"", "empty body; expected a snappy-compressed WriteRequest"),
    (b"\xff\x06\x00\x00sNaPpY" + b"\x00" * 8,
     "body is in the snappy framed format; remote_write uses the block format"),
    (b"\x0a\x00\x00\xff\xff", "body is not valid snappy (block format): "),
    (snappy(b"\x0a\x05\x0a\x03abc\xff"), "body is not a protobuf WriteRequest: "),
    (body_of(_unsorted()),
     "series 1: labels.__name__: labels are not sorted by name: '__name__' comes after 'job'"),
    (body_of(write_request([_ok_series(), ({"job": "a"}, [(1.0, now_ms())])])),
     "series 1: labels.__name__: the series has no __name__ label (its metric name)"),
    (body_of(write_request([({"__name__": "1up"}, [(1.0, now_ms())])])),
     "series 0: labels.__name__: metric name '1up' does not match [a-zA-Z_:][a-zA-Z0-9_:]*"),
    (body_of(write_request([({"__name__": "up", "bad-name": "x"}, [(1.0, now_ms())])])),
     "series 0: labels.bad-name: label name 'bad-name' does not match [a-zA-Z_][a-zA-Z0-9_]*"),
    (body_of(write_request([_ok_series(), ({"__name__": "up"}, [(1.0, now_ms() + 3_600_000)])])),
     "series 1 sample 0: timestamp: timestamp "),
]


@pytest.mark.parametrize(("body", "message"), BAD_BODIES)
def test_data_that_can_never_be_accepted_is_400(client, channel, body, message):
    r = client.post("/api/v1/write", data=body, headers=HEADERS)
    assert r.status_code == 400, r.get_data(as_text=True)
    error = r.json["error"]
    assert error["type"] == "validation_error"
    assert error["message"].startswith(message)
    assert queued(channel) == []


def test_label_that_appears_twice_is_named(client, channel):
    request = write_request([_ok_series()])
    request.timeseries[0].labels.add(name="job", value="b")  # after job="a"
    r = client.post("/api/v1/write", data=body_of(request), headers=HEADERS)
    assert r.status_code == 400
    assert r.json["error"] | {"errors": None} == {
        "type": "validation_error", "series": 0, "field": "labels.job", "errors": None,
        "message": "series 0: labels.job: label 'job' appears more than once; "
                   "nothing in this request was accepted"}


def test_every_bad_series_is_listed(client, channel):
    request = write_request([({"job": "a"}, [(1.0, now_ms())]), _ok_series(),
                             ({"__name__": "x y"}, [(1.0, now_ms())])])
    r = client.post("/api/v1/write", data=body_of(request), headers=HEADERS)
    assert r.status_code == 400
    assert [(e["series"], e["field"]) for e in r.json["error"]["errors"]] == [
        (0, "labels.__name__"), (2, "labels.__name__")]
    assert "(and 1 more problems)" in r.json["error"]["message"]


def test_declared_length_over_the_limit_is_413_before_decompressing(client, channel):
    # A snappy block starts with its uncompressed length: claim 1 GiB in a few bytes.
    r = client.post("/api/v1/write", data=_varint(1 << 30) + b"\x00" * 16, headers=HEADERS)
    assert r.status_code == 413
    assert r.json["error"] == {
        "type": "payload_too_large",
        "message": "uncompressed body would be 1073741824 bytes, larger than the limit of "
                   "65536 bytes"}
    # A real body whose uncompressed size is over the limit, compressed well under it.
    big = write_request([({"__name__": "x", "k": "v" * 200}, [(1.0, now_ms())])] * 400)
    body = body_of(big)
    assert len(body) < 64 * 1024 < len(big.SerializeToString())
    assert client.post("/api/v1/write", data=body, headers=HEADERS).status_code == 413
    assert queued(channel) == []


def test_body_over_the_limit_is_413(client, channel):
    r = client.post("/api/v1/write", data=b"\x00" * (65 * 1024), headers=HEADERS)
    assert r.status_code == 413


@pytest.mark.parametrize(("headers", "message"), [
    ({"Content-Encoding": "gzip"}, "unsupported Content-Encoding 'gzip'"),
    ({"Content-Type": "application/x-protobuf;proto=io.prometheus.write.v2.Request"},
     "remote_write 2.0 (io.prometheus.write.v2.Request) is not supported"),
])
def test_what_this_endpoint_cannot_read_is_415(client, channel, headers, message):
    body = body_of(write_request([_ok_series()]))
    if headers.get("Content-Encoding") == "gzip":
        body = gzip.compress(write_request([_ok_series()]).SerializeToString())
    r = client.post("/api/v1/write", data=body, headers={**HEADERS, **headers})
    assert r.status_code == 415
    assert r.json["error"]["message"].startswith(message)
    assert queued(channel) == []


def test_no_content_encoding_header_is_read_as_snappy(client, channel):
    r = client.post("/api/v1/write", data=body_of(write_request([_ok_series()])))
    assert r.status_code == 204
    assert len(queued(channel)) == 1


def test_broker_unreachable_is_503_so_prometheus_retries(make_client, settings):
    settings = settings.model_copy(update={"amqp_url": "amqp://guest:guest@127.0.0.1:1/%2F",
                                           "broker_confirm_timeout_s": 1,
                                           "ingest_retry_after_s": 7})
    client = make_client(settings)
    r = client.post("/api/v1/write", data=body_of(write_request([_ok_series()])),
                    headers=HEADERS)
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "7"


def test_requests_are_counted(client, channel):
    client.post("/api/v1/write", data=body_of(write_request([_ok_series()])), headers=HEADERS)
    client.post("/api/v1/write", data=b"nonsense", headers=HEADERS)
    text = client.get("/metrics").get_data(as_text=True)
    assert 'ingest_requests_total{code="204",protocol="remote_write"}' in text
    assert 'ingest_requests_total{code="400",protocol="remote_write"}' in text


# --- fuzzing: random and mutated bodies never make a 5xx ------------------------------


def check_answer(client, publisher, body: bytes, headers=HEADERS) -> int:
    published = len(publisher.bodies)
    r = client.post("/api/v1/write", data=body, headers=headers)
    assert r.status_code < 500, r.get_data(as_text=True)
    if r.status_code == 204:
        for message in publisher.bodies[published:]:
            decode_batch(message)  # what ingest accepts, the worker can read
    else:
        assert r.json["error"]["type"] and r.json["error"]["message"]
    return r.status_code


# Label sets that pass, and each way a label set can break the rules.
LABEL_SETS = [
    [("__name__", "up"), ("instance", "a:9100"), ("job", "node")],
    [("City", "Zürich"), ("__name__", "visitors")],
    [("__name__", "m"), ("le", "+Inf")],
    [("__name__", "m"), ("k", "")],
    [("__name__", "m"), ("k", "v" * 257)],
    [("__name__", "m"), ("a" * 65, "v")],
    [("__name__", "m"), ("bad-name", "v")],
    [("__name__", "m"), ("__meta", "v")],
    [("__name__", "m"), ("", "v")],
    [("__name__", "1m")],
    [("__name__", "")],
    [("job", "a")],
    [],
    [("job", "a"), ("__name__", "m")],
    [("__name__", "m"), ("job", "a"), ("job", "b")],
]
SPECIAL_VALUES = [0.0, -0.0, 1.0, math.inf, -math.inf, math.nan, from_bits(STALE_NAN_BITS),
                  1e308, 5e-324]
TIMESTAMPS = [STARTED_MS, STARTED_MS - 86_400_000, STARTED_MS + 600_000,
              STARTED_MS - 400 * 86_400_000, 0, -1, 2**63 - 1, -(2**63)]
ALPHABET = "a_Z9:-_. _\"=ü👋\x00"


def _text(rng: random.Random, size: int) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, size)))


def random_request(rng: random.Random) -> WriteRequest:
    """Series and metadata, each part either one of the menus above or arbitrary."""
    request = WriteRequest()
    for _ in range(rng.randint(0, 3)):
        labels = (rng.choice(LABEL_SETS) if rng.random() < 0.7 else
                  [(rng.choice(["__name__", "job", "a", _text(rng, 4)]), _text(rng, 6))
                   for _ in range(rng.randint(0, 3))])
        ts = request.timeseries.add()
        for name, value in labels:
            ts.labels.add(name=name, value=value)
        for _ in range(rng.randint(0, 3)):
            value = (rng.choice(SPECIAL_VALUES) if rng.random() < 0.5 else
                     from_bits(rng.getrandbits(64)))
            timestamp = (rng.choice(TIMESTAMPS) if rng.random() < 0.7 else
                         rng.randint(-(2**63), 2**63 - 1))
            ts.samples.add(value=value, timestamp=timestamp)
    for _ in range(rng.randint(0, 2)):
        request.metadata.add(type=rng.randint(-1, 9),
                             metric_family_name=rng.choice(["up", "x_total", "", _text(rng, 4)]),
                             help=_text(rng, 8), unit=_text(rng, 3))
    return request


def mutate(data: bytes, rng: random.Random) -> bytes:
    """A few random edits: flip a bit, insert, delete, truncate, duplicate a range."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        at = rng.randint(0, len(out))
        op = rng.choice(["flip", "insert", "delete", "truncate", "duplicate"])
        if op == "flip" and at < len(out):
            out[at] ^= 1 << rng.randint(0, 7)
        elif op == "insert":
            out[at:at] = rng.randbytes(rng.randint(1, 4))
        elif op == "delete":
            del out[at:at + rng.randint(1, 8)]
        elif op == "truncate":
            del out[at:]
        elif op == "duplicate":
            out[at:at] = out[at:at + rng.randint(1, 20)]
    return bytes(out)


def _seeds() -> list[bytes]:
    t = STARTED_MS
    return [
        write_request([({"__name__": "up", "job": "node", "instance": "a:9100"},
                        [(1.0, t), (from_bits(STALE_NAN_BITS), t + 1)]),
                       ({"__name__": "temp", "room": "ü"}, [(0.0, t), (math.nan, t - 5)])],
                      [MetricMetadata(type=2, metric_family_name="temp", help="h", unit="c")]
                      ).SerializeToString(),
        write_request([({"__name__": f"m{i}", "k": str(i)}, [(float(i), t)]) for i in range(20)]
                      ).SerializeToString(),
        write_request([], [MetricMetadata(type=1, metric_family_name="c_total")]
                      ).SerializeToString(),
    ]


SEEDS = _seeds()
# Hypothesis draws the seed of a random.Random, which builds the payload: one draw per
# example keeps 5,000 examples per test to seconds (the structured strategies of a
# WriteRequest cost more than the request itself); a failure is replayed from its seed.
FUZZ = hypothesis_settings(max_examples=5_000, deadline=None, database=None,
                           suppress_health_check=[HealthCheck.too_slow])


def test_fuzz_random_requests(fuzz_client):
    client, publisher = fuzz_client
    codes: collections.Counter[int] = collections.Counter()

    @FUZZ
    @given(st.randoms(use_true_random=False))
    def post(rng):
        request = random_request(rng)
        raw = rng.random() < 0.1  # now and then not compressed at all
        body = request.SerializeToString() if raw else body_of(request)
        codes[check_answer(client, publisher, body)] += 1

    post()
    assert codes[204] and codes[400], codes  # both paths were exercised


def test_fuzz_mutated_requests(fuzz_client):
    client, publisher = fuzz_client
    codes: collections.Counter[int] = collections.Counter()

    @FUZZ
    @given(st.randoms(use_true_random=False))
    def post(rng):
        seed = rng.choice(SEEDS)
        if rng.random() < 0.7:  # mutate the protobuf, so that its parser sees the damage
            body = snappy(mutate(seed, rng))
        else:  # or the snappy block
            body = mutate(snappy(seed), rng)
        codes[check_answer(client, publisher, body)] += 1

    post()
    assert codes[204] and codes[400], codes
