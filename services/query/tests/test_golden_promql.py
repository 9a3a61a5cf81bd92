"""Lookout's own PromQL golden cases (golden/*.test), run through the real storage and
engine by the same runner as Prometheus's suite, and checked against the real
Prometheus (promtool) where it is installed."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from lookout_common.settings import StorageMode

from .golden_reference import (
    check_file,
    input_series,
    parse_samples,
    promtool_file,
    promtool_path,
    reasoned_cases,
)
from .promqltest import Eval, Load, Script, parse_script, read_scripts, suite_cases

GOLDEN_DIR = Path(__file__).with_name("golden")
SCRIPTS = read_scripts(GOLDEN_DIR)


MODES = (StorageMode.POSTGRES, StorageMode.TIMESCALEDB)


@pytest.mark.parametrize(("mode", "script", "case"), suite_cases("lookout golden", SCRIPTS, MODES))
def test_golden_case(mode: StorageMode, script: Script, case: Eval, script_runner) -> None:  # type: ignore[no-untyped-def]
    script_runner(script, mode).run(case)


def test_there_are_enough_golden_cases() -> None:
    assert sum(len(s.evals) for s in SCRIPTS) >= 150


@pytest.mark.parametrize("path", sorted(GOLDEN_DIR.glob("*.test")), ids=lambda p: p.name)
def test_golden_expectations_are_prometheus_answers(path: Path) -> None:
    promtool = promtool_path()
    if promtool is None:
        pytest.skip("promtool (Prometheus 2.42's, Debian package prometheus) is not on PATH: "
                    "the golden expectations are not checked against Prometheus")
    outcomes = check_file(promtool, path)
    differing = [f"{o.case_id}: {o.detail}" for o in outcomes if o.verdict == "differs"]
    assert differing == []
    assert any(o.verdict == "agrees" for o in outcomes)


def test_promtool_answers_are_read_back() -> None:
    assert parse_samples("nil") == []
    (first, second, third) = parse_samples(
        '{__name__="m", a="x\\"y, {z}"} 1.5E+00, {} NaN, {b="c"} -Inf')
    assert first == ((("__name__", "m"), ("a", 'x"y, {z}')), 1.5)
    assert second[0] == () and math.isnan(second[1])
    assert third == ((("b", "c"),), -math.inf)


def test_loads_become_promtool_input_series_at_their_common_interval() -> None:
    script = parse_script("x.test", """
load 2m
  m{a="1"} 1 2 stale
  n 5

load 3m
  m{a="1"} _ _ 7

clear

load 1m
  other 1

eval instant at 1m m
  m{a="1"} 2
""")
    loads = [c for c in script.commands if isinstance(c, Load)][:2]
    interval, series, last = input_series(loads)
    assert interval == 60_000 and last == 360_000
    assert series == [{"series": 'm{a="1"}', "values": "1.0 _ 2.0 _ stale _ 7.0"},
                      {"series": "n{}", "values": "5.0"}]
    (case,) = script.evals
    document = promtool_file(script, case)
    test = document["tests"][0]  # type: ignore[index]
    assert test["input_series"] == [{"series": "other{}", "values": "1.0"}]
    assert [t["eval_time"] for t in test["promql_expr_test"]] == ["60000ms", "180000ms"]


def test_reasoned_cases_are_marked_by_a_comment() -> None:
    text = "load 1m\n  m 1\n\n# reference: reasoned, not promtool\neval instant at 0 m\n  m 1\n"
    assert reasoned_cases(text) == {5: "reasoned, not promtool"}
