"""A Prometheus rule file group's ``labels``, ``interval`` and ``limit``: imported, shown,
refused with the group and field named when bad, and honoured by the evaluator (real
query service, fresh evaluator objects on one database, time injected)."""

from __future__ import annotations

import socket

import pytest

from lookout_alerts.evaluator import Evaluator, is_due
from lookout_alerts.rules import AlertRule

GROUPED = """
groups:
  - name: node
    interval: 30s
    limit: 2
    labels: {team: infra, tier: backend, severity: critical}
    rules:
      - alert: HighCpu
        expr: cpu_percent > 80
        labels: {tier: frontend}
      - alert: Down
        expr: up == 0
        labels: {severity: warning}
  - name: plain
    rules:
      - alert: Other
        expr: up == 0
"""

THREE_SERIES = " or ".join(f'label_replace(vector(1), "s", "{s}", "", "")' for s in "abc")


def test_group_labels_interval_and_limit_are_imported(client):
    r = client.post("/api/v1/alerts/import", data=GROUPED)
    assert r.status_code == 201, r.json
    rules = {x["name"]: x for x in r.json["alerts"]}
    # Group labels are added to each rule's; a rule's own label of the same name wins.
    assert rules["HighCpu"]["labels"] == {"team": "infra", "tier": "frontend"}
    assert rules["HighCpu"]["severity"] == "critical"  # from the group's labels
    assert rules["Down"]["severity"] == "warning"  # the rule's own
    assert (rules["HighCpu"]["interval"], rules["HighCpu"]["limit"]) == (30.0, 2)
    assert (rules["Other"]["interval"], rules["Other"]["limit"]) == (None, 0)
    groups = {g["name"]: g for g in client.get("/prometheus/api/v1/rules").json["data"]["groups"]}
    assert (groups["node"]["interval"], groups["node"]["limit"]) == (30.0, 2)
    assert (groups["plain"]["interval"], groups["plain"]["limit"]) == (10.0, 0)
    # The JSON API takes them too, and a PUT of a rule's own JSON keeps them.
    rid = rules["HighCpu"]["id"]
    back = client.put(f"/api/v1/alerts/{rid}", json=rules["HighCpu"])
    assert back.status_code == 200, back.json
    assert (back.json["interval"], back.json["limit"]) == (30.0, 2)
    r = client.patch(f"/api/v1/alerts/{rid}", json={"interval": "1m", "limit": 5})
    assert (r.json["interval"], r.json["limit"]) == (60.0, 5)


@pytest.mark.parametrize("group, field", [
    ("interval: 5 minutes", "groups[0].interval"),
    ("interval: 0s", "groups[0].interval"),
    ("limit: -1", "groups[0].limit"),
    ("limit: many", "groups[0].limit"),
    ("limit: 1.5", "groups[0].limit"),
    ("labels: {alertname: x}", "groups[0].labels.alertname"),
    ("labels: {team: 3}", "groups[0].labels.team"),
    ("labels: [team]", "groups[0].labels"),
    ("colour: red", "groups[0].colour"),
])
def test_bad_group_fields_are_400_naming_group_and_field(client, group, field):
    text = f"groups:\n  - name: node\n    {group}\n    rules:\n      - alert: A\n        expr: up\n"
    r = client.post("/api/v1/alerts/import", data=text)
    assert r.status_code == 400, r.json
    assert r.json["error"]["field"] == field
    assert "groups[0] ('node')" in r.json["error"]["message"]
    assert client.get("/api/v1/alerts").json["alerts"] == []


@pytest.mark.parametrize("body, field", [({"interval": 0}, "interval"),
                                         ({"limit": True}, "limit")])
def test_bad_rule_interval_or_limit(client, body, field):
    r = client.post("/api/v1/alerts", json={"name": "A", "query": "up", **body})
    assert r.status_code == 400 and r.json["error"]["field"] == field


