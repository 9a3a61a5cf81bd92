"""StatsD / DogStatsD lines -> metric events (pure), and a fuzz of random datagrams."""

import random

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from lookout_common.codec import decode_batch, encode_batch
from lookout_ingest.statsd.aggregator import StatsdAggregator
from lookout_ingest.statsd.parser import (
    COUNTER,
    GAUGE,
    SET,
    TIMER,
    MetricEvent,
    StatsdLineError,
    StatsdParser,
)

NOW_MS = 1_795_305_600_000  # 2026-11-22T00:00:00Z


def event(kind, name, value, *, labels=(), rate=1.0, delta=False, ts=None):
    return MetricEvent(kind, name, labels, value, rate, delta, ts)


@pytest.mark.parametrize(
    ("line", "events"),
    [
        ("hits:1|c", [event(COUNTER, "hits", 1.0)]),
        ("hits:-2.5|c|@0.25", [event(COUNTER, "hits", -2.5, rate=0.25)]),
        ("a.b-c/d e:1|c", [event(COUNTER, "a_b_c_d_e", 1.0)]),
        ("ns:metric:1|c", None),  # the value is "metric": not a number
        ("g:10|g", [event(GAUGE, "g", 10.0)]),
        ("g:+10|g", [event(GAUGE, "g", 10.0, delta=True)]),
        ("g:-1e3|g|@0.5", [event(GAUGE, "g", -1000.0, delta=True, rate=0.5)]),
        ("t:320|ms|@0.1", [event(TIMER, "t", 320.0, rate=0.1)]),
        ("t:1:2.5:3|ms", [event(TIMER, "t", 1.0), event(TIMER, "t", 2.5),
                          event(TIMER, "t", 3.0)]),
        ("h:7|h", [event(TIMER, "h", 7.0)]),
        ("d:.5|d", [event(TIMER, "d", 0.5)]),
        ("u:alice|s", [event(SET, "u", "alice")]),
        ("u:a:b|s", [event(SET, "u", "a"), event(SET, "u", "b")]),
        ("x:1|c|#env:prod,service:web",
         [event(COUNTER, "x", 1.0, labels=(("env", "prod"), ("service", "web")))]),
        ("x:1|c|#service:web,env:prod",
         [event(COUNTER, "x", 1.0, labels=(("env", "prod"), ("service", "web")))]),
        ("x:1|c|#canary,,url:http://a:80/b,host.name:h1",
         [event(COUNTER, "x", 1.0, labels=(("canary", "true"), ("host_name", "h1"),
                                           ("url", "http://a:80/b")))]),
        ("x:1|c|#empty:", [event(COUNTER, "x", 1.0)]),  # an empty value means no label
        ("x:1|c|@0.5|#a:b|T1795305590|c:abc123",
         [event(COUNTER, "x", 1.0, rate=0.5, labels=(("a", "b"),), ts=1_795_305_590_000)]),
        ("x:1|c|c:abc|e:external|card:high", [event(COUNTER, "x", 1.0)]),
        ("x:1|c|#a:1|#b:2", [event(COUNTER, "x", 1.0, labels=(("b", "2"),))]),
    ],
)
def test_lines(line, events):
    parser = StatsdParser()
    if events is None:
        with pytest.raises(StatsdLineError):
            parser.parse_line(line, NOW_MS)
    else:
        assert parser.parse_line(line, NOW_MS) == events


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("hits", "no ':' between name and value"),
        ("hits:1", "no '|' before the type"),
        ("hits:1|x", "unknown metric type 'x' (c, g, ms, h, d or s)"),
        ("hits:1|C", "unknown metric type 'C' (c, g, ms, h, d or s)"),
        (":1|c", "empty metric name"),
        ("9lives:1|c", "metric name '9lives' does not match [a-zA-Z_:][a-zA-Z0-9_:]*"),
        ("hits:|c", "empty value"),
        ("hits:1::2|c", "empty value"),
        ("hits:abc|c", "value 'abc' is not a number"),
        ("hits:nan|c", "value 'nan' is not a number"),
        ("hits:inf|ms", "value 'inf' is not a number"),
        ("hits:1_000|c", "value '1_000' is not a number"),
        ("hits: 1|c", "value ' 1' is not a number"),
        ("hits:1e999|c", "value '1e999' is outside the 64-bit float range"),
        ("hits:1|c|@0", "sample rate '0' is not in (0, 1]"),
        ("hits:1|c|@1.5", "sample rate '1.5' is not in (0, 1]"),
        ("hits:1|c|@x", "sample rate 'x' is not in (0, 1]"),
        ("hits:1|c||#a:b", "empty section between '|'"),
        ("hits:1|c|#a:1,a:2", "tag 'a' is given twice (or two tags become label 'a')"),
        ("hits:1|c|#a-b:1,a.b:2", "tag 'a.b' is given twice (or two tags become label 'a_b')"),
        ("hits:1|c|#:v", "tag ':v' has no name"),
        ("hits:1|c|#1a:v", "tags.1a: label name '1a' does not match [a-zA-Z_][a-zA-Z0-9_]*"),
        ("hits:1|c|#__name__:v",
         "tags.__name__: label name '__name__' is reserved (names starting with __)"),
        ("hits:1|c|#k:" + "v" * 257,
         "tags.k: label value is 257 characters long, the limit is 256"),
        ("hits:1|c|T12x", "timestamp '12x' is not unix seconds"),
        ("hits:1|c|T-5", "timestamp '-5' is not unix seconds"),
        ("hits:1|c|T1000000000", "timestamp 2001-09-09T01:46:40+00:00 is more than 1 year in "
                                 "the past"),
        ("hits:1|c|T1795306000", "timestamp 2026-11-22T00:06:40+00:00 is more than 5 minutes "
                                 "in the future"),
        ("a" * 240 + ":1|c", "metric name is 240 characters long, the limit for StatsD names "
                             "is 239"),
    ],
)
def test_bad_lines(line, message):
    with pytest.raises(StatsdLineError) as raised:
        StatsdParser().parse_line(line, NOW_MS)
    assert str(raised.value) == message


