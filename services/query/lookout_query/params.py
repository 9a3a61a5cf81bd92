"""Request parameters of the query APIs, parsed as Prometheus 2.42 parses them.

Pure functions from form values (or Lookout's JSON body) to typed requests; every
refusal is ``BadQuery`` (``bad_data``, 400) with Prometheus's own wording, e.g.
``invalid parameter "start": cannot parse "x" to a valid timestamp``.

Times: unix seconds with an optional fraction (rounded to the millisecond) or RFC 3339
(``2026-01-02T03:04:05.678Z``). Durations (``step``, ``timeout``): seconds as a float,
or Prometheus's duration syntax (``1h30m``, ``15s``, ``500ms``). Lookout works in whole
milliseconds: a step is cut to the millisecond, and one under a millisecond is refused.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from werkzeug.datastructures import MultiDict

from .promql import ast
from .promql.model import METRIC_NAME, BadQuery, Matcher

MAX_POINTS_PER_SERIES = 11_000

# Prometheus's "no bound" times (what its clients send for an open range), in ms.
MIN_TIME_MS = -9_223_309_901_257_974_000
MAX_TIME_MS = 9_223_309_901_257_974_999
MIN_TIME_TEXT = "-292273086-05-16T16:47:06Z"
MAX_TIME_TEXT = "292277025-08-18T07:12:54.999999999Z"

NS_PER_MS = 1_000_000
NS_PER_S = 1_000_000_000
INT64_MAX = 2**63 - 1

_DECIMAL_FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INFINITY = re.compile(r"[+-]?(?:inf|infinity)", re.IGNORECASE)
_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:(Z)|([+-])(\d{2}):(\d{2}))")
_DURATION = re.compile(
    r"(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?")
_DURATION_UNITS_MS = (365 * 86_400_000, 7 * 86_400_000, 86_400_000, 3_600_000, 60_000, 1000, 1)
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# Request values (URL query and form body), several per name possible (``match[]``).
Form = MultiDict[str, str]


def go_quote(text: str) -> str:
    """``text`` quoted as Go's ``%q`` quotes it in an error message."""
    out = ['"']
    for c in text:
        if c in '"\\':
            out.append("\\" + c)
        elif c == "\n":
            out.append("\\n")
        elif c == "\t":
            out.append("\\t")
        elif c == "\r":
            out.append("\\r")
        elif not c.isprintable():
            out.append(f"\\x{ord(c):02x}" if ord(c) < 0x80 else f"\\u{ord(c):04x}")
        else:
            out.append(c)
    out.append('"')
    return "".join(out)


def _go_round(x: float) -> float:
    """Go's math.Round: halves away from zero (Python's round() goes to even)."""
    return math.copysign(math.floor(abs(x) + 0.5), x)


# -- times and durations -----------------------------------------------------------


class _Unparsable(ValueError):
    pass


def parse_time_ns(text: str) -> int:
    """Unix nanoseconds of a timestamp parameter, exactly as Prometheus computes them."""
    if _DECIMAL_FLOAT.fullmatch(text):
        seconds = float(text)
        if math.isfinite(seconds):
            fraction, whole = math.modf(seconds)
            fraction = _go_round(fraction * 1000) / 1000
            ns = int(whole) * NS_PER_S + int(fraction * 1e9)
            # Beyond Prometheus's bounds Go's arithmetic wraps; Lookout keeps the bound.
            return min(max(ns, MIN_TIME_MS * NS_PER_MS), MAX_TIME_MS * NS_PER_MS + 999_999)
    if text == MIN_TIME_TEXT:
        return MIN_TIME_MS * NS_PER_MS
    if text == MAX_TIME_TEXT:
        return MAX_TIME_MS * NS_PER_MS + 999_999
    match = _RFC3339.fullmatch(text)
    if match:
        year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
        digits, zulu, sign, off_h, off_m = match.groups()[6:]
        try:
            moment = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
        except ValueError:
            moment = None
        if moment is not None and (zulu or (int(off_h) < 24 and int(off_m) < 60)):
            delta = moment - _EPOCH
            seconds_int = delta.days * 86_400 + delta.seconds
            if not zulu:
                offset = int(off_h) * 3600 + int(off_m) * 60
                seconds_int -= offset if sign == "+" else -offset
            nanos = int((digits or "").ljust(9, "0")[:9])
            return seconds_int * NS_PER_S + nanos
    raise _Unparsable(f"cannot parse {go_quote(text)} to a valid timestamp")


def ns_to_ms(ns: int) -> int:
    """Prometheus's ``timestamp.FromTime``: whole milliseconds, rounded down."""
    return ns // NS_PER_MS


def parse_time_ms(text: str) -> int:
    return ns_to_ms(parse_time_ns(text))


