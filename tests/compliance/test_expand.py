"""The compliance harness's query-list expansion."""

from __future__ import annotations

from pathlib import Path

import pytest

from .__main__ import LOOKOUT_QUERIES, UPSTREAM_QUERIES
from .expand import (
    VARIANT_VALUES,
    QueryCase,
    QueryListError,
    QueryTemplate,
    expand,
    fill,
    load_cases,
    parse_query_list,
    variants,
)


def test_a_template_without_variant_args_is_its_own_query():
    assert variants(QueryTemplate("demo_memory_usage_bytes offset 5m")) == [
        "demo_memory_usage_bytes offset 5m"]


def test_one_argument_takes_each_of_its_values_in_order():
    assert variants(QueryTemplate("{{.clampFunc}}(x, 2)", ("clampFunc",))) == [
        "clamp_min(x, 2)", "clamp_max(x, 2)"]
    assert variants(QueryTemplate("x offset -{{.offset}}", ("offset",))) == [
        "x offset -1m", "x offset -5m", "x offset -10m"]


def test_two_arguments_give_the_product_with_the_first_varying_slowest():
    got = variants(QueryTemplate("{{.simpleTimeAggrOp}}_over_time(x[{{.range}}])",
                                 ("simpleTimeAggrOp", "range")))
    assert len(got) == 9 * 6
    assert got[:7] == ["sum_over_time(x[1s])", "sum_over_time(x[15s])", "sum_over_time(x[1m])",
                       "sum_over_time(x[5m])", "sum_over_time(x[15m])", "sum_over_time(x[1h])",
                       "avg_over_time(x[1s])"]
    assert got[-1] == "last_over_time(x[1h])"


def test_a_placeholder_used_twice_gets_the_same_value_and_an_argument_listed_twice_counts_once():
    assert variants(QueryTemplate("{{.compBinOp}} {{ .compBinOp }}", ("compBinOp", "compBinOp"))
                    ) == [f"{op} {op}" for op in VARIANT_VALUES["compBinOp"]]


def test_an_argument_the_template_does_not_use_still_multiplies_it():
    # As in the compliance project: the count is the product of the listed arguments.
    assert variants(QueryTemplate("time()", ("topBottomOp",))) == ["time()", "time()"]


@pytest.mark.parametrize("template, message", [
    (QueryTemplate("rate(x[{{.range}}])"), "{{.range}} is not among its variant_args"),
    (QueryTemplate("x", ("nonsense",)), "unknown variant argument 'nonsense'"),
    (QueryTemplate("{{if .range}}x{{end}}", ("range",)), "only {{.name}} placeholders"),
    (QueryTemplate("x[{{range}}]", ("range",)), "only {{.name}} placeholders"),
])
def test_a_template_that_cannot_expand_is_an_error(template, message):
    with pytest.raises(QueryListError, match=message.replace("{", r"\{").replace(".", r"\.")):
        variants(template)


def test_fill_leaves_text_without_placeholders_alone():
    assert fill('label_replace(up, "a", "$1", "b", "(.*)")', {}) == (
        'label_replace(up, "a", "$1", "b", "(.*)")')


def test_expand_carries_the_flags_and_the_source():
    templates = [QueryTemplate("{{.topBottomOp}}(1, x)", ("topBottomOp",), should_fail=True),
                 QueryTemplate("y", skip_comparison=True)]
    assert expand(templates, "mine") == [
        QueryCase("topk(1, x)", True, False, "mine"),
        QueryCase("bottomk(1, x)", True, False, "mine"),
        QueryCase("y", False, True, "mine"),
    ]


def test_parse_reads_the_format():
    text = """
test_cases:
  - query: '42'
  - query: -1 ^ 2
  - query: 1.5
  - # a comment where the key would be
    query: 'quantile({{.quantile}}, x)'
    variant_args: ['quantile']
    should_fail: true
    skip_comparison: false
"""
    assert parse_query_list(text) == [
        QueryTemplate("42"), QueryTemplate("-1 ^ 2"), QueryTemplate("1.5"),
        QueryTemplate("quantile({{.quantile}}, x)", ("quantile",), should_fail=True)]


@pytest.mark.parametrize("text, message", [
    ("test_cases: [{query: x, should_fial: true}]", r"case 1: unknown keys \['should_fial'\]"),
    ("test_cases: [{query: x}, {query: ''}]", "case 2: 'query' must be a non-empty string"),
    ("test_cases: [{query: x, should_fail: 'yes'}]", "'should_fail' must be true or false"),
    ("test_cases: [{query: x, variant_args: range}]", "'variant_args' must be a list"),
    ("test_cases: {query: x}", "'test_cases' must be a list"),
    ("queries: []", "expected a mapping with just 'test_cases'"),
    ("test_cases: [x]", "case 1: expected a mapping"),
    ("test_cases: [", "not YAML"),
])
def test_parse_rejects_what_the_format_does_not_allow(text, message):
    with pytest.raises(QueryListError, match=message):
        parse_query_list(text, "list.yml")


def test_the_compliance_projects_list_expands_to_its_539_queries():
    cases = load_cases(UPSTREAM_QUERIES)
    assert len(cases) == 539
    assert len({c.query for c in cases}) == 539
    assert {c.source for c in cases} == {"promql-test-queries"}
    assert [c.query for c in cases if c.should_fail] == [
        '{__name__=~".*"}',
        'label_replace(demo_num_cpus, "job", "value-$1", "src", "(.*")',
        'label_replace(demo_num_cpus, "~invalid", "", "src", "(.*)")',
        'label_replace(demo_num_cpus, "instance", "", "", "")',
        'label_join(demo_num_cpus, "~invalid", "-", "instance")',
    ]
    queries = [c.query for c in cases]
    assert queries[:9] == ["42", "1.234", ".123", "1.23e-3", "0x3d", "Inf", "+Inf", "-Inf", "NaN"]
    assert "day_of_week(demo_batch_last_success_timestamp_seconds offset 10m)" in queries
    assert "quantile_over_time(1.5, demo_memory_usage_bytes[1h])" in queries
    assert not any("{{" in q for q in queries)


def test_lookouts_own_list_expands(tmp_path: Path):
    cases = load_cases(LOOKOUT_QUERIES)
    assert len(cases) > 80
    assert {c.source for c in cases} == {"queries_lookout"}
    assert not any("{{" in c.query for c in cases)
    assert any(c.should_fail for c in cases)


def test_an_unreadable_list_is_an_error(tmp_path: Path):
    with pytest.raises(QueryListError, match="cannot read query list"):
        load_cases(tmp_path / "missing.yml")
