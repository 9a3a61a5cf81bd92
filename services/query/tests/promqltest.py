"""PromQL test scripts in the text format of Prometheus's promqltest, read and run
against Lookout's real storage and engine.

A script is a sequence of commands separated by blank lines (``#`` starts a comment
line, which also ends a block)::

    load <interval>                     series lines follow, one per series:
      metric{label="value"} 0+10x5 _ stale 3 Inf
    eval instant at <duration> <expr>   expected results follow:
      {label="value"} 30                a series and its value, or
      30                                a scalar
    eval_fail instant at ...            the query must fail
    eval_ordered instant at ...         the series must come in this order
    clear                               empty the storage

Value expansions, as in Prometheus 2.42 (the reference here): ``a+bxN`` and ``a-bxN``
are the N+1 values a, a±b, ... (accumulated in float, as Prometheus does), ``axN`` is a
repeated N+1 times, ``_`` is a missing sample and ``_xN`` N of them, ``stale`` is the
staleness marker; numbers may be ``Inf``/``NaN``. Sample i of a load is at i * interval
from time 0.

Each eval is checked the way Prometheus 2.42's ``promql/test.go`` checks it:

1. as an instant query at t (``eval_fail``: it must raise a PromQL error, and nothing
   else is run), its vector compared by label set (and position, for ``eval_ordered``)
   and its values with a relative tolerance of 1e-6;
2. as a range query from t-1m to t+1m at step 1m, its points at t compared the same
   way (not for ``eval_ordered``: ordering is not defined for range queries);
3. unless the expression uses a function whose value depends on the evaluation time
   itself, again with ``@ t`` added to every selector and subquery that has none,
   evaluated at -10t, 0, t/5, t and 10t (-1s, 0 and 1s for t = 0) in both modes:
   pinned to t, the answer must not move. (The expression is rebuilt from Lookout's
   AST for this, by ``unparse``.)
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import psycopg2
from sqlalchemy import create_engine

from lookout_common.codec import SampleBatch
from lookout_common.db.connection import sqlalchemy_url
from lookout_common.db.schema import migrate
from lookout_common.series import SeriesKey
from lookout_common.settings import StorageMode
from lookout_query.promql.model import (
    METRIC_NAME,
    STALE_NAN,
    Labels,
    Matrix,
    PromQLError,
    Scalar,
    String,
    Unsupported,
    Value,
    Vector,
)
from lookout_query.promql.storage import PostgresQuerier
from lookout_worker.settings import WorkerSettings
from lookout_worker.store import InboundMessage, SampleStore


class ScriptError(ValueError):
    """The script itself is malformed; ``line`` is 1-based."""

    def __init__(self, name: str, line: int, message: str) -> None:
        super().__init__(f"{name}:{line}: {message}")
        self.line = line


class CaseFailed(AssertionError):
    """An eval's answer differs from what the script expects."""


# -- the commands ----------------------------------------------------------------------


@dataclass(frozen=True)
class Load:
    line: int
    interval_ms: int
    # Each series' samples as (unix ms, value); a later line for the same labels wins.
    series: dict[Labels, list[tuple[int, float]]]


@dataclass(frozen=True)
class Clear:
    line: int


@dataclass(frozen=True)
class Eval:
    line: int
    expr: str
    t_ms: int
    fail: bool = False
    ordered: bool = False
    # Expected series in the order written; None when a scalar is expected instead.
    series: tuple[tuple[Labels, float], ...] = ()
    scalar: float | None = None


Command = Load | Clear | Eval


@dataclass
class Script:
    name: str
    commands: list[Command] = field(default_factory=list)

    @property
    def evals(self) -> list[Eval]:
        return [c for c in self.commands if isinstance(c, Eval)]

    def case_id(self, case: Eval) -> str:
        return f"{self.name}:{case.line}"


# -- reading ---------------------------------------------------------------------------

