# ruff: noqa: F811 (fixtures are imported from accounts_fixtures)
"""Dashboards and panels CRUD, optimistic concurrency, validation, Lookout JSON round
trip, Grafana imports with their reports, and provisioning — on real PostgreSQL."""

import copy
import json
from pathlib import Path

import pytest

from .accounts_fixtures import (  # noqa: F401 (fixtures)
    accounts_template,
    app,
    dashboard_body,
    make_app,
    migrated_database,
    users,
)

GRAFANA_DATA = Path(__file__).resolve().parents[3] / ".." / "shared" / "data" / "grafana"
REPO = Path(__file__).resolve().parents[3]


def test_crud_and_stale_save_is_409(app, users):
    c = app.test_client()
    ed = users["editor"].auth
    r = c.post("/api/v1/dashboards", json=dashboard_body(), headers=ed)
    assert r.status_code == 201, r.json
    board = r.json
    assert board["version"] == 1 and board["owner"]["username"] == "editor"
    assert [p["title"] for p in board["panels"]] == ["Up"]
    url = f"/api/v1/dashboards/{board['id']}"
    first = c.put(url, json=dashboard_body("Renamed", version=1), headers=ed)
    assert first.status_code == 200 and first.json["version"] == 2
    stale = c.put(url, json=dashboard_body("Mine wins", version=1), headers=ed)
    assert stale.status_code == 409
    assert stale.json["error"]["current_version"] == 2
    assert "current version is 2" in stale.json["error"]["message"]
    assert c.get(url, headers=ed).json["name"] == "Renamed"  # never silently overwritten
    # Panels: add, save with version, stale panel save, delete; each bumps the dashboard.
    r = c.post(url + "/panels", json={"type": "gauge", "title": "CPU", "query": "cpu",
                                      "position": {"x": 12, "y": 0, "w": 6, "h": 4}},
               headers=ed)
    assert r.status_code == 201
    panel = r.json
    purl = f"/api/v1/panels/{panel['id']}"
    changed = {**panel, "title": "CPU now"}
    assert c.put(purl, json=changed, headers=ed).json["version"] == 2
    r = c.put(purl, json=changed, headers=ed)
    assert r.status_code == 409 and r.json["error"]["current_version"] == 2
    assert c.get(url, headers=ed).json["version"] == 4
    assert c.put(url, json=dashboard_body(version=2), headers=ed).status_code == 409
    assert c.delete(purl, headers=ed).status_code == 204
    assert c.get(purl, headers=ed).status_code == 404
    assert c.delete(url, headers=ed).status_code == 204
    assert c.get(url, headers=ed).status_code == 404


@pytest.mark.parametrize(("change", "field"), [
    ({"name": ""}, "name"),
    ({"refresh": "often"}, "refresh"),
    ({"time_range": {"from": "yesterday"}}, "time_range.from"),
    ({"variables": "job"}, "variables"),
    ({"panels": [{"type": "pie", "position": {"x": 0, "y": 0, "w": 1, "h": 1}}]},
     "panels[0].type"),
    ({"panels": [{"type": "line", "position": {"x": 0, "y": 0, "w": 0, "h": 1}}]},
     "panels[0].position.w"),
])
def test_validation_names_the_field(app, users, change, field):
    r = app.test_client().post("/api/v1/dashboards", json={**dashboard_body(), **change},
                               headers=users["editor"].auth)
    assert r.status_code == 400 and r.json["error"]["field"] == field, r.json


def test_lookout_json_round_trips_exactly(app, users):
    c = app.test_client()
    ed = users["editor"].auth
    body = dashboard_body(panels=[
        {"title": t, "type": t, "query": f"{t}_metric", "options": {"nested": {"k": [1, 2.5]}},
         "position": {"x": i, "y": 2 * i, "w": 3, "h": 4}}
        for i, t in enumerate(("line", "area", "bar", "gauge", "stat", "heatmap", "table"))])
    board = c.post("/api/v1/dashboards", json=body, headers=ed).json
    exported = c.get(f"/api/v1/dashboards/{board['id']}/export", headers=ed).json
    assert exported["format"] == "lookout.dashboard/v1"
    r = c.post("/api/v1/dashboards/import", json=exported, headers=ed)
    assert r.status_code == 201 and r.json["report"]["source"] == "lookout"
    again = c.get(f"/api/v1/dashboards/{r.json['dashboard']['id']}/export", headers=ed).json
    assert again == exported
    assert json.dumps(again, sort_keys=True) == json.dumps(exported, sort_keys=True)


