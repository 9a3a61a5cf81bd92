"""Grouping timers (pure), the payloads, and delivery against a real SMTP server and real
HTTP receivers: retries, 4xx not retried, the breaker, notification_failed recorded."""

from __future__ import annotations

import socket

import pytest
from jsonschema import validate

from lookout_alerts.notify.delivery import NotificationDelivery
from lookout_alerts.notify.grouping import AlertGroups, AlertNotice, Notification
from lookout_alerts.notify.senders import senders
from lookout_alerts.rules import NotificationTarget
from lookout_alerts.settings import AlertsSettings
from lookout_alerts.testing import SmtpCatcher, WebhookReceiver

HOOK = NotificationTarget("webhook", "http://hooks.local/a")


def notice(fp: str, status: str = "firing", event_id: int | None = 1,
           service: str = "api") -> AlertNotice:
    return AlertNotice(fp, 1, {"alertname": "HighLatency", "service": service,
                               "severity": "critical"},
                       {"summary": f"{service} slow"}, status, 1000.0,
                       1100.0 if status == "resolved" else None, "http://lookout/alerts/1",
                       event_id)


def never_muted(labels):  # type: ignore[no-untyped-def]
    return False


def test_group_wait_interval_and_repeat() -> None:
    groups = AlertGroups(["alertname"], group_wait_s=30, group_interval_s=60,
                         repeat_interval_s=600)
    groups.add(HOOK, notice("a"), now=0)
    assert groups.due(29, never_muted).notifications == []
    groups.add(HOOK, notice("b", event_id=2, service="db"), now=20)
    [n] = groups.due(30, never_muted).notifications  # both, together, after group_wait
    assert [a.fingerprint for a in n.alerts] == ["a", "b"] and list(n.event_ids) == [1, 2]
    groups.add(HOOK, notice("a", "resolved", event_id=3), now=40)
    assert groups.due(89, never_muted).notifications == []  # group_interval not over
    [n] = groups.due(90, never_muted).notifications
    assert {a.fingerprint: a.status for a in n.alerts} == {"a": "resolved", "b": "firing"}
    assert list(n.event_ids) == [3]  # b is repeated in the group, not a new event
    assert groups.due(689, never_muted).notifications == []
    [n] = groups.due(690, never_muted).notifications  # repeat_interval: still firing
    assert [a.fingerprint for a in n.alerts] == ["b"] and list(n.event_ids) == []
    groups.add(HOOK, notice("b", "resolved", event_id=4), now=700)
    [n] = groups.due(750, never_muted).notifications
    assert n.status == "resolved" and len(groups) == 0


def test_fired_and_resolved_within_one_wait_reports_both_events() -> None:
    groups = AlertGroups(["alertname"], group_wait_s=30, group_interval_s=60,
                         repeat_interval_s=600)
    groups.add(HOOK, notice("a", event_id=1), now=0)
    groups.add(HOOK, notice("a", "resolved", event_id=2), now=10)
    [n] = groups.due(30, never_muted).notifications
    assert n.status == "resolved" and n.event_ids == (1, 2) and len(groups) == 0


def test_groups_split_by_labels_and_silences_mute() -> None:
    groups = AlertGroups(["service"], 0, 0, 600)
    groups.add(HOOK, notice("a", service="api"), 0)
    groups.add(HOOK, notice("b", event_id=2, service="db"), 0)
    batch = groups.due(0, lambda labels: labels["service"] == "db")
    assert [n.group_labels for n in batch.notifications] == [{"service": "api"}]
    assert batch.silenced_event_ids == [2]