def test_prefix_and_suffix_room():
    parser = StatsdParser("my.app", name_suffix_room=7)
    assert parser.parse_line("a.b:1|c", NOW_MS)[0].name == "my_app_a_b"
    name = "x" * (255 - 7 - len("my_app_"))
    assert parser.parse_line(f"{name}:1|c", NOW_MS)[0].name == "my_app_" + name
    with pytest.raises(StatsdLineError, match="the limit for StatsD names is 248"):
        parser.parse_line(f"{name}x:1|c", NOW_MS)


def test_datagram_with_many_lines_counts_what_it_saw():
    parser = StatsdParser()
    data = (b"a:1|c\nb:2|g\r\n\n_sc|db.check|0|#env:prod\n_e{5,4}:title|text\nbad\n"
            b"caf\xc3\xa9:1|c\nbroken\xff:1|c\nc:1:2|ms\n")
    result = parser.parse_datagram(data, NOW_MS)
    assert [e.name for e in result.events] == ["a", "b", "caf_", "c", "c"]
    assert (result.lines, result.bad_lines, result.service_checks,
            result.dogstatsd_events) == (8, 2, 1, 1)
    assert result.errors == ["no ':' between name and value: 'bad'", "not valid UTF-8: ''"]


def test_nul_is_a_bad_line():
    result = StatsdParser().parse_datagram(b"a:1|c|#k:v\x00w\nb:1|c", NOW_MS)
    assert (len(result.events), result.bad_lines) == (1, 1)


# -- fuzz: random and mutated datagrams never raise anything but StatsdLineError ------

PIECES = [*"abz_.-:|@#,Tc\n\r 019+-e", "|c", "|ms", "|g", "|s", "|h", "|d", "|@0.5", "|#k:v",
          "|T1795305600", "_sc|", "_e{", "\x00", "é", "\udcff"]


def _random_line(rnd: random.Random) -> str:
    name = "".join(rnd.choice("abc._-") for _ in range(rnd.randint(1, 8)))
    kind = rnd.choice(["c", "g", "ms", "h", "d", "s"])
    values = ":".join(rnd.choice(["1", "-2.5", "+3", ".5", "1e3", "x", "0"])
                      for _ in range(rnd.randint(1, 3)))
    extras = "".join(rnd.choice(["|@0.5", "|@1", "|#env:prod,canary", "|#k:v:w",
                                 "|T1795305590", "|c:abc", ""]) for _ in range(rnd.randint(0, 3)))
    return f"{name}:{values}|{kind}{extras}"


def _random_datagram(rnd: random.Random) -> bytes:
    kind = rnd.randrange(4)
    if kind == 3:
        return rnd.randbytes(rnd.randint(0, 100))
    if kind == 2:
        text = "".join(rnd.choice(PIECES) for _ in range(rnd.randint(0, 40)))
    else:
        text = "\n".join(_random_line(rnd) for _ in range(rnd.randint(1, 5)))
        if kind == 1:
            for _ in range(rnd.randint(1, 4)):
                i = rnd.randrange(len(text))
                char = rnd.choice(PIECES)
                text = rnd.choice([text[:i] + text[i + 1:], text[:i] + char + text[i:],
                                   text[:i] + char + text[i + 1:]])
    return text.encode("utf-8", "surrogateescape")


@hypothesis_settings(max_examples=10_000, deadline=None, database=None, derandomize=True,
                     suppress_health_check=[HealthCheck.too_slow])
@given(rnd=st.randoms(use_true_random=True))
def test_fuzz_parser_and_aggregator(rnd):
    parser = StatsdParser("p")
    data = _random_datagram(rnd)
    result = parser.parse_datagram(data, NOW_MS)  # never raises
    assert result.bad_lines <= result.lines
    for line in data.decode("utf-8", "replace").split("\n"):
        try:
            parser.parse_line(line, NOW_MS)
        except StatsdLineError:
            pass  # the one error it may raise
    aggregator = StatsdAggregator(flush_interval_s=10, percentiles=(50, 90, 99.9),
                                  interval_start_ms=NOW_MS)
    aggregator.add(result.events)
    aggregator.record(packets=1, lines=result.lines, bad_lines=result.bad_lines)
    batch = decode_batch(encode_batch(aggregator.flush(NOW_MS + 10_000)))  # valid series
    assert len(batch) >= 3
