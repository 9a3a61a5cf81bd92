"""Live subscriptions: who watches which range query, and which of them a batch of
newly ingested metrics touches.

Clients watching the same query over the same range and step share one entry
(``SubscriptionKey``): it is evaluated once per change and the answer goes to all of
them. Pure bookkeeping, no I/O; the server (server.py) holds one registry per process
and guards it with its own lock.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

from ..params import MAX_POINTS_PER_SERIES
from ..promql import ast
from ..promql.model import METRIC_NAME, BadQuery, Matcher


@dataclass(frozen=True)
class SubscriptionKey:
    query: str
    range_ms: int
    step_ms: int


@dataclass(frozen=True)
class Request:
    """A validated ``subscribe`` message."""

    id: str
    key: SubscriptionKey


class SubscribeRefused(ValueError):
    """The ``subscribe`` message cannot be served; ``kind`` is the error type."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


def _number(payload: dict[str, object], name: str) -> float:
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or \
            not math.isfinite(value):
        raise SubscribeRefused("bad_data", f"{name!r} must be a finite number of seconds, "
                                           f"got {value!r}")
    return float(value)


def parse_subscribe(payload: object) -> Request:
    """``{"id", "query", "range", "step"}`` → Request, or SubscribeRefused saying what is
    wrong (the same PromQL and resolution errors as the range query API)."""
    if not isinstance(payload, dict):
        raise SubscribeRefused("bad_data", "subscribe takes an object {id, query, range, step}")
    sub_id = payload.get("id")
    if not isinstance(sub_id, str) or not sub_id or len(sub_id) > 200:
        raise SubscribeRefused("bad_data", "'id' must be a non-empty string of at most 200 "
                                           "characters")
    query = payload.get("query")
    if not isinstance(query, str):
        raise SubscribeRefused("bad_data", "'query' must be a PromQL string")
    range_s, step_s = _number(payload, "range"), _number(payload, "step")
    range_ms, step_ms = round(range_s * 1000), round(step_s * 1000)
    if step_ms <= 0:
        raise SubscribeRefused("bad_data", "'step' must be at least 0.001 s")
    if range_ms < 0:
        raise SubscribeRefused("bad_data", "'range' must not be negative")
    if range_ms // step_ms > MAX_POINTS_PER_SERIES:
        raise SubscribeRefused(
            "bad_data", f"range/step gives {range_ms // step_ms} points per series, more than "
                        f"{MAX_POINTS_PER_SERIES:,}; use a larger step")
    try:
        ast.parse(query)
    except BadQuery as exc:
        raise SubscribeRefused("bad_data", str(exc)) from None
    return Request(sub_id, SubscriptionKey(query, range_ms, step_ms))


def window(key: SubscriptionKey, now_ms: int) -> tuple[int, int]:
    """(start, end) in ms: the range ending at the first step boundary at or after
    ``now`` — points sit on a fixed grid (they do not jitter between updates) and the
    last one already holds a sample that arrived a moment ago."""
    end = -(-now_ms // key.step_ms) * key.step_ms
    return end - (key.range_ms // key.step_ms) * key.step_ms, end


# -- which metrics a query reads --------------------------------------------------------

def _selectors(expr: ast.Expr) -> Iterable[ast.VectorSelector]:
    if isinstance(expr, ast.VectorSelector):
        yield expr
    elif isinstance(expr, ast.MatrixSelector):
        yield expr.selector
    elif isinstance(expr, ast.Subquery):
        yield from _selectors(expr.expr)
    elif isinstance(expr, ast.Call):
        for arg in expr.args:
            yield from _selectors(arg)
    elif isinstance(expr, ast.Aggregate):
        yield from _selectors(expr.expr)
        if expr.param is not None:
            yield from _selectors(expr.param)
    elif isinstance(expr, ast.Binary):
        yield from _selectors(expr.lhs)
        yield from _selectors(expr.rhs)
    elif isinstance(expr, ast.Unary):
        yield from _selectors(expr.expr)


@dataclass(frozen=True)
class MetricFilter:
    """The metric-name matchers of each selector of a query: a metric touches the query
    when it satisfies every name matcher of at least one selector."""

    name_matchers: tuple[tuple[Matcher, ...], ...]

    @classmethod
    def of(cls, query: str) -> MetricFilter:
        return cls(tuple(tuple(m for m in s.matchers if m.name == METRIC_NAME)
                         for s in _selectors(ast.parse(query))))

    def touched_by(self, metrics: Iterable[str]) -> bool:
        names = list(metrics)
        for matchers in self.name_matchers:
            if not matchers:  # a selector without a name matcher reads every metric
                return True
            if any(all(m.matches(name) for m in matchers) for name in names):
                return True
        return False


@dataclass
class Entry:
    key: SubscriptionKey
    filter: MetricFilter
    watchers: set[tuple[str, str]] = field(default_factory=set)  # (sid, subscription id)


class Registry:
    """Subscriptions of this process, grouped by what they ask."""

    def __init__(self) -> None:
        self.entries: dict[SubscriptionKey, Entry] = {}
        self.by_sid: dict[str, dict[str, SubscriptionKey]] = {}

    def __len__(self) -> int:
        return sum(len(s) for s in self.by_sid.values())

    def count(self, sid: str) -> int:
        return len(self.by_sid.get(sid, {}))

    def add(self, sid: str, request: Request) -> None:
        """Subscribe (an id already in use on the connection is replaced)."""
        self.remove(sid, request.id)
        entry = self.entries.get(request.key)
        if entry is None:
            entry = self.entries[request.key] = Entry(request.key,
                                                      MetricFilter.of(request.key.query))
        entry.watchers.add((sid, request.id))
        self.by_sid.setdefault(sid, {})[request.id] = request.key

    def remove(self, sid: str, sub_id: str) -> bool:
        key = self.by_sid.get(sid, {}).pop(sub_id, None)
        if key is None:
            return False
        entry = self.entries.get(key)
        if entry is not None:
            entry.watchers.discard((sid, sub_id))
            if not entry.watchers:
                del self.entries[key]
        return True

    def drop_connection(self, sid: str) -> None:
        for sub_id in list(self.by_sid.get(sid, {})):
            self.remove(sid, sub_id)
        self.by_sid.pop(sid, None)

    def touched(self, metrics: Iterable[str]) -> list[SubscriptionKey]:
        names = list(metrics)
        return [key for key, entry in self.entries.items() if entry.filter.touched_by(names)]

    def watchers(self, key: SubscriptionKey) -> list[tuple[str, str]]:
        entry = self.entries.get(key)
        return sorted(entry.watchers) if entry else []
