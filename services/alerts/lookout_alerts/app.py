"""The evaluator's HTTP face: health and its own metrics."""

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

from .settings import AlertsSettings


def create_app(settings: AlertsSettings) -> Flask:
    app = Flask(__name__)
    install_request_ids(app)
    install_error_handlers(app)
    app.register_blueprint(
        health_blueprint({"database": lambda: check_database(settings)}, __version__)
    )
    app.register_blueprint(metrics_blueprint())
    return app
