"""``POST /api/v1/write`` (and ``/prometheus/api/v1/write``): Prometheus remote_write
1.0 (see remote_write.py). 204 once the broker holds the samples."""

from __future__ import annotations

import time

from flask import Blueprint, Response, request

from lookout_common.errors import UnsupportedMediaType

from .accept import instrumented, publish_batch, request_body, settings
from .remote_write import decode_write_request

PROTOCOL = "remote_write"
bp = Blueprint("remote_write_api", __name__)


@bp.post("/api/v1/write")
@bp.post("/prometheus/api/v1/write")
@instrumented(PROTOCOL)
def post_remote_write() -> Response:
    check_headers()
    batch = decode_write_request(
        request_body(encoding="identity"),  # snappy is the format's own; decoded there
        now_ms=int(time.time() * 1000),
        max_bytes=settings().ingest_max_body_bytes,
    )
    publish_batch(batch, PROTOCOL)
    return Response(status=204)


def check_headers() -> None:
    """Refuse (415) what this endpoint cannot read: another content coding, or the
    remote_write 2.0 message (Prometheus then falls back to 1.0 when configured so)."""
    encoding = request.headers.get("Content-Encoding", "snappy").strip().lower()
    if encoding != "snappy":
        raise UnsupportedMediaType(
            f"unsupported Content-Encoding {encoding!r}; remote_write bodies are snappy"
        )
    content_type = request.headers.get("Content-Type", "")
    if "io.prometheus.write.v2.request" in content_type.lower():
        raise UnsupportedMediaType(
            "remote_write 2.0 (io.prometheus.write.v2.Request) is not supported; send "
            "prometheus.WriteRequest (remote_write 1.0, protobuf_message: prometheus.WriteRequest)"
        )
