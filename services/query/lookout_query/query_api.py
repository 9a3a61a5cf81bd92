"""Lookout's own ``POST /api/v1/query``: a JSON body in, Lookout's JSON out, errors as
``{"error": {"type", "message"}}`` — the same runner as the Prometheus API behind it."""

from __future__ import annotations

import time

from flask import Blueprint, Response, current_app, jsonify, request

from . import params
from .breaker import DatabaseUnavailable
from .encoding import LOOKOUT
from .promql.model import PromQLError
from .query_runner import QueryRunner

bp = Blueprint("query_api", __name__)


@bp.errorhandler(PromQLError)
def _query_error(exc: PromQLError) -> tuple[Response, int, dict[str, str]]:
    headers = {}
    if isinstance(exc, DatabaseUnavailable):
        headers["Retry-After"] = str(exc.retry_after_s)
    return jsonify({"error": {"type": exc.error_type, "message": str(exc)}}), exc.status, headers


@bp.post("/api/v1/query")
def query() -> Response:
    runner: QueryRunner = current_app.extensions["lookout.query_runner"]
    body = request.get_json(silent=True)
    req = params.lookout_query(body, int(time.time() * 1000))
    if isinstance(req, params.RangeQuery):
        answer = runner.range(req, LOOKOUT)
    else:
        answer = runner.instant(req, LOOKOUT)
    return Response(answer, mimetype="application/json")
