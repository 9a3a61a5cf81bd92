"""Grafana dashboard JSON → the closest Lookout dashboard, plus a report of what could
not be converted (pure: a dict in, a draft and a report out).

What converts: title, description, time range, refresh; panels of the types below with
their Prometheus targets (the first visible target is the panel's query, all are kept
in ``options.targets``), gridPos, unit / min / max / decimals / thresholds; rows (also
collapsed rows with nested panels) become ``layout.rows`` and their panels are
flattened; template variables of type query, custom, constant, interval and textbox.
Datasource variables are dropped (Lookout is the one data source) and references to
them disappear with the datasource fields. Everything else is named in the report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from .model import REFRESH_RE, TIME_RE, DashboardDraft, PanelDraft

PANEL_TYPES = {"timeseries": "line", "graph": "line", "stat": "stat", "singlestat": "stat",
               "gauge": "gauge", "bargauge": "bar", "barchart": "bar", "heatmap": "heatmap",
               "table": "table", "table-old": "table"}
VARIABLE_TYPES = ("query", "custom", "constant", "interval", "textbox")
GRAFANA_MACRO = re.compile(r"\$__(rate_interval|interval|range|interval_ms|range_s)")


@dataclass
class ImportReport:
    source: str = "grafana"
    panels_converted: int = 0
    panels_skipped: int = 0
    rows: int = 0
    variables_converted: int = 0
    variables_skipped: int = 0
    not_converted: list[dict[str, str]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)

    def skip(self, where: str, what: str) -> None:
        self.not_converted.append({"where": where, "what": what})

    def warn(self, where: str, what: str) -> None:
        self.warnings.append({"where": where, "what": what})

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "panels_converted": self.panels_converted,
                "panels_skipped": self.panels_skipped, "rows": self.rows,
                "variables_converted": self.variables_converted,
                "variables_skipped": self.variables_skipped,
                "not_converted": self.not_converted, "warnings": self.warnings}


def is_grafana(document: Any) -> bool:
    if not isinstance(document, dict):
        return False
    inner = document.get("dashboard", document)
    return isinstance(inner, dict) and ("schemaVersion" in inner or "gridPos" in str(
        inner.get("panels", ""))[:10000] or "templating" in inner)


def convert(document: dict[str, Any]) -> tuple[DashboardDraft, ImportReport]:
    grafana = document.get("dashboard", document)
    report = ImportReport()
    name = str(grafana.get("title") or "Imported dashboard")[:200]
    time_range = grafana.get("time") if isinstance(grafana.get("time"), dict) else {}
    bounds = []
    for key, default in (("from", "now-1h"), ("to", "now")):
        value = time_range.get(key, default)
        if not isinstance(value, str) or not TIME_RE.match(value):
            report.skip(f"time.{key}", f"time {value!r} is not understood; {default} used")
            value = default
        bounds.append(value)
    refresh = grafana.get("refresh") or ""
    if not isinstance(refresh, str) or not REFRESH_RE.match(refresh):
        report.skip("refresh", f"refresh {refresh!r} is not understood; off")
        refresh = ""
    variables, datasource_vars = _variables(grafana, report)
    panels: list[PanelDraft] = []
    rows: list[dict[str, Any]] = []
    for i, panel in enumerate(grafana.get("panels") or []):
        where = f"panels[{i}]"
        if isinstance(panel, dict) and panel.get("type") == "row":
            report.rows += 1
            rows.append({"title": str(panel.get("title", "")),
                         "y": int((panel.get("gridPos") or {}).get("y", 0)),
                         "collapsed": bool(panel.get("collapsed", False))})
            for j, nested in enumerate(panel.get("panels") or []):
                _panel(nested, f"{where}.panels[{j}]", report, panels)
            continue
        _panel(panel, where, report, panels)
    for key in ("annotations", "links"):
        items = grafana.get(key)
        listed = items.get("list", []) if isinstance(items, dict) else items or []
        user_items = [a for a in listed if not (isinstance(a, dict) and a.get("builtIn"))]
        if user_items:
            report.skip(key, f"{len(user_items)} dashboard {key} (not supported by Lookout)")
    layout: dict[str, Any] = {"columns": 24}
    if rows:
        layout["rows"] = rows
    if datasource_vars:
        layout["imported_datasource_variables"] = datasource_vars
    draft = DashboardDraft(name=name, description=str(grafana.get("description") or ""),
                           layout=layout, variables=variables, time_from=bounds[0],
                           time_to=bounds[1], refresh=refresh, panels=panels)
    return draft, report


def _variables(grafana: dict[str, Any], report: ImportReport
               ) -> tuple[list[dict[str, Any]], list[str]]:
    out: list[dict[str, Any]] = []
    datasource_vars: list[str] = []
    templating = grafana.get("templating")
    listed = templating.get("list", []) if isinstance(templating, dict) else []
    for i, var in enumerate(listed):
        where = f"templating.list[{i}]"
        if not isinstance(var, dict) or not var.get("name"):
            report.variables_skipped += 1
            report.skip(where, "a variable without a name")
            continue
        kind, name = var.get("type"), str(var["name"])
        if kind == "datasource":
            report.variables_skipped += 1
            datasource_vars.append(name)
            report.skip(where, f"datasource variable ${name} dropped: Lookout is the only "
                               "data source, so panels query it directly")
            continue
        if kind not in VARIABLE_TYPES:
            report.variables_skipped += 1
            report.skip(where, f"variable ${name} of type {kind!r} is not supported")
            continue
        query = var.get("query", "")
        if isinstance(query, dict):
            query = query.get("query", "")
        current: dict[str, Any] = var["current"] if isinstance(var.get("current"), dict) else {}
        converted = {"name": name, "type": kind, "label": str(var.get("label") or ""),
                     "query": str(query or ""), "multi": bool(var.get("multi", False)),
                     "include_all": bool(var.get("includeAll", False)),
                     "current": current.get("value", ""), "regex": str(var.get("regex") or ""),
                     "hidden": bool(var.get("hide", 0))}
        if var.get("allValue"):
            converted["all_value"] = str(var["allValue"])
        if kind in ("custom", "interval"):
            converted["options"] = [str(o.get("value")) for o in var.get("options") or []
                                    if isinstance(o, dict)]
        report.variables_converted += 1
        out.append(converted)
    return out, datasource_vars


def _panel(panel: Any, where: str, report: ImportReport, out: list[PanelDraft]) -> None:
    if not isinstance(panel, dict):
        report.panels_skipped += 1
        report.skip(where, "not a panel object")
        return
    title = str(panel.get("title") or "")[:200]
    label = f"{where} {title!r}"
    grafana_type = panel.get("type")
    kind = PANEL_TYPES.get(str(grafana_type))
    if kind is None:
        report.panels_skipped += 1
        report.skip(label, f"panel type {grafana_type!r} has no Lookout equivalent")
        return
    field_config = panel.get("fieldConfig") or {}
    custom = (field_config.get("defaults") or {}).get("custom") or {}
    if kind == "line":
        if custom.get("drawStyle") == "bars" or panel.get("bars"):
            kind = "bar"
        elif (custom.get("fillOpacity") or panel.get("fill") or 0) > 0:
            kind = "area"
    targets: list[dict[str, Any]] = []
    for t, target in enumerate(panel.get("targets") or []):
        if not isinstance(target, dict) or target.get("hide"):
            continue
        expr = target.get("expr")
        if not isinstance(expr, str) or not expr.strip():
            report.skip(f"{label}.targets[{t}]", "a target without a PromQL expr "
                                                 "(not a Prometheus query)")
            continue
        targets.append({"expr": expr, "legend": str(target.get("legendFormat") or ""),
                        "ref_id": str(target.get("refId") or ""),
                        "instant": bool(target.get("instant", False))})
    if not targets:
        report.panels_skipped += 1
        report.skip(label, "no Prometheus query to draw")
        return
    if len(targets) > 1:
        report.warn(label, f"{len(targets)} queries: the first is the panel's query, all are "
                           "kept in options.targets")
    if any(GRAFANA_MACRO.search(t["expr"]) for t in targets):
        report.warn(label, "uses Grafana's $__ interval variables, kept verbatim")
    position = _position(panel.get("gridPos"), label, report)
    options = _options(panel, label, report)
    options["targets"] = targets
    report.panels_converted += 1
    out.append(PanelDraft(type=kind, position=position, title=title, query=targets[0]["expr"],
                          options=options))


def _position(grid: Any, label: str, report: ImportReport) -> dict[str, int]:
    default = {"x": 0, "y": 0, "w": 12, "h": 8}
    if not isinstance(grid, dict):
        report.warn(label, "no gridPos: placed at x=0, y=0, w=12, h=8")
        return default
    out = {}
    for key in ("x", "y", "w", "h"):
        value = grid.get(key, default[key])
        least = 0 if key in "xy" else 1
        out[key] = value if isinstance(value, int) and least <= value <= 10_000 else default[key]
    return out


def _options(panel: dict[str, Any], label: str, report: ImportReport) -> dict[str, Any]:
    field_config = panel.get("fieldConfig") or {}
    defaults = field_config.get("defaults") or {}
    options: dict[str, Any] = {}
    for key in ("unit", "min", "max", "decimals"):
        if defaults.get(key) is not None:
            options[key] = defaults[key]
    thresholds = defaults.get("thresholds") or {}
    steps = [{"color": s.get("color"), "value": s.get("value")}
             for s in thresholds.get("steps") or [] if isinstance(s, dict)]
    if steps:
        options["thresholds"] = {"mode": thresholds.get("mode", "absolute"), "steps": steps}
    if panel.get("description"):
        options["description"] = str(panel["description"])
    panel_options = panel.get("options") or {}
    legend = panel_options.get("legend") if isinstance(panel_options, dict) else None
    if isinstance(legend, dict):
        options["legend"] = {"show": bool(legend.get("showLegend", True)),
                             "placement": legend.get("placement", "bottom")}
    custom = defaults.get("custom") or {}
    stacking = (custom.get("stacking") or {}).get("mode")
    if stacking and stacking != "none":
        options["stacking"] = stacking
    if field_config.get("overrides"):
        report.skip(label, f"{len(field_config['overrides'])} field overrides")
    if defaults.get("mappings"):
        report.skip(label, f"{len(defaults['mappings'])} value mappings")
    if panel.get("transformations"):
        report.skip(label, f"{len(panel['transformations'])} transformations")
    if panel.get("repeat"):
        report.skip(label, f"repeat by ${panel['repeat']} (one panel is kept)")
    if panel.get("links"):
        report.skip(label, "panel links")
    return options
