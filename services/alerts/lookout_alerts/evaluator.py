"""The evaluator: every ``ALERTS_EVAL_INTERVAL_S`` it evaluates the rules through the query
service, steps each series' state (state.py), stores state and events, writes
``ALERTS{alertname, alertstate, ...}`` back through ingest, publishes transitions to the
broker, and hands firing and resolved alerts to the notification groups.

``evaluate_rule`` is the pure core; ``Evaluator`` moves data in and out.
Run it with ``python -m lookout_alerts.evaluator`` (its own process, next to the API).
"""

from __future__ import annotations

import logging
import math
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import psycopg2
import requests
from prometheus_client import Counter, Gauge, Histogram, start_http_server

from lookout_common.db.connection import connect
from lookout_common.db.schema import migrate
from lookout_common.log_config import configure_logging
from lookout_common.settings import load_settings

from .defaults import default_rules
from .notify.delivery import NotificationDelivery
from .notify.grouping import AlertGroups, AlertNotice
from .notify.payloads import alertmanager_alerts
from .notify.senders import senders
from .rules import AlertRule, alert_annotations, alert_labels
from .series_writer import AlertsSeriesWriter
from .settings import AlertsSettings
from .silences import is_muted
from .state import AlertPhase, AlertState, Transition, step
from .storage import AlertStore, SeriesAlert, fingerprint
from .transitions import TransitionPublisher

log = logging.getLogger("lookout_alerts.evaluator")  # also when run as __main__

EVALUATIONS = Counter("alert_evaluations_total", "Rule evaluations", ["outcome"])
FIRING = Gauge("alerts_firing", "Series firing after the last evaluation, by severity",
               ["severity"])
EVALUATION_SECONDS = Histogram("alerts_evaluation_seconds", "One evaluation of all rules")
TRANSITIONS = Counter("alerts_transitions_total", "Alert state transitions", ["to"])

Sample = tuple[dict[str, str], float]  # series labels, value


@dataclass(frozen=True)
class RuleEvaluation:
    alerts: list[SeriesAlert]  # the state to store
    forget: list[str]  # fingerprints whose state is dropped
    transitions: list[tuple[SeriesAlert, Transition]]
    error: str | None = None  # the rule failed (its alert limit was exceeded)


def evaluate_rule(rule: AlertRule, stored: Mapping[str, SeriesAlert],
                  samples: Sequence[Sample], now: float,
                  resolved_retention_s: float) -> RuleEvaluation:
    """One evaluation of one rule, given its stored series and the query's result."""
    assert rule.id is not None
    rule_id = rule.id
    matched: dict[str, tuple[dict[str, str], dict[str, str], float]] = {}
    for series_labels, value in samples:
        if not rule.holds(value):
            continue
        labels = alert_labels(rule, series_labels, value)
        fp = fingerprint(labels)
        # Two series with one label set after templating: the first wins (Prometheus
        # fails the rule; keeping one alert is kinder to the receiver).
        matched.setdefault(fp, (labels, alert_annotations(rule, series_labels, value), value))
    error = None
    if rule.limit and len(matched) > rule.limit:
        # As Prometheus: the evaluation fails and all its alerts are discarded (here they
        # resolve at once, so receivers hear of the end).
        error = f"exceeded limit of {rule.limit} with {len(matched)} alerts"
        matched = {}
        rule = replace(rule, keep_firing_for_s=0.0)
    alerts, forget, transitions = [], [], []
    for fp in sorted(set(matched) | set(stored)):
        previous = stored.get(fp)
        state = previous.state if previous else AlertState()
        hit = matched.get(fp)
        new_state, transition = step(state, hit[2] if hit else None, now, rule.for_s,
                                     rule.keep_firing_for_s)
        labels, annotations = (hit[0], hit[1]) if hit else (
            previous.labels if previous else {}, previous.annotations if previous else {})
        alert = SeriesAlert(rule_id, fp, labels, annotations, new_state)
        if transition is not None:
            transitions.append((alert, transition))
        if new_state.phase is AlertPhase.INACTIVE or (
                new_state.phase is AlertPhase.RESOLVED and new_state.resolved_at is not None
                and now - new_state.resolved_at > resolved_retention_s):
            if previous is not None:
                forget.append(fp)
        else:
            alerts.append(alert)
    return RuleEvaluation(alerts, forget, transitions, error)


def is_due(rule: AlertRule, last_evaluation: float | None, now: float, tick_s: float) -> bool:
    """A rule with an interval is evaluated no more often than that: at the first tick at
    least ``interval`` after its last evaluation (half a tick of slack, so a 30 s rule on
    10 s ticks runs every third tick rather than every fourth)."""
    if rule.interval_s is None or last_evaluation is None:
        return True
    return now - last_evaluation >= rule.interval_s - tick_s / 2


