"""Influx line protocol: the parser (golden cases, rules, a fuzz) and POST /api/v2/write
against a real RabbitMQ vhost of the test's own."""

import gzip
import math
import random
import time
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from lookout_common.codec import decode_batch, encode_batch
from lookout_common.errors import ValidationFailed
from lookout_ingest.influx import LineError, parse_line, parse_line_protocol, scan_line
from lookout_ingest.settings import IngestSettings

from .conftest import queued

GOLDEN = Path(__file__).parent / "golden" / "influx"
NOW_MS = 1_795_305_600_000  # 2026-11-22T00:00:00Z, as in the other golden cases
FUZZ_EXAMPLES = 10_000


# -- golden cases ---------------------------------------------------------------------

CASES = sorted(GOLDEN.glob("*.lp"))


def test_every_case_has_one_expectation():
    assert CASES
    for payload in CASES:
        stem = payload.with_suffix("")
        outcomes = [p for p in (Path(f"{stem}.expected.jsonl"), Path(f"{stem}.error.txt"))
                    if p.exists()]
        assert len(outcomes) == 1, f"{payload}: needs exactly one .expected.jsonl or .error.txt"


@pytest.mark.parametrize("payload", CASES, ids=lambda p: p.stem)
def test_golden(payload: Path):
    body = payload.read_bytes()
    precision = "ns"
    if body.startswith(b"# precision: "):
        precision = body.split(b"\n", 1)[0].split(b": ")[1].decode().strip()
    stem = payload.with_suffix("")
    error = Path(f"{stem}.error.txt")
    if error.exists():
        with pytest.raises(ValidationFailed) as raised:
            parse_line_protocol(body, precision=precision, now_ms=NOW_MS)
        assert raised.value.message == error.read_text().strip()
        return
    write = parse_line_protocol(body, precision=precision, now_ms=NOW_MS)
    batch = decode_batch(encode_batch(write.batch))  # as the worker receives it
    got = [{"metric": s.series.metric, "labels": dict(s.series.labels),
            "timestamp_ms": s.timestamp_ms, "value": s.value} for s in batch.samples()]
    want = [orjson.loads(line) for line in
            Path(f"{stem}.expected.jsonl").read_text().splitlines() if line.strip()]
    assert got == want


# -- the parser -----------------------------------------------------------------------

def test_field_types():
    point = parse_line("m f=-1.5e3,i=-9223372036854775808i,u=18446744073709551615u,"
                       "b1=t,b2=True,b3=TRUE,b4=f,b5=False,b6=FALSE,b7=T,b8=F,b9=true,b10=false,"
                       "z=.5,y=1.,x=007")
    assert point is not None
    assert point.fields == {
        "f": -1500.0, "i": -9223372036854775808.0, "u": 18446744073709551615.0,
        "b1": 1.0, "b2": 1.0, "b3": 1.0, "b4": 0.0, "b5": 0.0, "b6": 0.0, "b7": 1.0,
        "b8": 0.0, "b9": 1.0, "b10": 0.0, "z": 0.5, "y": 1.0, "x": 7.0,
    }


def test_escapes_follow_the_v2_reference():
    point = parse_line(r'a\ b\,c\=d,k\ 1\,\==v\ 1\,\=\\ f\ 1\,\=="s\"\\",g=1 5')
    assert point is not None
    assert point.measurement == r"a b,c\=d"  # '=' is not escaped in a measurement
    assert point.tags == (("k 1,=", "v 1,=\\"),)
    assert point.fields == {"g": 1.0} and point.string_fields == 1
    assert point.timestamp == 5
    # A backslash before an ordinary character is a literal backslash.
    assert parse_line(r"m,t=a\b f=1").tags == (("t", r"a\b"),)  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("line", "column", "message"),
    [
        ("m", 2, "missing field set (a space, then key=value pairs)"),
        (",t=a f=1", 1, "missing measurement name"),
        ("m,=a f=1", 3, "missing tag key after ','"),
        ("m,t f=1", 4, "tag key 't' is not followed by '=value'"),
        ("m,t= f=1", 5, "tag 't' has an empty value (omit the tag instead)"),
        ("m,t=a,t=b f=1", 7, "tag key 't' appears twice"),
        ("m,t=a=b f=1", 6, "unexpected '=' in the measurement or tag set (escape it with a "
                           "backslash)"),
        ("m f", 4, "field key 'f' is not followed by '=value'"),
        ("m f=", 5, "field 'f' has no value"),
        ("m f=1,", 7, "missing field key"),
        ("m =1", 3, "missing field key"),
        ('m f="abc', 5, "field 'f': string value has no closing double quote"),
        ('m f="abc"x', 10, "unexpected 'x' after a field value"),
        ("m f=1i5", 5, "field 'f': invalid value '1i5' (expected a float, an integer like 1i, "
                       'an unsigned like 1u, a boolean or a "string")'),
        ("m f=NaN", 5, "field 'f': invalid value 'NaN' (expected a float, an integer like 1i, "
                       'an unsigned like 1u, a boolean or a "string")'),
        ("m f=tRUE", 5, "field 'f': invalid value 'tRUE' (expected a float, an integer like "
                        '1i, an unsigned like 1u, a boolean or a "string")'),
        ("m f=-1u", 5, "field 'f': invalid value '-1u' (expected a float, an integer like 1i, "
                       'an unsigned like 1u, a boolean or a "string")'),
        ("m f=9223372036854775808i", 5,
         "field 'f': integer 9223372036854775808i is outside the signed 64-bit range"),
        ("m f=18446744073709551616u", 5,
         "field 'f': unsigned integer 18446744073709551616u is outside the unsigned 64-bit "
         "range"),
        ("m f=1e999", 5, "field 'f': float '1e999' is outside the 64-bit float range"),
        ("m f=1 1.5", 7, "invalid timestamp '1.5' (expected an integer)"),
        ("m f=1 1 2", 7, "invalid timestamp '1 2' (expected an integer)"),
        ("m f=1 9223372036854775807", 7,
         "timestamp 9223372036854775807 is outside the 64-bit range"),
        ("m f=1\x00", 6, "NUL characters are not allowed"),
    ],
)
def test_syntax_errors_name_the_column(line, column, message):
    for parse in (parse_line, scan_line):
        with pytest.raises(LineError) as raised:
            parse(line)
        assert (raised.value.column, raised.value.message) == (column, message)


