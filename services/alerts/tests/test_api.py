"""The rules, history, import, silences and Prometheus-compatible endpoints against a
real, migrated PostgreSQL database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from lookout_alerts.api import prometheus_value
from lookout_alerts.evaluator import evaluate_rule
from lookout_alerts.state import AlertPhase

RULE = {"name": "HighLatency", "query": "latency_ms", "condition": "gt", "threshold": 500,
        "for": "1m", "severity": "critical", "labels": {"team": "{{ $labels.service }}-ops"},
        "annotations": {"summary": "{{ $labels.service }} at {{ $value }} ms"},
        "notification_targets": [{"type": "email", "address": "ops@example.com"},
                                 {"type": "webhook", "address": "http://hooks.local/x"}]}


def test_rule_crud(client):
    r = client.post("/api/v1/alerts", json=RULE)
    assert r.status_code == 201, r.json
    rule = r.json
    assert (rule["for"], rule["condition"], rule["state"]) == (60.0, "gt", "inactive")
    rid = rule["id"]
    assert client.get(f"/api/v1/alerts/{rid}").json["name"] == "HighLatency"
    assert [a["id"] for a in client.get("/api/v1/alerts").json["alerts"]] == [rid]
    r = client.patch(f"/api/v1/alerts/{rid}", json={"threshold": 700, "enabled": False})
    assert r.status_code == 200 and r.json["threshold"] == 700 and not r.json["enabled"]
    assert r.json["labels"] == RULE["labels"]  # PATCH keeps what it does not name
    r = client.put(f"/api/v1/alerts/{rid}", json={"name": "X", "query": "up"})
    assert r.status_code == 200 and r.json["labels"] == {} and r.json["condition"] is None
    assert client.delete(f"/api/v1/alerts/{rid}").status_code == 204
    assert client.get(f"/api/v1/alerts/{rid}").status_code == 404
    assert client.delete(f"/api/v1/alerts/{rid}").json["error"]["type"] == "not_found"


@pytest.mark.parametrize("change, field", [
    ({"name": "bad name"}, "name"),
    ({"query": ""}, "query"),
    ({"query": "rate(latency_ms[5m]"}, "query"),
    ({"condition": "gte"}, "condition"),
    ({"threshold": "high"}, "threshold"),
    ({"for": "5 minutes"}, "for"),
    ({"keep_firing_for": -1}, "keep_firing_for"),
    ({"severity": "page"}, "severity"),
    ({"enabled": "yes"}, "enabled"),
    ({"labels": {"alertname": "x"}}, "labels.alertname"),
    ({"annotations": {"summary": 3}}, "annotations.summary"),
    ({"notification_targets": [{"type": "sms", "address": "1"}]},
     "notification_targets[0].type"),
    ({"notification_targets": [{"type": "webhook", "address": "ftp://x"}]},
     "notification_targets[0].address"),
    ({"colour": "red"}, "colour"),
])
def test_bad_rule_is_400_naming_the_field(client, change, field):
    r = client.post("/api/v1/alerts", json={**RULE, **change})
    assert r.status_code == 400
    assert r.json["error"]["type"] == "validation_error"
    assert r.json["error"]["field"] == field and field in r.json["error"]["message"]


def test_duplicate_rule_is_400(client):
    assert client.post("/api/v1/alerts", json=RULE).status_code == 201
    r = client.post("/api/v1/alerts", json=RULE)
    assert r.status_code == 400 and r.json["error"]["field"] == "name"


RULE_FILE = """
groups:
  - name: node
    rules:
      - alert: HighCpu
        expr: cpu_percent > 80
        for: 5m
        keep_firing_for: 1m
        labels: {severity: critical, team: infra}
        annotations: {summary: "CPU of {{ $labels.service }} is {{ $value }}"}
      - alert: Down
        expr: up == 0
