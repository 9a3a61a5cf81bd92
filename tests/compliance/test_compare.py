"""The compliance harness's comparison of two range-query answers."""

from __future__ import annotations

import json
import math

import pytest

from .compare import Answer, compare, parse_answer, values_match
from .expand import QueryCase
from .report import CaseResult, render_text, summarise

CASE = QueryCase("demo_memory_usage_bytes", source="test")
SHOULD_FAIL = QueryCase("label_join(x, \"~invalid\", \"-\", \"a\")", should_fail=True,
                        source="test")
FREE = {"__name__": "demo_memory_usage_bytes", "instance": "a:1", "type": "free"}
USED = {"__name__": "demo_memory_usage_bytes", "instance": "a:1", "type": "used"}


def matrix(*series: tuple[dict, list[tuple[float, str]]], status: int = 200) -> Answer:
    body = {"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": labels, "values": [[t, v] for t, v in values]} for labels, values in series]}}
    return parse_answer(status, json.dumps(body))


def error(status: int, error_type: str, message: str) -> Answer:
    return parse_answer(status, json.dumps({"status": "error", "errorType": error_type,
                                            "error": message}))


POINTS = [(1700000000, "1"), (1700000010.5, "2.5"), (1700000021.123, "NaN")]


# -- values ----------------------------------------------------------------------------

@pytest.mark.parametrize("a, b, same", [
    (1.0, 1.0, True),
    (100000.0, 100001.0, True),  # 1e-5 of the smaller
    (100000.0, 100001.01, False),
    (-3e9, -3.00003e9, True),
    (-3e9, 3e9, False),
    (0.0, 0.0, True),
    (0.0, 1e-300, False),  # no absolute margin: 0 only equals 0
    (-0.0, 0.0, True),
    (math.nan, math.nan, True),
    (math.nan, 1.0, False),
    (1.0, math.nan, False),
    (math.inf, math.inf, True),
    (-math.inf, -math.inf, True),
    (math.inf, -math.inf, False),
    (math.inf, 1.7976931348623157e308, False),
])
def test_values_match_within_a_relative_tolerance(a, b, same):
    assert values_match(a, b) is same
    assert values_match(b, a) is same


def test_the_tolerance_can_be_changed():
    assert values_match(100.0, 101.0, tolerance=0.01)
    assert not values_match(100.0, 101.0)


# -- decoding --------------------------------------------------------------------------

def test_parse_answer_reads_a_matrix():
    answer = matrix((FREE, POINTS))
    assert answer.ok and answer.result_type == "matrix"
    [(labels, points)] = answer.series
    assert labels == (("__name__", "demo_memory_usage_bytes"), ("instance", "a:1"),
                      ("type", "free"))
    assert points[:2] == [(1700000000000, 1.0), (1700000010500, 2.5)]
    assert points[2][0] == 1700000021123 and math.isnan(points[2][1])


def test_parse_answer_reads_errors_and_what_is_not_json():
    answer = error(400, "bad_data", "1:5: parse error")
    assert (answer.ok, answer.http_status, answer.error_type, answer.error) == (
        False, 400, "bad_data", "1:5: parse error")
    page = parse_answer(404, b"<html>Not Found</html>")
    assert (page.ok, page.error_type) == (False, "http_404")
    assert "not JSON" in page.error


def test_unsupported_is_a_422_saying_so():
    assert error(422, "execution", "function holt_winters is not supported").unsupported
    assert error(422, "execution", "Unsupported: @ in subqueries").unsupported
    assert not error(422, "execution", "many-to-many matching not allowed").unsupported
    assert not error(400, "bad_data", "unsupported thing").unsupported


# -- comparing -------------------------------------------------------------------------

def test_equal_answers_match_whatever_the_series_order():
    reference = matrix((FREE, POINTS), (USED, POINTS[:1]))
    candidate = matrix((USED, POINTS[:1]), (FREE, POINTS))
    assert compare(CASE, reference, candidate).matched


def test_empty_answers_match():
    assert compare(CASE, matrix(), matrix()).matched


def test_values_within_the_tolerance_match_and_beyond_it_do_not():
    reference = matrix((FREE, [(1700000000, "4473767788")]))
    assert compare(CASE, reference, matrix((FREE, [(1700000000, "4473767800")]))).matched
    outcome = compare(CASE, reference, matrix((FREE, [(1700000000, "4474767788")])))
    assert not outcome.matched and outcome.kind == "points"
    assert outcome.detail == (
        '1 of 1 series differ; {__name__="demo_memory_usage_bytes", instance="a:1", '
        'type="free"}: 1 of 1 values differ, first at 22:13:20.000: '
        'Prometheus 4473767788.0, Lookout 4474767788.0')


def test_a_missing_or_moved_timestamp_is_a_difference():
    outcome = compare(CASE, matrix((FREE, POINTS)), matrix((FREE, POINTS[:2])))
    assert (outcome.matched, outcome.kind) == (False, "points")
    assert "3 points in Prometheus, 2 in Lookout, only in Prometheus at 22:13:41.123" in (
        outcome.detail)
    moved = [(1700000000.001, "1"), *POINTS[1:]]
    outcome = compare(CASE, matrix((FREE, POINTS)), matrix((FREE, moved)))
    assert not outcome.matched
    assert "only in Prometheus at 22:13:20.000, only in Lookout at 22:13:20.001" in (
        outcome.detail)


