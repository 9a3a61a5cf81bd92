"""PromQL text → Lookout's own typed AST.

Parsing is done by PyPI's ``promql-parser`` (a port of Prometheus's grammar, with its
type checks: argument types, ``bool`` on scalar comparisons, set operators between
vectors only, one non-empty matcher per selector...). This module converts its nodes
into small frozen dataclasses that the evaluator owns, and adds the checks where
Prometheus 2.42 — Lookout's reference — is stricter than that parser (``or`` inside
label matchers, functions Prometheus 2.42 does not have). Parentheses disappear here.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache

import promql_parser as pp

from .model import METRIC_NAME, BadQuery, Matcher, Unsupported, compile_anchored

# Prometheus 2.42 had holt_winters; the parser knows it by its later name only.
pp.register_extra_functions([
    pp.Function("holt_winters", [pp.ValueType.Matrix, pp.ValueType.Scalar, pp.ValueType.Scalar],
                pp.ValueType.Vector),
])


@dataclass(frozen=True)
class At:
    """An ``@`` modifier: a fixed time, or the query's ``start()`` / ``end()``."""

    kind: str  # "time", "start", "end"
    t_ms: int = 0


@dataclass(frozen=True)
class NumberLiteral:
    value: float


@dataclass(frozen=True)
class StringLiteral:
    value: str


@dataclass(frozen=True)
class VectorSelector:
    matchers: tuple[Matcher, ...]
    offset_ms: int = 0
    at: At | None = None

    def equality_labels(self) -> dict[str, str]:
        """Labels that ``absent()`` can know: names with exactly one matcher, an ``=``
        (other than the metric name)."""
        labels: dict[str, str] = {}
        ambiguous: set[str] = set()
        for m in self.matchers:
            if m.name == METRIC_NAME:
                continue
            if m.op == "=" and m.name not in labels:
                labels[m.name] = m.value
            else:
                ambiguous.add(m.name)
        return {k: v for k, v in labels.items() if k not in ambiguous}


@dataclass(frozen=True)
class MatrixSelector:
    selector: VectorSelector
    range_ms: int


@dataclass(frozen=True)
class Subquery:
    expr: Expr
    range_ms: int
    step_ms: int  # 0: the default resolution
    offset_ms: int = 0
    at: At | None = None


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple[Expr, ...]


@dataclass(frozen=True)
class Aggregate:
    op: str
    expr: Expr
    param: Expr | None
    grouping: tuple[str, ...]
    without: bool


@dataclass(frozen=True)
class VectorMatching:
    card: str  # "one-to-one", "many-to-one", "one-to-many", "many-to-many"
    on: bool
    labels: tuple[str, ...]
    include: tuple[str, ...]


@dataclass(frozen=True)
class Binary:
    op: str
    lhs: Expr
    rhs: Expr
    return_bool: bool
    matching: VectorMatching | None


@dataclass(frozen=True)
class Unary:
    op: str  # "-" (a unary "+" is dropped by the parser)
    expr: Expr


Expr = (NumberLiteral | StringLiteral | VectorSelector | MatrixSelector | Subquery | Call
        | Aggregate | Binary | Unary)

# Functions the parser accepts that Prometheus 2.42 did not have and Lookout does not
# evaluate: answered 422, never guessed.
UNSUPPORTED_FUNCTIONS = {"info", "histogram_count", "histogram_sum", "histogram_avg",
                         "histogram_fraction", "histogram_stddev", "histogram_stdvar",
                         "sort_by_label", "sort_by_label_desc", "ts_of_max_over_time",
                         "ts_of_min_over_time", "ts_of_last_over_time", "first_over_time",
                         "ts_of_first_over_time"}
UNSUPPORTED_AGGREGATIONS = {"limitk", "limit_ratio"}

_CARDINALITY = {
    "VectorMatchCardinality.OneToOne": "one-to-one",
    "VectorMatchCardinality.ManyToOne": "many-to-one",
    "VectorMatchCardinality.OneToMany": "one-to-many",
    "VectorMatchCardinality.ManyToMany": "many-to-many",
}
_MATCH_OPS = {"MatchOp.Equal": "=", "MatchOp.NotEqual": "!=", "MatchOp.Re": "=~",
              "MatchOp.NotRe": "!~"}
_SET_OPS = {"and", "or", "unless"}


def _ms(delta: dt.timedelta | None) -> int:
    if delta is None:
        return 0
    return (delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000)


