"""Prometheus's HTTP query API under ``/prometheus/api/v1/`` (Grafana's Prometheus
data source, promtool, curl): thin handlers — read parameters (params.py), run
(query_runner.py), answer in Prometheus's envelope (encoding.py).

GET and form-encoded POST as Prometheus accepts them; a value given both in the body
and in the URL is taken from the body, as Go's ``FormValue`` does.
"""

from __future__ import annotations

import json
import logging
import platform
import time

from flask import Blueprint, Response, current_app, g, request
from werkzeug.datastructures import MultiDict

from lookout_common import __version__
from lookout_common.errors import LookoutError

from . import params
from .breaker import DatabaseUnavailable
from .encoding import PROMETHEUS, labels_json, prometheus_error, prometheus_success
from .promql.model import PromQLError
from .query_runner import QueryRunner

log = logging.getLogger(__name__)

bp = Blueprint("prometheus_api", __name__, url_prefix="/prometheus/api/v1")

# The Prometheus release whose API and PromQL semantics Lookout follows. Grafana reads
# `version` from buildinfo to decide which API features it may use (e.g. `match[]` on
# /labels from 2.24.0 on), so it carries this, and Lookout's own version is given apart.
PROMETHEUS_COMPATIBLE_VERSION = "2.42.0"


def _runner() -> QueryRunner:
    return current_app.extensions["lookout.query_runner"]  # type: ignore[no-any-return]


def _form() -> MultiDict[str, str]:
    """The request's values, body first (Go's ``r.Form`` order)."""
    values: MultiDict[str, str] = MultiDict()
    for source in (request.form, request.args):
        for key, items in source.lists():
            for item in items:
                values.add(key, item)
    return values


def _json(data: object) -> Response:
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(prometheus_success(text), mimetype="application/json")


def _now_ms() -> int:
    return int(time.time() * 1000)


@bp.errorhandler(PromQLError)
def _query_error(exc: PromQLError) -> Response:
    response = Response(prometheus_error(exc.error_type, str(exc)), status=exc.status,
                        mimetype="application/json")
    if isinstance(exc, DatabaseUnavailable):
        response.headers["Retry-After"] = str(exc.retry_after_s)
        log.warning("query refused: %s", exc, extra={"request_id": g.get("request_id")})
    return response


@bp.errorhandler(LookoutError)
def _refused(exc: LookoutError) -> Response:
    """Refusals of the permission check (401, 429) in the Prometheus API's error shape."""
    return Response(prometheus_error(exc.type, exc.message), status=exc.status,
                    headers=exc.headers(), mimetype="application/json")


@bp.errorhandler(Exception)
def _unexpected(exc: Exception) -> Response:
    log.exception("unhandled error", extra={"request_id": g.get("request_id"),
                                            "path": request.path})
    message = f"internal error; see the query service's log (request id {g.get('request_id')})"
    return Response(prometheus_error("internal", message), status=500,
                    mimetype="application/json")


@bp.route("/query", methods=["GET", "POST"])
def query() -> Response:
    req = params.instant_query(_form(), _now_ms())
    return Response(_runner().instant(req, PROMETHEUS), mimetype="application/json")


@bp.route("/query_range", methods=["GET", "POST"])
def query_range() -> Response:
    req = params.range_query(_form())
    return Response(_runner().range(req, PROMETHEUS), mimetype="application/json")


@bp.route("/series", methods=["GET", "POST"])
def series() -> Response:
    req = params.series_query(_form(), match_required=True, wrap_match_errors=True)
    found = _runner().series(req)
    body = "[" + ",".join(labels_json(labels) for labels in found) + "]"
    return Response(prometheus_success(body.encode()), mimetype="application/json")


@bp.route("/labels", methods=["GET", "POST"])
def labels() -> Response:
    req = params.series_query(_form(), match_required=False, wrap_match_errors=False)
    return _json(_runner().label_names(req))


@bp.get("/label/<name>/values")
def label_values(name: str) -> Response:
    params.label_name(name)
    req = params.series_query(_form(), match_required=False, wrap_match_errors=False)
    return _json(_runner().label_values(name, req))


@bp.get("/metadata")
def metadata() -> Response:
    return _json(_runner().metadata(params.metadata_query(_form())))


@bp.get("/status/buildinfo")
def buildinfo() -> Response:
    return _json({
        "version": PROMETHEUS_COMPATIBLE_VERSION,
        # Lookout's build records none of these (it is not a Go binary).
        "revision": "unknown",
        "branch": "unknown",
        "buildUser": "unknown",
        "buildDate": "unknown",
        "goVersion": f"python{platform.python_version()}",
        "application": "Lookout",
        "lookoutVersion": __version__,
    })