def test_is_due():
    rule = AlertRule(name="A", query="up", interval_s=30.0)
    assert is_due(rule, None, 100.0, 10.0)
    assert [is_due(rule, 100.0, 100.0 + t, 10.0) for t in (10.1, 19.9, 25.0, 30.2)] == [
        False, False, True, True]
    assert is_due(AlertRule(name="A", query="up"), 100.0, 100.1, 10.0)


@pytest.fixture
def evaluator_settings(alerts_settings, amqp_url):  # type: ignore[no-untyped-def]
    with socket.socket() as s:  # no ingest: ALERTS are not written (logged), nothing else
        s.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{s.getsockname()[1]}"
    return alerts_settings.model_copy(update={
        "amqp_url": amqp_url, "ingest_url": nowhere, "alerts_eval_interval_s": 10.0})


def run_at(settings, store, t: float) -> None:  # type: ignore[no-untyped-def]
    evaluator = Evaluator(settings, store, clock=lambda: t)
    try:
        evaluator.run_once()
    finally:
        evaluator.delivery.close()
        evaluator.publisher.close()


def test_evaluator_honours_interval_and_limit(client, store, evaluator_settings):
    text = f"""
groups:
  - name: slow
    interval: 30s
    rules:
      - alert: Always
        expr: vector(1)
  - name: limited
    limit: 2
    rules:
      - alert: Many
        expr: '{THREE_SERIES}'
      - alert: Few
        expr: 'label_replace(vector(1), "s", "a", "", "")'
"""
    r = client.post("/api/v1/alerts/import", data=text)
    assert r.status_code == 201, r.json
    ids = {x["name"]: x["id"] for x in r.json["alerts"]}
    t0 = 1_700_000_000.0
    evaluated = []
    for step in range(7):  # ticks every 10 s
        run_at(evaluator_settings, store, t0 + 10 * step)
        last = store.rule_health()[ids["Always"]].last_evaluation
        evaluated.append(last.timestamp() - t0)
    # evaluated at 0, 30 and 60 s: never more often than its interval
    assert evaluated == [0.0, 0.0, 0.0, 30.0, 30.0, 30.0, 60.0]
    assert store.rule_health()[ids["Few"]].last_evaluation.timestamp() == t0 + 60
    # More alerts than the limit: the rule errs and keeps none of them.
    many = store.rule_health()[ids["Many"]]
    assert (many.health, many.last_error) == ("err", "exceeded limit of 2 with 3 alerts")
    assert store.load_state(ids["Many"]) == {}
    assert store.rule_health()[ids["Few"]].health == "ok"
    assert len(store.load_state(ids["Few"])) == 1
    groups = {g["name"]: g for g in client.get("/prometheus/api/v1/rules").json["data"]["groups"]}
    [many_json, few_json] = groups["limited"]["rules"]
    assert (many_json["health"], many_json["lastError"], many_json["alerts"]) == (
        "err", "exceeded limit of 2 with 3 alerts", [])
    assert (few_json["health"], few_json["state"]) == ("ok", "firing")


def test_exceeding_the_limit_resolves_what_was_firing_at_once():
    from lookout_alerts.evaluator import evaluate_rule
    from lookout_alerts.state import AlertPhase

    rule = AlertRule(name="A", query="up", id=1, limit=1, keep_firing_for_s=300.0)
    one = [({"service": "api"}, 1.0)]
    fired = evaluate_rule(rule, {}, one, 0.0, 900)
    assert [a.state.phase for a in fired.alerts] == [AlertPhase.FIRING] and not fired.error
    stored = {a.fingerprint: a for a in fired.alerts}
    over = evaluate_rule(rule, stored, [*one, ({"service": "db"}, 1.0)], 10.0, 900)
    assert over.error == "exceeded limit of 1 with 2 alerts"
    # keep_firing_for does not hold it: the evaluation failed, its alerts are discarded
    assert [(a.labels["service"], a.state.phase) for a in over.alerts] == [
        ("api", AlertPhase.RESOLVED)]
    assert [t.after for _, t in over.transitions] == [AlertPhase.RESOLVED]
