"""The PromQL test script reader and runner (promqltest.py): value expansions, the
script format, Prometheus's tolerance, the @ variants, and failures being caught."""

from __future__ import annotations

import math
import re
import struct

import numpy as np
import pytest

from lookout_query.promql.ast import parse
from lookout_query.promql.model import STALE_NAN_BITS, Matrix, Scalar, Series, Vector

from .promqltest import (
    CaseFailed,
    Clear,
    Eval,
    Load,
    ScriptError,
    almost_equal,
    at_modifier_variants,
    expand_item,
    expand_values,
    parse_duration,
    parse_script,
    parse_series_line,
    pin_to,
    read_scripts,
    run_eval,
    unparse,
)
from .test_prometheus_suite import SCRIPTS_DIR


def bits(value: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", value))[0]


@pytest.mark.parametrize(("text", "ms"), [
    ("0", 0), ("10s", 10_000), ("5m", 300_000), ("1h30m", 5_400_000), ("1ms", 1),
    ("2d", 172_800_000), ("1w", 604_800_000), ("1y", 31_536_000_000), ("1m10s5ms", 70_005),
])
def test_durations(text, ms):
    assert parse_duration(text) == ms


@pytest.mark.parametrize("text", ["", "5", "1.5m", "m", "5m1h", "-1m"])
def test_bad_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_value_expansions():
    assert expand_item("1+2x3") == [1, 3, 5, 7]
    assert expand_item("10-2x2") == [10, 8, 6]
    assert expand_item("-1+1x2") == [-1, 0, 1]
    assert expand_item("0-10x1") == [0, -10]
    assert expand_item("5x2") == [5, 5, 5]
    assert expand_item("0x3") == [0, 0, 0, 0]  # no hexadecimal in series values
    assert expand_item("1e3+1e3x1") == [1000, 2000]
    assert expand_item("7") == [7]
    assert expand_item("_") == [None]
    assert expand_item("_x3") == [None, None, None]
    assert expand_item("Inf") == [math.inf] and expand_item("-Inf") == [-math.inf]
    assert expand_item("+inf") == [math.inf]
    assert math.isnan(expand_item("NaN")[0])
    # Accumulated in float, as Prometheus does: not 0.1 + 2 * 0.1.
    assert expand_item("0.1+0.1x2") == [0.1, 0.2, 0.1 + 0.1 + 0.1]
    (stale,) = expand_item("stale")
    assert bits(stale) == STALE_NAN_BITS
    assert expand_values("1 _ 2x1 _x2 stale")[:5] == [1, None, 2, 2, None]


@pytest.mark.parametrize("item", ["x", "1+", "1+2", "1x", "_2", "0xA", "a+1x2", "1++1x2"])
def test_bad_values(item):
    with pytest.raises(ValueError):
        expand_item(item)


def test_series_lines():
    assert parse_series_line('http_requests{job="api", instance="0"}\t1 2') == (
        (("__name__", "http_requests"), ("instance", "0"), ("job", "api")), [1, 2])
    assert parse_series_line('{__name__="m", a=\'x\\ty\',} 1') == (
        (("__name__", "m"), ("a", "x\ty")), [1])
    assert parse_series_line('{a="q\\"uote\\\\", b=`raw\\n`} _ 3') == (
        (("a", 'q"uote\\'), ("b", "raw\\n")), [None, 3])
    assert parse_series_line("metric:sum_ms 0+1x2") == ((("__name__", "metric:sum_ms"),),
                                                       [0, 1, 2])
    assert parse_series_line("{} 5") == ((), [5])
    for bad in ('m{a=b} 1', 'm{a="b" c="d"} 1', 'm{a="b"1', '"m" 1', 'm{a="b"}1'):
        with pytest.raises(ValueError):
            parse_series_line(bad)


SCRIPT = """
# A comment.
load 5m
  m{a="1"} 0+10x2
  m{a="2"} 1 _ 3
  m{a="1"} 5 6

eval instant at 10m m
  m{a="1"} 6
  m{a="2"} 3

eval_fail instant at 1h rate(m)

clear

load 1s
  x 1

eval_ordered instant at 0 sort(x)
  x 1

eval instant at 1m scalar(x)
  1.5
"""


def test_a_script_with_every_command():
    script = parse_script("demo.test", SCRIPT)
    load, first, failing, clear, load2, ordered, scalar = script.commands
    assert isinstance(load, Load) and load.line == 3 and load.interval_ms == 300_000
    # The later line for the same series wins; missing samples are left out.
    assert load.series == {(("__name__", "m"), ("a", "1")): [(0, 5), (300_000, 6)],
                           (("__name__", "m"), ("a", "2")): [(0, 1), (600_000, 3)]}
    assert first == Eval(8, "m", 600_000, series=(
        ((("__name__", "m"), ("a", "1")), 6), ((("__name__", "m"), ("a", "2")), 3)))
    assert failing == Eval(12, "rate(m)", 3_600_000, fail=True)
    assert clear == Clear(14)
    assert isinstance(load2, Load) and load2.series == {(("__name__", "x"),): [(0, 1)]}
    assert ordered == Eval(19, "sort(x)", 0, ordered=True, series=(((("__name__", "x"),), 1),))
    assert scalar == Eval(22, "scalar(x)", 60_000, scalar=1.5)
    assert [script.case_id(e) for e in script.evals] == [
        "demo.test:8", "demo.test:12", "demo.test:19", "demo.test:22"]


@pytest.mark.parametrize(("text", "error"), [
    ("load 5m\n  m 1\n# a comment ends the block\n  m 2\n", "demo.test:4: invalid command"),
    ("eval instant at 0 m\n  m 1 2\n", "demo.test:2: an expected series has exactly one"),
    ("eval at 0 m\n", "demo.test:1: invalid eval command"),
    ("EVAL instant at 0 m\n", "demo.test:1: invalid eval command"),
    ("load 5x\n", "demo.test:1: not a duration"),
    ("load 5m\n  m{a=1} 1\n", "demo.test:2: expected a quoted string"),
])
def test_malformed_scripts(text, error):
    with pytest.raises(ScriptError, match=error):
        parse_script("demo.test", text)


def test_every_prometheus_script_is_read():
    if not SCRIPTS_DIR.is_dir():
        pytest.skip(f"Prometheus's test scripts are not at {SCRIPTS_DIR}")
    scripts = read_scripts(SCRIPTS_DIR)
    assert {s.name: len(s.evals) for s in scripts} == {
        "aggregators.test": 83, "at_modifier.test": 33, "collision.test": 2,
        "functions.test": 207, "histograms.test": 38, "literals.test": 20,
        "operators.test": 94, "selectors.test": 31, "staleness.test": 14,
        "subquery.test": 25, "trig_functions.test": 19}
    assert sum(len(s.evals) for s in scripts) == 566
    evals = [e for s in scripts for e in s.evals]
    assert (sum(e.fail for e in evals), sum(e.ordered for e in evals),
            sum(e.scalar is not None for e in evals)) == (7, 13, 30)


def test_almost_equal_is_prometheus_tolerance():
    assert almost_equal(math.nan, math.nan)
    assert almost_equal(math.inf, math.inf) and not almost_equal(math.inf, -math.inf)
    assert almost_equal(1.0, 1.0 + 1e-7) and not almost_equal(1.0, 1.00001)
    assert almost_equal(1e300, 1e300 * (1 + 1e-7))
    assert not almost_equal(0.0, 1e-300) and almost_equal(0.0, 0.0)
    assert not almost_equal(1.0, math.nan)


def normalised(expr):
    """What ``unparse`` may legitimately change: NaN literals (never equal to themselves)
    and a matching with no labels, which means no matching at all."""
    from dataclasses import fields, is_dataclass, replace

    from lookout_query.promql import ast

    if isinstance(expr, ast.NumberLiteral) and math.isnan(expr.value):
        return ast.StringLiteral("NaN literal")
    if isinstance(expr, ast.Binary) and expr.matching == ast.VectorMatching(
            "one-to-one", False, (), ()):
        expr = replace(expr, matching=None)
    if is_dataclass(expr):
        return replace(expr, **{f.name: normalised(getattr(expr, f.name)) for f in fields(expr)})
    if isinstance(expr, tuple):
        return tuple(normalised(e) for e in expr)
    return expr


def test_unparse_gives_back_every_prometheus_expression():
    if not SCRIPTS_DIR.is_dir():
        pytest.skip(f"Prometheus's test scripts are not at {SCRIPTS_DIR}")
    for script in read_scripts(SCRIPTS_DIR):
        for case in script.evals:
            expr = parse(case.expr)
            assert normalised(parse(unparse(expr))) == normalised(expr), case.expr


def test_pinning_to_a_time():
    assert unparse(pin_to(parse("rate(m[5m] offset 1m) + n @ 10"), 50_000)) == (
        '(rate({__name__="m"}[300000ms] offset 60000ms @ 50.000)) + ({__name__="n"} @ 10.000)')
    # A subquery is pinned as a whole; what it contains is left as it is.
    assert unparse(pin_to(parse("max_over_time(m[5m:1m]) * m @ start()"), 1000)) == (
        '(max_over_time(({__name__="m"})[300000ms:60000ms] @ 1.000)) * '
        '({__name__="m"} @ 1.000)')
    assert pin_to(parse("timestamp(m)"), 1000) is None
    assert pin_to(parse("time() - m"), 1000) is None
    assert at_modifier_variants("m", 0) == [('{__name__="m"} @ 0.000', t)
                                            for t in (-1000, 0, 1000)]
    assert [t for _, t in at_modifier_variants("m", 10_000)] == [-100_000, 0, 2000, 10_000,
                                                                100_000]


class ScriptedEngine:
    """Answers every instant query with ``instant`` and every range query with
    ``matrix``, recording the queries: to prove what the runner compares."""

    def __init__(self, instant, matrix):
        self.answer, self.matrix, self.queries = instant, matrix, []

    def instant(self, query, t_ms):
        self.queries.append(("instant", query, t_ms))
        return self.answer

    def range(self, query, start_ms, end_ms, step_ms):
        self.queries.append(("range", query, start_ms, end_ms, step_ms))
        return self.matrix


LABELS = (("__name__", "m"), ("a", "1"))


def matrix_at(t_ms, value):
    return Matrix([Series(LABELS, np.array([t_ms - 60_000, t_ms, t_ms + 60_000]),
                          np.array([0.0, value, 0.0]))])


def test_the_range_query_is_checked_at_t():
    case = Eval(1, "m", 600_000, series=((LABELS, 2.0),))
    right = ScriptedEngine(Vector(600_000, [(LABELS, 2.0)]), matrix_at(600_000, 2.0))
    run_eval(right, case, at_variants=False)
    assert right.queries == [("instant", "m", 600_000),
                             ("range", "m", 540_000, 660_000, 60_000)]
    wrong_range = ScriptedEngine(Vector(600_000, [(LABELS, 2.0)]), matrix_at(600_000, 3.0))
    with pytest.raises(CaseFailed, match=r"range query .*expected 2\.0 .* but got 3\.0"):
        run_eval(wrong_range, case, at_variants=False)


def test_the_at_variants_are_run():
    case = Eval(1, "m", 600_000, series=((LABELS, 2.0),))
    engine = ScriptedEngine(Vector(600_000, [(LABELS, 2.0)]), matrix_at(600_000, 2.0))
    with pytest.raises(CaseFailed, match=r"m.* @ 600.000.* at -6000s, range query"):
        run_eval(engine, case)  # the scripted matrix has no point at -6000 s
    assert [q[:3] for q in engine.queries[2:4]] == [
        ("instant", '{__name__="m"} @ 600.000', -6_000_000),
        ("range", '{__name__="m"} @ 600.000', -6_060_000)]


def test_scalars_and_wrong_shapes():
    scalar_case = Eval(1, "1", 0, scalar=1.0)
    run_eval(ScriptedEngine(Scalar(0, 1.0), Matrix([Series((), np.array([0]),
                                                           np.array([1.0]))])),
             scalar_case, at_variants=False)
    with pytest.raises(CaseFailed, match=re.escape("expected scalar 1.0 but got 2.0")):
        run_eval(ScriptedEngine(Scalar(0, 2.0), Matrix()), scalar_case, at_variants=False)
    with pytest.raises(CaseFailed, match=re.escape("expected the scalar 1.0, got a vector")):
        run_eval(ScriptedEngine(Vector(0, []), Matrix()), scalar_case, at_variants=False)
    with pytest.raises(CaseFailed, match="range result for an instant"):
        run_eval(ScriptedEngine(Matrix(), Matrix()), Eval(1, "m[1m]", 0), at_variants=False)


@pytest.fixture
def demo_runner(script_runner):
    text = """
load 5m
  m{a="1"} 0+10x10
  m{a="2"} 0+20x10

eval instant at 50m m
  m{a="1"} 100
  m{a="2"} 200

eval instant at 50m m
  m{a="1"} 100
  m{a="2"} 201

eval instant at 50m m
  m{a="1"} 100

eval instant at 50m m
  m{a="1"} 100
  m{a="2"} 200
  m{a="3"} 300

eval_ordered instant at 50m sort_desc(m)
  m{a="1"} 100
  m{a="2"} 200

eval_fail instant at 50m m

eval_fail instant at 50m rate(m)

clear

eval instant at 50m m
"""
    script = parse_script("demo.test", text)
    return script, script_runner(script)


def test_the_runner_on_real_storage_catches_each_kind_of_difference(demo_runner):
    script, runner = demo_runner
    right, value, extra, missing, order, no_error, error, cleared = script.evals
    runner.run(right)
    for case, reason in ((value, "expected 201.0 for m{a=\"2\"} but got 200.0"),
                         (extra, "unexpected series m{a=\"2\"} 200.0"),
                         (missing, "expected m{a=\"3\"} 300.0 not found"),
                         (order, "expected m{a=\"2\"} at position 2 but it was at 1"),
                         (no_error, "expected an error, but the query answered")):
        with pytest.raises(CaseFailed, match=re.escape(reason)):
            runner.run(case)
    runner.run(error)
    runner.run(cleared)  # after clear: nothing is left
    runner.run(right)  # an earlier case again: the storage is rebuilt up to it