_DURATION = re.compile(
    r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")
_DURATION_UNITS_MS = (365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1)
_LOAD = re.compile(r"^load\s+(.+?)$")
_EVAL = re.compile(r"^eval(?:_(fail|ordered))?\s+instant\s+(?:at\s+(.+?))?\s+(.+)$")
_NUMBER = r"(?:(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?|[iI][nN][fF]|[nN][aA][nN])"
_SERIES_ITEM = re.compile(
    rf"^(?:(?P<blank>_)(?:x(?P<blanks>\d+))?"
    rf"|(?P<value>stale|[+-]?{_NUMBER})(?:(?P<step>[+-]{_NUMBER})?x(?P<times>\d+))?)$")
_METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t",
                   "v": "\v", "\\": "\\", "'": "'", '"': '"'}


def parse_duration(text: str) -> int:
    """A Prometheus duration (``1h30m``, ``10s``, ``0``) in milliseconds."""
    if text == "0":
        return 0
    match = _DURATION.match(text)
    if not text or match is None:
        raise ValueError(f"not a duration: {text!r}")
    return sum(int(n) * unit for n, unit in zip(match.groups(), _DURATION_UNITS_MS, strict=True)
               if n)


def _number(text: str) -> float:
    lowered = text.lower().lstrip("+-")
    sign = -1.0 if text.startswith("-") else 1.0
    if lowered == "inf":
        return sign * math.inf
    if lowered == "nan":
        return math.nan
    return float(text)


def expand_item(item: str) -> list[float | None]:
    """One value item of a series line; None is a missing sample."""
    match = _SERIES_ITEM.match(item)
    if match is None:
        raise ValueError(f"not a series value: {item!r}")
    if match["blank"]:
        return [None] * (int(match["blanks"]) if match["blanks"] else 1)
    first = STALE_NAN if match["value"] == "stale" else _number(match["value"])
    if match["times"] is None:
        return [first]
    step = _number(match["step"]) if match["step"] else 0.0
    out: list[float | None] = []
    value = first
    for _ in range(int(match["times"]) + 1):
        out.append(value)
        value += step  # accumulated, not first + i*step: the float bits Prometheus writes
    return out


def expand_values(text: str) -> list[float | None]:
    return [v for item in text.split() for v in expand_item(item)]


def unquote(text: str, pos: int) -> tuple[str, int]:
    """The string literal (Go syntax: "..." or '...' with escapes, `...` raw) starting at
    ``text[pos]``, and the position after it."""
    quote = text[pos]
    end = pos + 1
    if quote == "`":
        close = text.find("`", end)
        if close < 0:
            raise ValueError("unterminated raw string")
        return text[end:close], close + 1
    if quote not in "\"'":
        raise ValueError(f"expected a quoted string at {text[pos:pos + 10]!r}")
    out = []
    while True:
        if end >= len(text):
            raise ValueError("unterminated string")
        ch = text[end]
        if ch == quote:
            return "".join(out), end + 1
        if ch != "\\":
            out.append(ch)
            end += 1
            continue
        esc = text[end + 1:end + 2]
        if esc in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[esc])
            end += 2
        elif esc in ("x", "u", "U"):
            width = {"x": 2, "u": 4, "U": 8}[esc]
            out.append(chr(int(text[end + 2:end + 2 + width], 16)))
            end += 2 + width
        elif esc.isdigit():
            out.append(chr(int(text[end + 1:end + 4], 8)))
            end += 4
        else:
            raise ValueError(f"unknown escape \\{esc}")


