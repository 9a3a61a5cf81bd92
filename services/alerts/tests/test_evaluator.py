"""The evaluator's core against stored state: a restart in the middle of pending keeps
``active_at``, resolved alerts are forgotten after their retention, templating, and the
default rules provisioned once."""

from __future__ import annotations

from lookout_alerts.defaults import default_rules
from lookout_alerts.evaluator import evaluate_rule
from lookout_alerts.rules import parse_rule
from lookout_alerts.state import AlertPhase
from lookout_alerts.storage import AlertStore


def test_restart_in_the_middle_of_pending_fires_on_time(alerts_settings, store) -> None:
    rule = store.create_rule(parse_rule({"name": "Hot", "query": "cpu_percent",
                                         "condition": "gt", "threshold": 80, "for": 60}))
    samples = [({"__name__": "cpu_percent", "service": "api"}, 91.0)]
    for t in (0.0, 20.0):
        r = evaluate_rule(rule, store.load_state(rule.id), samples, 1000 + t, 900)
        store.save_state(rule.id, r.alerts, r.forget)
    # A new process: nothing in memory, everything from PostgreSQL.
    restarted = AlertStore(alerts_settings)
    stored = restarted.load_state(rule.id)
    [alert] = stored.values()
    assert (alert.state.phase, alert.state.active_at) == (AlertPhase.PENDING, 1000.0)
    r = evaluate_rule(rule, stored, samples, 1040.0, 900)
    assert r.alerts[0].state.phase is AlertPhase.PENDING and r.transitions == []
    restarted.save_state(rule.id, r.alerts, r.forget)
    r = evaluate_rule(rule, restarted.load_state(rule.id), samples, 1060.0, 900)
    [(fired, t)] = r.transitions
    assert t.after is AlertPhase.FIRING and fired.state.fired_at == 1060.0


def test_condition_templating_and_forgetting(store) -> None:
    rule = store.create_rule(parse_rule({
        "name": "LowThroughput", "query": "throughput_rps", "condition": "lt",
        "threshold": 100, "labels": {"owner": "team-{{ $labels.service }}"},
        "annotations": {"summary": "{{ $labels.service }}: {{ $value }} req/s"}}))
    samples = [({"__name__": "throughput_rps", "service": "api"}, 40.0),
               ({"__name__": "throughput_rps", "service": "db"}, 800.0)]
    r = evaluate_rule(rule, {}, samples, 0.0, 60)
    [a] = r.alerts
    assert a.labels == {"alertname": "LowThroughput", "service": "api", "owner": "team-api",
                        "severity": "warning"}
    assert a.annotations == {"summary": "api: 40 req/s"}
    assert a.state.phase is AlertPhase.FIRING  # for = 0
    store.save_state(rule.id, r.alerts, r.forget)
    r = evaluate_rule(rule, store.load_state(rule.id), [], 10.0, 60)
    assert r.alerts[0].state.phase is AlertPhase.RESOLVED
    store.save_state(rule.id, r.alerts, r.forget)
    r = evaluate_rule(rule, store.load_state(rule.id), [], 71.0, 60)
    assert r.alerts == [] and r.forget == [a.fingerprint]  # past the resolved retention
    store.save_state(rule.id, r.alerts, r.forget)
    assert store.load_state(rule.id) == {}


def test_default_rules_are_provisioned_once(store) -> None:
    rules = default_rules([{"type": "email", "address": "ops@example.com"}])
    assert store.provision_defaults(rules) == 10
    assert store.provision_defaults(rules) == 0
    stored = {(r.query, r.severity): r for r in store.list_rules()}
    expected = {("latency_ms", "warning"): ("gt", 500), ("latency_ms", "critical"): ("gt", 1000),
                ("error_rate_percent", "warning"): ("gt", 5),
                ("error_rate_percent", "critical"): ("gt", 10),
                ("cpu_percent", "warning"): ("gt", 80), ("cpu_percent", "critical"): ("gt", 95),
                ("memory_percent", "warning"): ("gt", 80),
                ("memory_percent", "critical"): ("gt", 95),
                ("throughput_rps", "warning"): ("lt", 100),
                ("throughput_rps", "critical"): ("lt", 50)}
    assert {k: (r.condition, r.threshold) for k, r in stored.items()} == expected
    assert all(r.provisioned and r.for_s == 60 and r.targets for r in stored.values())


def test_default_thresholds_match_the_demo_producer() -> None:
    """The table here and the producer's THRESHOLDS say the same (drift check)."""
    from lookout_alerts.defaults import DEFAULT_THRESHOLDS
    from lookout_producer.services_demo import THRESHOLDS

    ours = {m: (c == "lt", w, cr) for m, _n, c, w, cr, _u in DEFAULT_THRESHOLDS}
    assert ours == {m: (t.below, t.warning, t.critical) for m, t in THRESHOLDS.items()}


def test_provisioning_follows_the_settings(alerts_settings, store) -> None:
    from lookout_alerts.evaluator import provision

    off = alerts_settings.model_copy(update={"alerts_provision_defaults": False})
    assert provision(off, store) == 0 and store.list_rules() == []
    on = alerts_settings.model_copy(update={"alerts_default_targets":
                                            "email:ops@example.com,webhook:http://h/x"})
    assert provision(on, store) == 10
    assert {t.key() for t in store.list_rules()[0].targets} == {"email:ops@example.com",
                                                                 "webhook:http://h/x"}


def test_one_evaluator_holds_the_lease_and_a_standby_takes_over(alerts_settings) -> None:
    from lookout_alerts.evaluator import EvaluatorLease

    first, second = EvaluatorLease(alerts_settings), EvaluatorLease(alerts_settings)
    try:
        assert first.hold() and first.hold()  # kept across cycles
        assert not second.hold()  # standby
        first.release()  # the holder's session ends (as when its process dies)
        assert second.hold() and not first.hold()
    finally:
        first.release()
        second.release()
