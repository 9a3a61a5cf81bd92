"""Alerting end to end with the real processes: ingest → RabbitMQ → worker → PostgreSQL
← query ← alerts evaluator → SMTP server and webhook receivers; the alerts API serves
the rules, silences and history. Data pushed through ingest crosses a threshold, the
alert fires, notifications arrive, and the resolution follows when the data clears."""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time
from datetime import UTC, datetime, timedelta

import pika
import pytest
import requests
from jsonschema import validate

from lookout_alerts.testing import (
    AlertmanagerProcess,
    SmtpCatcher,
    WebhookReceiver,
    add_user_with_token,
)
from lookout_common.broker import connection_parameters
from lookout_common.settings import BrokerSettings, StorageMode

from .stack import ServiceProcess, free_port, wait_until
from .test_pipeline import Stack
from .test_self_monitoring import promql, start_query

V4_REQUIRED = {"version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels",
               "commonLabels", "commonAnnotations", "externalURL", "alerts"}
V4_SCHEMA = {"type": "object", "required": sorted(V4_REQUIRED),
             "properties": {"version": {"const": "4"},
                            "status": {"enum": ["firing", "resolved"]},
                            "alerts": {"type": "array", "minItems": 1, "items": {
                                "type": "object",
                                "required": ["status", "labels", "annotations", "startsAt",
                                             "endsAt", "generatorURL", "fingerprint"]}}}}


class Feeder:
    """Pushes ``latency_ms{service=...}`` through ingest every 0.5 s; ``values`` may change."""

    def __init__(self, ingest_url: str, values: dict[str, float]) -> None:
        self.url = ingest_url + "/api/v1/metrics"
        self.values = values
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            items = [{"name": "latency_ms", "value": v, "labels": {"service": s}}
                     for s, v in self.values.items()]
            try:
                requests.post(self.url, json=items, timeout=5)
            except requests.RequestException:
                pass
            self._stop.wait(0.5)

    def start(self) -> Feeder:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def start_alerts(stack: Stack, ingest_url: str, query_url: str, smtp_port: int,
                 **env: str) -> tuple[str, ServiceProcess]:
    """The alerts API and the evaluator; returns the API's URL and the evaluator. Changes
    need an editor (checked by the query service): see ``editor``."""
    common = {**stack.base_env, "QUERY_URL": query_url, "INGEST_URL": ingest_url,
              "SMTP_PORT": str(smtp_port), "SMTP_FROM": "lookout@example.com",
              "ALERTS_EVAL_INTERVAL_S": "1", "ALERTS_GROUP_WAIT_S": "0",
              "ALERTS_GROUP_INTERVAL_S": "1", "ALERTS_RETRY_DELAYS_S": "0.2,0.4",
              "ALERTS_BREAKER_FAILURES": "3", "ALERTS_PROVISION_DEFAULTS": "false",
              "ALERTS_HTTP_TIMEOUT_S": "3", **env}
    port = free_port()
    api = ServiceProcess("lookout_alerts", {**common, "ALERTS_PORT": str(port)},
                         stack.log_dir, f"http://127.0.0.1:{port}/health/ready")
    stack.processes.append(api)
    api.start()
    evaluator_port = free_port()
    evaluator = ServiceProcess("lookout_alerts.evaluator",
                               {**common, "ALERTS_EVALUATOR_PORT": str(evaluator_port)},
                               stack.log_dir, f"http://127.0.0.1:{evaluator_port}/metrics")
    stack.processes.append(evaluator)
    evaluator.start()
    return f"http://127.0.0.1:{port}", evaluator


def editor(database_url: str) -> dict[str, str]:
    """Headers of a new editor's API token (the accounts tables exist once a service
    has migrated the database)."""
    _, token = add_user_with_token(database_url, "ops-editor", "editor")
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def receivers():  # type: ignore[no-untyped-def]
    smtp = SmtpCatcher().start()
    hooks = [WebhookReceiver().start() for _ in range(3)]
    yield smtp, hooks
    smtp.stop()
    for h in hooks:
        h.stop()


@pytest.fixture
def alert_stack(fresh_database_url, amqp_url, tmp_path, servers, redis_key_prefix):
    stack = Stack(fresh_database_url, amqp_url, StorageMode.POSTGRES, tmp_path,
                  redis_url=servers.redis_url, redis_key_prefix=redis_key_prefix)
    yield stack
    stack.close()


def transitions_queue(amqp_url: str):  # type: ignore[no-untyped-def]
    """A queue bound to every alert transition on the ``alerts`` exchange."""
    connection = pika.BlockingConnection(
        connection_parameters(BrokerSettings(amqp_url=amqp_url), "test-alerts"))
    channel = connection.channel()
    channel.exchange_declare("alerts", exchange_type="topic", durable=True)
    queue = channel.queue_declare("", exclusive=True).method.queue
    channel.queue_bind(queue, "alerts", routing_key="alert.#")
    return connection, channel, queue


@pytest.fixture
def alertmanager(tmp_path):  # type: ignore[no-untyped-def]
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        pytest.skip("prometheus-alertmanager is not installed (scripts/bootstrap.sh)")
    am = AlertmanagerProcess(binary, tmp_path).start()
    yield am
    am.stop()