def parse_series_line(line: str) -> tuple[Labels, list[float | None]]:
    """``metric{a="b", ...} values...``: the labels (``__name__`` included) and values."""
    labels: dict[str, str] = {}
    pos = 0
    name = _METRIC_NAME.match(line)
    if name:
        labels[METRIC_NAME] = name.group()
        pos = name.end()
    if line.startswith("{", pos):
        pos += 1
        while True:
            while pos < len(line) and line[pos] in " \t":
                pos += 1
            if line.startswith("}", pos):
                pos += 1
                break
            label = _LABEL_NAME.match(line, pos)
            if label is None:
                raise ValueError(f"expected a label name at {line[pos:pos + 20]!r}")
            pos = label.end()
            while pos < len(line) and line[pos] in " \t":
                pos += 1
            if not line.startswith("=", pos):
                raise ValueError(f"expected '=' after label {label.group()!r}")
            pos += 1
            while pos < len(line) and line[pos] in " \t":
                pos += 1
            labels[label.group()], pos = unquote(line, pos)
            while pos < len(line) and line[pos] in " \t":
                pos += 1
            if line.startswith(",", pos):
                pos += 1
            elif not line.startswith("}", pos):
                raise ValueError(f"expected ',' or '}}' at {line[pos:pos + 20]!r}")
    elif not name:
        raise ValueError(f"expected a metric name or '{{' at {line[:20]!r}")
    rest = line[pos:]
    if rest and rest[0] not in " \t":
        raise ValueError(f"expected a space before the values at {rest[:20]!r}")
    return tuple(sorted(labels.items())), expand_values(rest)


def parse_expected_number(text: str) -> float | None:
    """The whole line as a number (Go's ParseInt base 0, then ParseFloat), else None."""
    try:
        return float(int(text, 0))
    except ValueError:
        pass
    try:
        return float(text) if "_" not in text else None
    except ValueError:
        return None


def parse_script(name: str, text: str) -> Script:
    lines = ["" if line.strip().startswith("#") else line.strip() for line in text.split("\n")]
    script = Script(name)
    i = 0

    def fail(at: int, message: str) -> ScriptError:
        return ScriptError(name, at + 1, message)

    while i < len(lines):
        line = lines[i]
        if not line:
            i += 1
            continue
        word = re.split(r"[\t ]+", line, maxsplit=1)[0].lower()
        if word == "clear":
            script.commands.append(Clear(i + 1))
            i += 1
        elif word == "load":
            match = _LOAD.match(line)
            if match is None:
                raise fail(i, "invalid load command (load <interval>)")
            try:
                interval = parse_duration(match[1])
            except ValueError as exc:
                raise fail(i, str(exc)) from None
            start = i
            series: dict[Labels, list[tuple[int, float]]] = {}
            i += 1
            while i < len(lines) and lines[i]:
                try:
                    labels, values = parse_series_line(lines[i])
                except ValueError as exc:
                    raise fail(i, str(exc)) from None
                series[labels] = [(n * interval, v) for n, v in enumerate(values)
                                  if v is not None]
                i += 1
            script.commands.append(Load(start + 1, interval, series))
        elif word.startswith("eval"):
            match = _EVAL.match(line)
            if match is None:
                raise fail(i, "invalid eval command (eval[_fail|_ordered] instant at <t> <expr>)")
            try:
                t_ms = parse_duration(match[2] or "")
            except ValueError as exc:
                raise fail(i, str(exc)) from None
            start = i
            expected: list[tuple[Labels, float]] = []
            scalar = None
            i += 1
            while i < len(lines) and lines[i]:
                number = parse_expected_number(lines[i])
                if number is not None:
                    scalar = number
                    i += 1
                    break
                try:
                    labels, values = parse_series_line(lines[i])
                except ValueError as exc:
                    raise fail(i, str(exc)) from None
                if len(values) != 1 or values[0] is None:
                    raise fail(i, "an expected series has exactly one value")
                expected.append((labels, values[0]))
                i += 1
            script.commands.append(Eval(start + 1, match[3], t_ms, fail=match[1] == "fail",
                                        ordered=match[1] == "ordered", series=tuple(expected),
                                        scalar=scalar))
        else:
            raise fail(i, f"invalid command {line!r}")
    return script


def read_script(path: Path) -> Script:
    return parse_script(path.name, path.read_text())


def read_scripts(directory: Path) -> list[Script]:
    return [read_script(p) for p in sorted(directory.glob("*.test"))]