def parse_duration_ns(text: str) -> int:
    """A duration parameter in nanoseconds: float seconds or ``1h30m``-style."""
    seconds = float(text) if _DECIMAL_FLOAT.fullmatch(text) else math.nan
    if _INFINITY.fullmatch(text) or math.isfinite(seconds):  # Go's ParseFloat took it
        ns = float(text) * 1e9
        if ns > float(INT64_MAX) or ns < float(-(2**63)):
            raise _Unparsable(
                f"cannot parse {go_quote(text)} to a valid duration. It overflows int64")
        return int(ns)
    if text == "0":
        return 0
    match = _DURATION.fullmatch(text) if text else None
    if match:
        total_ms = 0
        for amount, unit_ms in zip(match.groups(), _DURATION_UNITS_MS, strict=True):
            if amount is not None:
                total_ms += int(amount) * unit_ms
        if total_ms * NS_PER_MS <= INT64_MAX:
            return total_ms * NS_PER_MS
    raise _Unparsable(f"cannot parse {go_quote(text)} to a valid duration")


def _invalid(name: str, reason: str) -> BadQuery:
    return BadQuery(f"invalid parameter {go_quote(name)}: {reason}")


def required_time(value: str | None, name: str) -> int:
    """A time parameter that must be given (``query_range``'s start and end), in ns."""
    try:
        return parse_time_ns(value or "")
    except _Unparsable as exc:
        raise _invalid(name, str(exc)) from None


def optional_time(value: str | None, name: str, default_ns: int) -> int:
    """A time parameter with a default, in ns; Prometheus words its errors otherwise."""
    if not value:
        return default_ns
    try:
        return parse_time_ns(value)
    except _Unparsable as exc:
        raise _invalid(name, f"Invalid time value for '{name}': {exc}") from None


def duration_param(value: str | None, name: str) -> int:
    try:
        return parse_duration_ns(value or "")
    except _Unparsable as exc:
        raise _invalid(name, str(exc)) from None


# -- requests -------------------------------------------------------------------------


@dataclass(frozen=True)
class InstantQuery:
    query: str
    time_ms: int
    timeout_s: float | None = None  # from the request; None: the service's limit


@dataclass(frozen=True)
class RangeQuery:
    query: str
    start_ms: int
    end_ms: int
    step_ms: int
    timeout_s: float | None = None


@dataclass(frozen=True)
class SeriesQuery:
    """What ``series``, ``labels`` and ``label/<name>/values`` select: series any of
    ``matcher_sets`` holds for (every series for none) with a sample in the range."""

    matcher_sets: tuple[tuple[Matcher, ...], ...]
    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class MetadataQuery:
    metric: str | None
    limit: int | None  # None: every metric


def parse_query_text(query: str, *, prefix_parameter: bool) -> None:
    """Refuse a query that does not parse, before anything runs (the engine parses it
    again from its cache). Prometheus names the parameter for instant queries only."""
    try:
        ast.parse(query)
    except BadQuery as exc:
        if prefix_parameter:
            raise _invalid("query", str(exc)) from None
        raise


def _timeout(form: Form) -> float | None:
    text = form.get("timeout")
    if not text:
        return None
    return duration_param(text, "timeout") / NS_PER_S


def instant_query(form: Form, now_ms: int) -> InstantQuery:
    time_ns = optional_time(form.get("time"), "time", now_ms * NS_PER_MS)
    timeout_s = _timeout(form)
    query = form.get("query") or ""
    parse_query_text(query, prefix_parameter=True)
    return InstantQuery(query, ns_to_ms(time_ns), timeout_s)


def range_query(form: Form) -> RangeQuery:
    start_ns = required_time(form.get("start"), "start")
    end_ns = required_time(form.get("end"), "end")
    if end_ns < start_ns:
        raise _invalid("end", "end timestamp must not be before start time")
    step_ns = duration_param(form.get("step"), "step")
    step_ms = step_ns // NS_PER_MS
    check_range(start_ns, end_ns, step_ns, step_ms)
    timeout_s = _timeout(form)
    query = form.get("query") or ""
    parse_query_text(query, prefix_parameter=False)
    return RangeQuery(query, ns_to_ms(start_ns), ns_to_ms(end_ns), step_ms, timeout_s)


def check_range(start_ns: int, end_ns: int, step_ns: int, step_ms: int) -> None:
    if step_ns <= 0 or step_ms <= 0:
        raise _invalid("step", "zero or negative query resolution step widths are not "
                               "accepted. Try a positive integer")
    if (end_ns - start_ns) // step_ns > MAX_POINTS_PER_SERIES:
        raise BadQuery("exceeded maximum resolution of 11,000 points per timeseries. "
                       "Try decreasing the query resolution (?step=XX)")


