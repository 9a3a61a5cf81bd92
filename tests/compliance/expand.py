"""Query lists for the compliance harness, and their expansion into concrete queries.

A list is YAML in the compliance project's shape::

    test_cases:
      - query: 'rate(demo_cpu_usage_seconds_total[{{.range}}])'
        variant_args: ['range']     # optional: placeholders to expand
        should_fail: false          # optional: both systems must answer with an error
        skip_comparison: false      # optional: both must succeed, results not compared

A template expands to one query per combination of its variant arguments' values
(``VARIANT_VALUES``), the first argument varying slowest — the order, values and count
of the compliance project's own expansion, so "matched / total" means the same thing
here. Two things are stricter: a ``{{...}}`` that is not a plain ``{{.name}}`` of a
declared argument, and a key the format does not know, are errors rather than
``<no value>`` text or silently ignored.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

# The values each variant argument takes, in order (facts of the compliance project's
# query format at commit 67b8327).
VARIANT_VALUES: dict[str, tuple[str, ...]] = {
    "range": ("1s", "15s", "1m", "5m", "15m", "1h"),
    "offset": ("1m", "5m", "10m"),
    "simpleAggrOp": ("sum", "avg", "max", "min", "count", "stddev", "stdvar"),
    "simpleTimeAggrOp": ("sum", "avg", "max", "min", "count", "stddev", "stdvar", "absent",
                         "last"),
    "topBottomOp": ("topk", "bottomk"),
    "quantile": ("-0.5", "0.1", "0.5", "0.75", "0.95", "0.90", "0.99", "1", "1.5"),
    "arithBinOp": ("+", "-", "*", "/", "%", "^"),
    "compBinOp": ("==", "!=", "<", ">", "<=", ">="),
    "binOp": ("+", "-", "*", "/", "%", "^", "==", "!=", "<", ">", "<=", ">="),
    "simpleMathFunc": ("abs", "ceil", "floor", "exp", "sqrt", "ln", "log2", "log10", "round"),
    "extrapolatedRateFunc": ("delta", "rate", "increase"),
    "clampFunc": ("clamp_min", "clamp_max"),
    "instantRateFunc": ("idelta", "irate"),
    "dateFunc": ("day_of_month", "day_of_week", "days_in_month", "hour", "minute", "month",
                 "year"),
    "smoothingFactor": ("0.1", "0.5", "0.8"),
    "trendFactor": ("0.1", "0.5", "0.8"),
}

_PLACEHOLDER = re.compile(r"\{\{\s*\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_CASE_KEYS = {"query", "variant_args", "should_fail", "skip_comparison"}


class QueryListError(ValueError):
    """A query list that cannot be read or expanded; the message says where and why."""


@dataclass(frozen=True)
class QueryTemplate:
    """One entry of a query list, before expansion."""

    query: str
    variant_args: tuple[str, ...] = ()
    should_fail: bool = False
    skip_comparison: bool = False


@dataclass(frozen=True)
class QueryCase:
    """One concrete query to run against both systems."""

    query: str
    should_fail: bool = False
    skip_comparison: bool = False
    source: str = ""  # which list it came from (a short name, for the report)


def fill(template: str, values: dict[str, str]) -> str:
    """``template`` with each ``{{.name}}`` replaced by ``values[name]``."""

    def value_of(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise QueryListError(f"{template!r}: {{{{.{name}}}}} is not among its variant_args")
        return values[name]

    filled = _PLACEHOLDER.sub(value_of, template)
    if "{{" in filled:
        raise QueryListError(f"{template!r}: only {{{{.name}}}} placeholders are supported")
    return filled


def variants(template: QueryTemplate) -> list[str]:
    """Every query ``template`` stands for: the cartesian product of its arguments'
    values, the first argument varying slowest. An argument listed twice counts once
    (its later mentions are already filled when the expansion reaches them)."""
    names = list(dict.fromkeys(template.variant_args))
    for name in names:
        if name not in VARIANT_VALUES:
            raise QueryListError(f"{template.query!r}: unknown variant argument {name!r}")
    combinations = itertools.product(*(VARIANT_VALUES[name] for name in names))
    return [fill(template.query, dict(zip(names, combo, strict=True)))
            for combo in combinations]


def expand(templates: list[QueryTemplate], source: str = "") -> list[QueryCase]:
    return [QueryCase(query, t.should_fail, t.skip_comparison, source)
            for t in templates for query in variants(t)]


def parse_query_list(text: str, where: str = "<query list>") -> list[QueryTemplate]:
    """The templates of a YAML query list; unknown keys and wrong types are errors."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise QueryListError(f"{where}: not YAML: {exc}") from None
    if not isinstance(document, dict) or set(document) != {"test_cases"}:
        raise QueryListError(f"{where}: expected a mapping with just 'test_cases'")
    entries = document["test_cases"]
    if not isinstance(entries, list):
        raise QueryListError(f"{where}: 'test_cases' must be a list")
    return [_template(entry, f"{where}, case {i + 1}") for i, entry in enumerate(entries)]


def _template(entry: object, where: str) -> QueryTemplate:
    if not isinstance(entry, dict):
        raise QueryListError(f"{where}: expected a mapping, got {entry!r}")
    unknown = set(entry) - _CASE_KEYS
    if unknown:
        raise QueryListError(f"{where}: unknown keys {sorted(unknown)}")
    query = entry.get("query")
    if not isinstance(query, str) or not query.strip():
        # YAML reads an unquoted `-1 ^ 2` as a string, but `42` as a number.
        if isinstance(query, int | float) and not isinstance(query, bool):
            query = str(query)
        else:
            raise QueryListError(f"{where}: 'query' must be a non-empty string")
    args = entry.get("variant_args", [])
    if not isinstance(args, list) or not all(isinstance(a, str) for a in args):
        raise QueryListError(f"{where}: 'variant_args' must be a list of names")
    flags = {}
    for key in ("should_fail", "skip_comparison"):
        value = entry.get(key, False)
        if not isinstance(value, bool):
            raise QueryListError(f"{where}: {key!r} must be true or false")
        flags[key] = value
    return QueryTemplate(query, tuple(args), **flags)


def load_cases(path: Path, source: str | None = None) -> list[QueryCase]:
    """Read and expand the query list at ``path``."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise QueryListError(f"cannot read query list {path}: {exc}") from None
    return expand(parse_query_list(text, str(path)), source or path.stem)