V4_SCHEMA = {
    "type": "object",
    "required": ["version", "groupKey", "truncatedAlerts", "status", "receiver",
                 "groupLabels", "commonLabels", "commonAnnotations", "externalURL", "alerts"],
    "properties": {
        "version": {"const": "4"}, "groupKey": {"type": "string"},
        "truncatedAlerts": {"type": "integer"},
        "status": {"enum": ["firing", "resolved"]}, "receiver": {"type": "string"},
        "groupLabels": {"type": "object", "additionalProperties": {"type": "string"}},
        "commonLabels": {"type": "object", "additionalProperties": {"type": "string"}},
        "commonAnnotations": {"type": "object", "additionalProperties": {"type": "string"}},
        "externalURL": {"type": "string"},
        "alerts": {"type": "array", "minItems": 1, "items": {
            "type": "object",
            "required": ["status", "labels", "annotations", "startsAt", "endsAt",
                         "generatorURL", "fingerprint"],
            "properties": {"status": {"enum": ["firing", "resolved"]},
                           "startsAt": {"type": "string", "format": "date-time"},
                           "endsAt": {"type": "string"}}}},
    },
}


class Statuses:
    def __init__(self) -> None:
        self.calls: list[tuple[list[int], str, str | None]] = []

    def __call__(self, ids: list[int], status: str, error: str | None) -> None:
        self.calls.append((ids, status, error))


def settings(**kw) -> AlertsSettings:  # type: ignore[no-untyped-def]
    return AlertsSettings(alerts_retry_delays_s="0.05,0.1,0.2", alerts_http_timeout_s=2,
                          alerts_breaker_failures=3, alerts_breaker_reset_s=60, **kw)


@pytest.fixture
def hook():  # type: ignore[no-untyped-def]
    r = WebhookReceiver().start()
    yield r
    r.stop()


def n_for(target: NotificationTarget, *alerts: AlertNotice) -> Notification:
    alerts = alerts or (notice("a"),)
    return Notification(target, '{}:{alertname="HighLatency"}', {"alertname": "HighLatency"},
                        list(alerts), tuple(a.event_id for a in alerts if a.event_id))


def test_webhook_gets_a_v4_payload_and_500_is_retried(hook) -> None:
    hook.statuses = [500, 503]
    recorded = Statuses()
    s = settings()
    d = NotificationDelivery(s, senders(s), recorded)
    outcome = d.deliver(n_for(NotificationTarget("webhook", hook.url), notice("a"),
                              notice("b", "resolved", 2, "db")))
    assert outcome == "sent" and hook.attempts == 3
    assert recorded.calls == [([1, 2], "sent", None)]
    [body] = hook.bodies
    validate(body, V4_SCHEMA)
    assert body["status"] == "firing"
    assert body["commonLabels"] == {"alertname": "HighLatency", "severity": "critical"}
    assert body["alerts"][0]["endsAt"] == "0001-01-01T00:00:00Z"
    assert body["alerts"][1]["endsAt"] == "1970-01-01T00:18:20.000Z"


def test_4xx_is_not_retried(hook) -> None:
    hook.statuses = [400]
    recorded = Statuses()
    s = settings()
    d = NotificationDelivery(s, senders(s), recorded)
    assert d.deliver(n_for(NotificationTarget("webhook", hook.url))) == "notification_failed"
    assert hook.attempts == 1
    [(_ids, status, error)] = recorded.calls
    assert status == "notification_failed" and "400" in (error or "")


def test_a_receiver_that_is_down_opens_the_breaker() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/hook"
    recorded = Statuses()
    st = settings()
    d = NotificationDelivery(st, senders(st), recorded)
    target = NotificationTarget("webhook", dead)
    assert d.deliver(n_for(target)) == "notification_failed"
    assert d.breaker(target.key()).current_state == "open"
    assert "circuit open" in (recorded.calls[0][2] or "")
    # While open, the next notification fails at once, without trying.
    assert d.deliver(n_for(target)) == "notification_failed"


def test_email_reaches_the_smtp_server() -> None:
    smtp = SmtpCatcher().start()
    try:
        recorded = Statuses()
        s = settings(smtp_port=smtp.port, smtp_from="lookout@example.com")
        d = NotificationDelivery(s, senders(s), recorded)
        assert d.deliver(n_for(NotificationTarget("email", "ops@example.com"))) == "sent"
        [msg] = smtp.messages
        assert msg["To"] == "ops@example.com" and msg["X-Envelope-To"] == "ops@example.com"
        assert msg["Subject"].startswith("[FIRING:1] alertname=HighLatency")
        assert "api slow" in msg.get_payload()
    finally:
        smtp.stop()
