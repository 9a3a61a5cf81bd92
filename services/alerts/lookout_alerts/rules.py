"""Alert rules: their validated form, the condition, templating, and rule-file import.

A rule is a PromQL ``query``; with a ``condition`` (gt/lt/eq/ne) and a ``threshold`` a
series is active while its value compares true, without one every series the query
returns is active (a Prometheus rule file's ``expr``). Labels and annotations may use
``{{ $labels.x }}`` and ``{{ $value }}``, filled per series at evaluation.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import promql_parser
import yaml

from lookout_common.errors import ValidationFailed

CONDITIONS: dict[str, Callable[[float, float], bool]] = {
    "gt": operator.gt, "lt": operator.lt, "eq": operator.eq, "ne": operator.ne,
}
CONDITION_OPERATORS = {"gt": ">", "lt": "<", "eq": "==", "ne": "!="}
SEVERITIES = ("info", "warning", "critical")
RULE_NAME = re.compile(r"^[A-Za-z_:][A-Za-z0-9_:]*$")
LABEL_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
TARGET_KINDS = ("email", "webhook", "alertmanager")
DURATION = re.compile(r"^((\d+)y)?((\d+)w)?((\d+)d)?((\d+)h)?((\d+)m)?((\d+)s)?((\d+)ms)?$")
DURATION_UNITS = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001)
TEMPLATE = re.compile(r"\{\{\s*(\$value|\$labels\.([A-Za-z_][A-Za-z0-9_]*))\s*\}\}")
RESERVED_LABELS = ("alertname", "alertstate", "__name__")


def parse_duration(value: object, name: str) -> float:
    """Seconds from a number (seconds) or a Prometheus duration string (``5m``, ``1h30m``)."""
    if isinstance(value, bool):
        raise ValidationFailed(f"{name}: expected a duration, got {value!r}", field=name)
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str) and value and (m := DURATION.match(value)):
        seconds = sum(int(m.group(g)) * unit for g, unit in zip(range(2, 15, 2),
                                                                   DURATION_UNITS, strict=True)
                      if m.group(g))
    else:
        raise ValidationFailed(f"{name}: {value!r} is not a duration (seconds or like 5m)",
                               field=name)
    if not math.isfinite(seconds) or seconds < 0:
        raise ValidationFailed(f"{name}: must be a non-negative duration", field=name)
    return seconds


def format_duration(seconds: float) -> str:
    """The Prometheus form of a duration (``300`` → ``5m``, ``0`` → ``0s``)."""
    ms = round(seconds * 1000)
    if ms == 0:
        return "0s"
    out = ""
    for suffix, unit in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000),
                         ("ms", 1)):
        if ms >= unit:
            out += f"{ms // unit}{suffix}"
            ms %= unit
    return out


@dataclass(frozen=True)
class NotificationTarget:
    kind: str  # email | webhook | alertmanager
    address: str  # an e-mail address or a URL

    def key(self) -> str:
        return f"{self.kind}:{self.address}"

    def to_json(self) -> dict[str, str]:
        return {"type": self.kind, "address": self.address}


@dataclass(frozen=True)
class AlertRule:
    name: str
    query: str
    condition: str | None = None
    threshold: float | None = None
    for_s: float = 0.0
    keep_firing_for_s: float = 0.0
    severity: str = "warning"
    enabled: bool = True
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    targets: tuple[NotificationTarget, ...] = ()
    group: str = "default"
    id: int | None = None
    provisioned: bool = False
    # Evaluate no more often than this (seconds); None: at every evaluation.
    interval_s: float | None = None
    # More alerts than this from one evaluation fails the rule (0: no limit).
    limit: int = 0
    # The user who created (or last imported) the rule; None: no owner (admins only).
    owner_id: int | None = None
    owner_name: str | None = None

    def holds(self, value: float) -> bool:
        """True when ``value`` makes the series active."""
        if self.condition is None or self.threshold is None:
            return True
        if math.isnan(value):
            return self.condition == "ne"
        return CONDITIONS[self.condition](value, self.threshold)

    def expression(self) -> str:
        """The rule as one PromQL expression (what /prometheus/api/v1/rules shows)."""
        if self.condition is None:
            return self.query
        return f"({self.query}) {CONDITION_OPERATORS[self.condition]} {self.threshold:g}"

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "name": self.name, "group": self.group, "query": self.query,
            "condition": self.condition, "threshold": self.threshold, "for": self.for_s,
            "keep_firing_for": self.keep_firing_for_s, "severity": self.severity,
            "enabled": self.enabled, "labels": dict(self.labels),
            "annotations": dict(self.annotations),
            "notification_targets": [t.to_json() for t in self.targets],
            "provisioned": self.provisioned, "interval": self.interval_s,
            "limit": self.limit,
            "owner": None if self.owner_id is None else {"id": self.owner_id,
                                                         "username": self.owner_name},
        }


RULE_FIELDS = frozenset({"name", "group", "query", "condition", "threshold", "for",
                         "keep_firing_for", "severity", "enabled", "labels", "annotations",
                         "notification_targets", "interval", "limit"})
# What a rule's JSON carries that a body may send back but cannot change.
READ_ONLY_FIELDS = frozenset({"id", "provisioned", "owner", "state", "alerts"})


def parse_interval(value: object, name: str) -> float | None:
    """An evaluation interval: None, or a positive duration."""
    if value is None:
        return None
    seconds = parse_duration(value, name)
    if seconds <= 0:
        raise ValidationFailed(f"{name}: must be a positive duration (like 30s or 1m)",
                               field=name)
    return seconds


def parse_limit(value: object, name: str) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationFailed(f"{name}: expected a whole number >= 0 (0: no limit)",
                               field=name)
    return value


def _string_map(value: object, name: str, check_names: bool) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValidationFailed(f"{name}: expected an object of strings", field=name)
    out = {}
    for k, v in value.items():
        if not isinstance(v, str):
            raise ValidationFailed(f"{name}.{k}: expected a string", field=f"{name}.{k}")
        if check_names and (not LABEL_NAME.match(k) or k in RESERVED_LABELS):
            raise ValidationFailed(f"{name}.{k}: not an allowed label name",
                                   field=f"{name}.{k}")
        out[str(k)] = v
    return out


def _targets(value: object) -> tuple[NotificationTarget, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise ValidationFailed("notification_targets: expected a list",
                               field="notification_targets")
    out = []
    for i, item in enumerate(value):
        where = f"notification_targets[{i}]"
        if not isinstance(item, dict) or item.get("type") not in TARGET_KINDS:
            raise ValidationFailed(f"{where}.type: expected one of {', '.join(TARGET_KINDS)}",
                                   field=f"{where}.type")
        address = item.get("address")
        kind = item["type"]
        ok = isinstance(address, str) and (
            re.match(r"^[^@\s]+@[^@\s]+$", address) if kind == "email"
            else re.match(r"^https?://\S+$", address))
        if not ok:
            raise ValidationFailed(
                f"{where}.address: expected {'an e-mail address' if kind == 'email' else 'a URL'}",
                field=f"{where}.address")
        out.append(NotificationTarget(kind, address))  # type: ignore[arg-type]
    return tuple(out)


def parse_rule(body: object, base: AlertRule | None = None) -> AlertRule:
    """A rule from an API body; with ``base`` (an update) missing fields keep its values.
    Raises ``ValidationFailed`` naming the first bad field."""
    if not isinstance(body, dict):
        raise ValidationFailed("the body must be a JSON object", field="body")
    unknown = sorted(set(body) - RULE_FIELDS - READ_ONLY_FIELDS)
    if unknown:
        raise ValidationFailed(f"{unknown[0]}: unknown field", field=unknown[0])
    merged: dict[str, Any] = base.to_json() if base else {}
    merged.update(body)
    name = merged.get("name")
    if not isinstance(name, str) or not RULE_NAME.match(name):
        raise ValidationFailed("name: required, letters, digits, _ and : (like HighLatency)",
                               field="name")
    query = merged.get("query")
    if not isinstance(query, str) or not query.strip():
        raise ValidationFailed("query: required PromQL expression", field="query")
    try:
        promql_parser.parse(query)
    except ValueError as exc:
        raise ValidationFailed(f"query: parse error: {exc}", field="query") from exc
    condition = merged.get("condition")
    if condition is not None and condition not in CONDITIONS:
        raise ValidationFailed("condition: expected one of gt, lt, eq, ne", field="condition")
    threshold = merged.get("threshold")
    if condition is not None:
        if isinstance(threshold, bool) or not isinstance(threshold, int | float) \
                or not math.isfinite(threshold):
            raise ValidationFailed("threshold: a finite number is required with a condition",
                                   field="threshold")
        threshold = float(threshold)
    elif threshold is not None:
        raise ValidationFailed("condition: required with a threshold", field="condition")
    severity = merged.get("severity", "warning")
    if severity not in SEVERITIES:
        raise ValidationFailed("severity: expected one of info, warning, critical",
                               field="severity")
    enabled = merged.get("enabled", True)
    if not isinstance(enabled, bool):
        raise ValidationFailed("enabled: expected true or false", field="enabled")
    group = merged.get("group", "default")
    if not isinstance(group, str) or not group:
        raise ValidationFailed("group: expected a non-empty string", field="group")
    return AlertRule(
        name=name, query=query, condition=condition, threshold=threshold,
        for_s=parse_duration(merged.get("for", 0), "for"),
        keep_firing_for_s=parse_duration(merged.get("keep_firing_for", 0), "keep_firing_for"),
        severity=severity, enabled=enabled,
        labels=_string_map(merged.get("labels"), "labels", True),
        annotations=_string_map(merged.get("annotations"), "annotations", False),
        targets=_targets(merged.get("notification_targets")), group=group,
        id=base.id if base else None, provisioned=base.provisioned if base else False,
        interval_s=parse_interval(merged.get("interval"), "interval"),
        limit=parse_limit(merged.get("limit"), "limit"),
        owner_id=base.owner_id if base else None, owner_name=base.owner_name if base else None,
    )


def render_template(text: str, labels: Mapping[str, str], value: float | None) -> str:
    """Fill ``{{ $labels.x }}`` and ``{{ $value }}`` (a missing label is empty)."""
    def fill(m: re.Match[str]) -> str:
        if m.group(1) == "$value":
            return "" if value is None else f"{value:g}"
        return labels.get(m.group(2), "")
    return TEMPLATE.sub(fill, text)


def alert_labels(rule: AlertRule, series_labels: Mapping[str, str],
                 value: float | None) -> dict[str, str]:
    """The labels of an alert: the series' (without ``__name__``), the rule's (templated),
    ``severity`` and ``alertname``."""
    out = {k: v for k, v in series_labels.items() if k != "__name__"}
    out.update({k: render_template(v, series_labels, value) for k, v in rule.labels.items()})
    out.setdefault("severity", rule.severity)
    out["alertname"] = rule.name
    return out


def alert_annotations(rule: AlertRule, series_labels: Mapping[str, str],
                      value: float | None) -> dict[str, str]:
    return {k: render_template(v, series_labels, value) for k, v in rule.annotations.items()}


GROUP_FIELDS = frozenset({"name", "interval", "limit", "labels", "rules",
                          "query_offset"})


def parse_rule_file(text: str) -> list[AlertRule]:
    """Alerting rules from a Prometheus rule file (``groups: [{name, interval?, limit?,
    labels?, rules: [...]}]``). ``expr`` becomes the query without a condition: every
    series it returns is active, as in Prometheus. A group's ``labels`` are added to
    each of its rules' labels (a rule's own label of the same name wins), its
    ``interval`` becomes each rule's evaluation interval and its ``limit`` each rule's
    alert limit. Recording rules are refused."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationFailed(f"body: not valid YAML ({exc})", field="body") from exc
    if not isinstance(doc, dict) or not isinstance(doc.get("groups"), list):
        raise ValidationFailed("groups: a rule file needs a list of groups", field="groups")
    rules = []
    for gi, group in enumerate(doc["groups"]):
        where = f"groups[{gi}]"
        if not isinstance(group, dict) or not isinstance(group.get("name"), str):
            raise ValidationFailed(f"{where}.name: required", field=f"{where}.name")
        named = f"{where} ({group['name']!r})"
        unknown = sorted(set(group) - GROUP_FIELDS)
        if unknown:
            raise ValidationFailed(f"{named}.{unknown[0]}: unknown field of a rule group",
                                   field=f"{where}.{unknown[0]}")
        try:
            interval = parse_interval(group.get("interval"), f"{where}.interval")
            limit = parse_limit(group.get("limit"), f"{where}.limit")
            group_labels = _string_map(group.get("labels"), f"{where}.labels", True)
        except ValidationFailed as exc:
            field_name = str(exc.details.get("field", where))
            raise ValidationFailed(f"{named}{exc.message.removeprefix(where)}",
                                   field=field_name) from exc
        if not isinstance(group.get("rules") or [], list):
            raise ValidationFailed(f"{named}.rules: expected a list", field=f"{where}.rules")
        for ri, item in enumerate(group.get("rules") or []):
            rwhere = f"{where}.rules[{ri}]"
            if not isinstance(item, dict) or "alert" not in item:
                raise ValidationFailed(f"{rwhere}.alert: only alerting rules can be imported",
                                       field=f"{rwhere}.alert")
            expr = item.get("expr")
            if not isinstance(expr, str | int | float) or isinstance(expr, bool):
                raise ValidationFailed(f"{rwhere}.expr: required", field=f"{rwhere}.expr")
            own_labels = item.get("labels") or {}
            if not isinstance(own_labels, dict):
                raise ValidationFailed(f"{rwhere}.labels: expected an object of strings",
                                       field=f"{rwhere}.labels")
            body: dict[str, Any] = {"name": item["alert"], "group": group["name"],
                                    "for": item.get("for", 0),
                                    "keep_firing_for": item.get("keep_firing_for", 0),
                                    "labels": {**group_labels, **own_labels},
                                    "annotations": item.get("annotations") or {},
                                    "interval": interval, "limit": limit}
            severity = body["labels"].pop("severity", None)
            if severity is not None:
                body["severity"] = severity
            body["query"] = str(expr)
            try:
                rules.append(parse_rule(body))
            except ValidationFailed as exc:
                name = exc.details.get("field", "")
                raise ValidationFailed(f"{rwhere}.{exc.message}", field=f"{rwhere}.{name}") from exc
    return rules
