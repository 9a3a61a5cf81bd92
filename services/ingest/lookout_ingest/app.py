"""The ingest Flask app: validate, encode, publish with confirm, then answer."""

from __future__ import annotations

import logging
import time
import uuid
import zlib

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from prometheus_client import Counter, Histogram

from lookout_common import __version__
from lookout_common.broker import (
    REQUEST_ID_HEADER,
    BrokerOverloaded,
    BrokerUnavailable,
    ConfirmingPublisher,
    check_broker,
)
from lookout_common.codec import CONTENT_TYPE, SampleBatch, encode_batch
from lookout_common.errors import PayloadTooLarge, ServiceUnavailable, ValidationFailed
from lookout_common.web import (
    health_blueprint,
    install_error_handlers,
    install_request_ids,
    metrics_blueprint,
)

from .json_batch import parse_json_batch
from .settings import IngestSettings

log = logging.getLogger(__name__)

INGEST_REQUESTS = Counter(
    "ingest_requests_total", "Ingest requests by protocol and outcome", ["protocol", "code"]
)
INGEST_POINTS = Counter("ingest_points_total", "Samples accepted (broker confirmed)", ["protocol"])
INGEST_LATENCY = Histogram(
    "ingest_latency_seconds", "Time from request to answer", ["protocol"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

bp = Blueprint("ingest", __name__)


def create_app(settings: IngestSettings, publisher: ConfirmingPublisher | None = None) -> Flask:
    app = Flask(__name__)
    app.config["MAX_CONTENT_LENGTH"] = settings.ingest_max_body_bytes
    app.extensions["lookout.settings"] = settings
    app.extensions["lookout.publisher"] = publisher or ConfirmingPublisher(
        settings, name="lookout-ingest"
    )
    install_request_ids(app)
    install_error_handlers(app)
    app.register_blueprint(bp)
    app.register_blueprint(
        health_blueprint({"broker": lambda: check_broker(settings)}, __version__)
    )
    app.register_blueprint(metrics_blueprint())
    return app


def request_body(limit: int) -> bytes:
    """The body, gunzipped when the client says so, never larger than ``limit``."""
    raw = request.get_data(cache=False)
    encoding = request.headers.get("Content-Encoding", "").strip().lower()
    if encoding in ("", "identity"):
        return raw
    if encoding not in ("gzip", "deflate"):
        raise ValidationFailed(f"unsupported Content-Encoding {encoding!r} (use gzip)")
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    decompressor = zlib.decompressobj(wbits)
    try:
        body = decompressor.decompress(raw, limit + 1)
    except zlib.error as exc:
        raise ValidationFailed(f"body is not valid {encoding}: {exc}") from None
    if len(body) > limit or decompressor.unconsumed_tail:
        raise PayloadTooLarge(f"decompressed body is larger than the limit of {limit} bytes")
    return body


def publish_batch(batch: SampleBatch, protocol: str) -> str:
    """Publish one message and wait for the broker's confirm; 503 on any failure."""
    settings: IngestSettings = current_app.extensions["lookout.settings"]
    publisher: ConfirmingPublisher = current_app.extensions["lookout.publisher"]
    message_id = uuid.uuid4().hex
    try:
        publisher.publish(
            encode_batch(batch),
            message_id=message_id,
            content_type=CONTENT_TYPE,
            headers={REQUEST_ID_HEADER: g.request_id, "x-lookout-protocol": protocol},
        )
    except BrokerOverloaded as exc:
        raise ServiceUnavailable(
            f"ingest queue is full, retry later ({exc})", settings.ingest_retry_after_s
        ) from None
    except BrokerUnavailable as exc:
        raise ServiceUnavailable(
            f"message broker unavailable, retry later ({exc})", settings.ingest_retry_after_s
        ) from None
    INGEST_POINTS.labels(protocol).inc(len(batch))
    return message_id


@bp.post("/api/v1/metrics")
def post_json_metrics() -> tuple[Response, int]:
    started = time.perf_counter()
    code = 500
    try:
        settings: IngestSettings = current_app.extensions["lookout.settings"]
        body = request_body(settings.ingest_max_body_bytes)
        batch = parse_json_batch(body, now_ms=int(time.time() * 1000))
        message_id = publish_batch(batch, "json") if len(batch) else None
        code = 202
        log.debug("accepted", extra={"request_id": g.request_id, "samples": len(batch),
                                     "message_id": message_id})
        return jsonify({"status": "accepted", "samples": len(batch),
                        "message_id": message_id}), 202
    except Exception as exc:
        code = getattr(exc, "status", None) or getattr(exc, "code", None) or 500
        raise
    finally:
        INGEST_REQUESTS.labels("json", str(code)).inc()
        INGEST_LATENCY.labels("json").observe(time.perf_counter() - started)
