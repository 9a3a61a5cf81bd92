"""The alerts service's HTTP face: the rules, silences and Prometheus-compatible alert
API (api.py), health and its own metrics. The evaluation loop is its own process
(``python -m lookout_alerts.evaluator``)."""

from __future__ import annotations

from flask import Flask

from lookout_common import __version__
from lookout_common.db.connection import check_database
from lookout_common.web import (
    health_blueprint,
    install_error_handlers,
    install_request_ids,
    metrics_blueprint,
)

from .access import install_access
from .api import bp as alerts_api
from .settings import AlertsSettings
from .storage import AlertStore


def create_app(settings: AlertsSettings) -> Flask:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = 4 * 1024 * 1024
    install_request_ids(app)
    install_error_handlers(app)
    app.extensions["lookout.alerts"] = AlertStore(settings)
    app.extensions["lookout.alerts.settings"] = settings
    install_access(app, settings)
    app.register_blueprint(
        health_blueprint({"database": lambda: check_database(settings)}, __version__)
    )
    app.register_blueprint(metrics_blueprint())
    app.register_blueprint(alerts_api)
    return app
