"""The PromQL evaluator: a parsed expression, evaluated at every step of a query at once.

``Engine.instant`` is a query with one step; ``Engine.range`` one with many. Each node
evaluates to a value over all steps (``values.py``); selectors read storage through the
``Querier`` once per node, for the whole span the steps need. Semantics are Prometheus
2.42's: 5-minute lookback for instant selectors, closed windows ``[t - range, t]`` for
range selectors, staleness markers end a series, ``offset`` and ``@`` move the
evaluation time of what they modify, subqueries evaluate their inner expression at
absolute multiples of their step.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

from . import aggregations, binary, functions, rollups
from .ast import (
    Aggregate,
    At,
    Binary,
    Call,
    Expr,
    MatrixSelector,
    NumberLiteral,
    StringLiteral,
    Subquery,
    Unary,
    VectorSelector,
    parse,
)
from .model import (
    BadQuery,
    ExecutionError,
    Matrix,
    Querier,
    QueryTimeout,
    QueryTooLarge,
    Scalar,
    Series,
    String,
    Unsupported,
    Value,
    Vector,
    is_stale,
)
from .range_functions import NEEDS_RANGE, RANGE_FUNCTIONS
from .values import (
    RangeSeries,
    RangeSteps,
    ScalarSteps,
    StringValue,
    VectorSteps,
    drop_name,
    merge_same_labels,
)
from .values import Value as StepValue

# Range functions whose answer keeps the metric name (Prometheus 2.42).
KEEPS_NAME = {"last_over_time"}


@dataclass(frozen=True)
class Limits:
    lookback_ms: int = 300_000
    max_samples: int = 50_000_000
    timeout_s: float = 120.0
    subquery_step_ms: int = 60_000


class Engine:
    def __init__(self, querier: Querier, lookback_ms: int = 300_000,
                 max_samples: int = 50_000_000, timeout_s: float = 120.0,
                 subquery_step_ms: int = 60_000) -> None:
        self.querier = querier
        self.limits = Limits(lookback_ms, max_samples, timeout_s, subquery_step_ms)

    def instant(self, query: str, t_ms: int, timeout_s: float | None = None) -> Value:
        expr = parse(query)
        evaluation = _Evaluation(self.querier, self.limits, t_ms, t_ms, timeout_s)
        with np.errstate(all="ignore"):  # IEEE results (Inf, NaN) are PromQL's answers
            value = evaluation.eval(expr, np.array([t_ms], dtype=np.int64))
        if isinstance(value, ScalarSteps):
            return Scalar(t_ms, float(value.values[0]))
        if isinstance(value, StringValue):
            return String(t_ms, value.value)
        if isinstance(value, RangeSteps):
            return _window_matrix(value)
        rows = np.nonzero(value.present[:, 0])[0]
        samples = [(value.labels[i], float(value.values[i, 0])) for i in rows]
        if not value.ordered:
            samples.sort(key=lambda s: s[0])
        return Vector(t_ms, samples)

    def range(self, query: str, start_ms: int, end_ms: int, step_ms: int,
              timeout_s: float | None = None) -> Matrix:
        if step_ms <= 0:
            raise BadQuery("zero or negative query resolution step widths are not accepted")
        if end_ms < start_ms:
            raise BadQuery("end timestamp must not be before start time")
        expr = parse(query)
        if isinstance(expr, (MatrixSelector, Subquery)):
            raise BadQuery('invalid expression type "range vector" for range query, '
                           "must be Scalar or instant Vector")
        if isinstance(expr, StringLiteral):
            raise BadQuery('invalid expression type "string" for range query, '
                           "must be Scalar or instant Vector")
        steps = np.arange(start_ms, end_ms + 1, step_ms, dtype=np.int64)
        evaluation = _Evaluation(self.querier, self.limits, start_ms, end_ms, timeout_s)
        with np.errstate(all="ignore"):
            value = evaluation.eval(expr, steps)
        if isinstance(value, ScalarSteps):
            return Matrix([Series((), steps, value.values)])
        if not isinstance(value, VectorSteps):
            raise BadQuery("range queries must be of type scalar or instant vector")
        out = []
        for i, labels in enumerate(value.labels):
            mask = value.present[i]
            if mask.any():
                out.append(Series(labels, steps[mask], value.values[i][mask]))
        out.sort(key=lambda s: s.labels)
        return Matrix(out)


def _window_matrix(value: RangeSteps) -> Matrix:
    out = []
    for s in value.series:
        lo, hi = value.bounds(s)
        if hi[0] > lo[0]:
            out.append(Series(s.labels, s.t[lo[0]:hi[0]], s.v[lo[0]:hi[0]]))
    out.sort(key=lambda s: s.labels)
    return Matrix(out)


class _Evaluation:
    """One query's evaluation: its time span (for ``@ start()``/``end()``), its limits."""

    def __init__(self, querier: Querier, limits: Limits, start_ms: int, end_ms: int,
                 timeout_s: float | None) -> None:
        self.querier = querier
        self.limits = limits
        self.start_ms = start_ms
        self.end_ms = end_ms
        self.deadline = time.monotonic() + (timeout_s or limits.timeout_s)
        self.samples = 0

    # -- helpers ------------------------------------------------------------------------
    def _check_deadline(self) -> None:
        if time.monotonic() > self.deadline:
            raise QueryTimeout("query timed out in expression evaluation")

    def _count_samples(self, n: int) -> None:
        self.samples += n
        if self.samples > self.limits.max_samples:
            raise QueryTooLarge("query processing would load too many samples into memory "
                                "in query execution")

    def _times(self, at: At | None, offset_ms: int, steps: np.ndarray) -> np.ndarray:
        if at is None:
            base = steps
        else:
            fixed = {"start": self.start_ms, "end": self.end_ms}.get(at.kind, at.t_ms)
            base = np.full(len(steps), fixed, dtype=np.int64)
        return base - offset_ms

    # -- dispatch -----------------------------------------------------------------------
    def eval(self, expr: Expr, steps: np.ndarray) -> StepValue:
        self._check_deadline()
        if isinstance(expr, NumberLiteral):
            return ScalarSteps(np.full(len(steps), expr.value))
        if isinstance(expr, StringLiteral):
            return StringValue(expr.value)
        if isinstance(expr, VectorSelector):
            return self.vector_selector(expr, steps)
        if isinstance(expr, MatrixSelector):
            return self.matrix_selector(expr, steps)
        if isinstance(expr, Subquery):
            return self.subquery(expr, steps)
        if isinstance(expr, Call):
            return self.call(expr, steps)
        if isinstance(expr, Aggregate):
            return self.aggregate(expr, steps)
        if isinstance(expr, Binary):
            return self.binary(expr, steps)
        if isinstance(expr, Unary):
            return self.unary(expr, steps)
        raise Unsupported(f"cannot evaluate {type(expr).__name__}")

    def eval_vector(self, expr: Expr, steps: np.ndarray) -> VectorSteps:
        value = self.eval(expr, steps)
        if not isinstance(value, VectorSteps):
            raise ExecutionError(f"expected an instant vector, got {type(value).__name__}")
        return value

    def eval_scalar(self, expr: Expr, steps: np.ndarray) -> ScalarSteps:
        value = self.eval(expr, steps)
        if not isinstance(value, ScalarSteps):
            raise ExecutionError(f"expected a scalar, got {type(value).__name__}")
        return value

    # -- selectors ----------------------------------------------------------------------
    def vector_selector(self, node: VectorSelector, steps: np.ndarray,
                        with_times: bool = False) -> VectorSteps:
        ends = self._times(node.at, node.offset_ms, steps)
        lookback = self.limits.lookback_ms
        series = self.querier.select(list(node.matchers), int(ends.min()) - lookback,
                                     int(ends.max()))
        self._count_samples(sum(len(s.t) for s in series))
        n = len(steps)
        labels, values, present = [], np.empty((len(series), n)), np.zeros((len(series), n), bool)
        for row, s in enumerate(series):
            labels.append(s.labels)
            idx = np.searchsorted(s.t, ends, side="right") - 1
            found = idx >= 0
            idx = np.maximum(idx, 0)
            if len(s.t):
                found &= s.t[idx] >= ends - lookback
                v = s.v[idx]
                found &= ~is_stale(v)
                values[row] = (s.t[idx] / 1000.0) if with_times else v
            present[row] = found
        return VectorSteps(labels, values, present).without_empty_rows()

    def matrix_selector(self, node: MatrixSelector, steps: np.ndarray) -> RangeSteps:
        selector = node.selector
        ends = self._times(selector.at, selector.offset_ms, steps)
        series = self.querier.select(list(selector.matchers), int(ends.min()) - node.range_ms,
                                     int(ends.max()))
        self._count_samples(sum(len(s.t) for s in series))
        out = []
        for s in series:
            keep = ~is_stale(s.v)
            out.append(RangeSeries(s.labels, s.t[keep], s.v[keep]))
        return RangeSteps(out, node.range_ms, ends, steps)

    def subquery(self, node: Subquery, steps: np.ndarray) -> RangeSteps:
        ends = self._times(node.at, node.offset_ms, steps)
        step = node.step_ms or self.limits.subquery_step_ms
        first = math.ceil((int(ends.min()) - node.range_ms) / step) * step
        inner_steps = np.arange(first, int(ends.max()) + 1, step, dtype=np.int64)
        if len(inner_steps) == 0:
            return RangeSteps([], node.range_ms, ends, steps)
        inner = self.eval(node.expr, inner_steps)
        if isinstance(inner, ScalarSteps):
            inner = VectorSteps([()], inner.values[None, :], np.ones((1, len(inner_steps)), bool))
        if not isinstance(inner, VectorSteps):
            raise ExecutionError("subqueries take an instant vector or scalar expression")
        out = []
        for i, labels in enumerate(inner.labels):
            mask = inner.present[i]
            if mask.any():
                out.append(RangeSeries(labels, inner_steps[mask], inner.values[i][mask]))
        self._count_samples(sum(len(s.t) for s in out))
        return RangeSteps(out, node.range_ms, ends, steps)

    def range_arg(self, expr: Expr, steps: np.ndarray) -> RangeSteps:
        value = self.eval(expr, steps)
        if not isinstance(value, RangeSteps):
            raise ExecutionError("expected a range vector")
        return value

    # -- functions ----------------------------------------------------------------------
    def call(self, node: Call, steps: np.ndarray) -> StepValue:
        name, args = node.func, node.args
        if name in RANGE_FUNCTIONS:
            return self.range_function(node, steps)
        if name == "absent_over_time":
            rng = self.range_arg(args[0], steps)
            present_any = np.zeros(len(steps), dtype=bool)
            for s in rng.series:
                lo, hi = rng.bounds(s)
                present_any |= hi > lo
            return functions.absent(present_any, _absent_labels(args[0]))
        if name == "time":
            return ScalarSteps(steps / 1000.0)
        if name == "pi":
            return ScalarSteps(np.full(len(steps), math.pi))
        if name == "vector":
            scalar = self.eval_scalar(args[0], steps)
            return VectorSteps([()], scalar.values[None, :].copy(),
                               np.ones((1, len(steps)), bool))
        if name == "scalar":
            return functions.scalar(self.eval_vector(args[0], steps))
        if name == "timestamp":
            if isinstance(args[0], VectorSelector):
                vec = self.vector_selector(args[0], steps, with_times=True)
                return merge_same_labels([drop_name(ls) for ls in vec.labels], vec.values,
                                         vec.present)
            vec = self.eval_vector(args[0], steps)
            times = np.broadcast_to(steps / 1000.0, vec.values.shape).copy()
            return merge_same_labels([drop_name(ls) for ls in vec.labels], times, vec.present)
        if name in functions.CALENDAR:
            if args:
                vec = self.eval_vector(args[0], steps)
            else:
                vec = VectorSteps([()], (steps / 1000.0)[None, :], np.ones((1, len(steps)), bool))
            return functions.calendar(name, vec)
        if name in functions.MATH:
            return functions._map_values(self.eval_vector(args[0], steps), functions.MATH[name])
        if name == "round":
            vec = self.eval_vector(args[0], steps)
            nearest = self.eval_scalar(args[1], steps) if len(args) > 1 else None
            return functions.round_(vec, nearest)
        if name in ("clamp", "clamp_min", "clamp_max"):
            vec = self.eval_vector(args[0], steps)
            if name == "clamp":
                low = self.eval_scalar(args[1], steps).values
                high = self.eval_scalar(args[2], steps).values
                return functions.clamp(vec, low, high)
            bound = self.eval_scalar(args[1], steps).values
            return functions.clamp(vec, bound if name == "clamp_min" else None,
                                   bound if name == "clamp_max" else None)
        if name == "absent":
            vec = self.eval_vector(args[0], steps)
            return functions.absent(np.asarray(vec.present.any(axis=0)), _absent_labels(args[0]))
        if name in ("sort", "sort_desc"):
            return functions.sort(self.eval_vector(args[0], steps), name == "sort_desc")
        if name == "label_replace":
            vec = self.eval_vector(args[0], steps)
            dst, repl, src, regex = (self._string(a) for a in args[1:5])
            return functions.label_replace(vec, dst, repl, src, regex)
        if name == "label_join":
            vec = self.eval_vector(args[0], steps)
            dst, sep, *sources = (self._string(a) for a in args[1:])
            return functions.label_join(vec, dst, sep, sources)
        if name == "histogram_quantile":
            q = self.eval_scalar(args[0], steps).values
            return functions.histogram_quantile(q, self.eval_vector(args[1], steps))
        raise Unsupported(f"function {name}() is not supported by Lookout")

    def _string(self, expr: Expr) -> str:
        value = self.eval(expr, np.empty(0, dtype=np.int64))
        if not isinstance(value, StringValue):
            raise ExecutionError("expected a string argument")
        return value.value

    def range_function(self, node: Call, steps: np.ndarray) -> VectorSteps:
        name = node.func
        matrix_index = 1 if name == "quantile_over_time" else 0
        scalars = [self.eval_scalar(a, steps).values
                   for i, a in enumerate(node.args) if i != matrix_index]
        arg = node.args[matrix_index]
        if isinstance(arg, MatrixSelector):
            from_rollups = self.rollup_function(node, arg, steps)
            if from_rollups is not None:
                return from_rollups
        return self.raw_range_function(node, arg, matrix_index, scalars, steps)

    def raw_range_function(self, node: Call, arg: Expr, matrix_index: int,
                           scalars: list[np.ndarray], steps: np.ndarray) -> VectorSteps:
        name = node.func
        fn = RANGE_FUNCTIONS[name]
        rng = self.range_arg(arg, steps)
        n = len(steps)
        labels, values, present = [], np.empty((len(rng.series), n)), np.zeros(
            (len(rng.series), n), bool)
        extra = {"range_ms": rng.range_ms} if name in NEEDS_RANGE else {}
        for row, s in enumerate(rng.series):
            self._check_deadline()
            lo, hi = rng.bounds(s)
            values[row], present[row] = fn(s.t, s.v, lo, hi, rng.ends, steps, scalars, **extra)
            labels.append(s.labels if name in KEEPS_NAME else drop_name(s.labels))
        return merge_same_labels(labels, values, present).without_empty_rows()

    def rollup_function(self, call: Call, node: MatrixSelector,
                        steps: np.ndarray) -> VectorSteps | None:
        """``call`` over ``node`` from a rollup where that is provably exact (rollups.py):
        the steps whose windows the maintenance backlog still touches are computed from
        raw samples. None means: read raw samples for all steps."""
        name = call.func
        selector = node.selector
        ends = self._times(selector.at, selector.offset_ms, steps)
        bucket = rollups.choose_bucket(name, node.range_ms, ends)
        select_rollup = getattr(self.querier, "select_rollup", None)
        if bucket is None or select_rollup is None:
            return None
        read = select_rollup(list(selector.matchers), bucket,
                             int(ends.min()) - node.range_ms, int(ends.max()),
                             rollups.COLUMNS.get(name, ()))
        if not rollups.exact(read.series, name):
            return None  # not exactly summable: raw samples answer
        current = rollups.current_steps(read.pending, ends, node.range_ms, bucket)
        if not current.any():
            return None
        self._count_samples(sum(len(s.bucket) for s in read.series))
        found = read.series
        values, present = rollups.evaluate(name, found, bucket, node.range_ms, ends)
        present &= current
        labels = [s.labels if name in KEEPS_NAME else drop_name(s.labels) for s in found]
        out = merge_same_labels(labels, values, present)
        if not current.all():
            behind = np.nonzero(~current)[0]
            raw = self.raw_range_function(call, node, 0, [], steps[behind])
            out = _scatter_steps(out, raw, behind)
        return out.without_empty_rows()

    # -- operators ----------------------------------------------------------------------
    def aggregate(self, node: Aggregate, steps: np.ndarray) -> VectorSteps:
        param: ScalarSteps | StringValue | None = None
        if node.param is not None:
            value = self.eval(node.param, steps)
            if not isinstance(value, (ScalarSteps, StringValue)):
                raise ExecutionError(f"invalid parameter for {node.op}")
            param = value
        vec = self.eval_vector(node.expr, steps)
        return aggregations.aggregate(node.op, vec, node.grouping, node.without, param)

    def binary(self, node: Binary, steps: np.ndarray) -> StepValue:
        lhs = self.eval(node.lhs, steps)
        rhs = self.eval(node.rhs, steps)
        if isinstance(lhs, ScalarSteps) and isinstance(rhs, ScalarSteps):
            return binary.scalar_scalar(node.op, lhs, rhs)
        if isinstance(lhs, VectorSteps) and isinstance(rhs, ScalarSteps):
            return binary.vector_scalar(node.op, lhs, rhs, False, node.return_bool)
        if isinstance(lhs, ScalarSteps) and isinstance(rhs, VectorSteps):
            return binary.vector_scalar(node.op, rhs, lhs, True, node.return_bool)
        if isinstance(lhs, VectorSteps) and isinstance(rhs, VectorSteps):
            return binary.vector_vector(node.op, lhs, rhs, node.matching, node.return_bool)
        raise ExecutionError(f"operator {node.op} is not defined between these operand types")

    def unary(self, node: Unary, steps: np.ndarray) -> StepValue:
        value = self.eval(node.expr, steps)
        if isinstance(value, ScalarSteps):
            return ScalarSteps(-value.values)
        if isinstance(value, VectorSteps):
            return merge_same_labels([drop_name(ls) for ls in value.labels], -value.values,
                                     value.present)
        raise ExecutionError("unary minus takes a scalar or an instant vector")


def _scatter_steps(base: VectorSteps, part: VectorSteps, columns: np.ndarray) -> VectorSteps:
    """``base`` with ``part``'s values written into the step ``columns`` it was computed at
    (rows matched by labels; a series only ``part`` has gets a row of its own)."""
    rows = {labels: i for i, labels in enumerate(base.labels)}
    labels = list(base.labels)
    values, present = base.values, base.present
    extra = [ls for ls in part.labels if ls not in rows]
    if extra:
        labels += extra
        values = np.vstack([values, np.zeros((len(extra), base.steps))])
        present = np.vstack([present, np.zeros((len(extra), base.steps), dtype=bool)])
        rows.update({ls: len(base.labels) + k for k, ls in enumerate(extra)})
    for j, ls in enumerate(part.labels):
        i = rows[ls]
        values[i, columns] = part.values[j]
        present[i, columns] = part.present[j]
    return VectorSteps(labels, values, present)


def _absent_labels(expr: Expr) -> tuple[tuple[str, str], ...]:
    if isinstance(expr, MatrixSelector):
        expr = expr.selector
    if isinstance(expr, VectorSelector):
        return tuple(sorted(expr.equality_labels().items()))
    return ()
