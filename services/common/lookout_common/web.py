"""Flask pieces every Lookout HTTP service shares: JSON errors, request ids,
health endpoints and the Prometheus ``/metrics`` endpoint."""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable, Mapping

from flask import Blueprint, Flask, Response, g, jsonify, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, multiprocess
from werkzeug.exceptions import HTTPException

from .errors import LookoutError, ServiceUnavailable

log = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"

# A readiness check returns nothing (ok) or raises; its latency is measured around it.
ReadinessCheck = Callable[[], object]


def install_request_ids(app: Flask) -> None:
    @app.before_request
    def _take_request_id() -> None:
        incoming = request.headers.get(REQUEST_ID_HEADER, "")
        g.request_id = incoming[:128] if incoming else uuid.uuid4().hex
        g.started = time.perf_counter()

    @app.after_request
    def _give_request_id(response: Response) -> Response:
        response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
        return response


def install_error_handlers(app: Flask) -> None:
    """Map typed errors to JSON once: ``{"error": {"type", "message", ...}}``."""

    @app.errorhandler(LookoutError)
    def _lookout_error(exc: LookoutError) -> tuple[Response, int, dict[str, str]]:
        if isinstance(exc, ServiceUnavailable):
            log.warning(
                "request refused: %s", exc.message,
                extra={"request_id": g.get("request_id"), "path": request.path},
            )
        return jsonify(exc.to_json()), exc.status, exc.headers()

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[Response, int]:
        kind = (exc.name or "error").lower().replace(" ", "_")
        message = exc.description or exc.name
        if exc.code == 413:
            limit = app.config.get("MAX_CONTENT_LENGTH")
            message = f"request body is larger than the limit of {limit} bytes"
            kind = "payload_too_large"
        return jsonify({"error": {"type": kind, "message": message}}), exc.code or 500

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Response, int]:
        log.exception(
            "unhandled error", extra={"request_id": g.get("request_id"), "path": request.path}
        )
        body = {"type": "internal_error", "message": "internal error; see the service log",
                "request_id": g.get("request_id")}
        return jsonify({"error": body}), 500


def health_blueprint(checks: Mapping[str, ReadinessCheck], version: str) -> Blueprint:
    """``/health/live`` (the process answers) and ``/health/ready`` (its dependencies do)."""
    bp = Blueprint("health", __name__)
    started = time.time()

    @bp.get("/health/live")
    def live() -> Response:
        return jsonify({"status": "ok", "version": version,
                        "uptime_s": round(time.time() - started, 1)})

    @bp.get("/health/ready")
    def ready() -> tuple[Response, int]:
        results = {}
        healthy = True
        for name, check in checks.items():
            t0 = time.perf_counter()
            try:
                check()
                results[name] = {"status": "ok",
                                 "latency_ms": round((time.perf_counter() - t0) * 1000, 2)}
            except Exception as exc:  # a failing dependency is reported, not raised
                healthy = False
                results[name] = {"status": "down", "error": str(exc)[:300],
                                 "latency_ms": round((time.perf_counter() - t0) * 1000, 2)}
        body = {"status": "ok" if healthy else "unavailable", "version": version,
                "uptime_s": round(time.time() - started, 1), "dependencies": results}
        return jsonify(body), 200 if healthy else 503

    return bp


def metrics_blueprint() -> Blueprint:
    """Prometheus exposition of this process (or of all gunicorn workers together
    when ``PROMETHEUS_MULTIPROC_DIR`` is set)."""
    bp = Blueprint("metrics", __name__)

    @bp.get("/metrics")
    def metrics() -> Response:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            data = generate_latest(registry)
        else:
            data = generate_latest()
        return Response(data, mimetype=CONTENT_TYPE_LATEST)

    return bp