def test_alert_fires_notifies_by_email_and_webhook_and_resolves(alert_stack, receivers,
                                                                 amqp_url, alertmanager,
                                                                 fresh_database_url):
    smtp, (hook, flaky, _) = receivers
    flaky.statuses = [500, 500]  # answers 500 twice, then 200: the retries get it through
    ingest = alert_stack.ingest()
    alert_stack.worker()
    query_url = start_query(alert_stack)
    alerts_url, evaluator = start_alerts(alert_stack, ingest.url, query_url, smtp.port)
    connection, channel, queue = transitions_queue(amqp_url)
    feeder = Feeder(ingest.url, {"api": 120.0, "db": 30.0}).start()
    auth = editor(fresh_database_url)
    try:
        anonymous = requests.post(f"{alerts_url}/api/v1/alerts", json={
            "name": "X", "query": "up"}, timeout=10)
        assert anonymous.status_code == 401, anonymous.text
        rule = requests.post(f"{alerts_url}/api/v1/alerts", headers=auth, json={
            "name": "HighLatency", "query": "latency_ms", "condition": "gt", "threshold": 500,
            "for": "2s", "severity": "critical",
            "annotations": {"summary": "{{ $labels.service }} latency is {{ $value }} ms"},
            "notification_targets": [{"type": "email", "address": "ops@example.com"},
                                     {"type": "webhook", "address": hook.url},
                                     {"type": "webhook", "address": flaky.url},
                                     {"type": "alertmanager", "address": alertmanager.url}]},
            timeout=10)
        assert rule.status_code == 201, rule.text
        rid = rule.json()["id"]
        wait_until(lambda: promql(query_url, "latency_ms"), 30, "latency_ms stored")
        time.sleep(2)
        assert hook.bodies == [] and smtp.messages == []  # below the threshold: silence

        feeder.values["api"] = 900.0  # crosses the threshold
        wait_until(lambda: hook.bodies, 40, "the firing webhook")
        [firing] = hook.bodies
        validate(firing, V4_SCHEMA)
        assert firing["status"] == "firing"
        [alert] = firing["alerts"]
        assert alert["labels"] == {"alertname": "HighLatency", "service": "api",
                                   "severity": "critical"}
        assert alert["annotations"] == {"summary": "api latency is 900 ms"}
        assert alert["endsAt"] == "0001-01-01T00:00:00Z"
        wait_until(lambda: smtp.messages, 20, "the firing e-mail")
        assert smtp.messages[0]["Subject"].startswith("[FIRING:1]")
        assert smtp.messages[0]["To"] == "ops@example.com"
        wait_until(lambda: flaky.bodies, 20, "the flaky webhook, after its retries")
        assert flaky.attempts >= 3 and flaky.bodies[0]["status"] == "firing"

        # It waited for `for` (2 s) in pending first; it is firing now, visibly.
        state = requests.get(f"{alerts_url}/api/v1/alerts/{rid}", timeout=10).json()
        assert state["state"] == "firing"
        [series] = state["alerts"]
        fired = datetime.fromisoformat(series["fired_at"].replace("Z", "+00:00"))
        active = datetime.fromisoformat(series["active_at"].replace("Z", "+00:00"))
        assert fired - active >= timedelta(seconds=2)
        prom = requests.get(f"{alerts_url}/prometheus/api/v1/alerts", timeout=10).json()
        assert [a["state"] for a in prom["data"]["alerts"]] == ["firing"]
        # The evaluator's own metrics say so too (what Lookout's self-scrape ingests).
        metrics = requests.get(evaluator.health_url, timeout=10).text
        assert 'alerts_firing{severity="critical"} 1.0' in metrics
        assert 'alert_evaluations_total{outcome="ok"}' in metrics
        wait_until(lambda: promql(query_url, 'ALERTS{alertname="HighLatency",'
                                             'alertstate="firing"}'), 30,
                   "ALERTS written back through ingest")
        # The pending series ended with a staleness marker when the alert fired, and
        # ALERTS_FOR_STATE holds the activation time, as in Prometheus.
        assert promql(query_url, 'ALERTS{alertname="HighLatency",alertstate="pending"}') == []
        wait_until(lambda: promql(query_url, 'ALERTS_FOR_STATE{alertname="HighLatency"}'), 30,
                   "ALERTS_FOR_STATE written")
        [for_state] = promql(query_url, 'ALERTS_FOR_STATE{alertname="HighLatency"}')
        assert for_state["metric"] == {"__name__": "ALERTS_FOR_STATE",
                                       "alertname": "HighLatency", "service": "api",
                                       "severity": "critical"}
        assert abs(float(for_state["value"][1]) - active.timestamp()) < 1e-3
        wait_until(lambda: [a["labels"]["service"] for a in alertmanager.alerts()] == ["api"],
                   20, "the alert forwarded to Alertmanager")

        feeder.values["api"] = 100.0  # clears
        wait_until(lambda: len(hook.bodies) >= 2, 40, "the resolved webhook")
        resolved = hook.bodies[1]
        validate(resolved, V4_SCHEMA)
        assert resolved["status"] == "resolved"
        assert resolved["alerts"][0]["endsAt"] != "0001-01-01T00:00:00Z"
        # Resolved: ALERTS and ALERTS_FOR_STATE ended with staleness markers, so an
        # instant query no longer returns them (not only after the 5-minute lookback).
        wait_until(lambda: promql(query_url, 'ALERTS{alertname="HighLatency"}') == [], 20,
                   "ALERTS gone at once after the resolution")
        assert promql(query_url, 'ALERTS_FOR_STATE{alertname="HighLatency"}') == []
        assert promql(query_url, 'count_over_time(ALERTS{alertname="HighLatency"}[5m])')
        wait_until(lambda: len(smtp.messages) >= 2, 20, "the resolved e-mail")
        assert smtp.messages[1]["Subject"].startswith("[RESOLVED")
        wait_until(lambda: alertmanager.alerts() == [], 20, "Alertmanager told of the end")

        def history() -> list[dict]:
            return requests.get(f"{alerts_url}/api/v1/alerts/{rid}/history",
                                timeout=10).json()["events"]
        wait_until(lambda: all(e["notification_status"] == "sent" for e in history()), 20,
                   "events marked sent")
        assert [(e["kind"], e["value"]) for e in history()] == [("resolved", 900.0),
                                                                ("firing", 900.0)]

        # Every transition went to the broker.
        seen = []
        for _ in range(20):
            method, _props, body = channel.basic_get(queue, auto_ack=True)
            if method is None:
                break
            seen.append((method.routing_key, json.loads(body)["state"]))
        assert seen == [("alert.pending.critical", "pending"),
                        ("alert.firing.critical", "firing"),
                        ("alert.resolved.critical", "resolved")], seen
    finally:
        feeder.stop()
        connection.close()


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_dead_receiver_fails_the_event_a_silence_mutes_and_pending_survives_a_restart(
        alert_stack, receivers, fresh_database_url):
    smtp, (hook, _, _) = receivers
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/hook"
    ingest = alert_stack.ingest()
    alert_stack.worker()
    query_url = start_query(alert_stack)
    alerts_url, evaluator = start_alerts(alert_stack, ingest.url, query_url, smtp.port)
    feeder = Feeder(ingest.url, {"api": 900.0, "cache": 900.0}).start()
    auth = editor(fresh_database_url)
    try:
        down = requests.post(f"{alerts_url}/api/v1/alerts", headers=auth, json={
            "name": "ApiSlow", "query": 'latency_ms{service="api"}', "condition": "gt",
            "threshold": 500, "notification_targets": [{"type": "webhook", "address": dead}]},
            timeout=10).json()
        silence = requests.post(f"{alerts_url}/api/v1/silences", headers=auth, json={
            "matchers": [{"name": "service", "value": "cache"}],
            "endsAt": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
            "comment": "maintenance"}, timeout=10)
        assert silence.status_code == 201, silence.text
        muted = requests.post(f"{alerts_url}/api/v1/alerts", headers=auth, json={
            "name": "CacheSlow", "query": 'latency_ms{service="cache"}', "condition": "gt",
            "threshold": 500, "notification_targets": [{"type": "webhook", "address": hook.url}]},
            timeout=10).json()

        def events(rule: dict) -> list[dict]:
            return requests.get(f"{alerts_url}/api/v1/alerts/{rule['id']}/history",
                                timeout=10).json()["events"]

        wait_until(lambda: [e["notification_status"] for e in events(down)]
                   == ["notification_failed"], 60, "the event marked notification_failed")
        assert "circuit open" in events(down)[0]["notification_error"]
        wait_until(lambda: [e["notification_status"] for e in events(muted)] == ["silenced"],
                   30, "the silenced event")
        # The silence mutes the notification, not the state: the alert is firing.
        rule = requests.get(f"{alerts_url}/api/v1/alerts/{muted['id']}", timeout=10).json()
        assert rule["state"] == "firing"
        time.sleep(2)
        assert hook.bodies == [] and hook.attempts == 0

        # The evaluator is killed while an alert is pending; the one started after it
        # continues from the stored state and fires `for` after the original active_at.
        slow = requests.post(f"{alerts_url}/api/v1/alerts", headers=auth, json={
            "name": "ApiSlowForLong", "query": 'latency_ms{service="api"}', "condition": "gt",
            "threshold": 500, "for": "8s"}, timeout=10).json()

        def series() -> dict:
            got = requests.get(f"{alerts_url}/api/v1/alerts/{slow['id']}", timeout=10).json()
            return got["alerts"][0] if got["alerts"] else {}
        wait_until(lambda: series().get("state") == "pending", 20, "the pending alert")
        active_at = series()["active_at"]
        evaluator.kill()
        time.sleep(2)
        evaluator.start()
        wait_until(lambda: series().get("state") == "firing", 30, "firing after the restart")
        after = series()
        assert after["active_at"] == active_at  # restored, not started over
        held = parse_time(after["fired_at"]) - parse_time(active_at)
        assert timedelta(seconds=8) <= held < timedelta(seconds=18), held
    finally:
        feeder.stop()



