"""Comparing two answers to the same range query: Prometheus's (the reference) and
Lookout's.

The rules, and how they relate to the compliance project's own comparer:

- **Errors.** A case marked ``should_fail`` matches when both systems answer with an
  error (any error type: the messages differ between implementations). Otherwise both
  must succeed; one answering and the other not is a failure. Both erroring on a case
  not marked ``should_fail`` also counts as matched (the compliance tester aborts the
  whole run there instead); the outcome says so, so a reference error never hides.
  A Lookout error of 422 that says it does not support something is its own kind
  (``unsupported``), as the compliance tester reports 501s apart.
- **Result type** must be equal (a range query always answers ``matrix``).
- **Series** are matched by their exact label set, ``__name__`` included: the same
  sets on both sides, none twice. Order does not matter (the compliance tester sorts
  the tested side's matrix before comparing; Prometheus's is sorted already).
- **Points**: the same millisecond timestamps, and values within a relative tolerance
  (1e-5 by default): ``|a - b| <= tolerance * min(|a|, |b|)`` — so 0 only equals 0 —
  with NaN equal to NaN and an infinity only equal to itself. This is the compliance
  tester's float rule (fraction 1e-5, margin 0).
- Warnings are ignored, as there.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

from .expand import QueryCase

Labels = tuple[tuple[str, str], ...]
Points = list[tuple[int, float]]

DEFAULT_TOLERANCE = 1e-5
MAX_EXAMPLES = 3  # how many differing series / points a failure's description names


@dataclass(frozen=True)
class Answer:
    """One system's answer to a range query, decoded from its HTTP response."""

    ok: bool
    http_status: int
    result_type: str = ""
    series: list[tuple[Labels, Points]] = field(default_factory=list)
    error_type: str = ""
    error: str = ""

    @property
    def unsupported(self) -> bool:
        text = self.error.lower()
        return not self.ok and self.http_status == 422 and (
            "unsupported" in text or "not supported" in text)


@dataclass(frozen=True)
class Outcome:
    matched: bool
    kind: str  # "match" or the failure's class (see FAILURE_KINDS)
    detail: str = ""  # what differed, for a person


FAILURE_KINDS = {
    "unexpected_error": "Lookout answered an error where Prometheus answered a result",
    "unsupported": "Lookout answered 422: not supported",
    "unexpected_success": "Lookout answered a result where Prometheus answered an error",
    "result_type": "the result types differ",
    "series": "the label sets of the series differ",
    "points": "the same series, but timestamps or values differ",
    "reference": "Prometheus did not answer as the list says it should (should_fail)",
}


def parse_answer(http_status: int, body: bytes | str) -> Answer:
    """Decode a Prometheus-API JSON envelope; anything else is an error answer."""
    try:
        envelope = json.loads(body)
    except ValueError:
        text = body.decode(errors="replace") if isinstance(body, bytes) else body
        return Answer(False, http_status, error_type=f"http_{http_status}",
                      error=f"HTTP {http_status}, not JSON: {text[:200]!r}")
    if not isinstance(envelope, dict) or envelope.get("status") != "success":
        envelope = envelope if isinstance(envelope, dict) else {}
        return Answer(False, http_status, error_type=str(envelope.get("errorType", "")),
                      error=str(envelope.get("error", f"HTTP {http_status}")))
    data = envelope.get("data") or {}
    result_type = str(data.get("resultType", ""))
    result = data.get("result")
    series: list[tuple[Labels, Points]] = []
    if result_type == "matrix" and isinstance(result, list):
        for item in result:
            labels = tuple(sorted(item.get("metric", {}).items()))
            points = [(_ms(t), float(v)) for t, v in item.get("values", [])]
            series.append((labels, points))
    elif result_type in ("scalar", "string") and isinstance(result, list):
        series.append(((), [(_ms(result[0]), float(result[1]) if result_type == "scalar"
                             else math.nan)]))
    return Answer(True, http_status, result_type, series)


def _ms(seconds: float | str) -> int:
    return round(float(seconds) * 1000)


def values_match(a: float, b: float, tolerance: float = DEFAULT_TOLERANCE) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    if math.isinf(a) or math.isinf(b):
        return a == b
    return abs(a - b) <= tolerance * min(abs(a), abs(b))