class QueryFailed(Exception):
    pass


class QueryClient:
    """Instant queries through the query service's Prometheus-compatible API."""

    def __init__(self, settings: AlertsSettings) -> None:
        self.url = settings.query_url.rstrip("/") + "/prometheus/api/v1/query"
        self.timeout = settings.alerts_http_timeout_s
        self.session = requests.Session()
        if settings.alerts_query_token:
            self.session.headers["Authorization"] = f"Bearer {settings.alerts_query_token}"

    def instant(self, query: str, at: float) -> list[Sample]:
        try:
            r = self.session.post(self.url, data={"query": query, "time": f"{at:.3f}"},
                                  timeout=self.timeout)
        except requests.RequestException as exc:
            raise QueryFailed(f"query service unreachable: {exc}") from exc
        try:
            body = r.json()
        except ValueError as exc:
            raise QueryFailed(f"query service answered {r.status_code}: {r.text[:200]}") from exc
        if r.status_code != 200 or body.get("status") != "success":
            raise QueryFailed(f"{body.get('errorType', r.status_code)}: {body.get('error', '')}")
        data = body["data"]
        if data["resultType"] == "scalar":
            return [({}, float(data["result"][1]))]
        if data["resultType"] != "vector":
            raise QueryFailed(f"the query returns a {data['resultType']}, not an instant vector")
        return [(item["metric"], float(item["value"][1])) for item in data["result"]]


def notice(alert: SeriesAlert, external_url: str, event_id: int | None) -> AlertNotice:
    s = alert.state
    resolved = s.phase is AlertPhase.RESOLVED
    starts = s.fired_at or s.active_at or 0.0
    return AlertNotice(alert.fingerprint, alert.rule_id, alert.labels, alert.annotations,
                       "resolved" if resolved else "firing", starts,
                       s.resolved_at if resolved else None,
                       f"{external_url.rstrip('/')}/alerts/{alert.rule_id}", event_id)


def transition_message(rule: AlertRule, alert: SeriesAlert, t: Transition) -> dict[str, Any]:
    return {"rule_id": rule.id, "alertname": rule.name, "state": t.after.value,
            "previous_state": t.before.value, "labels": alert.labels,
            "annotations": alert.annotations,
            "value": None if t.value is None or not math.isfinite(t.value) else t.value,
            "at": datetime.fromtimestamp(t.at, UTC).isoformat(),
            "fingerprint": alert.fingerprint}