def _at(owner: pp.VectorSelector | pp.SubqueryExpr) -> At | None:
    node = owner.at
    if node is None:
        return None
    kind = str(node.type)
    if kind.endswith("Start"):
        return At("start")
    if kind.endswith("End"):
        return At("end")
    try:
        moment = node.at
    except BaseException as exc:  # pyo3's PanicException derives from BaseException
        if type(exc).__name__ != "PanicException":
            raise
        # The parser cannot represent a time before 1970 (Prometheus allows them) and
        # prints it as 0: refuse rather than answer for the wrong time.
        raise Unsupported("@ times before 1970 are not supported by Lookout") from None
    assert moment is not None
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
    return At("time", _ms(moment - epoch))


def _matcher(node: pp.Matcher) -> Matcher:
    op = _MATCH_OPS[str(node.op)]
    if op in ("=~", "!~"):
        try:
            compile_anchored(node.value)
        except re.error as exc:
            raise BadQuery(f"invalid regular expression {node.value!r}: {exc}") from None
    return Matcher(node.name, op, node.value)


def _vector_selector(node: pp.VectorSelector) -> VectorSelector:
    if node.matchers.or_matchers:
        raise BadQuery("unexpected \"or\" in label matchers: Prometheus 2.42 has no or-matchers")
    # Matchers are a conjunction: their order means nothing, so it is made canonical.
    matchers = sorted((_matcher(m) for m in node.matchers.matchers),
                      key=lambda m: (m.name, m.op, m.value))
    if node.name:
        matchers.insert(0, Matcher(METRIC_NAME, "=", node.name))
    return VectorSelector(tuple(matchers), _ms(node.offset), _at(node))


def convert(node: pp.Expr) -> Expr:
    """One parser node (and its children) as a Lookout AST node."""
    if isinstance(node, pp.ParenExpr):
        return convert(node.expr)
    if isinstance(node, pp.NumberLiteral):
        return NumberLiteral(float(node.val))
    if isinstance(node, pp.StringLiteral):
        return StringLiteral(node.val)
    if isinstance(node, pp.VectorSelector):
        return _vector_selector(node)
    if isinstance(node, pp.MatrixSelector):
        return MatrixSelector(_vector_selector(node.vector_selector), _ms(node.range))
    if isinstance(node, pp.SubqueryExpr):
        return Subquery(convert(node.expr), _ms(node.range), _ms(node.step), _ms(node.offset),
                        _at(node))
    if isinstance(node, pp.Call):
        name = node.func.name
        if name in UNSUPPORTED_FUNCTIONS:
            raise Unsupported(f"function {name}() is not supported by Lookout")
        return Call(name, tuple(convert(a) for a in node.args))
    if isinstance(node, pp.AggregateExpr):
        op = str(node.op)
        if op in UNSUPPORTED_AGGREGATIONS:
            raise Unsupported(f"aggregation {op}() is not supported by Lookout")
        grouping: tuple[str, ...] = ()
        without = False
        if node.modifier is not None:
            grouping = tuple(node.modifier.labels)
            without = str(node.modifier.type).endswith("Without")
        param = convert(node.param) if node.param is not None else None
        return Aggregate(op, convert(node.expr), param, grouping, without)
    if isinstance(node, pp.BinaryExpr):
        op = str(node.op)
        modifier = node.modifier
        matching = None
        return_bool = False
        if modifier is not None:
            return_bool = bool(modifier.return_bool)
            card = _CARDINALITY[str(modifier.card)]
            on = False
            labels: tuple[str, ...] = ()
            if modifier.matching is not None:
                on = str(modifier.matching.type).endswith("Include")
                labels = tuple(modifier.matching.labels)
            matching = VectorMatching(card, on, labels, tuple(modifier.group_labels or ()))
        if op in _SET_OPS and matching is not None and matching.card == "one-to-one":
            matching = VectorMatching("many-to-many", matching.on, matching.labels, ())
        return Binary(op, convert(node.lhs), convert(node.rhs), return_bool, matching)
    if isinstance(node, pp.UnaryExpr):
        return Unary("-", convert(node.expr))
    raise Unsupported(f"PromQL construct {type(node).__name__} is not supported by Lookout")


@lru_cache(maxsize=4096)
def parse(query: str) -> Expr:
    """Parse ``query``; a syntax or type error is ``BadQuery`` with the parser's reason."""
    if not query.strip():
        raise BadQuery("empty query")
    try:
        return convert(pp.parse(query))
    except ValueError as exc:
        raise BadQuery(f"parse error: {exc}") from None
    except (KeyboardInterrupt, SystemExit, GeneratorExit):
        raise
    except BaseException as exc:  # the parser's Rust side panicked (pyo3 PanicException)
        if isinstance(exc, Exception) and not type(exc).__name__ == "PanicException":
            raise
        raise Unsupported(f"the PromQL parser cannot handle this query ({exc})") from None


def normalise(query: str) -> str:
    """A canonical text of ``query``: the exact structure of its AST, where spacing,
    parentheses, number spelling and matcher order no longer show. Equal meaning, equal
    text — for cache keys."""
    return repr(parse(query))