# -- comparing ---------------------------------------------------------------------------

MIN_NORMAL = struct.unpack("<d", struct.pack("<Q", 0x0010000000000000))[0]
EPSILON = 1e-6


def almost_equal(a: float, b: float) -> bool:
    """Prometheus 2.42's test tolerance: both NaN, equal, or a relative error under 1e-6
    (an absolute one next to zero)."""
    if math.isnan(a) and math.isnan(b):
        return True
    if a == b:
        return True
    diff = abs(a - b)
    if a == 0 or b == 0 or diff < MIN_NORMAL:
        return diff < EPSILON * MIN_NORMAL
    return diff / (abs(a) + abs(b)) < EPSILON


def show_labels(labels: Labels) -> str:
    name = dict(labels).get(METRIC_NAME, "")
    rest = ", ".join(f'{k}="{v}"' for k, v in labels if k != METRIC_NAME)
    return f"{name}{{{rest}}}"


def compare(case: Eval, result: Value, ordered: bool) -> None:
    """Raise CaseFailed unless ``result`` is what ``case`` expects."""
    if isinstance(result, Matrix):
        raise CaseFailed("received a range result for an instant evaluation")
    if isinstance(result, String):
        raise CaseFailed(f"received a string result {result.value!r}")
    if isinstance(result, Scalar):
        if case.scalar is None:
            raise CaseFailed(f"expected a vector, got the scalar {result.value}")
        if not almost_equal(case.scalar, result.value):
            raise CaseFailed(f"expected scalar {case.scalar} but got {result.value}")
        return
    expected = {labels: (pos, value) for pos, (labels, value) in enumerate(case.series, 1)}
    seen = set()
    for pos, (labels, value) in enumerate(result.samples, 1):
        if labels not in expected:
            raise CaseFailed(f"unexpected series {show_labels(labels)} {value} in the result"
                             f"{describe(result)}")
        want_pos, want = expected[labels]
        if ordered and want_pos != pos:
            raise CaseFailed(f"expected {show_labels(labels)} at position {want_pos} but it "
                             f"was at {pos}{describe(result)}")
        if not almost_equal(want, value):
            raise CaseFailed(f"expected {want} for {show_labels(labels)} but got {value}"
                             f"{describe(result)}")
        seen.add(labels)
    for labels, (_pos, want) in expected.items():
        if labels not in seen:
            raise CaseFailed(f"expected {show_labels(labels)} {want} not found"
                             f"{describe(result)}")
    if case.scalar is not None:
        raise CaseFailed(f"expected the scalar {case.scalar}, got a vector{describe(result)}")


def describe(result: Vector) -> str:
    if not result.samples:
        return " (the result is empty)"
    lines = [f"    {show_labels(labels)} {value}" for labels, value in result.samples[:20]]
    more = f"\n    ... {len(result.samples) - 20} more" if len(result.samples) > 20 else ""
    return "; the result:\n" + "\n".join(lines) + more


def points_at(matrix: Matrix, t_ms: int) -> list[tuple[Labels, float]]:
    out = []
    for series in matrix.series:
        hits = np.flatnonzero(series.t == t_ms)
        if len(hits):
            out.append((series.labels, float(series.v[hits[0]])))
    return out


# -- the @ modifier variants -------------------------------------------------------------

# Functions whose answer depends on the evaluation time itself (Prometheus 2.42's
# AtModifierUnsafeFunctions): pinning selectors with @ does not pin them.
AT_UNSAFE_FUNCTIONS = {"days_in_month", "day_of_month", "day_of_week", "day_of_year", "hour",
                       "minute", "month", "year", "predict_linear", "time", "timestamp"}


def _duration(ms: int) -> str:
    return f"{ms}ms"


def _string(value: str) -> str:
    escaped = (value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
               .replace("\r", "\\r").replace("\t", "\\t"))
    return f'"{escaped}"'


