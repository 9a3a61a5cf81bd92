"""``POST /api/v1/import/prometheus[/metrics/job/<job>[/<label>/<value>]...]``: metrics
pushed in the Prometheus text format or OpenMetrics (see exposition.py), with
Pushgateway-style grouping labels in the path. 204 once the broker holds them.

PUT is taken as POST: a Pushgateway replaces a group's metrics on PUT, but Lookout keeps
no groups, so both add samples; client libraries' ``push_to_gateway`` (PUT) works as is.
"""

from __future__ import annotations

import time

from flask import Blueprint, Response, request

from .accept import instrumented, publish_batch, request_body
from .exposition import parse_exposition, parse_grouping_path

PROTOCOL = "exposition"
bp = Blueprint("exposition_api", __name__)


@bp.route("/api/v1/import/prometheus", methods=["POST", "PUT"])
@instrumented(PROTOCOL)
def post_exposition() -> Response:
    return _accept({})


@bp.route("/api/v1/import/prometheus/metrics/<path:grouping>", methods=["POST", "PUT"])
@instrumented(PROTOCOL)
def post_exposition_grouped(grouping: str) -> Response:
    return _accept(parse_grouping_path(grouping))


def _accept(grouping: dict[str, str]) -> Response:
    batch = parse_exposition(
        request_body(),  # gzip/deflate decoded there, within INGEST_MAX_BODY_BYTES
        request.headers.get("Content-Type", ""),
        now_ms=int(time.time() * 1000),
        grouping=grouping,
    )
    publish_batch(batch, PROTOCOL)
    return Response(status=204)