def test_one_bad_line_refuses_the_request_naming_it():
    body = b"a f=1\n\n# fine\nb f=2 xyz\nc f=3\n1d f=1\n"
    with pytest.raises(ValidationFailed) as raised:
        parse_line_protocol(body, precision="ns", now_ms=NOW_MS)
    error = raised.value.to_json()["error"]
    assert error["line"] == 4
    assert [e["line"] for e in error["errors"]] == [4, 6]
    assert error["errors"][0]["column"] == 7
    assert error["message"].startswith("line 4, column 7: invalid timestamp 'xyz'")
    assert error["message"].endswith("(and 1 more problems); nothing in this request was "
                                     "accepted")


def test_invalid_utf8_names_the_line():
    with pytest.raises(ValidationFailed, match=r"^line 2: not valid UTF-8"):
        parse_line_protocol(b"a f=1\nb,t=caf\xe9 f=1\n", precision="ns", now_ms=NOW_MS)


def test_string_fields_are_skipped_and_counted():
    write = parse_line_protocol(b'a s="x",f=1\nb s="only",t="strings"\nc f=2\n',
                                precision="ns", now_ms=NOW_MS)
    assert (write.points, write.skipped_string_fields, write.skipped_lines) == (2, 3, 1)
    assert [s.series.metric for s in write.batch.samples()] == ["a_f", "c_f"]


def test_same_metric_from_two_field_keys_is_refused():
    with pytest.raises(ValidationFailed, match=r"field keys 'a-b' and 'a.b' both become "
                                               "metric 'm_a_b'"):
        parse_line_protocol(b"m a-b=1,a.b=2", precision="ns", now_ms=NOW_MS)


@pytest.mark.parametrize(("precision", "timestamp"),
                         [("ns", 1795305599123456789), ("us", 1795305599123456),
                          ("ms", 1795305599123), ("s", 1795305599)])
def test_precisions(precision, timestamp):
    write = parse_line_protocol(f"m f=1 {timestamp}".encode(), precision=precision,
                                now_ms=NOW_MS)
    expected = 1795305599000 if precision == "s" else 1795305599123
    assert write.batch.time_ms.tolist() == [expected]


# Lines that take the fast path and the scanner must mean the same: build lines from
# the characters that matter and compare both paths' answers.
LINE_ALPHABET = st.sampled_from([*list('mfxt ,="\\#\t\r01.-+eiuTF'), "true", "1i", "2u", " 17"])


@hypothesis_settings(max_examples=3000, deadline=None, database=None, derandomize=True)
@given(st.lists(LINE_ALPHABET, max_size=30).map("".join))
def test_fast_path_equals_scanner(line):
    outcomes = []
    for parse in (parse_line, scan_line):
        try:
            outcomes.append(parse(line))
        except LineError as exc:
            outcomes.append((exc.column, exc.message))
    assert outcomes[0] == outcomes[1]


# -- the HTTP API, real broker --------------------------------------------------------

@pytest.fixture
def settings(amqp_url, servers, redis_key_prefix):
    return IngestSettings(amqp_url=amqp_url, ingest_max_body_bytes=64 * 1024,
                          broker_confirm_timeout_s=2, redis_url=servers.redis_url,
                          redis_key_prefix=redis_key_prefix)


