"""The provisioned "Lookout internals" dashboard asks only for metrics Lookout's services
really export, in PromQL that Lookout's engine parses."""

from __future__ import annotations

import json
from pathlib import Path

from prometheus_client import REGISTRY

from lookout_query.promql.ast import MatrixSelector, VectorSelector, parse

ROOT = Path(__file__).resolve().parents[1]
BOARD = ROOT / "infra" / "dashboards" / "lookout-internals.json"
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_sum", "_count"),
            "gauge": ("",), "summary": ("_sum", "_count", "")}


def exported_metrics() -> set[str]:
    # Importing the services registers their metrics in the default registry.
    import lookout_alerts.evaluator
    import lookout_alerts.notify.delivery  # noqa: F401
    import lookout_ingest.app  # noqa: F401
    import lookout_query.app  # noqa: F401
    import lookout_worker.consumer
    import lookout_worker.queue_probe
    import lookout_worker.store  # noqa: F401

    names = {"up", "scrape_duration_seconds"}  # added by the self-scrape
    for family in REGISTRY.collect():
        names |= {family.name + suffix for suffix in SUFFIXES.get(family.type, ("",))}
    return names


def selected_metrics(node: object) -> set[str]:
    if isinstance(node, MatrixSelector):
        node = node.selector
    if isinstance(node, VectorSelector):
        return {m.value for m in node.matchers if m.name == "__name__" and m.op == "="}
    found: set[str] = set()
    for value in vars(node).values() if hasattr(node, "__dict__") else ():
        for child in value if isinstance(value, tuple) else (value,):
            if hasattr(child, "__dict__"):
                found |= selected_metrics(child)
    return found


def test_internals_dashboard_queries_exported_metrics():
    board = json.loads(BOARD.read_text())
    assert board["name"] == "Lookout internals"
    exported = exported_metrics()
    asked = set()
    for panel in board["panels"]:
        asked |= selected_metrics(parse(panel["query"]))
    assert asked, "the dashboard selects no metric"
    assert sorted(asked - exported) == []
    for wanted in ("ingest_points_total", "queue_depth", "db_connections_active",
                   "query_cache_hits_total", "alert_evaluations_total", "alerts_firing"):
        assert wanted in asked