"""


def test_prometheus_rule_file_import_replaces_the_group(client):
    r = client.post("/api/v1/alerts/import", data=RULE_FILE,
                    content_type="application/yaml")
    assert r.status_code == 201, r.json
    rules = {x["name"]: x for x in r.json["alerts"]}
    cpu = rules["HighCpu"]
    assert (cpu["query"], cpu["condition"], cpu["for"], cpu["keep_firing_for"],
            cpu["severity"], cpu["labels"], cpu["group"]) == (
        "cpu_percent > 80", None, 300.0, 60.0, "critical", {"team": "infra"}, "node")
    assert rules["Down"]["severity"] == "warning"
    # Importing again updates the rules in place (same ids, history kept), no duplicates;
    # a rule no longer in the file leaves its group.
    again = client.post("/api/v1/alerts/import", data=RULE_FILE).json["alerts"]
    assert {x["id"] for x in again} == {x["id"] for x in r.json["alerts"]}
    assert len(client.get("/api/v1/alerts").json["alerts"]) == 2
    shorter = RULE_FILE.split("      - alert: Down")[0]
    assert [x["name"] for x in client.post("/api/v1/alerts/import", data=shorter).json[
        "alerts"]] == ["HighCpu"]
    assert [x["name"] for x in client.get("/api/v1/alerts").json["alerts"]] == ["HighCpu"]
    twice = RULE_FILE.replace("alert: Down", "alert: HighCpu").replace(
        "expr: up == 0", "expr: up\n        labels: {severity: critical}")
    r = client.post("/api/v1/alerts/import", data=twice)
    assert r.status_code == 400 and r.json["error"]["field"] == "name", r.json
    r = client.post("/api/v1/alerts/import",
                    data="groups:\n  - name: g\n    rules:\n      - record: x\n        expr: y\n")
    assert r.status_code == 400 and r.json["error"]["field"] == "groups[0].rules[0].alert"
    r = client.post("/api/v1/alerts/import", data="groups: [{name: g, rules: [{alert: 'a b', "
                    "expr: up}]}]")
    assert r.status_code == 400 and r.json["error"]["field"] == "groups[0].rules[0].name"
    assert client.post("/api/v1/alerts/import", data="groups: [").status_code == 400


def test_prometheus_rules_and_alerts_shapes(client, store):
    rid = client.post("/api/v1/alerts", json=RULE).json["id"]
    rule = store.get_rule(rid)
    samples = [({"__name__": "latency_ms", "service": "api"}, 1234.5),
               ({"__name__": "latency_ms", "service": "db"}, 20.0)]
    result = evaluate_rule(rule, {}, samples, 1_700_000_000.0, 900)
    store.save_state(rid, result.alerts, result.forget)
    store.record_evaluation(rid, 1_700_000_000.0, 0.004, None)

    body = client.get("/prometheus/api/v1/alerts").json
    assert body["status"] == "success"
    [alert] = body["data"]["alerts"]
    assert alert == {
        "labels": {"alertname": "HighLatency", "service": "api", "severity": "critical",
                   "team": "api-ops"},
        "annotations": {"summary": "api at 1234.5 ms"}, "state": "pending",
        "activeAt": "2023-11-14T22:13:20Z", "value": "1.2345e+03"}

    body = client.get("/prometheus/api/v1/rules").json
    [group] = body["data"]["groups"]
    assert group["name"] == "default" and group["interval"] == 10.0
    [r] = group["rules"]
    assert (r["type"], r["state"], r["name"], r["query"], r["duration"], r["health"]) == (
        "alerting", "pending", "HighLatency", "(latency_ms) > 500", 60.0, "ok")
    assert r["alerts"] == [alert] and r["lastEvaluation"] == "2023-11-14T22:13:20Z"
    assert client.get("/prometheus/api/v1/rules?type=record").json["data"]["groups"] == []
    assert client.get("/prometheus/api/v1/rules?type=x").status_code == 400
    # Lookout's own view carries the same state.
    assert client.get(f"/api/v1/alerts/{rid}").json["state"] == "pending"


def test_history_lists_events_newest_first(client, store):
    rid = client.post("/api/v1/alerts", json={**RULE, "for": 0}).json["id"]
    rule = store.get_rule(rid)
    fired = evaluate_rule(rule, {}, [({"service": "api"}, 900.0)], 1000.0, 900)
    [(alert, t)] = fired.transitions
    assert t.after is AlertPhase.FIRING
    store.add_event(alert, "firing", 1000.0, "pending")
    store.save_state(rid, fired.alerts, fired.forget)
    resolved = evaluate_rule(rule, store.load_state(rid), [], 1010.0, 900)
    [(alert2, _)] = resolved.transitions
    second = store.add_event(alert2, "resolved", 1010.0, "pending")
    store.set_notification_status([second], "notification_failed", "webhook down")
    store.set_notification_status([second], "sent")  # a failure is not overwritten
    events = client.get(f"/api/v1/alerts/{rid}/history").json["events"]
    assert [e["kind"] for e in events] == ["resolved", "firing"]
    assert events[0]["notification_status"] == "notification_failed"
    assert events[0]["value"] == 900.0 and events[0]["resolved_at"] == "1970-01-01T00:16:50Z"
    assert client.get(f"/api/v1/alerts/{rid}/history?limit=x").json["error"]["field"] == "limit"
    assert client.get("/api/v1/alerts/999/history").status_code == 404


def test_silences_crud(client):
    ends = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    body = {"matchers": [{"name": "service", "value": "api|db", "isRegex": True}],
            "endsAt": ends, "comment": "deploy"}
    r = client.post("/api/v1/silences", json=body)
    assert r.status_code == 201, r.json
    sid = r.json["id"]
    assert r.json["status"]["state"] == "active" and r.json["createdBy"] == "ed"
    assert [s["id"] for s in client.get("/api/v1/silences").json["silences"]] == [sid]
    r = client.put(f"/api/v1/silences/{sid}", json={**body, "comment": "longer"})
    assert r.json["comment"] == "longer"
    assert client.delete(f"/api/v1/silences/{sid}").status_code == 204
    assert client.get(f"/api/v1/silences/{sid}").status_code == 404
    for bad, field in (({"matchers": []}, "matchers"),
                       ({"matchers": [{"name": "a", "value": "(", "isRegex": True}],
                         "endsAt": ends}, "matchers[0].value"),
                       ({"matchers": [{"name": "a", "value": "b"}]}, "endsAt"),
                       ({"matchers": [{"name": "a", "value": "b"}], "endsAt": ends,
                         "startsAt": "2999-01-01T00:00:00Z"}, "endsAt")):
        r = client.post("/api/v1/silences", json=bad)
        assert r.status_code == 400 and r.json["error"]["field"] == field, r.json


def test_prometheus_value_format():
    assert [prometheus_value(v) for v in (1.0, 1234.5, 0.001, -2.5, 0.0, float("nan"))] == [
        "1e+00", "1.2345e+03", "1e-03", "-2.5e+00", "0e+00", "NaN"]