def grafana_import(app, users, document):
    r = app.test_client().post("/api/v1/dashboards/import", json=document,
                               headers=users["editor"].auth)
    assert r.status_code == 201, r.json
    return r.json["dashboard"], r.json["report"]


def test_import_node_exporter_full(app, users):
    document = json.loads((GRAFANA_DATA / "node-exporter-full.json").read_text())
    board, report = grafana_import(app, users, document)
    assert board["name"] == "Node Exporter Full"
    assert board["time_range"] == {"from": "now-24h", "to": "now"} and board["refresh"] == "1m"
    assert report["rows"] == 16
    assert report["panels_converted"] == 125 and report["panels_skipped"] == 0
    assert [v["name"] for v in board["variables"]] == ["job", "nodename", "node"]
    assert board["variables"][0]["query"] == "label_values(node_uname_info, job)"
    assert report["variables_converted"] == 3 and report["variables_skipped"] == 1
    assert {"where": "templating.list[0]",
            "what": "datasource variable $ds_prometheus dropped: Lookout is the only data "
                    "source, so panels query it directly"} in report["not_converted"]
    assert len(board["panels"]) == 125
    kinds = {p["type"] for p in board["panels"]}
    assert kinds == {"line", "area", "gauge", "stat", "bar"}
    first = board["panels"][0]
    assert first["position"] == {"x": 0, "y": 1, "w": 3, "h": 4} and first["type"] == "bar"
    assert "$node" in first["query"] and first["options"]["unit"] == "percentunit"
    assert any("field overrides" in item["what"] for item in report["not_converted"])


def test_import_haproxy(app, users):
    document = json.loads((GRAFANA_DATA / "haproxy.json").read_text())
    board, report = grafana_import(app, users, document)
    assert board["name"] == "HAProxy"
    assert report["rows"] == 10 and report["panels_converted"] == 103
    assert [v["name"] for v in board["variables"]] == [
        "host", "backend", "frontend", "server", "code", "interval"]
    interval = board["variables"][-1]
    assert interval["type"] == "interval" and "1m" in interval["options"]
    assert any("$DS_PROMETHEUS" in item["what"] for item in report["not_converted"])


GRAFANA_MIX = {
    "schemaVersion": 39, "title": "Mix", "time": {"from": "now-3h", "to": "now"},
    "refresh": False,
    "templating": {"list": [
        {"name": "ds", "type": "datasource", "query": "prometheus"},
        {"name": "job", "type": "query", "query": {"query": "label_values(up, job)"},
         "datasource": {"uid": "${ds}"}, "multi": True, "includeAll": True},
        {"name": "filters", "type": "adhoc"}]},
    "panels": [
        {"type": "timeseries", "title": "TS", "gridPos": {"x": 0, "y": 0, "w": 12, "h": 8},
         "targets": [{"expr": "rate(http_requests_total[$__rate_interval])", "refId": "A"},
                     {"expr": "up", "refId": "B"}]},
        {"type": "stat", "title": "Stat", "gridPos": {"x": 12, "y": 0, "w": 4, "h": 4},
         "targets": [{"expr": "sum(up)"}],
         "fieldConfig": {"defaults": {"unit": "short", "mappings": [{"type": "value"}]}}},
        {"type": "gauge", "title": "Gauge", "gridPos": {"x": 16, "y": 0, "w": 4, "h": 4},
         "targets": [{"expr": "avg(cpu)"}]},
        {"type": "bargauge", "title": "Bars", "gridPos": {"x": 20, "y": 0, "w": 4, "h": 4},
         "targets": [{"expr": "cpu"}]},
        {"type": "row", "title": "More", "collapsed": True, "gridPos": {"y": 8},
         "panels": [
             {"type": "heatmap", "title": "Heat", "gridPos": {"x": 0, "y": 9, "w": 12, "h": 8},
              "targets": [{"expr": "sum by (le) (rate(latency_bucket[5m]))"}]},
             {"type": "table", "title": "Tab", "gridPos": {"x": 12, "y": 9, "w": 12, "h": 8},
              "targets": [{"expr": "up", "format": "table"}],
              "transformations": [{"id": "organize"}]}]},
        {"type": "text", "title": "Notes", "gridPos": {"x": 0, "y": 17, "w": 24, "h": 2}},
        {"type": "timeseries", "title": "Loki", "targets": [{"refId": "A", "logql": "{}"}]},
    ]}


