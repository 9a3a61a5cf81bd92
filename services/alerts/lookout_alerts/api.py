"""The alerts HTTP API: rules (``/api/v1/alerts``), their history, rule-file import,
silences (``/api/v1/silences``), and Prometheus's ``/prometheus/api/v1/rules`` and
``/prometheus/api/v1/alerts``. Handlers only move data: validation is in rules.py and
silences.py, SQL in storage.py, permissions in access.py."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from lookout_common.errors import BadRequest, ValidationFailed

from .access import check_owner, require_editor
from .rules import AlertRule, parse_rule, parse_rule_file
from .settings import AlertsSettings
from .silences import parse_silence
from .state import AlertPhase
from .storage import AlertStore, SeriesAlert, iso_time

bp = Blueprint("alerts_api", __name__)


def store() -> AlertStore:
    return current_app.extensions["lookout.alerts"]  # type: ignore[no-any-return]


def settings() -> AlertsSettings:
    return current_app.extensions["lookout.alerts.settings"]  # type: ignore[no-any-return]


def json_body() -> Any:
    body = request.get_json(silent=True)
    if body is None:
        raise ValidationFailed("body: expected a JSON object", field="body")
    return body


def now() -> datetime:
    return datetime.now(UTC)


def _alert_json(a: SeriesAlert) -> dict[str, Any]:
    s = a.state
    return {"fingerprint": a.fingerprint, "labels": a.labels, "annotations": a.annotations,
            "state": s.phase.value, "value": s.value,
            "active_at": iso_time(_dt(s.active_at)), "fired_at": iso_time(_dt(s.fired_at)),
            "resolved_at": iso_time(_dt(s.resolved_at)),
            "keep_firing_since": iso_time(_dt(s.keep_firing_since))}


def _dt(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


def _rule_json(rule: AlertRule, alerts: list[SeriesAlert]) -> dict[str, Any]:
    phases = [a.state.phase for a in alerts]
    state = ("firing" if AlertPhase.FIRING in phases else
             "pending" if AlertPhase.PENDING in phases else "inactive")
    return {**rule.to_json(), "state": state, "alerts": [_alert_json(a) for a in alerts]}


def _alerts_by_rule() -> dict[int, list[SeriesAlert]]:
    out: dict[int, list[SeriesAlert]] = {}
    for a in store().all_state():
        out.setdefault(a.rule_id, []).append(a)
    return out


# --- rules ---------------------------------------------------------------------------
@bp.get("/api/v1/alerts")
def list_rules() -> Response:
    alerts = _alerts_by_rule()
    return jsonify({"alerts": [_rule_json(r, alerts.get(r.id or 0, []))
                               for r in store().list_rules()]})


@bp.post("/api/v1/alerts")
def create_rule() -> tuple[Response, int]:
    caller = require_editor()
    rule = store().create_rule(replace(parse_rule(json_body()), owner_id=caller.user_id))
    return jsonify(_rule_json(rule, [])), 201


@bp.get("/api/v1/alerts/<int:rule_id>")
def get_rule(rule_id: int) -> Response:
    rule = store().get_rule(rule_id)
    return jsonify(_rule_json(rule, list(store().load_state(rule_id).values())))


@bp.route("/api/v1/alerts/<int:rule_id>", methods=["PUT", "PATCH"])
def update_rule(rule_id: int) -> Response:
    caller = require_editor()
    current = store().get_rule(rule_id)
    check_owner(caller, current)
    body = json_body()
    if request.method == "PUT":  # the body is the whole rule
        rule = replace(parse_rule(body), id=current.id, provisioned=current.provisioned,
                       owner_id=current.owner_id)
    else:  # what the body does not name is kept
        rule = parse_rule(body, current)
    rule = store().update_rule(rule)
    return jsonify(_rule_json(rule, list(store().load_state(rule_id).values())))


@bp.delete("/api/v1/alerts/<int:rule_id>")
def delete_rule(rule_id: int) -> Response:
    check_owner(require_editor(), store().get_rule(rule_id))
    store().delete_rule(rule_id)
    return Response(status=204)


@bp.get("/api/v1/alerts/<int:rule_id>/history")
def rule_history(rule_id: int) -> Response:
    raw = request.args.get("limit", "100")
    if not raw.isdigit() or not 1 <= int(raw) <= 10_000:
        raise BadRequest("limit: expected a whole number from 1 to 10000", field="limit")
    return jsonify({"events": [e.to_json() for e in store().history(rule_id, int(raw))]})


@bp.post("/api/v1/alerts/import")
def import_rule_file() -> tuple[Response, int]:
    """A Prometheus rule file (YAML); each group in it replaces the group of that name.
    The importer owns the imported rules; an editor may replace only groups whose rules
    are all their own."""
    caller = require_editor()
    text = request.get_data(as_text=True)
    if not text.strip():
        raise ValidationFailed("body: expected a Prometheus rule file (YAML)", field="body")
    parsed = [replace(r, owner_id=caller.user_id) for r in parse_rule_file(text)]
    rules = store().replace_groups(parsed, lambda existing: check_owner(caller, existing))
    return jsonify({"alerts": [_rule_json(r, []) for r in rules]}), 201


# --- silences ------------------------------------------------------------------------
@bp.get("/api/v1/silences")
def list_silences() -> Response:
    at = now()
    return jsonify({"silences": [s.to_json(at) for s in store().list_silences()]})


@bp.post("/api/v1/silences")
def create_silence() -> tuple[Response, int]:
    creator = require_editor().username
    silence = store().save_silence(parse_silence(json_body(), now(), creator))
    return jsonify(silence.to_json(now())), 201


@bp.get("/api/v1/silences/<int:silence_id>")
def get_silence(silence_id: int) -> Response:
    return jsonify(store().get_silence(silence_id).to_json(now()))


@bp.put("/api/v1/silences/<int:silence_id>")
def update_silence(silence_id: int) -> Response:
    creator = require_editor().username
    store().get_silence(silence_id)
    parsed = parse_silence(json_body(), now(), creator)
    silence = store().save_silence(type(parsed)(**{**parsed.__dict__, "id": silence_id}))
    return jsonify(silence.to_json(now()))


@bp.delete("/api/v1/silences/<int:silence_id>")
def delete_silence(silence_id: int) -> Response:
    """Expire a silence (it is removed)."""
    store().delete_silence(silence_id)
    return Response(status=204)


# --- Prometheus-compatible -----------------------------------------------------------
def prometheus_value(value: float | None) -> str:
    """An alert's value as Prometheus gives it: the shortest digits that round-trip, in
    exponent form with a two-digit exponent (``1e+00``, ``1.2345e+03``)."""
    if value is None:
        return ""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if value == 0:
        return "0e+00"
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    power = len(digits) - 1 + exponent
    mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
    return f"{'-' if sign else ''}{mantissa}e{'-' if power < 0 else '+'}{abs(power):02d}"


def _prom_alert(rule: AlertRule, a: SeriesAlert) -> dict[str, Any]:
    s = a.state
    out: dict[str, Any] = {"labels": a.labels, "annotations": a.annotations,
                           "state": s.phase.value,
                           "activeAt": iso_time(_dt(s.active_at)),
                           "value": prometheus_value(s.value)}
    if s.keep_firing_since is not None:
        out["keepFiringSince"] = iso_time(_dt(s.keep_firing_since))
    return out


def _active(a: SeriesAlert) -> bool:
    return a.state.phase in (AlertPhase.PENDING, AlertPhase.FIRING)


def _prometheus(data: dict[str, Any]) -> Response:
    return jsonify({"status": "success", "data": data})


@bp.route("/prometheus/api/v1/alerts", methods=["GET", "POST"])
def prometheus_alerts() -> Response:
    rules = {r.id: r for r in store().list_rules()}
    alerts = [_prom_alert(rules[a.rule_id], a) for a in store().all_state()
              if _active(a) and a.rule_id in rules]
    return _prometheus({"alerts": alerts})


@bp.route("/prometheus/api/v1/rules", methods=["GET", "POST"])
def prometheus_rules() -> Response | tuple[Response, int]:
    kind = request.values.get("type")
    if kind not in (None, "", "alert", "record"):
        return jsonify({"status": "error", "errorType": "bad_data",
                        "error": f'invalid parameter "type": unsupported value "{kind}"'}), 400
    names = set(request.values.getlist("rule_name[]"))
    groups_wanted = set(request.values.getlist("rule_group[]"))
    alerts = _alerts_by_rule()
    health = store().rule_health()
    groups: dict[str, dict[str, Any]] = {}
    interval = settings().alerts_eval_interval_s
    for rule in store().list_rules():
        if kind == "record" or (names and rule.name not in names) or (
                groups_wanted and rule.group not in groups_wanted):
            continue
        rid = rule.id or 0
        group = groups.setdefault(rule.group, {
            "name": rule.group, "file": "lookout", "rules": [],
            "interval": max(interval, rule.interval_s or 0.0),
            "limit": rule.limit, "evaluationTime": 0.0, "lastEvaluation": "0001-01-01T00:00:00Z"})
        series = [a for a in alerts.get(rid, []) if _active(a)]
        h = health.get(rid)
        phases = [a.state.phase for a in series]
        last = iso_time(h.last_evaluation) if h and h.last_evaluation else "0001-01-01T00:00:00Z"
        group["rules"].append({
            "state": "firing" if AlertPhase.FIRING in phases else
                     "pending" if AlertPhase.PENDING in phases else "inactive",
            "name": rule.name, "query": rule.expression(), "duration": rule.for_s,
            "keepFiringFor": rule.keep_firing_for_s,
            "labels": {**rule.labels, "severity": rule.severity},
            "annotations": dict(rule.annotations),
            "alerts": [_prom_alert(rule, a) for a in series],
            "health": h.health if h else "unknown", "lastError": h.last_error if h else "",
            "evaluationTime": h.evaluation_time_s if h else 0.0, "lastEvaluation": last,
            "type": "alerting"})
        group["evaluationTime"] += h.evaluation_time_s if h else 0.0
        if last > group["lastEvaluation"]:
            group["lastEvaluation"] = last
    return _prometheus({"groups": list(groups.values())})