def matcher_sets(values: Sequence[str]) -> tuple[tuple[Matcher, ...], ...]:
    """``match[]`` selectors as matcher sets; each must select by a non-empty matcher."""
    sets = []
    for text in values:
        try:
            expr = ast.parse(text)
        except BadQuery as exc:
            if "at least one non-empty matcher" in str(exc):
                raise BadQuery("match[] must contain at least one non-empty matcher") from None
            raise
        if not isinstance(expr, ast.VectorSelector) or expr.offset_ms or expr.at is not None:
            raise BadQuery(f"parse error: {go_quote(text)} is not a series selector "
                           "(like up{job=\"api\"})")
        sets.append(expr.matchers)
    return tuple(sets)


def series_query(form: Form, *, match_required: bool, wrap_match_errors: bool) -> SeriesQuery:
    """``series`` needs at least one ``match[]`` and names the parameter in its match
    errors; ``labels`` and ``label/<name>/values`` do neither (as in Prometheus)."""
    matches = form.getlist("match[]")
    if match_required and not matches:
        raise BadQuery("no match[] parameter provided")
    start_ns = optional_time(form.get("start"), "start", MIN_TIME_MS * NS_PER_MS)
    end_ns = optional_time(form.get("end"), "end", MAX_TIME_MS * NS_PER_MS)
    try:
        sets = matcher_sets(matches)
    except BadQuery as exc:
        if wrap_match_errors:
            raise _invalid("match[]", str(exc)) from None
        raise
    return SeriesQuery(sets, ns_to_ms(start_ns), ns_to_ms(end_ns))


def label_name(name: str) -> str:
    if name != METRIC_NAME and not _LABEL_NAME.fullmatch(name):
        raise BadQuery(f"invalid label name: {go_quote(name)}")
    return name


def metadata_query(form: Form) -> MetadataQuery:
    limit: int | None = None
    text = form.get("limit")
    if text:
        try:
            limit = int(text, 10)
        except ValueError:
            raise BadQuery("limit must be a number") from None
        if limit < 0:
            limit = None
    return MetadataQuery(form.get("metric") or None, limit)


# -- Lookout's own JSON body ---------------------------------------------------------

LOOKOUT_FIELDS = {"query", "time", "start", "end", "step", "timeout"}
DEFAULT_POINTS = 250  # a range without a step gets about this many points


def _body_text(body: Mapping[str, object], name: str) -> str | None:
    """A JSON time or duration: a number (seconds) or a string; as Prometheus's text."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise BadQuery(f"invalid parameter {go_quote(name)}: must be a number or a string")
    if isinstance(value, float):
        return repr(value)
    return str(value)


def lookout_query(body: object, now_ms: int) -> InstantQuery | RangeQuery:
    """``POST /api/v1/query``: ``{query, start, end, step?}`` is a range query (``step``
    defaults to a 250th of the range, in whole seconds, at least 1 s); ``{query, time?}``
    an instant query (``time`` defaults to now)."""
    if not isinstance(body, dict):
        raise BadQuery("the request body must be a JSON object")
    unknown = sorted(set(body) - LOOKOUT_FIELDS)
    if unknown:
        raise BadQuery(f"unknown field {unknown[0]!r}; the fields are "
                       + ", ".join(sorted(LOOKOUT_FIELDS)))
    query = body.get("query")
    if not isinstance(query, str) or not query.strip():
        raise BadQuery("'query' must be a non-empty string of PromQL")
    start, end = _body_text(body, "start"), _body_text(body, "end")
    time_text, step = _body_text(body, "time"), _body_text(body, "step")
    timeout_text = _body_text(body, "timeout")
    timeout_s = None if timeout_text is None else duration_param(timeout_text, "timeout") / 1e9
    if start is None and end is None:
        if step is not None:
            raise BadQuery("'step' needs 'start' and 'end' (a range query)")
        time_ns = optional_time(time_text, "time", now_ms * NS_PER_MS)
        parse_query_text(query, prefix_parameter=False)
        return InstantQuery(query, ns_to_ms(time_ns), timeout_s)
    if start is None or end is None:
        raise BadQuery("a range query needs both 'start' and 'end'")
    if time_text is not None:
        raise BadQuery("'time' is for instant queries; a range query has 'start' and 'end'")
    start_ns, end_ns = required_time(start, "start"), required_time(end, "end")
    if end_ns < start_ns:
        raise _invalid("end", "end timestamp must not be before start time")
    if step is None:
        step_ns = max((end_ns - start_ns) // DEFAULT_POINTS // NS_PER_S, 1) * NS_PER_S
    else:
        step_ns = duration_param(step, "step")
    step_ms = step_ns // NS_PER_MS
    check_range(start_ns, end_ns, step_ns, step_ms)
    parse_query_text(query, prefix_parameter=False)
    return RangeQuery(query, ns_to_ms(start_ns), ns_to_ms(end_ns), step_ms, timeout_s)