def now_ns() -> int:
    return time.time_ns()


def test_write_is_204_and_one_persistent_message(client, channel):
    ts = now_ns() - 5_000_000_000
    body = (f"cpu,host=a,region=eu usage_user=12.5,usage_idle=80i,up=t {ts}\n"
            f"# a comment\n\nmem,host=a free=1024u,note=\"low\" {ts}\n").encode()
    r = client.post("/api/v2/write?org=acme&bucket=metrics&precision=ns", data=body,
                    headers={"X-Request-ID": "req-7", "Authorization": "Token abc"})
    assert r.status_code == 204, r.get_data(as_text=True)
    assert r.get_data() == b""
    assert r.headers["X-Lookout-Skipped-String-Fields"] == "1"
    assert "X-Lookout-Skipped-Lines" not in r.headers
    messages = queued(channel)
    assert len(messages) == 1
    props, batch = messages[0]
    assert props.delivery_mode == 2
    assert props.headers == {"x-request-id": "req-7", "x-lookout-protocol": "influx"}
    assert [(s.series.metric, dict(s.series.labels), s.timestamp_ms, s.value)
            for s in batch.samples()] == [
        ("cpu_usage_user", {"host": "a", "region": "eu"}, ts // 1_000_000, 12.5),
        ("cpu_usage_idle", {"host": "a", "region": "eu"}, ts // 1_000_000, 80.0),
        ("cpu_up", {"host": "a", "region": "eu"}, ts // 1_000_000, 1.0),
        ("mem_free", {"host": "a"}, ts // 1_000_000, 1024.0),
    ]


@pytest.mark.parametrize(("precision", "divisor"), [("s", 10**9), ("ms", 10**6),
                                                    ("us", 10**3), ("ns", 1)])
def test_precision_parameter(client, channel, precision, divisor):
    ts = now_ns() - 3_000_000_000
    r = client.post(f"/api/v2/write?precision={precision}", data=f"m f=1 {ts // divisor}")
    assert r.status_code == 204
    [(_, batch)] = queued(channel)
    expected_ms = ts // 10**9 * 1000 if precision == "s" else ts // 1_000_000
    assert batch.time_ms.tolist() == [expected_ms]


def test_missing_timestamp_is_now(client, channel):
    r = client.post("/api/v2/write", data=b"m f=1")
    assert r.status_code == 204
    [(_, batch)] = queued(channel)
    assert abs(batch.time_ms[0] - time.time() * 1000) < 5000


def test_unknown_precision_is_400(client, channel):
    r = client.post("/api/v2/write?precision=h", data=b"m f=1")
    assert r.status_code == 400
    assert r.json["error"] == {"type": "bad_request",
                               "message": "precision 'h' is not one of ns, us, ms, s"}
    assert queued(channel) == []


def test_gzip_body(client, channel):
    r = client.post("/api/v2/write", data=gzip.compress(b"m f=1\nm g=2\n"),
                    headers={"Content-Encoding": "gzip"})
    assert r.status_code == 204
    [(_, batch)] = queued(channel)
    assert len(batch) == 2


def test_bad_line_is_400_and_nothing_is_published(client, channel):
    ts = now_ns()
    body = f"ok f=1 {ts}\nbad,t=1 f=2 {ts}x\nold f=1 1000000000000000000\n".encode()
    r = client.post("/api/v2/write", data=body)
    assert r.status_code == 400
    error = r.json["error"]
    assert error["type"] == "validation_error" and error["line"] == 2
    assert [(e["line"], e.get("field")) for e in error["errors"]] == [(2, None),
                                                                      (3, "timestamp")]
    assert error["errors"][1]["message"] == ("timestamp 2001-09-09T01:46:40+00:00 is more "
                                             "than 1 year in the past")
    assert error["message"].endswith("(and 1 more problems); nothing in this request was "
                                     "accepted")
    assert queued(channel) == []


def test_future_timestamp_is_400(client, channel):
    r = client.post("/api/v2/write", data=f"m f=1 {now_ns() + 400 * 10**9}".encode())
    assert r.status_code == 400
    assert "is more than 5 minutes in the future" in r.json["error"]["message"]
    assert queued(channel) == []


def test_only_strings_or_comments_is_204_with_nothing_published(client, channel):
    r = client.post("/api/v2/write", data=b'# nothing\nlog msg="a",level="info"\n\n')
    assert r.status_code == 204
    assert r.headers["X-Lookout-Skipped-String-Fields"] == "2"
    assert r.headers["X-Lookout-Skipped-Lines"] == "1"
    r = client.post("/api/v2/write", data=b"")
    assert r.status_code == 204
    assert queued(channel) == []


def test_broker_unreachable_is_503(make_client, settings):
    settings = settings.model_copy(update={"amqp_url": "amqp://guest:guest@127.0.0.1:1/%2F",
                                           "broker_confirm_timeout_s": 1,
                                           "ingest_retry_after_s": 7})
    client = make_client(settings)
    r = client.post("/api/v2/write", data=b"m f=1")
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "7"
    assert r.json["error"]["type"] == "unavailable"


def test_requests_are_counted(client, channel):
    client.post("/api/v2/write", data=b"m f=1")
    client.post("/api/v2/write", data=b"m f=")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'ingest_requests_total{code="204",protocol="influx"}' in text
    assert 'ingest_requests_total{code="400",protocol="influx"}' in text


# -- fuzz: random and mutated bodies only ever get 2xx or 4xx --------------------------

NAME_PIECES = [*"abcxyz_.-:é", "\\ ", "\\,", "\\="]  # escaped where they must be
MUTATIONS = list(' ,="\\#\n\ti0.-ue\x00\xff')
RANDOM_TEXT = list(' ,="\\#\n\r\tmfit0123456789.-+eEuTF')


def _random_line(rnd: random.Random, now_s: int) -> str:
    """A line protocol line, mostly valid (names with escapes, every field type)."""

    def name() -> str:
        return "".join(rnd.choice(NAME_PIECES) for _ in range(rnd.randint(1, 10)))

    def value() -> str:
        kind = rnd.randrange(5)
        if kind == 0:
            return repr(rnd.choice([rnd.uniform(-1e6, 1e6), rnd.random(), 1e308, -0.0, 5e-324]))
        if kind == 1:
            return f"{rnd.randint(-(2**63), 2**63 - 1)}i"
        if kind == 2:
            return f"{rnd.randint(0, 2**64 - 1)}u"
        if kind == 3:
            return rnd.choice(["t", "F", "true", "FALSE", "True"])
        text = "".join(rnd.choice('ab "\\,= ') for _ in range(rnd.randint(0, 8)))
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    tags = "".join(f",t{i}{name()}={name()}" for i in range(rnd.randint(0, 3)))
    fields = ",".join(f"f{i}{name()}={value()}" for i in range(rnd.randint(1, 3)))
    stamp = rnd.choice(["", f" {rnd.randint(now_s - 400 * 86400, now_s + 600) * 10**9}"])
    return "m" + name() + tags + " " + fields + stamp


def _random_body(rnd: random.Random, now_s: int) -> bytes:
    kind = rnd.randrange(4)
    if kind == 3:
        return rnd.randbytes(rnd.randint(0, 80))
    if kind == 2:
        return "".join(rnd.choice(RANDOM_TEXT) for _ in range(rnd.randint(0, 80))).encode()
    text = "\n".join(_random_line(rnd, now_s) for _ in range(rnd.randint(1, 4)))
    if kind == 1:  # mutated: delete, insert or replace a few characters
        for _ in range(rnd.randint(1, 4)):
            i = rnd.randrange(len(text))
            char = rnd.choice(MUTATIONS)
            text = rnd.choice([text[:i] + text[i + 1:], text[:i] + char + text[i:],
                               text[:i] + char + text[i + 1:]])
    return text.encode("utf-8", "surrogatepass")


def test_fuzz_only_2xx_or_4xx(fuzz_client):
    client, publisher = fuzz_client
    now_s = int(time.time())
    outcomes = {204: 0, 400: 0}

    @hypothesis_settings(max_examples=FUZZ_EXAMPLES, deadline=None, database=None, derandomize=True,
                         suppress_health_check=[HealthCheck.too_slow])
    # Hypothesis draws the seed, plain Python builds the body: 10,000 cases in seconds.
    @given(rnd=st.randoms(use_true_random=True),
           precision=st.sampled_from(["ns", "s", "ms", "us", "", "x"]), compress=st.booleans())
    def check(rnd, precision, compress):
        body = _random_body(rnd, now_s)
        before = len(publisher.bodies)
        r = client.post(f"/api/v2/write?precision={precision}",
                        data=gzip.compress(body) if compress else body,
                        headers={"Content-Encoding": "gzip"} if compress else {})
        assert r.status_code in (204, 400), (r.status_code, r.get_data(as_text=True))
        outcomes[r.status_code] += 1
        if r.status_code == 400:
            assert r.json["error"]["message"]
            assert len(publisher.bodies) == before  # all or nothing
        for message in publisher.bodies[before:]:
            batch = decode_batch(message)  # the worker would accept it
            assert all(math.isfinite(v) for v in batch.value)

    check()
    assert outcomes[204] > FUZZ_EXAMPLES // 20 and outcomes[400] > FUZZ_EXAMPLES // 20, outcomes
