"""Dashboards and panels as values: validation of what clients send (pure), and the
Lookout dashboard JSON that export writes and import reads back exactly."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lookout_common.errors import ValidationFailed

PANEL_TYPES = ("line", "area", "bar", "gauge", "stat", "heatmap", "table")
EXPORT_FORMAT = "lookout.dashboard/v1"
GRID_COLUMNS = 24
# now, now-6h, now-7d/d, or an RFC 3339 / epoch time.
TIME_RE = re.compile(r"^(now(-\d+[smhdwMy])?(/[smhdwMy])?|\d{10,13}|\d{4}-\d\d-\d\dT[\d:.]+Z?)$")
REFRESH_RE = re.compile(r"^(|\d+(ms|s|m|h|d))$")

POSITION_SCHEMA = {"type": "object", "required": ["x", "y", "w", "h"],
                   "properties": {k: {"type": "integer", "minimum": 0 if k in "xy" else 1}
                                  for k in ("x", "y", "w", "h")}}
PANEL_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["type", "position"],
    "properties": {"title": {"type": "string", "maxLength": 200},
                   "type": {"type": "string", "enum": list(PANEL_TYPES)},
                   "query": {"type": "string", "maxLength": 20000},
                   "options": {"type": "object"}, "position": POSITION_SCHEMA}}
DASHBOARD_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["name"],
    "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 200},
                   "description": {"type": "string", "maxLength": 10000},
                   "layout": {"type": "object"},
                   "variables": {"type": "array", "items": {"type": "object"}},
                   "time_range": {"type": "object",
                                  "properties": {"from": {"type": "string"},
                                                 "to": {"type": "string"}}},
                   "refresh": {"type": "string"},
                   "panels": {"type": "array", "items": PANEL_SCHEMA}}}


@dataclass
class PanelDraft:
    type: str
    position: dict[str, int]
    title: str = ""
    query: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "type": self.type, "query": self.query,
                "options": self.options, "position": self.position}


@dataclass
class DashboardDraft:
    name: str
    description: str = ""
    layout: dict[str, Any] = field(default_factory=dict)
    variables: list[dict[str, Any]] = field(default_factory=list)
    time_from: str = "now-1h"
    time_to: str = "now"
    refresh: str = ""
    panels: list[PanelDraft] | None = None  # None: not given (an update keeps the panels)

    def export(self) -> dict[str, Any]:
        return {"format": EXPORT_FORMAT, "name": self.name, "description": self.description,
                "layout": self.layout, "variables": self.variables,
                "time_range": {"from": self.time_from, "to": self.time_to},
                "refresh": self.refresh,
                "panels": [p.to_json() for p in self.panels or []]}


def _string(body: dict[str, Any], name: str, where: str, default: str, max_len: int,
            min_len: int = 0) -> str:
    value = body.get(name, default)
    if not isinstance(value, str) or not (min_len <= len(value) <= max_len):
        raise ValidationFailed(f"{where}{name} must be a string of {min_len} to {max_len} "
                               "characters", field=where + name)
    return value


def parse_panel(body: Any, where: str = "") -> PanelDraft:
    if not isinstance(body, dict):
        raise ValidationFailed(f"{where or 'panel'} must be a JSON object",
                               field=where.rstrip(".") or "body")
    kind = body.get("type")
    if kind not in PANEL_TYPES:
        raise ValidationFailed(f"{where}type must be one of {', '.join(PANEL_TYPES)}",
                               field=where + "type")
    options = body.get("options", {})
    if not isinstance(options, dict):
        raise ValidationFailed(f"{where}options must be an object", field=where + "options")
    return PanelDraft(type=kind, position=parse_position(body.get("position"), where),
                      title=_string(body, "title", where, "", 200),
                      query=_string(body, "query", where, "", 20000), options=options)


def parse_position(value: Any, where: str = "") -> dict[str, int]:
    name = where + "position"
    if not isinstance(value, dict) or set(value) != {"x", "y", "w", "h"}:
        raise ValidationFailed(f"{name} must be an object of exactly x, y, w, h", field=name)
    out = {}
    for key in ("x", "y", "w", "h"):
        v = value[key]
        least = 0 if key in "xy" else 1
        if not isinstance(v, int) or isinstance(v, bool) or not least <= v <= 10_000:
            raise ValidationFailed(f"{name}.{key} must be an integer from {least} to 10000",
                                   field=f"{name}.{key}")
        out[key] = v
    return out


def parse_dashboard(body: Any) -> DashboardDraft:
    if not isinstance(body, dict):
        raise ValidationFailed("the dashboard must be a JSON object", field="body")
    layout = body.get("layout", {})
    if not isinstance(layout, dict):
        raise ValidationFailed("layout must be an object", field="layout")
    variables = body.get("variables", [])
    if not isinstance(variables, list) or not all(isinstance(v, dict) for v in variables):
        raise ValidationFailed("variables must be a list of objects", field="variables")
    time_range = body.get("time_range", {})
    if not isinstance(time_range, dict):
        raise ValidationFailed("time_range must be an object of from and to",
                               field="time_range")
    bounds = []
    for key, default in (("from", "now-1h"), ("to", "now")):
        value = time_range.get(key, default)
        if not isinstance(value, str) or not TIME_RE.match(value):
            raise ValidationFailed(f"time_range.{key} must be like now, now-6h or an "
                                   "RFC 3339 time", field=f"time_range.{key}")
        bounds.append(value)
    refresh = body.get("refresh", "")
    if not isinstance(refresh, str) or not REFRESH_RE.match(refresh):
        raise ValidationFailed("refresh must be empty (off) or a duration like 30s or 5m",
                               field="refresh")
    panels = None
    if "panels" in body:
        if not isinstance(body["panels"], list):
            raise ValidationFailed("panels must be a list", field="panels")
        panels = [parse_panel(p, f"panels[{i}].") for i, p in enumerate(body["panels"])]
    return DashboardDraft(name=_string(body, "name", "", "", 200, 1),
                          description=_string(body, "description", "", "", 10000),
                          layout=layout, variables=variables, time_from=bounds[0],
                          time_to=bounds[1], refresh=refresh, panels=panels)


def parse_version(body: Any) -> int:
    version = body.get("version") if isinstance(body, dict) else None
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValidationFailed("version must be the version you read (an integer >= 1); "
                               "a save without it could overwrite another", field="version")
    return version
