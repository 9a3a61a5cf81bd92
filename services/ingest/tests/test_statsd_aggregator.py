"""StatsD aggregation (pure): golden cases, and the rules one by one."""

import math
from pathlib import Path

import orjson
import pytest

from lookout_common.codec import decode_batch, encode_batch
from lookout_ingest.statsd.aggregator import StatsdAggregator, percentile_suffix
from lookout_ingest.statsd.parser import COUNTER, GAUGE, SET, TIMER, MetricEvent, StatsdParser

GOLDEN = Path(__file__).parent / "golden" / "statsd"
T0 = 1_795_305_600_000  # 2026-11-22T00:00:00Z
INTERVAL_S = 10
INTERNAL = {"statsd_bad_lines_seen", "statsd_packets_received", "statsd_metrics_received"}


def samples(batch) -> list[dict]:
    batch = decode_batch(encode_batch(batch))  # as the worker receives it
    return [{"metric": s.series.metric, "labels": dict(s.series.labels),
             "timestamp_ms": s.timestamp_ms, "value": s.value} for s in batch.samples()]


def values(batch, *, internal: bool = False) -> dict[tuple, float]:
    return {(s["metric"], tuple(sorted(s["labels"].items())), s["timestamp_ms"]): s["value"]
            for s in samples(batch) if internal or s["metric"] not in INTERNAL}


# -- golden cases ---------------------------------------------------------------------

CASES = sorted(GOLDEN.glob("*.statsd"))


def run_case(text: str) -> list[dict]:
    """Feed a case to parser and aggregator as the listener would (see the README)."""
    percentiles, prefix = (90.0,), ""
    lines = text.splitlines()
    while lines and lines[0].startswith("%% ") and lines[0] != "%% flush":
        directive, _, argument = lines.pop(0)[3:].partition(" ")
        if directive == "percentiles":
            percentiles = tuple(float(p) for p in argument.split(","))
        elif directive == "prefix":
            prefix = argument
        else:
            raise AssertionError(f"unknown directive {directive!r}")
    aggregator = StatsdAggregator(flush_interval_s=INTERVAL_S, percentiles=percentiles,
                                  interval_start_ms=T0)
    parser = StatsdParser(prefix, name_suffix_room=aggregator.longest_suffix)
    out: list[dict] = []
    datagram: list[str] = []
    now = T0

    def send() -> None:
        if datagram:
            result = parser.parse_datagram("\n".join(datagram).encode(), now)
            aggregator.add(result.events)
            aggregator.record(packets=1, lines=result.lines, bad_lines=result.bad_lines)
            datagram.clear()

    for line in lines:
        if line == "%% flush":
            send()
            now += INTERVAL_S * 1000
            out.extend(samples(aggregator.flush(now)))
        elif line:
            datagram.append(line)
        else:
            send()
    send()
    out.extend(samples(aggregator.flush(now + INTERVAL_S * 1000)))
    return out


def test_every_case_has_an_expectation():
    assert CASES
    for payload in CASES:
        assert Path(f"{payload.with_suffix('')}.expected.jsonl").exists(), payload


@pytest.mark.parametrize("payload", CASES, ids=lambda p: p.stem)
def test_golden(payload: Path):
    got = run_case(payload.read_text())
    want = [orjson.loads(line) for line in
            Path(f"{payload.with_suffix('')}.expected.jsonl").read_text().splitlines()
            if line.strip()]

    def key(sample: dict) -> tuple:
        return sample["timestamp_ms"], sample["metric"], sorted(sample["labels"].items())

    got.sort(key=key)
    want.sort(key=key)
    assert [key(s) for s in got] == [key(s) for s in want]
    for g, w in zip(got, want, strict=True):
        assert math.isclose(g["value"], w["value"], rel_tol=1e-12, abs_tol=1e-12), (g, w)


# -- rules ----------------------------------------------------------------------------

def ev(kind, name, value, *, labels=(), rate=1.0, delta=False, ts=None):
    return MetricEvent(kind, name, labels, value, rate, delta, ts)


def test_points_are_stamped_with_the_interval_start_and_idle_stats_vanish():
    aggregator = StatsdAggregator(flush_interval_s=10, interval_start_ms=T0)
    aggregator.add([ev(COUNTER, "c", 2.0), ev(TIMER, "t", 4.0), ev(SET, "s", "x"),
                    ev(GAUGE, "g", 3.0)])
    first = values(aggregator.flush(T0 + 10_000))
    assert {k[2] for k in first} == {T0}
    assert first[("c_count", (), T0)] == 2.0 and first[("c_rate", (), T0)] == 0.2
    assert first[("s", (), T0)] == 1.0 and first[("g", (), T0)] == 3.0
    second = values(aggregator.flush(T0 + 20_000))
    assert second == {("g", (), T0 + 10_000): 3.0}  # only the gauge is kept
    assert aggregator.interval_start_ms == T0 + 20_000


def test_internal_series_every_flush():
    aggregator = StatsdAggregator(flush_interval_s=10, interval_start_ms=T0)
    aggregator.record(packets=3, lines=7, bad_lines=2)
    assert values(aggregator.flush(T0 + 10_000), internal=True) == {
        ("statsd_bad_lines_seen", (), T0): 2.0,
        ("statsd_packets_received", (), T0): 3.0,
        ("statsd_metrics_received", (), T0): 7.0,
    }
    assert values(aggregator.flush(T0 + 20_000), internal=True) == {
        (m, (), T0 + 10_000): 0.0 for m in INTERNAL}