def test_label_sets_must_match_exactly():
    without_name = {k: v for k, v in FREE.items() if k != "__name__"}
    outcome = compare(CASE, matrix((FREE, POINTS)), matrix((without_name, POINTS)))
    assert (outcome.matched, outcome.kind) == (False, "series")
    assert outcome.detail == (
        '1 series in Prometheus, 1 in Lookout; '
        'only in Prometheus: {__name__="demo_memory_usage_bytes", instance="a:1", type="free"}; '
        'only in Lookout: {instance="a:1", type="free"}')
    extra = compare(CASE, matrix((FREE, POINTS)), matrix((FREE, POINTS), (USED, POINTS)))
    assert (extra.matched, extra.kind) == (False, "series")
    assert "only in Prometheus" not in extra.detail and "only in Lookout" in extra.detail
    empty_value = compare(CASE, matrix((FREE, POINTS)), matrix(({**FREE, "x": ""}, POINTS)))
    assert not empty_value.matched


def test_a_series_answered_twice_is_a_difference():
    outcome = compare(CASE, matrix((FREE, POINTS)), matrix((FREE, POINTS), (FREE, POINTS)))
    assert (outcome.matched, outcome.kind) == (False, "series")
    assert "Lookout answered" in outcome.detail and "twice" in outcome.detail


def test_result_types_must_be_equal():
    scalar = parse_answer(200, json.dumps({"status": "success", "data": {
        "resultType": "scalar", "result": [1700000000, "1"]}}))
    outcome = compare(CASE, matrix((FREE, POINTS)), scalar)
    assert (outcome.matched, outcome.kind) == (False, "result_type")


def test_both_erroring_matches_whether_or_not_the_case_says_it_should():
    prometheus = error(400, "bad_data", 'invalid label name "~invalid"')
    lookout = error(400, "bad_data", "label name '~invalid' is not valid")
    assert compare(SHOULD_FAIL, prometheus, lookout).matched
    unmarked = compare(CASE, prometheus, error(422, "execution", "something else"))
    assert unmarked.matched
    assert "Prometheus also errored" in unmarked.detail


def test_lookout_erroring_alone_is_a_failure_of_its_own_kind():
    outcome = compare(CASE, matrix((FREE, POINTS)), error(422, "execution", "boom"))
    assert (outcome.matched, outcome.kind, outcome.detail) == (
        False, "unexpected_error", "Lookout 422 execution: boom")
    outcome = compare(CASE, matrix(), error(422, "execution", "holt_winters is not supported"))
    assert (outcome.matched, outcome.kind) == (False, "unsupported")
    timeout = compare(CASE, matrix(), Answer(False, 0, error_type="client_timeout",
                                             error="no answer within 60 s"))
    assert (timeout.matched, timeout.kind) == (False, "unexpected_error")


def test_lookout_answering_where_prometheus_errors_is_a_failure():
    outcome = compare(SHOULD_FAIL, error(400, "bad_data", "invalid"), matrix((FREE, POINTS)))
    assert (outcome.matched, outcome.kind) == (False, "unexpected_success")
    assert outcome.detail == "Prometheus 400 bad_data: invalid; Lookout answered 1 series"


def test_a_should_fail_case_prometheus_answers_is_a_reference_problem():
    both = compare(SHOULD_FAIL, matrix(), matrix())
    assert (both.matched, both.kind) == (False, "reference")
    only_lookout = compare(SHOULD_FAIL, matrix(), error(400, "bad_data", "x"))
    assert (only_lookout.matched, only_lookout.kind) == (False, "reference")


def test_skip_comparison_only_asks_both_to_answer():
    case = QueryCase("x", skip_comparison=True)
    assert compare(case, matrix((FREE, POINTS)), matrix((USED, POINTS))).matched
    assert not compare(case, matrix(), error(422, "execution", "x")).matched


# -- the report ------------------------------------------------------------------------

def test_the_report_counts_per_list_and_kind():
    a, b = QueryCase("a", source="upstream"), QueryCase("b", source="own")
    results = [
        CaseResult(a, compare(a, matrix(), matrix()), 0.01, 0.2),
        CaseResult(a, compare(a, matrix((FREE, POINTS)), matrix()), 0.01, 0.1, 1, 3),
        CaseResult(b, compare(b, matrix(), error(422, "execution", "x")), 0.01, 0.3),
        CaseResult(b, compare(b, matrix((FREE, POINTS)), matrix((FREE, POINTS))), 0.01, 0.4,
                   1, 3),
    ]
    summary = summarise(results, {"window": "w"})
    assert summary["run"] == {"window": "w"}
    assert summary["totals"] == {"matched": 2, "total": 4, "percent": 50.0}
    assert summary["by_source"] == {"upstream": {"matched": 1, "total": 2, "percent": 50.0},
                                    "own": {"matched": 1, "total": 2, "percent": 50.0}}
    assert summary["failures_by_kind"] == {"series": 1, "unexpected_error": 1}
    assert [f["query"] for f in summary["failures"]] == ["a", "b"]
    assert len(summary["cases"]) == 4
    assert summary["lookout_latency_s"]["max"] == 0.4
    assert summary["matched_empty"] == 1
    assert summary["cases"][3]["prometheus_points"] == 3
    text = render_text(summary)
    assert "FAIL [series] a   (upstream)" in text
    assert "\ntotal        2 /    4 matched (50.00 %)\n" in text
    json.dumps(summary)  # the report is JSON as it is