def compare(case: QueryCase, reference: Answer, candidate: Answer,
            tolerance: float = DEFAULT_TOLERANCE) -> Outcome:
    """Does ``candidate`` (Lookout) answer ``case`` as ``reference`` (Prometheus) does?"""
    if not reference.ok or not candidate.ok:
        return _compare_errors(case, reference, candidate)
    if case.should_fail:
        return Outcome(False, "reference",
                       "marked should_fail, but both systems answered a result")
    if case.skip_comparison:
        return Outcome(True, "match", "both answered; comparison skipped")
    if reference.result_type != candidate.result_type:
        return Outcome(False, "result_type", f"Prometheus answered {reference.result_type}, "
                                             f"Lookout {candidate.result_type}")
    return _compare_series(reference.series, candidate.series, tolerance)


def _compare_errors(case: QueryCase, reference: Answer, candidate: Answer) -> Outcome:
    if not reference.ok and not candidate.ok:
        note = "" if case.should_fail else (
            f"not marked should_fail, but Prometheus also errored: {reference.error}")
        return Outcome(True, "match", note)
    if reference.ok and case.should_fail:
        return Outcome(False, "reference", "marked should_fail and Lookout errored, but "
                                           "Prometheus answered a result")
    if reference.ok:
        kind = "unsupported" if candidate.unsupported else "unexpected_error"
        return Outcome(False, kind, f"Lookout {candidate.http_status} "
                                    f"{candidate.error_type}: {candidate.error}")
    return Outcome(False, "unexpected_success",
                   f"Prometheus {reference.http_status} {reference.error_type}: "
                   f"{reference.error}; Lookout answered {_count(candidate.series)}")


def _compare_series(reference: list[tuple[Labels, Points]],
                    candidate: list[tuple[Labels, Points]], tolerance: float) -> Outcome:
    for name, side in (("Prometheus", reference), ("Lookout", candidate)):
        seen: set[Labels] = set()
        for labels, _ in side:
            if labels in seen:
                return Outcome(False, "series", f"{name} answered {format_labels(labels)} twice")
            seen.add(labels)
    want, got = dict(reference), dict(candidate)
    missing = [labels for labels in want if labels not in got]
    extra = [labels for labels in got if labels not in want]
    if missing or extra:
        parts = [f"{len(want)} series in Prometheus, {len(got)} in Lookout"]
        if missing:
            parts.append(f"only in Prometheus: {_examples(missing)}")
        if extra:
            parts.append(f"only in Lookout: {_examples(extra)}")
        return Outcome(False, "series", "; ".join(parts))
    differing = []
    for labels, points in want.items():
        difference = _compare_points(points, got[labels], tolerance)
        if difference:
            differing.append(f"{format_labels(labels)}: {difference}")
    if differing:
        head = f"{len(differing)} of {len(want)} series differ"
        return Outcome(False, "points", "; ".join([head, *differing[:MAX_EXAMPLES]]))
    return Outcome(True, "match")


def _compare_points(want: Points, got: Points, tolerance: float) -> str:
    """"" when equal, else what differs first."""
    want_t, got_t = [t for t, _ in want], [t for t, _ in got]
    if want_t != got_t:
        only_want = sorted(set(want_t) - set(got_t))
        only_got = sorted(set(got_t) - set(want_t))
        parts = [f"{len(want)} points in Prometheus, {len(got)} in Lookout"]
        if only_want:
            parts.append(f"only in Prometheus at {_times(only_want)}")
        if only_got:
            parts.append(f"only in Lookout at {_times(only_got)}")
        return ", ".join(parts)
    bad = [(t, a, b) for (t, a), (_, b) in zip(want, got, strict=True)
           if not values_match(a, b, tolerance)]
    if not bad:
        return ""
    t, a, b = bad[0]
    return (f"{len(bad)} of {len(want)} values differ, first at {format_time(t)}: "
            f"Prometheus {a!r}, Lookout {b!r}")


def format_labels(labels: Labels) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in labels) + "}"


def format_time(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%H:%M:%S.%f")[:-3]


def _times(ms: list[int]) -> str:
    shown = ", ".join(format_time(t) for t in ms[:MAX_EXAMPLES])
    return shown + (f" (+{len(ms) - MAX_EXAMPLES} more)" if len(ms) > MAX_EXAMPLES else "")


def _examples(labels: list[Labels]) -> str:
    shown = ", ".join(format_labels(x) for x in labels[:MAX_EXAMPLES])
    return shown + (f" (+{len(labels) - MAX_EXAMPLES} more)" if len(labels) > MAX_EXAMPLES
                    else "")


def _count(series: list[tuple[Labels, Points]]) -> str:
    return f"{len(series)} series"