def _modifiers(offset_ms: int, at: Any) -> str:
    text = f" offset {_duration(offset_ms)}" if offset_ms else ""
    if at is not None:
        text += f" @ {at.kind}()" if at.kind in ("start", "end") else f" @ {at.t_ms / 1000:.3f}"
    return text


def _number_text(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Inf" if value > 0 else "-Inf"
    return repr(value)


def unparse(expr: Any) -> str:
    """PromQL text for a Lookout AST (``lookout_query.promql.ast``), fully parenthesised."""
    from lookout_query.promql import ast

    if isinstance(expr, ast.NumberLiteral):
        return _number_text(expr.value)
    if isinstance(expr, ast.StringLiteral):
        return _string(expr.value)
    if isinstance(expr, ast.VectorSelector):
        matchers = ",".join(f"{m.name}{m.op}{_string(m.value)}" for m in expr.matchers)
        return f"{{{matchers}}}{_modifiers(expr.offset_ms, expr.at)}"
    if isinstance(expr, ast.MatrixSelector):
        vs = expr.selector
        matchers = ",".join(f"{m.name}{m.op}{_string(m.value)}" for m in vs.matchers)
        return f"{{{matchers}}}[{_duration(expr.range_ms)}]{_modifiers(vs.offset_ms, vs.at)}"
    if isinstance(expr, ast.Subquery):
        step = _duration(expr.step_ms) if expr.step_ms else ""
        return (f"({unparse(expr.expr)})[{_duration(expr.range_ms)}:{step}]"
                f"{_modifiers(expr.offset_ms, expr.at)}")
    if isinstance(expr, ast.Call):
        return f"{expr.func}({', '.join(unparse(a) for a in expr.args)})"
    if isinstance(expr, ast.Aggregate):
        grouping = ""
        if expr.grouping or expr.without:
            grouping = f" {'without' if expr.without else 'by'} ({', '.join(expr.grouping)})"
        args = [unparse(expr.param)] if expr.param is not None else []
        return f"{expr.op}{grouping} ({', '.join([*args, unparse(expr.expr)])})"
    if isinstance(expr, ast.Binary):
        modifier = " bool" if expr.return_bool else ""
        matching = expr.matching
        if matching is not None:
            grouped = matching.card in ("many-to-one", "one-to-many")
            if matching.on or matching.labels or grouped:
                keyword = "on" if matching.on else "ignoring"
                modifier += f" {keyword}({', '.join(matching.labels)})"
            if matching.card == "many-to-one":
                modifier += f" group_left({', '.join(matching.include)})"
            elif matching.card == "one-to-many":
                modifier += f" group_right({', '.join(matching.include)})"
        return f"({unparse(expr.lhs)}) {expr.op}{modifier} ({unparse(expr.rhs)})"
    if isinstance(expr, ast.Unary):
        return f"-({unparse(expr.expr)})"
    raise TypeError(f"cannot print {type(expr).__name__}")


def pin_to(expr: Any, t_ms: int) -> Any | None:
    """``expr`` with ``@ t`` on every selector and subquery outside an ``@``-pinned
    subquery that has no fixed ``@`` of its own; None if it calls a function that
    depends on the evaluation time."""
    from lookout_query.promql import ast

    at = ast.At("time", t_ms)
    unsafe = False

    def pinned(node: Any) -> Any:
        return node.at if node.at is not None and node.at.kind == "time" else at

    def walk(node: Any) -> Any:
        nonlocal unsafe
        if isinstance(node, ast.VectorSelector):
            return replace(node, at=pinned(node))
        if isinstance(node, ast.MatrixSelector):
            return replace(node, selector=replace(node.selector, at=pinned(node.selector)))
        if isinstance(node, ast.Subquery):
            # What it contains is pinned by it now, and not looked into (time-dependent
            # functions in there included), as Prometheus's runner does.
            return replace(node, at=pinned(node))
        if isinstance(node, ast.Call):
            unsafe = unsafe or node.func in AT_UNSAFE_FUNCTIONS
            return replace(node, args=tuple(walk(a) for a in node.args))
        if isinstance(node, ast.Aggregate):
            param = walk(node.param) if node.param is not None else None
            return replace(node, expr=walk(node.expr), param=param)
        if isinstance(node, ast.Binary):
            return replace(node, lhs=walk(node.lhs), rhs=walk(node.rhs))
        if isinstance(node, ast.Unary):
            return replace(node, expr=walk(node.expr))
        return node

    out = walk(expr)
    return None if unsafe else out


def at_modifier_variants(expr_text: str, t_ms: int) -> list[tuple[str, int]]:
    """The extra (query, evaluation time) pairs Prometheus 2.42's test runner checks."""
    from lookout_query.promql.ast import parse

    pinned = pin_to(parse(expr_text), t_ms)
    if pinned is None:
        return []
    text = unparse(pinned)
    if t_ms == 0:
        times = [-1000, 0, 1000]
    else:
        times = [-10 * t_ms, 0, t_ms // 5, t_ms, 10 * t_ms]
    return [(text, t) for t in times]


# -- running ---------------------------------------------------------------------------


class QueryEngine(Protocol):
    def instant(self, query: str, t_ms: int) -> Value: ...

    def range(self, query: str, start_ms: int, end_ms: int, step_ms: int) -> Matrix: ...


def check(engine: QueryEngine, case: Eval, query: str, t_ms: int) -> None:
    """One (query, time) of an eval, as an instant and as a range query."""
    where = f"{query!r} at {t_ms / 1000:g}s"
    try:
        result = engine.instant(query, t_ms)
    except Unsupported as exc:
        raise CaseFailed(f"{where}: unsupported: {exc}") from None
    except PromQLError as exc:
        if case.fail:
            return
        raise CaseFailed(f"{where}: instant query failed: {type(exc).__name__}: {exc}") from None
    if case.fail:
        raise CaseFailed(f"{where}: expected an error, but the query answered")
    try:
        compare(case, result, case.ordered)
    except CaseFailed as exc:
        raise CaseFailed(f"{where}, instant query: {exc}") from None
    try:
        matrix = engine.range(query, t_ms - 60_000, t_ms + 60_000, 60_000)
    except PromQLError as exc:
        raise CaseFailed(f"{where}: range query failed: {type(exc).__name__}: {exc}") from None
    if case.ordered:
        return
    if not isinstance(matrix, Matrix):
        raise CaseFailed(f"{where}: range query answered a {type(matrix).__name__}")
    points = points_at(matrix, t_ms)
    try:
        if isinstance(result, Scalar):
            if not points:
                raise CaseFailed("no point at t")
            compare(case, Scalar(t_ms, points[0][1]), ordered=False)
        else:
            compare(case, Vector(t_ms, points), ordered=False)
    except CaseFailed as exc:
        raise CaseFailed(f"{where}, range query (t-1m..t+1m step 1m): {exc}") from None


def run_eval(engine: QueryEngine, case: Eval, at_variants: bool = True) -> None:
    check(engine, case, case.expr, case.t_ms)
    if not at_variants:
        return
    try:
        variants = at_modifier_variants(case.expr, case.t_ms)
    except PromQLError:
        return  # it does not parse: step 1 already judged that
    for query, t_ms in variants:
        check(engine, case, query, t_ms)


# Scripts put their samples at 1970: TimescaleDB's retention and compression jobs would
# drop or compress those chunks while the script runs, so the script's database has none.
WITHOUT_TIMESCALEDB_JOBS = """
SELECT remove_retention_policy('samples');
SELECT remove_compression_policy('samples');
"""


class ScriptStorage:
    """A migrated database that script loads are written into through the worker's own
    write path (``SampleStore``). Plain-PostgreSQL mode's partitions are only dropped by
    the worker's maintenance, which never runs here; in TimescaleDB mode the retention
    and compression jobs are removed — so samples at 1970 stay."""

    def __init__(self, database_url: str, mode: StorageMode = StorageMode.POSTGRES) -> None:
        self.database_url = database_url
        self.mode = mode
        self.settings = WorkerSettings(database_url=database_url, storage_mode=mode)
        migrate(self.settings)
        if mode is StorageMode.TIMESCALEDB:
            conn = psycopg2.connect(database_url)
            try:
                with conn, conn.cursor() as cur:
                    cur.execute(WITHOUT_TIMESCALEDB_JOBS)
            finally:
                conn.close()
        self.store = SampleStore(self.settings, mode)
        self.engine = create_engine(sqlalchemy_url(database_url), pool_size=2)
        self.querier = PostgresQuerier(self.engine)
        self._messages = 0

    def load(self, command: Load) -> None:
        keys, index, times, values = [], [], [], []
        for labels, samples in command.series.items():
            if not samples:
                continue
            named = dict(labels)
            metric = named.pop(METRIC_NAME, "")
            keys.append(SeriesKey(metric, tuple(sorted((k, v) for k, v in named.items() if v))))
            index.append(np.full(len(samples), len(keys) - 1, dtype=np.int32))
            times.append(np.array([t for t, _ in samples], dtype=np.int64))
            values.append(np.array([v for _, v in samples], dtype=np.float64))
        if not keys:
            return
        self._messages += 1
        batch = SampleBatch(keys, np.concatenate(index), np.concatenate(times),
                            np.concatenate(values))
        self.store.write([InboundMessage(self._messages, f"promqltest-{self._messages}",
                                         batch)])

    def clear(self) -> None:
        conn = psycopg2.connect(self.database_url)
        try:
            with conn, conn.cursor() as cur:
                tables = "samples, series, ingested_messages"
                if self.mode is StorageMode.POSTGRES:
                    tables += ", rollup_invalidations"
                cur.execute(f"TRUNCATE {tables}")
        finally:
            conn.close()
        self.store.series.forget()  # ids of the truncated series must not be reused

    def close(self) -> None:
        self.store.close()
        self.engine.dispose()


class ScriptRunner:
    """Runs one script's evals, each against the storage state its position implies:
    the loads and clears before it are applied in order, and replayed from an empty
    storage when an eval earlier in the script is asked for after a later one."""

    def __init__(self, script: Script, storage: ScriptStorage,
                 make_engine: Callable[[PostgresQuerier], QueryEngine],
                 at_variants: bool = True) -> None:
        self.script = script
        self.storage = storage
        self.engine = make_engine(storage.querier)
        self.at_variants = at_variants
        self._applied = 0  # commands of the script reflected in storage

    def _advance_to(self, position: int) -> None:
        if position < self._applied:
            self.storage.clear()
            self._applied = 0
        for command in self.script.commands[self._applied:position]:
            if isinstance(command, Load):
                self.storage.load(command)
            elif isinstance(command, Clear):
                self.storage.clear()
        self._applied = position

    def run(self, case: Eval) -> None:
        self._advance_to(self.script.commands.index(case))
        run_eval(self.engine, case, self.at_variants)

    def cases(self) -> Iterator[Eval]:
        yield from self.script.evals


def suite_cases(suite: str, scripts: Sequence[Script], modes: Sequence[Any]) -> list[Any]:
    """One pytest param per (storage mode, script, eval), mode outermost so each script's
    database is made once per mode; counted per file in the session summary."""
    import pytest

    return [pytest.param(mode, script, case, id=f"{mode.value}:{script.case_id(case)}",
                         marks=pytest.mark.promqltest(suite=f"{suite} {mode.value}",
                                                      file=script.name))
            for mode in modes for script in scripts for case in script.evals]


def case_ids(scripts: Sequence[Script]) -> list[tuple[Script, Eval, str]]:
    return [(s, e, s.case_id(e)) for s in scripts for e in s.evals]