class EvaluatorLease:
    """Only one evaluator evaluates: it holds a PostgreSQL session advisory lock on a
    connection of its own. Another evaluator started next to it waits as a standby and
    takes over when the holder's session ends (the process died, or the connection
    broke), so two never evaluate and notify at once."""

    LOCK_NAME = "lookout-alerts-evaluator"

    def __init__(self, settings: AlertsSettings) -> None:
        self.settings = settings
        self._conn: Any = None

    def hold(self) -> bool:
        """True while this process holds the lease (taking it when it is free)."""
        if self._conn is not None:
            try:
                with self._conn.cursor() as cur:
                    cur.execute("SELECT 1")
                return True
            except psycopg2.Error:
                self.release()  # the session ended, and with it the lock
        try:
            conn = connect(self.settings, application_name="lookout-alerts-evaluator-lease",
                           autocommit=True)
        except psycopg2.Error:
            return False
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT pg_try_advisory_lock(hashtext(%s))", (self.LOCK_NAME,))
                held = bool(cur.fetchone()[0])
        except psycopg2.Error:
            held = False
        if held:
            self._conn = conn
        else:
            conn.close()
        return held

    def release(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except psycopg2.Error:
                pass
            self._conn = None


class Evaluator:
    def __init__(self, settings: AlertsSettings, store: AlertStore | None = None,
                 clock: Callable[[], float] = time.time,
                 publisher: TransitionPublisher | None = None) -> None:
        self.settings = settings
        self.store = store or AlertStore(settings)
        self.clock = clock
        self.query = QueryClient(settings)
        self.alerts_writer = AlertsSeriesWriter(settings)
        self.publisher = publisher if publisher is not None else TransitionPublisher(settings)
        self.groups = AlertGroups(settings.group_by(), settings.alerts_group_wait_s,
                                  settings.alerts_group_interval_s,
                                  settings.alerts_repeat_interval_s)
        self.delivery = NotificationDelivery(settings, senders(settings),
                                             self.store.set_notification_status)
        self._restored = False
        self._alertmanager_events: dict[str, list[int]] = {}
        self.stopping = threading.Event()

    def restore_groups(self, rules: Sequence[AlertRule], now: float) -> None:
        """On start (and on taking the lease over) the notification groups come back from
        PostgreSQL with their timers and what each last notified; the firing alerts, and
        resolutions not notified yet, rejoin them. An alert already notified in its
        state is not sent again before ``repeat_interval``; a change waits out
        ``group_interval`` from the last notification; events whose notification was
        still pending when the previous process stopped are reported now."""
        self.groups = AlertGroups(self.settings.group_by(), self.settings.alerts_group_wait_s,
                                  self.settings.alerts_group_interval_s,
                                  self.settings.alerts_repeat_interval_s)
        self.groups.restore(self.store.load_notification_groups())
        unsent = self.store.unsent_events()
        by_id = {r.id: r for r in rules}
        for alert in self.store.all_state():
            rule = by_id.get(alert.rule_id)
            if rule is None or alert.state.phase not in (AlertPhase.FIRING,
                                                         AlertPhase.RESOLVED):
                continue
            events = unsent.get((alert.rule_id, alert.fingerprint), [])
            base = notice(alert, self.settings.alerts_external_url, None)
            for target in rule.targets:
                if target.kind == "alertmanager":  # those get every alert, every evaluation
                    continue
                if alert.state.phase is AlertPhase.RESOLVED and not events and \
                        self.groups.notified_status(target, base) != "firing":
                    continue  # its resolution was notified (or it never was)
                event_ids: list[int | None] = [*events] or [None]
                for event_id in event_ids:
                    self.groups.add(target, replace(base, event_id=event_id), now)
        self.store.save_notification_groups([], self.groups.prune_empty())

    def run_once(self) -> None:
        now = self.clock()
        started = time.perf_counter()
        rules = self.store.list_rules()
        if not self._restored:
            self.restore_groups(rules, now)
            self._restored = True
        # Alertmanager base URL -> the alerts to (re)send to it this evaluation.
        forwarded: dict[str, list[AlertNotice]] = {}
        firing: dict[str, int] = dict.fromkeys(("info", "warning", "critical"), 0)
        health = self.store.rule_health()
        for rule in rules:
            assert rule.id is not None
            rule_id = rule.id
            stored = self.store.load_state(rule_id)
            if not rule.enabled and not stored:
                continue
            last = health[rule_id].last_evaluation if rule_id in health else None
            if rule.enabled and not is_due(rule, last.timestamp() if last else None, now,
                                           self.settings.alerts_eval_interval_s):
                # Not this tick: its alerts stand as last evaluated.
                current = list(stored.values())
                firing[rule.severity] = firing.get(rule.severity, 0) + sum(
                    a.state.phase is AlertPhase.FIRING for a in current)
                self._forward(rule, current, forwarded)
                continue
            t0 = time.perf_counter()
            try:
                samples = self.query.instant(rule.query, now) if rule.enabled else []
            except QueryFailed as exc:
                EVALUATIONS.labels("error").inc()
                self.store.record_evaluation(rule_id, now, time.perf_counter() - t0, str(exc))
                log.warning("rule %s evaluation failed: %s", rule.name, exc,
                            extra={"rule": rule.name, "error": str(exc)})
                continue
            if not rule.enabled:  # disabled: what is active resolves now
                rule = replace(rule, keep_firing_for_s=0.0)
            result = evaluate_rule(rule, stored, samples, now,
                                   self.settings.alerts_resolved_retention_s)
            self.store.save_state(rule_id, result.alerts, result.forget)
            self.handle_transitions(rule, result.transitions, now)
            self.alerts_writer.write(stored, result.alerts, now)
            firing[rule.severity] = firing.get(rule.severity, 0) + sum(
                a.state.phase is AlertPhase.FIRING for a in result.alerts)
            self._forward(rule, result.alerts, forwarded)
            EVALUATIONS.labels("error" if result.error else "ok").inc()
            if result.error:
                log.warning("rule %s evaluation failed: %s", rule.name, result.error,
                            extra={"rule": rule.name, "error": result.error})
            self.store.record_evaluation(rule_id, now, time.perf_counter() - t0, result.error)
        for severity, count in firing.items():
            FIRING.labels(severity).set(count)
        self.flush_notifications(now)
        for url in set(forwarded) | set(self._alertmanager_events):
            self.forward_to_alertmanager(url, forwarded.get(url, []), now)
        EVALUATION_SECONDS.observe(time.perf_counter() - started)

    def _forward(self, rule: AlertRule, alerts: Sequence[SeriesAlert],
                 forwarded: dict[str, list[AlertNotice]]) -> None:
        """Queue the rule's firing and resolved alerts for its Alertmanagers."""
        notices = [notice(a, self.settings.alerts_external_url, None) for a in alerts
                   if a.state.phase in (AlertPhase.FIRING, AlertPhase.RESOLVED)]
        urls = {t.address for t in rule.targets if t.kind == "alertmanager"}
        if self.settings.alertmanager_url:
            urls.add(self.settings.alertmanager_url)
        for url in urls:
            forwarded.setdefault(url, []).extend(notices)

    def handle_transitions(self, rule: AlertRule,
                           transitions: Sequence[tuple[SeriesAlert, Transition]],
                           now: float) -> None:
        for alert, t in transitions:
            TRANSITIONS.labels(t.after.value).inc()
            self.publisher.publish(transition_message(rule, alert, t))
            if t.after not in (AlertPhase.FIRING, AlertPhase.RESOLVED):
                continue
            targets = rule.targets
            status = "pending" if targets else "no_targets"
            event_id = self.store.add_event(alert, t.after.value, now, status)
            log.info("alert %s", t.after.value, extra={
                "rule": rule.name, "labels": alert.labels, "value": t.value})
            for target in targets:
                if target.kind == "alertmanager":
                    self._alertmanager_events.setdefault(target.address, []).append(event_id)
                else:
                    self.groups.add(target, notice(alert, self.settings.alerts_external_url,
                                                   event_id), now)

    def flush_notifications(self, now: float) -> None:
        silences = self.store.list_silences()
        when = datetime.fromtimestamp(now, UTC)
        batch = self.groups.due(now, lambda labels: is_muted(labels, silences, when))
        # Recorded as handed to delivery (whose retries and failures are the events'):
        # a restarted evaluator does not notify these again before repeat_interval.
        self.store.save_notification_groups(batch.sent, batch.ended)
        if batch.silenced_event_ids:
            self.store.set_notification_status(batch.silenced_event_ids, "silenced", None)
        for n in batch.notifications:
            self.delivery.submit(n)

    def forward_to_alertmanager(self, url: str, notices: Sequence[AlertNotice],
                                now: float) -> bool:
        """Send the firing and recently resolved alerts to an Alertmanager, on every
        evaluation, as Prometheus does: Alertmanager groups, deduplicates, silences and
        notifies by itself. A firing alert's ``endsAt`` is four times the resend period
        ahead, so Alertmanager resolves it by itself if Lookout stops sending. The
        events waiting for this Alertmanager are marked sent once it accepted them
        (until then they wait: every evaluation sends the alerts again)."""
        if not notices:
            return True
        valid_until = now + 4 * max(60.0, self.settings.alerts_eval_interval_s)
        try:
            r = requests.post(url.rstrip("/") + "/api/v2/alerts",
                              json=alertmanager_alerts(notices, valid_until),
                              timeout=self.settings.alerts_http_timeout_s)
        except requests.RequestException as exc:
            log.warning("Alertmanager %s unreachable: %s", url, exc)
            return False
        if r.status_code >= 300:
            log.warning("Alertmanager %s answered %d: %s", url, r.status_code, r.text[:200])
            return False
        events = self._alertmanager_events.pop(url, [])
        if events:
            self.store.set_notification_status(events, "sent", None)
        return True

    def run_forever(self, lease: EvaluatorLease | None = None) -> None:
        interval = self.settings.alerts_eval_interval_s
        next_run = time.monotonic()
        leading = True
        while not self.stopping.is_set():
            if lease is not None and not lease.hold():
                if leading:
                    log.info("another evaluator holds the lease: standing by")
                leading, self._restored = False, False  # on takeover: restore the groups
            else:
                if not leading:
                    log.info("evaluator lease taken: evaluating")
                leading = True
                try:
                    self.run_once()
                except Exception:  # a database hiccup must not end the loop
                    log.exception("evaluation cycle failed")
            next_run += interval
            delay = next_run - time.monotonic()
            if delay < 0:  # overran: skip the missed ticks rather than bunching up
                next_run = time.monotonic()
                delay = 0
            self.publisher.keepalive()
            self.stopping.wait(delay)
        self.delivery.close()
        self.publisher.close()
        if lease is not None:
            lease.release()


def provision(settings: AlertsSettings, store: AlertStore) -> int:
    if not settings.alerts_provision_defaults:
        return 0
    created = store.provision_defaults(default_rules(settings.default_targets()))
    if created:
        log.info("default alert rules provisioned", extra={"rules": created})
    return created


def main() -> None:
    settings = load_settings(AlertsSettings)
    configure_logging(settings, "alerts-evaluator")
    migrate(settings)
    store = AlertStore(settings)
    provision(settings, store)
    if settings.alerts_evaluator_port:
        start_http_server(settings.alerts_evaluator_port, addr=settings.alerts_host)
    evaluator = Evaluator(settings, store)
    signal.signal(signal.SIGTERM, lambda *_: evaluator.stopping.set())
    signal.signal(signal.SIGINT, lambda *_: evaluator.stopping.set())
    log.info("evaluator started", extra={"interval_s": settings.alerts_eval_interval_s,
                                         "query_url": settings.query_url})
    evaluator.run_forever(EvaluatorLease(settings))


if __name__ == "__main__":
    main()