def test_gauge_deltas_start_from_zero_and_carry_over():
    aggregator = StatsdAggregator(flush_interval_s=10, interval_start_ms=T0)
    aggregator.add([ev(GAUGE, "g", -5.0, delta=True), ev(GAUGE, "g", 2.0, delta=True)])
    assert values(aggregator.flush(T0 + 10_000)) == {("g", (), T0): -3.0}
    aggregator.add([ev(GAUGE, "g", 10.0, delta=True)])
    assert values(aggregator.flush(T0 + 20_000)) == {("g", (), T0 + 10_000): 7.0}
    aggregator.add([ev(GAUGE, "g", 1.0)])  # no sign: set
    assert values(aggregator.flush(T0 + 30_000)) == {("g", (), T0 + 20_000): 1.0}


def test_timestamped_points_keep_their_time_and_leave_the_gauge_alone():
    aggregator = StatsdAggregator(flush_interval_s=10, interval_start_ms=T0)
    ts = T0 - 60_000
    aggregator.add([ev(GAUGE, "g", 1.0), ev(GAUGE, "g", 9.0, ts=ts),
                    ev(COUNTER, "c", 1.0, ts=ts), ev(COUNTER, "c", 1.0, ts=ts),
                    ev(COUNTER, "c", 5.0)])
    assert values(aggregator.flush(T0 + 10_000)) == {
        ("g", (), T0): 1.0, ("g", (), ts): 9.0,
        ("c_count", (), ts): 2.0, ("c_rate", (), ts): 0.2,
        ("c_count", (), T0): 5.0, ("c_rate", (), T0): 0.5,
    }
    assert values(aggregator.flush(T0 + 20_000)) == {("g", (), T0 + 10_000): 1.0}


def test_labels_make_separate_aggregates():
    aggregator = StatsdAggregator(flush_interval_s=1, interval_start_ms=T0)
    prod, dev = (("env", "prod"),), (("env", "dev"),)
    aggregator.add([ev(COUNTER, "c", 1.0, labels=prod), ev(COUNTER, "c", 2.0, labels=dev),
                    ev(COUNTER, "c", 3.0, labels=prod)])
    got = values(aggregator.flush(T0 + 1000))
    assert got[("c_count", prod, T0)] == 4.0 and got[("c_count", dev, T0)] == 2.0
    assert got[("c_rate", prod, T0)] == 4.0  # per second of a 1 s interval


@pytest.mark.parametrize(
    ("data", "pct", "expected"),
    [
        # nearest rank with JavaScript's Math.round (half up), as etsy's statsd
        ([1, 2, 3, 4, 5], 50, 3),    # round(2.5) = 3, Python's round would say 2
        ([1, 2, 3, 4, 5], 10, 1),    # round(0.5) = 1
        ([1, 2], 10, None),          # round(0.2) = 0: not emitted
        ([7], 10, 7),                # one value: always that value
        (list(range(1, 101)), 99, 99),
        (list(range(1, 101)), 99.9, 100),
        ([3, 1, 2], 100, 3),
    ],
)
def test_percentiles_as_etsy(data, pct, expected):
    aggregator = StatsdAggregator(flush_interval_s=10, percentiles=(pct,),
                                  interval_start_ms=T0)
    stats = dict(aggregator.timer_statistics([float(v) for v in data], float(len(data))))
    assert stats.get(percentile_suffix(pct)) == expected


def test_timer_statistics_with_sampling():
    aggregator = StatsdAggregator(flush_interval_s=10, interval_start_ms=T0)
    aggregator.add([ev(TIMER, "t", v, rate=0.1) for v in (4.0, 8.0, 6.0, 2.0)])
    got = values(aggregator.flush(T0 + 10_000))
    assert {k[0]: v for k, v in got.items()} == pytest.approx({
        "t_count": 40.0, "t_rate": 4.0, "t_lower": 2.0, "t_upper": 8.0, "t_mean": 5.0,
        "t_median": 5.0, "t_std": math.sqrt(5.0), "t_sum": 20.0, "t_p90": 8.0,
    })


def test_percentile_suffixes():
    assert [percentile_suffix(p) for p in (90, 99.0, 99.9, 50.5, 100)] == [
        "_p90", "_p99", "_p99_9", "_p50_5", "_p100"]


def test_a_collision_keeps_the_first_and_is_counted():
    aggregator = StatsdAggregator(flush_interval_s=10, interval_start_ms=T0)
    aggregator.add([ev(COUNTER, "x", 7.0), ev(TIMER, "x", 5.0)])
    got = values(aggregator.flush(T0 + 10_000))
    assert got[("x_count", (), T0)] == 7.0
    assert aggregator.collisions == 2  # x_count and x_rate of the timer


def test_bad_configuration():
    with pytest.raises(ValueError, match="percentile 0 is not in"):
        StatsdAggregator(flush_interval_s=10, percentiles=(0,), interval_start_ms=T0)
    with pytest.raises(ValueError, match="flush_interval_s must be positive"):
        StatsdAggregator(flush_interval_s=0, interval_start_ms=T0)
