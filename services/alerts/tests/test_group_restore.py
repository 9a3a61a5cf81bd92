"""Notification groups outlive the evaluator: a fresh evaluator on the same database keeps
each group's timers and what it last notified, so a real webhook receiver gets no second
notification of an alert already notified before ``repeat_interval``, and a resolution
waits out ``group_interval`` from the last notification even across a restart."""

from __future__ import annotations

import socket

import pytest

from lookout_alerts.evaluator import Evaluator
from lookout_alerts.testing import WebhookReceiver


@pytest.fixture
def hook():  # type: ignore[no-untyped-def]
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def settings(alerts_settings, amqp_url):  # type: ignore[no-untyped-def]
    with socket.socket() as s:  # no ingest: ALERTS are not written (logged), nothing else
        s.bind(("127.0.0.1", 0))
        nowhere = f"http://127.0.0.1:{s.getsockname()[1]}"
    return alerts_settings.model_copy(update={
        "amqp_url": amqp_url, "ingest_url": nowhere, "alerts_group_wait_s": 0.0,
        "alerts_group_interval_s": 60.0, "alerts_repeat_interval_s": 600.0,
        "alerts_retry_delays_s": "0.1"})


def run_fresh_evaluator(settings, store, t: float) -> None:  # type: ignore[no-untyped-def]
    """A new evaluator (nothing in memory) runs one evaluation at ``t`` and stops,
    waiting for its deliveries."""
    evaluator = Evaluator(settings, store, clock=lambda: t)
    try:
        evaluator.run_once()
    finally:
        evaluator.delivery.close()
        evaluator.publisher.close()


def test_restarted_evaluator_keeps_the_group_timers(client, store, settings, hook):
    rule = client.post("/api/v1/alerts", json={
        "name": "Always", "query": 'label_replace(vector(1), "service", "api", "", "")',
        "notification_targets": [{"type": "webhook", "address": hook.url}]}).json
    t0 = 1_700_000_000.0
    run_fresh_evaluator(settings, store, t0)  # fires (for 0), group_wait 0: notified
    assert [b["status"] for b in hook.bodies] == ["firing"]
    [saved] = store.load_notification_groups()
    assert (saved.last_sent_at, dict(saved.notified)) == (t0, {
        hook.bodies[0]["alerts"][0]["fingerprint"]: "firing"})

    for t in (10, 30, 300, 590):  # restarts within repeat_interval: nothing again
        run_fresh_evaluator(settings, store, t0 + t)
    assert len(hook.bodies) == 1 and hook.attempts == 1

    run_fresh_evaluator(settings, store, t0 + 600)  # repeat_interval after the last one
    assert [b["status"] for b in hook.bodies] == ["firing", "firing"]

    # The condition clears at t0 + 610; the resolution is due group_interval (60 s)
    # after the last notification (t0 + 600), whichever process is running then.
    assert client.patch(f"/api/v1/alerts/{rule['id']}", json={"enabled": False}
                        ).status_code == 200
    run_fresh_evaluator(settings, store, t0 + 610)
    [event] = [e for e in client.get(f"/api/v1/alerts/{rule['id']}/history").json["events"]
               if e["kind"] == "resolved"]
    assert event["notification_status"] == "pending" and len(hook.bodies) == 2
    run_fresh_evaluator(settings, store, t0 + 640)
    assert len(hook.bodies) == 2
    run_fresh_evaluator(settings, store, t0 + 660)
    assert [b["status"] for b in hook.bodies] == ["firing", "firing", "resolved"]
    history = client.get(f"/api/v1/alerts/{rule['id']}/history").json["events"]
    assert [(e["kind"], e["notification_status"]) for e in history] == [
        ("resolved", "sent"), ("firing", "sent")]
    assert store.load_notification_groups() == []  # the group ended with its last alert
    run_fresh_evaluator(settings, store, t0 + 1300)
    assert len(hook.bodies) == 3  # and nothing after


def test_a_firing_not_yet_notified_is_sent_after_a_restart(client, store, settings, hook):
    """The process stopped between the firing and its notification: the next one sends
    it (the event was still pending), once."""
    client.post("/api/v1/alerts", json={
        "name": "Always", "query": "vector(1)",
        "notification_targets": [{"type": "webhook", "address": hook.url}]})
    t0 = 1_700_000_000.0
    crashed = Evaluator(settings.model_copy(update={"alerts_group_wait_s": 30.0}), store,
                        clock=lambda: t0)
    crashed.run_once()  # fires; the group waits 30 s; the process "dies" here
    crashed.delivery.close()
    crashed.publisher.close()
    assert hook.bodies == []
    run_fresh_evaluator(settings, store, t0 + 5)
    assert [b["status"] for b in hook.bodies] == ["firing"]
    run_fresh_evaluator(settings, store, t0 + 15)
    assert len(hook.bodies) == 1
