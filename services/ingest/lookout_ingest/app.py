"""The ingest Flask app: one blueprint per protocol, all publishing through accept.py."""

from __future__ import annotations

import math
import time

from flask import Flask, Response, g, jsonify, request
from flask_limiter import Limiter, RateLimitExceeded
from werkzeug.middleware.proxy_fix import ProxyFix

from lookout_common import __version__
from lookout_common.broker import ConfirmingPublisher, check_broker
from lookout_common.db.connection import check_database
from lookout_common.web import (
    ReadinessCheck,
    health_blueprint,
    install_error_handlers,
    install_request_ids,
    metrics_blueprint,
)

from . import exposition_api, influx_api, json_api, remote_write_api
from .auth import install_ingest_auth
from .limits import SeriesLimiter
from .settings import IngestSettings
from .socket_ingest import install_socket_ingest

PROTOCOLS = (json_api, remote_write_api, exposition_api, influx_api)


def create_app(settings: IngestSettings, publisher: ConfirmingPublisher | None = None) -> Flask:
    app = Flask(__name__)
    # nginx is in front: the client's address is the one it puts in X-Forwarded-For.
    app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1)  # type: ignore[method-assign]
    app.config["MAX_CONTENT_LENGTH"] = settings.ingest_max_body_bytes
    app.extensions["lookout.settings"] = settings
    app.extensions["lookout.publisher"] = publisher or ConfirmingPublisher(
        settings, name="lookout-ingest"
    )
    app.extensions["lookout.limits"] = SeriesLimiter(settings)
    install_request_ids(app)
    install_error_handlers(app)
    checker = install_ingest_auth(app, settings)
    limiter = Limiter(
        key_func=client_key, app=app, storage_uri=settings.redis_url,
        key_prefix=settings.redis_key_prefix + "ratelimit",
        swallow_errors=True,  # Redis down: no rate limit rather than no ingest
    )

    @app.errorhandler(RateLimitExceeded)
    def _rate_limited(exc: RateLimitExceeded) -> tuple[Response, int, dict[str, str]]:
        current = limiter.current_limit
        retry = max(1, math.ceil(current.reset_at - time.time())) if current else 1
        message = (f"rate limit of {exc.description} exceeded for {client_key()} "
                   f"(INGEST_RATE_LIMIT); retry in {retry} s")
        return (jsonify({"error": {"type": "rate_limited", "message": message}}), 429,
                {"Retry-After": str(retry)})
    for protocol in PROTOCOLS:
        app.register_blueprint(protocol.bp)
        limiter.limit(settings.ingest_rate_limit)(protocol.bp)
    checks: dict[str, ReadinessCheck] = {"broker": lambda: check_broker(settings)}
    if settings.ingest_auth:  # credentials are checked against the database
        checks["database"] = lambda: check_database(settings)
    app.register_blueprint(health_blueprint(checks, __version__))
    app.register_blueprint(metrics_blueprint())
    install_socket_ingest(app, settings, checker)
    return app


def client_key() -> str:
    """Whom a rate limit counts: the credential's name, else the client's address."""
    return g.get("client") or request.remote_addr or "unknown"
