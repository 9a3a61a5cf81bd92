"""The compliance run's figures: matched / total overall, per query list and per kind
of failure, and each failure — as text for a person and as a JSON document."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from typing import Any

from .compare import FAILURE_KINDS, Outcome
from .expand import QueryCase


@dataclass(frozen=True)
class CaseResult:
    case: QueryCase
    outcome: Outcome
    prometheus_s: float = 0.0  # how long each system took to answer
    lookout_s: float = 0.0
    prometheus_series: int = 0  # the size of Prometheus's answer
    prometheus_points: int = 0


def _share(matched: int, total: int) -> dict[str, Any]:
    return {"matched": matched, "total": total,
            "percent": round(100 * matched / total, 2) if total else 0.0}


def summarise(results: list[CaseResult], run: dict[str, Any]) -> dict[str, Any]:
    """The JSON report: ``run`` (window, step, versions...) plus the figures."""
    sources = list(dict.fromkeys(r.case.source for r in results))
    failures = [r for r in results if not r.outcome.matched]
    lookout_times = sorted(r.lookout_s for r in results)
    return {
        "run": run,
        "totals": _share(len(results) - len(failures), len(results)),
        "by_source": {
            source: _share(sum(r.outcome.matched for r in results if r.case.source == source),
                           sum(r.case.source == source for r in results))
            for source in sources},
        "failures_by_kind": dict(Counter(r.outcome.kind for r in failures).most_common()),
        # Matched, but on nothing: both answered no series (or both errored).
        "matched_empty": sum(r.outcome.matched and not r.prometheus_series for r in results),
        "lookout_latency_s": {
            "p50": _quantile(lookout_times, 0.5), "p95": _quantile(lookout_times, 0.95),
            "max": round(lookout_times[-1], 4) if lookout_times else 0.0},
        "failures": [_case(r) for r in failures],
        "cases": [_case(r) for r in results],
    }


def _case(r: CaseResult) -> dict[str, Any]:
    return {"query": r.case.query, "source": r.case.source, "should_fail": r.case.should_fail,
            "matched": r.outcome.matched, "kind": r.outcome.kind, "detail": r.outcome.detail,
            "prometheus_s": round(r.prometheus_s, 4), "lookout_s": round(r.lookout_s, 4),
            "prometheus_series": r.prometheus_series, "prometheus_points": r.prometheus_points}


def _quantile(ordered: list[float], q: float) -> float:
    if not ordered:
        return 0.0
    return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))], 4)


def render_text(summary: dict[str, Any]) -> str:
    lines = []
    failures = summary["failures"]
    if failures:
        lines.append(f"Failures ({len(failures)}):")
        for f in failures:
            lines.append(f"  FAIL [{f['kind']}] {f['query']}   ({f['source']})")
            if f["detail"]:
                lines.append(f"       {f['detail']}")
        lines.append("")
        lines.append("Failures by kind:")
        for kind, count in summary["failures_by_kind"].items():
            lines.append(f"  {count:4d}  {kind}: {FAILURE_KINDS.get(kind, '')}")
        lines.append("")
    width = max([len(s) for s in summary["by_source"]] + [5])
    for source, share in summary["by_source"].items():
        lines.append(f"{source:<{width}}  {_figure(share)}")
    lines.append(f"{'total':<{width}}  {_figure(summary['totals'])}")
    lines.append(f"({summary['matched_empty']} of the matched queries answered no series on "
                 "either side, or an error on both)")
    latency = summary["lookout_latency_s"]
    lines.append(f"Lookout query_range latency: p50 {latency['p50']:.3f} s, "
                 f"p95 {latency['p95']:.3f} s, max {latency['max']:.3f} s")
    return "\n".join(lines)


def _figure(share: dict[str, Any]) -> str:
    return f"{share['matched']:4d} / {share['total']:4d} matched ({share['percent']:.2f} %)"
