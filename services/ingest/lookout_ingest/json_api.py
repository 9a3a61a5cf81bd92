"""``POST /api/v1/metrics``: Lookout's own JSON batch format (see json_batch.py)."""

from __future__ import annotations

import time

from flask import Blueprint, Response, jsonify

from .accept import instrumented, publish_batch, request_body
from .json_batch import parse_json_batch

bp = Blueprint("json_api", __name__)


@bp.post("/api/v1/metrics")
@instrumented("json")
def post_json_metrics() -> tuple[Response, int]:
    batch = parse_json_batch(request_body(), now_ms=int(time.time() * 1000))
    message_id = publish_batch(batch, "json")
    return jsonify({"status": "accepted", "samples": len(batch), "message_id": message_id}), 202
