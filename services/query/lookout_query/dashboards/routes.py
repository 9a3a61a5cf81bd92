"""HTTP routes of dashboards and panels, import and export."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request

from lookout_common.errors import Forbidden, ValidationFailed

from ..accounts import Principal, require_principal
from ..permissions import Permission, api
from . import grafana
from .model import (
    DASHBOARD_SCHEMA,
    EXPORT_FORMAT,
    PANEL_SCHEMA,
    parse_dashboard,
    parse_panel,
    parse_version,
)
from .store import DashboardStore, draft_of

bp = Blueprint("dashboards", __name__)

PANEL = {"type": "object", "required": ["id", "dashboard_id", "type", "position", "version"],
         "properties": {"id": {"type": "integer"}, "dashboard_id": {"type": "integer"},
                        "version": {"type": "integer"}}}
DASHBOARD = {"type": "object", "required": ["id", "name", "version", "provisioned"],
             "properties": {"id": {"type": "integer"}, "name": {"type": "string"},
                            "version": {"type": "integer"}, "provisioned": {"type": "boolean"},
                            "panels": {"type": "array", "items": PANEL}}}
VERSIONED_DASHBOARD = {**DASHBOARD_SCHEMA, "required": ["name", "version"],
                       "properties": {**DASHBOARD_SCHEMA["properties"],
                                      "version": {"type": "integer", "minimum": 1}}}
VERSIONED_PANEL = {**PANEL_SCHEMA, "required": ["type", "position", "version"],
                   "properties": {**PANEL_SCHEMA["properties"],
                                  "version": {"type": "integer", "minimum": 1}}}


def store() -> DashboardStore:
    return current_app.extensions["lookout.dashboards"]  # type: ignore[no-any-return]


def body() -> Any:
    document = request.get_json(silent=True)
    if not isinstance(document, dict):
        raise ValidationFailed("the request body must be a JSON object", field="body")
    return document


def check_owner(principal: Principal, dashboard: Any) -> None:
    """Editors change their own dashboards; admins every dashboard."""
    if principal.role == "admin" or dashboard.owner_id == principal.user_id:
        return
    whose = "a provisioned dashboard" if dashboard.provisioned else "someone else's dashboard"
    raise Forbidden(f"dashboard {dashboard.id} is {whose}; only its owner or an admin may "
                    "change it")


@api(bp, "GET", "/api/v1/dashboards", Permission.VIEWER, "All dashboards (without panels)",
     response={"type": "object", "required": ["dashboards"],
               "properties": {"dashboards": {"type": "array", "items": DASHBOARD}}})
def list_dashboards() -> Response:
    return jsonify({"dashboards": store().all()})


@api(bp, "POST", "/api/v1/dashboards", Permission.EDITOR,
     "Create a dashboard (with its panels); the caller owns it", body=DASHBOARD_SCHEMA,
     response=DASHBOARD, status=201)
def create_dashboard() -> tuple[Response, int]:
    draft = parse_dashboard(body())
    return jsonify(store().create(draft, require_principal().user_id)), 201


@api(bp, "GET", "/api/v1/dashboards/<int:dashboard_id>", Permission.VIEWER,
     "A dashboard with its panels", response=DASHBOARD)
def get_dashboard(dashboard_id: int) -> Response:
    from .store import dashboard_json

    row, panels = store().get(dashboard_id)
    return jsonify(dashboard_json(row, panels))


@api(bp, "PUT", "/api/v1/dashboards/<int:dashboard_id>", Permission.EDITOR,
     "Save a dashboard: `version` is the one read; a stale save is refused (409). "
     "With `panels`, they replace the dashboard's panels.",
     body=VERSIONED_DASHBOARD, response=DASHBOARD, owned=True)
def update_dashboard(dashboard_id: int) -> Response:
    document = body()
    draft, version = parse_dashboard(document), parse_version(document)
    row, _ = store().get(dashboard_id)
    check_owner(require_principal(), row)
    return jsonify(store().update(dashboard_id, draft, version))


@api(bp, "DELETE", "/api/v1/dashboards/<int:dashboard_id>", Permission.EDITOR,
     "Delete a dashboard and its panels", status=204, response={}, owned=True)
def delete_dashboard(dashboard_id: int) -> Response:
    row, _ = store().get(dashboard_id)
    check_owner(require_principal(), row)
    store().delete(dashboard_id)
    return Response(status=204)


@api(bp, "GET", "/api/v1/dashboards/<int:dashboard_id>/export", Permission.VIEWER,
     "The dashboard as Lookout dashboard JSON (import reads it back exactly)",
     response={"type": "object", "required": ["format", "name", "panels"]})
def export_dashboard(dashboard_id: int) -> Response:
    row, panels = store().get(dashboard_id)
    return jsonify(draft_of(row, panels).export())


@api(bp, "POST", "/api/v1/dashboards/import", Permission.EDITOR,
     "Import Lookout dashboard JSON, or a Grafana dashboard (with a conversion report)",
     body={"type": "object"}, status=201,
     response={"type": "object", "required": ["dashboard", "report"],
               "properties": {"dashboard": DASHBOARD, "report": {"type": "object"}}})
def import_dashboard() -> tuple[Response, int]:
    document = body()
    if document.get("format") == EXPORT_FORMAT:
        draft = parse_dashboard(document)
        report: dict[str, Any] = {"source": "lookout", "not_converted": [], "warnings": []}
    elif grafana.is_grafana(document):
        draft, grafana_report = grafana.convert(document)
        report = grafana_report.to_json()
    else:
        raise ValidationFailed(f"not a dashboard: Lookout's has format {EXPORT_FORMAT!r}, "
                               "Grafana's has schemaVersion", field="format")
    created = store().create(draft, require_principal().user_id)
    return jsonify({"dashboard": created, "report": report}), 201


@api(bp, "GET", "/api/v1/dashboards/<int:dashboard_id>/panels", Permission.VIEWER,
     "The panels of a dashboard",
     response={"type": "object", "required": ["panels"],
               "properties": {"panels": {"type": "array", "items": PANEL}}})
def list_panels(dashboard_id: int) -> Response:
    from .store import panel_json

    _, panels = store().get(dashboard_id)
    return jsonify({"panels": [panel_json(p) for p in panels]})


@api(bp, "POST", "/api/v1/dashboards/<int:dashboard_id>/panels", Permission.EDITOR,
     "Add a panel to a dashboard", body=PANEL_SCHEMA, response=PANEL, status=201, owned=True)
def create_panel(dashboard_id: int) -> tuple[Response, int]:
    panel = parse_panel(body())
    row, _ = store().get(dashboard_id)
    check_owner(require_principal(), row)
    return jsonify(store().add_panel(dashboard_id, panel)), 201


@api(bp, "GET", "/api/v1/panels/<int:panel_id>", Permission.VIEWER, "A panel",
     response=PANEL)
def get_panel(panel_id: int) -> Response:
    from .store import panel_json

    panel, _ = store().owner_of_panel(panel_id)
    return jsonify(panel_json(panel))


@api(bp, "PUT", "/api/v1/panels/<int:panel_id>", Permission.EDITOR,
     "Save a panel: `version` is the one read; a stale save is refused (409)",
     body=VERSIONED_PANEL, response=PANEL, owned=True)
def update_panel(panel_id: int) -> Response:
    document = body()
    panel, version = parse_panel(document), parse_version(document)
    _, dashboard = store().owner_of_panel(panel_id)
    check_owner(require_principal(), dashboard)
    return jsonify(store().update_panel(panel_id, panel, version))


@api(bp, "DELETE", "/api/v1/panels/<int:panel_id>", Permission.EDITOR, "Delete a panel",
     status=204, response={}, owned=True)
def delete_panel(panel_id: int) -> Response:
    _, dashboard = store().owner_of_panel(panel_id)
    check_owner(require_principal(), dashboard)
    store().delete_panel(panel_id)
    return Response(status=204)
