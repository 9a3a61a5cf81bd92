"""Dashboards and panels in PostgreSQL: every change in one transaction, saves
conditional on the version the client read (optimistic concurrency)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Connection, Engine, text

from lookout_common.errors import Conflict, NotFound

from .model import DashboardDraft, PanelDraft

DASHBOARD_COLUMNS = """
d.id, d.name, d.description, d.owner_id, u.username AS owner_name, d.layout, d.variables,
d.time_from, d.time_to, d.refresh, d.version, d.provisioned, d.provisioned_from,
d.created_at, d.updated_at
"""
PANEL_COLUMNS = "id, dashboard_id, title, type, query, options, position, version"


def panel_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "dashboard_id": row.dashboard_id, "title": row.title,
            "type": row.type, "query": row.query, "options": row.options,
            "position": row.position, "version": row.version}


def dashboard_json(row: Any, panels: list[Any] | None = None) -> dict[str, Any]:
    out = {"id": row.id, "name": row.name, "description": row.description,
           "owner": None if row.owner_id is None else {"id": row.owner_id,
                                                       "username": row.owner_name},
           "layout": row.layout, "variables": row.variables,
           "time_range": {"from": row.time_from, "to": row.time_to},
           "refresh": row.refresh, "version": row.version, "provisioned": row.provisioned,
           "created_at": row.created_at.isoformat(), "updated_at": row.updated_at.isoformat()}
    if panels is not None:
        out["panels"] = [panel_json(p) for p in panels]
    return out


def draft_of(row: Any, panels: list[Any]) -> DashboardDraft:
    return DashboardDraft(
        name=row.name, description=row.description, layout=row.layout,
        variables=row.variables, time_from=row.time_from, time_to=row.time_to,
        refresh=row.refresh,
        panels=[PanelDraft(type=p.type, position=p.position, title=p.title, query=p.query,
                           options=p.options) for p in panels])


class DashboardStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # -- reads ------------------------------------------------------------------------
    @staticmethod
    def _row(conn: Connection, dashboard_id: int, lock: bool = False) -> Any:
        row = conn.execute(text(
            f"SELECT {DASHBOARD_COLUMNS} FROM dashboards d LEFT JOIN users u "
            f"ON u.id = d.owner_id WHERE d.id = :id {'FOR UPDATE OF d' if lock else ''}"),
            {"id": dashboard_id}).first()
        if row is None:
            raise NotFound(f"no dashboard {dashboard_id}")
        return row

    @staticmethod
    def _panels(conn: Connection, dashboard_id: int) -> list[Any]:
        return list(conn.execute(text(
            f"SELECT {PANEL_COLUMNS} FROM panels WHERE dashboard_id = :id "
            "ORDER BY sort_order, id"), {"id": dashboard_id}).all())

    def all(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(text(
                f"SELECT {DASHBOARD_COLUMNS} FROM dashboards d LEFT JOIN users u "
                "ON u.id = d.owner_id ORDER BY lower(d.name), d.id")).all()
        return [dashboard_json(r) for r in rows]

    def get(self, dashboard_id: int) -> tuple[Any, list[Any]]:
        with self.engine.connect() as conn:
            return self._row(conn, dashboard_id), self._panels(conn, dashboard_id)

    def owner_of_panel(self, panel_id: int) -> tuple[Any, Any]:
        """The panel and its dashboard's row."""
        with self.engine.connect() as conn:
            panel = conn.execute(text(f"SELECT {PANEL_COLUMNS} FROM panels WHERE id = :id"),
                                 {"id": panel_id}).first()
            if panel is None:
                raise NotFound(f"no panel {panel_id}")
            return panel, self._row(conn, panel.dashboard_id)

    # -- writes -----------------------------------------------------------------------
    def create(self, draft: DashboardDraft, owner_id: int | None,
               provisioned_from: str | None = None) -> dict[str, Any]:
        with self.engine.begin() as conn:
            dashboard_id = conn.execute(text(
                "INSERT INTO dashboards (name, description, owner_id, layout, variables, "
                "time_from, time_to, refresh, provisioned, provisioned_from) VALUES "
                "(:name, :description, :owner, CAST(:layout AS jsonb), "
                "CAST(:variables AS jsonb), :time_from, :time_to, :refresh, :prov, :prov_from) "
                "RETURNING id"),
                {**self._fields(draft), "owner": owner_id,
                 "prov": provisioned_from is not None, "prov_from": provisioned_from}
            ).scalar_one()
            self._replace_panels(conn, dashboard_id, draft.panels or [])
            return dashboard_json(self._row(conn, dashboard_id),
                                  self._panels(conn, dashboard_id))

    def provision(self, draft: DashboardDraft, source: str) -> None:
        """Create or overwrite the dashboard provisioned from ``source``."""
        with self.engine.begin() as conn:
            found = conn.execute(text(
                "SELECT id FROM dashboards WHERE provisioned_from = :s FOR UPDATE"),
                {"s": source}).scalar()
            if found is None:
                found = conn.execute(text(
                    "INSERT INTO dashboards (name, provisioned, provisioned_from) "
                    "VALUES (:n, true, :s) ON CONFLICT (provisioned_from) DO UPDATE "
                    "SET name = EXCLUDED.name RETURNING id"),
                    {"n": draft.name, "s": source}).scalar_one()
            current = self._row(conn, found, lock=True)
            if draft_of(current, self._panels(conn, found)).export() == draft.export():
                return
            self._update(conn, found, draft, current.version)

    def update(self, dashboard_id: int, draft: DashboardDraft, version: int) -> dict[str, Any]:
        with self.engine.begin() as conn:
            current = self._row(conn, dashboard_id, lock=True)
            if current.version != version:
                raise Conflict(
                    f"dashboard {dashboard_id} was saved by someone else: you read version "
                    f"{version}, the current version is {current.version}; reload it and "
                    "apply your change again", current_version=current.version)
            self._update(conn, dashboard_id, draft, version)
            return dashboard_json(self._row(conn, dashboard_id),
                                  self._panels(conn, dashboard_id))

    def _update(self, conn: Connection, dashboard_id: int, draft: DashboardDraft,
                version: int) -> None:
        conn.execute(text(
            "UPDATE dashboards SET name = :name, description = :description, "
            "layout = CAST(:layout AS jsonb), variables = CAST(:variables AS jsonb), "
            "time_from = :time_from, time_to = :time_to, refresh = :refresh, "
            "version = version + 1, updated_at = now() WHERE id = :id AND version = :version"),
            {**self._fields(draft), "id": dashboard_id, "version": version})
        if draft.panels is not None:
            self._replace_panels(conn, dashboard_id, draft.panels)

    def delete(self, dashboard_id: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(text("DELETE FROM dashboards WHERE id = :id"), {"id": dashboard_id})

    def add_panel(self, dashboard_id: int, panel: PanelDraft) -> dict[str, Any]:
        with self.engine.begin() as conn:
            self._row(conn, dashboard_id, lock=True)
            row = conn.execute(text(
                "INSERT INTO panels (dashboard_id, title, type, query, options, position, "
                "sort_order) SELECT :d, :title, :type, :query, CAST(:options AS jsonb), "
                "CAST(:position AS jsonb), coalesce(max(sort_order) + 1, 0) FROM panels "
                f"WHERE dashboard_id = :d RETURNING {PANEL_COLUMNS}"),
                {"d": dashboard_id, **self._panel_fields(panel)}).one()
            self._touch(conn, dashboard_id)
            return panel_json(row)

    def update_panel(self, panel_id: int, panel: PanelDraft, version: int) -> dict[str, Any]:
        with self.engine.begin() as conn:
            current = conn.execute(text(
                "SELECT version, dashboard_id FROM panels WHERE id = :id FOR UPDATE"),
                {"id": panel_id}).first()
            if current is None:
                raise NotFound(f"no panel {panel_id}")
            if current.version != version:
                raise Conflict(
                    f"panel {panel_id} was saved by someone else: you read version {version}, "
                    f"the current version is {current.version}; reload it and apply your "
                    "change again", current_version=current.version)
            row = conn.execute(text(
                "UPDATE panels SET title = :title, type = :type, query = :query, "
                "options = CAST(:options AS jsonb), position = CAST(:position AS jsonb), "
                "version = version + 1, updated_at = now() WHERE id = :id "
                f"RETURNING {PANEL_COLUMNS}"), {"id": panel_id, **self._panel_fields(panel)}
            ).one()
            self._touch(conn, current.dashboard_id)
            return panel_json(row)

    def delete_panel(self, panel_id: int) -> None:
        with self.engine.begin() as conn:
            dashboard_id = conn.execute(text(
                "DELETE FROM panels WHERE id = :id RETURNING dashboard_id"),
                {"id": panel_id}).scalar()
            if dashboard_id is not None:
                self._touch(conn, dashboard_id)

    # -- helpers ----------------------------------------------------------------------
    @staticmethod
    def _touch(conn: Connection, dashboard_id: int) -> None:
        """A panel change is a change of its dashboard: a stale dashboard save fails."""
        conn.execute(text("UPDATE dashboards SET version = version + 1, updated_at = now() "
                          "WHERE id = :id"), {"id": dashboard_id})

    @staticmethod
    def _fields(draft: DashboardDraft) -> dict[str, Any]:
        return {"name": draft.name, "description": draft.description,
                "layout": json.dumps(draft.layout), "variables": json.dumps(draft.variables),
                "time_from": draft.time_from, "time_to": draft.time_to,
                "refresh": draft.refresh}

    @staticmethod
    def _panel_fields(panel: PanelDraft) -> dict[str, Any]:
        return {"title": panel.title, "type": panel.type, "query": panel.query,
                "options": json.dumps(panel.options), "position": json.dumps(panel.position)}

    def _replace_panels(self, conn: Connection, dashboard_id: int,
                        panels: list[PanelDraft]) -> None:
        conn.execute(text("DELETE FROM panels WHERE dashboard_id = :d"), {"d": dashboard_id})
        for order, panel in enumerate(panels):
            conn.execute(text(
                "INSERT INTO panels (dashboard_id, title, type, query, options, position, "
                "sort_order) VALUES (:d, :title, :type, :query, CAST(:options AS jsonb), "
                "CAST(:position AS jsonb), :o)"),
                {"d": dashboard_id, "o": order, **self._panel_fields(panel)})
