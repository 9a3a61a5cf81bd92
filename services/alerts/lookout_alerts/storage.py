"""PostgreSQL access for alerting: rules, per-series state, events and silences.
Only bound parameters; one short transaction per call."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import psycopg2.extensions
from psycopg2.extras import Json

from lookout_common.db.connection import connect
from lookout_common.errors import NotFound, ValidationFailed
from lookout_common.settings import DatabaseSettings

from .notify.grouping import GroupRecord
from .rules import AlertRule, NotificationTarget
from .silences import Matcher, Silence
from .state import AlertPhase, AlertState


def fingerprint(labels: Mapping[str, str]) -> str:
    """A stable id of a label set."""
    canonical = json.dumps(sorted(labels.items()), separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _ts(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def _s(when: datetime | None) -> float | None:
    return None if when is None else when.timestamp()


def iso_time(when: datetime | None) -> str | None:
    return None if when is None else when.astimezone(UTC).isoformat().replace("+00:00", "Z")


RULE_SELECT = (
    "SELECT r.id, r.name, r.group_name, r.query, r.condition, r.threshold, r.for_s,"
    " r.keep_firing_for_s, r.severity, r.enabled, r.labels, r.annotations,"
    " r.notification_targets, r.provisioned, r.interval_s, r.alert_limit, r.owner_id,"
    " u.username FROM alert_rules r LEFT JOIN users u ON u.id = r.owner_id")


def _rule(row: Sequence[Any]) -> AlertRule:
    return AlertRule(
        id=row[0], name=row[1], group=row[2], query=row[3], condition=row[4], threshold=row[5],
        for_s=row[6], keep_firing_for_s=row[7], severity=row[8], enabled=row[9],
        labels=row[10], annotations=row[11],
        targets=tuple(NotificationTarget(t["type"], t["address"]) for t in row[12]),
        provisioned=row[13], interval_s=row[14], limit=row[15], owner_id=row[16],
        owner_name=row[17])


@dataclass(frozen=True)
class SeriesAlert:
    """One series of one rule as stored: its labels and state."""

    rule_id: int
    fingerprint: str
    labels: dict[str, str]
    annotations: dict[str, str]
    state: AlertState


@dataclass(frozen=True)
class AlertEvent:
    id: int
    rule_id: int
    fingerprint: str
    kind: str
    labels: dict[str, str]
    annotations: dict[str, str]
    value: float | None
    active_at: datetime | None
    fired_at: datetime | None
    resolved_at: datetime | None
    at: datetime
    notification_status: str
    notification_error: str | None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "rule_id": self.rule_id, "fingerprint": self.fingerprint,
                "kind": self.kind, "labels": self.labels, "annotations": self.annotations,
                "value": self.value, "active_at": iso_time(self.active_at),
                "fired_at": iso_time(self.fired_at), "resolved_at": iso_time(self.resolved_at),
                "at": iso_time(self.at), "notification_status": self.notification_status,
                "notification_error": self.notification_error}


@dataclass(frozen=True)
class RuleHealth:
    last_evaluation: datetime | None
    evaluation_time_s: float
    health: str
    last_error: str


class AlertStore:
    def __init__(self, settings: DatabaseSettings) -> None:
        self.settings = settings

    @contextmanager
    def _cursor(self) -> Iterator[psycopg2.extensions.cursor]:
        conn = connect(self.settings, application_name="lookout-alerts")
        try:
            with conn, conn.cursor() as cur:
                yield cur
        finally:
            conn.close()

    # --- rules --------------------------------------------------------------------------
    def list_rules(self, enabled_only: bool = False) -> list[AlertRule]:
        with self._cursor() as cur:
            cur.execute(f"{RULE_SELECT} WHERE r.enabled OR NOT %s ORDER BY r.group_name, r.id",
                        (enabled_only,))
            return [_rule(r) for r in cur.fetchall()]

    def get_rule(self, rule_id: int, cur: psycopg2.extensions.cursor | None = None
                 ) -> AlertRule:
        if cur is None:
            with self._cursor() as own:
                return self.get_rule(rule_id, own)
        cur.execute(f"{RULE_SELECT} WHERE r.id = %s", (rule_id,))
        row = cur.fetchone()
        if row is None:
            raise NotFound(f"alert rule {rule_id} does not exist")
        return _rule(row)

    def _rule_params(self, rule: AlertRule) -> tuple[Any, ...]:
        return (rule.name, rule.group, rule.query, rule.condition, rule.threshold, rule.for_s,
                rule.keep_firing_for_s, rule.severity, rule.enabled, Json(dict(rule.labels)),
                Json(dict(rule.annotations)), Json([t.to_json() for t in rule.targets]),
                rule.provisioned, rule.interval_s, rule.limit, rule.owner_id)

    def create_rule(self, rule: AlertRule, cur: psycopg2.extensions.cursor | None = None
                    ) -> AlertRule:
        if cur is None:
            with self._cursor() as own:
                return self.create_rule(rule, own)
        try:
            cur.execute(
                "INSERT INTO alert_rules (name, group_name, query, condition, threshold, for_s,"
                " keep_firing_for_s, severity, enabled, labels, annotations,"
                " notification_targets, provisioned, interval_s, alert_limit, owner_id)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                " RETURNING id", self._rule_params(rule))
        except psycopg2.errors.UniqueViolation as exc:
            raise ValidationFailed(
                f"name: a {rule.severity} rule {rule.name!r} already exists in group "
                f"{rule.group!r}", field="name") from exc
        return self.get_rule(cur.fetchone()[0], cur)  # type: ignore[index]

    def update_rule(self, rule: AlertRule, cur: psycopg2.extensions.cursor | None = None
                    ) -> AlertRule:
        if cur is None:
            with self._cursor() as own:
                return self.update_rule(rule, own)
        try:
            cur.execute(
                "UPDATE alert_rules SET name=%s, group_name=%s, query=%s, condition=%s,"
                " threshold=%s, for_s=%s, keep_firing_for_s=%s, severity=%s, enabled=%s,"
                " labels=%s, annotations=%s, notification_targets=%s, provisioned=%s,"
                " interval_s=%s, alert_limit=%s, owner_id=%s,"
                " updated_at=now() WHERE id=%s RETURNING id",
                (*self._rule_params(rule), rule.id))
        except psycopg2.errors.UniqueViolation as exc:
            raise ValidationFailed(
                f"name: a {rule.severity} rule {rule.name!r} already exists in group "
                f"{rule.group!r}", field="name") from exc
        row = cur.fetchone()
        if row is None:
            raise NotFound(f"alert rule {rule.id} does not exist")
        return self.get_rule(row[0], cur)

    def delete_rule(self, rule_id: int) -> None:
        with self._cursor() as cur:
            cur.execute("DELETE FROM alert_rules WHERE id = %s", (rule_id,))
            if cur.rowcount == 0:
                raise NotFound(f"alert rule {rule_id} does not exist")

    def replace_groups(self, rules: Sequence[AlertRule],
                       may_change: Callable[[AlertRule], None] | None = None
                       ) -> list[AlertRule]:
        """Import: each group named in ``rules`` ends up holding exactly the rules given
        for it. A rule already there (same group, name and severity) is updated in place,
        keeping its state and history; the group's other rules are deleted.
        ``may_change`` is called with every rule already in those groups (the import
        replaces them all) and raises to refuse; nothing is written then."""
        out: list[AlertRule] = []
        with self._cursor() as cur:
            if may_change is not None:
                cur.execute(f"{RULE_SELECT} WHERE r.group_name = ANY(%s) ORDER BY r.id"
                            " FOR UPDATE OF r", (sorted({r.group for r in rules}),))
                for row in cur.fetchall():
                    may_change(_rule(row))
            for r in rules:
                cur.execute("SELECT id FROM alert_rules WHERE group_name = %s AND name = %s"
                            " AND severity = %s", (r.group, r.name, r.severity))
                row = cur.fetchone()
                if row is not None and row[0] in {x.id for x in out}:
                    raise ValidationFailed(
                        f"name: {r.name!r} ({r.severity}) appears twice in group {r.group!r}",
                        field="name")
                out.append(self.update_rule(replace(r, id=row[0]), cur) if row
                           else self.create_rule(r, cur))
            for group in sorted({r.group for r in rules}):
                cur.execute("DELETE FROM alert_rules WHERE group_name = %s AND NOT id = ANY(%s)",
                            (group, [x.id for x in out if x.group == group]))
        return out

    def provision_defaults(self, rules: Sequence[AlertRule]) -> int:
        """Create ``rules`` once, on the first start: nothing when any rule exists."""
        with self._cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(hashtext('lookout-alert-provisioning'))")
            cur.execute("SELECT count(*) FROM alert_rules")
            if cur.fetchone()[0]:  # type: ignore[index]
                return 0
            for r in rules:
                self.create_rule(r, cur)
            return len(rules)

    def record_evaluation(self, rule_id: int, at: float, duration_s: float,
                          error: str | None) -> None:
        with self._cursor() as cur:
            cur.execute("UPDATE alert_rules SET last_evaluation = %s, evaluation_time_s = %s,"
                        " health = %s, last_error = %s WHERE id = %s",
                        (_ts(at), duration_s, "err" if error else "ok", error or "", rule_id))

    def rule_health(self) -> dict[int, RuleHealth]:
        with self._cursor() as cur:
            cur.execute("SELECT id, last_evaluation, evaluation_time_s, health, last_error"
                        " FROM alert_rules")
            return {r[0]: RuleHealth(r[1], r[2] or 0.0, r[3], r[4]) for r in cur.fetchall()}

    # --- state --------------------------------------------------------------------------
    def load_state(self, rule_id: int) -> dict[str, SeriesAlert]:
        with self._cursor() as cur:
            cur.execute(
                "SELECT fingerprint, labels, annotations, phase, active_at, fired_at,"
                " resolved_at, keep_firing_since, value, last_evaluated_at"
                " FROM alert_state WHERE rule_id = %s", (rule_id,))
            return {r[0]: SeriesAlert(rule_id, r[0], r[1], r[2], AlertState(
                AlertPhase(r[3]), _s(r[4]), _s(r[5]), _s(r[6]), _s(r[7]), r[8], _s(r[9])))
                for r in cur.fetchall()}

    def all_state(self) -> list[SeriesAlert]:
        with self._cursor() as cur:
            cur.execute("SELECT rule_id FROM alert_state GROUP BY rule_id")
            ids = [r[0] for r in cur.fetchall()]
        return [a for i in ids for a in self.load_state(i).values()]

    def save_state(self, rule_id: int, alerts: Sequence[SeriesAlert],
                   forget: Sequence[str]) -> None:
        with self._cursor() as cur:
            for a in alerts:
                s = a.state
                cur.execute(
                    "INSERT INTO alert_state (rule_id, fingerprint, labels, annotations, phase,"
                    " active_at, fired_at, resolved_at, keep_firing_since, value,"
                    " last_evaluated_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (rule_id, fingerprint) DO UPDATE SET labels=EXCLUDED.labels,"
                    " annotations=EXCLUDED.annotations, phase=EXCLUDED.phase,"
                    " active_at=EXCLUDED.active_at, fired_at=EXCLUDED.fired_at,"
                    " resolved_at=EXCLUDED.resolved_at,"
                    " keep_firing_since=EXCLUDED.keep_firing_since, value=EXCLUDED.value,"
                    " last_evaluated_at=EXCLUDED.last_evaluated_at",
                    (rule_id, a.fingerprint, Json(a.labels), Json(a.annotations),
                     s.phase.value, _ts(s.active_at), _ts(s.fired_at), _ts(s.resolved_at),
                     _ts(s.keep_firing_since), s.value, _ts(s.last_evaluated_at)))
            if forget:
                cur.execute("DELETE FROM alert_state WHERE rule_id = %s"
                            " AND fingerprint = ANY(%s)", (rule_id, list(forget)))

    # --- events -------------------------------------------------------------------------
    def add_event(self, alert: SeriesAlert, kind: str, at: float, status: str) -> int:
        s = alert.state
        with self._cursor() as cur:
            cur.execute(
                "INSERT INTO alert_events (rule_id, fingerprint, kind, labels, annotations,"
                " value, active_at, fired_at, resolved_at, at, notification_status)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
                (alert.rule_id, alert.fingerprint, kind, Json(alert.labels),
                 Json(alert.annotations), s.value, _ts(s.active_at), _ts(s.fired_at),
                 _ts(s.resolved_at), _ts(at), status))
            return int(cur.fetchone()[0])  # type: ignore[index]

    def set_notification_status(self, event_ids: Sequence[int], status: str,
                                error: str | None = None) -> None:
        """Record a delivery's outcome; a failure is never overwritten by a later success
        to another target of the same event."""
        with self._cursor() as cur:
            cur.execute(
                "UPDATE alert_events SET notification_status = %s, notification_error = %s,"
                " notified_at = now() WHERE id = ANY(%s)"
                " AND (notification_status <> 'notification_failed' OR %s = 'notification_failed')",
                (status, error, list(event_ids), status))

    def history(self, rule_id: int, limit: int = 100) -> list[AlertEvent]:
        self.get_rule(rule_id)
        with self._cursor() as cur:
            cur.execute(
                "SELECT id, rule_id, fingerprint, kind, labels, annotations, value, active_at,"
                " fired_at, resolved_at, at, notification_status, notification_error"
                " FROM alert_events WHERE rule_id = %s ORDER BY at DESC, id DESC LIMIT %s",
                (rule_id, limit))
            return [AlertEvent(*r) for r in cur.fetchall()]

    def unsent_events(self) -> dict[tuple[int, str], list[int]]:
        """Events whose notification is still ``pending`` (a restarted evaluator reports
        them), per (rule, fingerprint), oldest first."""
        with self._cursor() as cur:
            cur.execute("SELECT id, rule_id, fingerprint FROM alert_events"
                        " WHERE notification_status = 'pending' ORDER BY id")
            out: dict[tuple[int, str], list[int]] = {}
            for event_id, rule_id, fp in cur.fetchall():
                out.setdefault((rule_id, fp), []).append(event_id)
            return out

    # --- notification groups -------------------------------------------------------------
    def load_notification_groups(self) -> list[GroupRecord]:
        with self._cursor() as cur:
            cur.execute("SELECT group_key, target, labels, created_at, last_sent_at, notified"
                        " FROM alert_notification_groups")
            return [GroupRecord(r[0], NotificationTarget(r[1]["type"], r[1]["address"]),
                                r[2], r[3].timestamp(), _s(r[4]), r[5])
                    for r in cur.fetchall()]

    def save_notification_groups(self, sent: Sequence[GroupRecord],
                                 ended: Sequence[str]) -> None:
        if not sent and not ended:
            return
        with self._cursor() as cur:
            for g in sent:
                cur.execute(
                    "INSERT INTO alert_notification_groups (group_key, target, labels,"
                    " created_at, last_sent_at, notified) VALUES (%s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (group_key) DO UPDATE SET last_sent_at ="
                    " EXCLUDED.last_sent_at, notified = EXCLUDED.notified, updated_at = now()",
                    (g.key, Json(g.target.to_json()), Json(dict(g.labels)), _ts(g.created_at),
                     _ts(g.last_sent_at), Json(dict(g.notified))))
            if ended:
                cur.execute("DELETE FROM alert_notification_groups WHERE group_key = ANY(%s)",
                            (list(ended),))

    # --- silences -----------------------------------------------------------------------
    def list_silences(self) -> list[Silence]:
        with self._cursor() as cur:
            cur.execute("SELECT id, matchers, starts_at, ends_at, created_by, comment"
                        " FROM silences ORDER BY id")
            return [_silence(r) for r in cur.fetchall()]

    def get_silence(self, silence_id: int) -> Silence:
        with self._cursor() as cur:
            cur.execute("SELECT id, matchers, starts_at, ends_at, created_by, comment"
                        " FROM silences WHERE id = %s", (silence_id,))
            row = cur.fetchone()
        if row is None:
            raise NotFound(f"silence {silence_id} does not exist")
        return _silence(row)

    def save_silence(self, silence: Silence) -> Silence:
        params = (Json([m.to_json() for m in silence.matchers]), silence.starts_at,
                  silence.ends_at, silence.created_by, silence.comment)
        with self._cursor() as cur:
            if silence.id is None:
                cur.execute("INSERT INTO silences (matchers, starts_at, ends_at, created_by,"
                            " comment) VALUES (%s, %s, %s, %s, %s) RETURNING id", params)
            else:
                cur.execute("UPDATE silences SET matchers=%s, starts_at=%s, ends_at=%s,"
                            " created_by=%s, comment=%s WHERE id=%s RETURNING id",
                            (*params, silence.id))
            row = cur.fetchone()
        if row is None:
            raise NotFound(f"silence {silence.id} does not exist")
        return self.get_silence(row[0])

    def delete_silence(self, silence_id: int) -> None:
        with self._cursor() as cur:
            cur.execute("DELETE FROM silences WHERE id = %s", (silence_id,))
            if cur.rowcount == 0:
                raise NotFound(f"silence {silence_id} does not exist")


def _silence(row: Sequence[Any]) -> Silence:
    return Silence(tuple(Matcher(m["name"], m["value"], m.get("isRegex", False),
                                 m.get("isEqual", True)) for m in row[1]),
                   row[2], row[3], row[4], row[5], id=row[0])
