"""Wires accounts, roles, dashboards, admin and the OpenAPI document into the query app:
the permission hook, the blueprints, the admin bootstrap and dashboard provisioning."""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask
from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.middleware.proxy_fix import ProxyFix

from lookout_common.dlq import DeadLetterQueue

from . import admin, openapi
from .accounts import Accounts, enforce_permission
from .accounts import routes as account_routes
from .dashboards import routes as dashboard_routes
from .dashboards.provisioning import provision
from .dashboards.store import DashboardStore
from .settings import QuerySettings

log = logging.getLogger(__name__)


def install_platform(app: Flask, settings: QuerySettings, engine: Engine) -> None:
    # nginx is in front: the client's address and scheme are in X-Forwarded-For/-Proto.
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1)  # type: ignore[method-assign]
    acc = Accounts(settings, engine)
    dashboards = DashboardStore(engine)
    app.extensions["lookout.accounts"] = acc
    app.extensions["lookout.dashboards"] = dashboards
    app.extensions["lookout.dlq"] = DeadLetterQueue(settings)
    app.before_request(enforce_permission)
    for bp in (account_routes.bp, dashboard_routes.bp, admin.bp, openapi.bp):
        app.register_blueprint(bp)
    try:
        if acc.bootstrap_admin():
            log.info("admin user created", extra={"username": settings.query_admin_user})
        if settings.query_dashboards_dir:
            names = provision(dashboards, Path(settings.query_dashboards_dir))
            log.info("dashboards provisioned", extra={"dashboards": names})
    except SQLAlchemyError as exc:  # not migrated yet, or the database is down
        log.warning("admin bootstrap / dashboard provisioning skipped: %s", exc)