def test_import_written_mix_with_report(app, users):
    board, report = grafana_import(app, users, {"dashboard": copy.deepcopy(GRAFANA_MIX)})
    assert [(p["title"], p["type"]) for p in board["panels"]] == [
        ("TS", "line"), ("Stat", "stat"), ("Gauge", "gauge"), ("Bars", "bar"),
        ("Heat", "heatmap"), ("Tab", "table")]
    assert board["panels"][0]["options"]["targets"][1]["expr"] == "up"
    assert board["refresh"] == "" and board["time_range"]["from"] == "now-3h"
    assert board["layout"]["rows"] == [{"title": "More", "y": 8, "collapsed": True}]
    assert [v["name"] for v in board["variables"]] == ["job"]
    assert board["variables"][0]["multi"] and board["variables"][0]["include_all"]
    assert report["not_converted"] == [
        {"where": "templating.list[0]", "what": "datasource variable $ds dropped: Lookout is "
                                                "the only data source, so panels query it "
                                                "directly"},
        {"where": "templating.list[2]", "what": "variable $filters of type 'adhoc' is not "
                                                "supported"},
        {"where": "panels[1] 'Stat'", "what": "1 value mappings"},
        {"where": "panels[4].panels[1] 'Tab'", "what": "1 transformations"},
        {"where": "panels[5] 'Notes'", "what": "panel type 'text' has no Lookout equivalent"},
        {"where": "panels[6] 'Loki'.targets[0]",
         "what": "a target without a PromQL expr (not a Prometheus query)"},
        {"where": "panels[6] 'Loki'", "what": "no Prometheus query to draw"},
    ]
    assert report["warnings"] == [
        {"where": "panels[0] 'TS'", "what": "2 queries: the first is the panel's query, all "
                                            "are kept in options.targets"},
        {"where": "panels[0] 'TS'", "what": "uses Grafana's $__ interval variables, kept "
                                            "verbatim"}]
    assert report["panels_converted"] == 6 and report["panels_skipped"] == 2


def test_provisioned_at_start(make_app, users):
    app = make_app(query_dashboards_dir=str(REPO / "infra" / "dashboards"))
    c = app.test_client()
    boards = c.get("/api/v1/dashboards", headers=users["viewer"].auth).json["dashboards"]
    by_name = {b["name"]: b for b in boards}
    assert {"Services overview", "Signals"} <= set(by_name)
    assert all(by_name[n]["provisioned"] and by_name[n]["owner"] is None
               for n in ("Services overview", "Signals"))
    services = c.get(f"/api/v1/dashboards/{by_name['Services overview']['id']}",
                     headers=users["viewer"].auth).json
    queries = " ".join(p["query"] for p in services["panels"])
    for metric in ("latency_ms", "throughput_rps", "error_rate_percent", "cpu_percent",
                   "memory_percent"):
        assert metric in queries
    # Editors cannot change provisioned dashboards; a second start changes nothing.
    url = f"/api/v1/dashboards/{services['id']}"
    r = c.put(url, json=dashboard_body(version=services["version"]),
              headers=users["editor"].auth)
    assert r.status_code == 403
    make_app(query_dashboards_dir=str(REPO / "infra" / "dashboards"))
    assert c.get(url, headers=users["viewer"].auth).json["version"] == services["version"]
