"""What every ingest protocol does once it has parsed a request: read the body within
its limit, publish the batch as one confirmed broker message, count and time it.

A protocol module only parses (pure) and calls these; the answer codes are the same
for all: 4xx for data that can never be accepted, 503 + Retry-After while the broker
cannot take it.
"""

from __future__ import annotations

import functools
import time
import uuid
import zlib
from collections.abc import Callable
from typing import Any, TypeVar

from flask import current_app, g, request
from prometheus_client import Counter, Histogram

from lookout_common.broker import (
    REQUEST_ID_HEADER,
    BrokerOverloaded,
    BrokerUnavailable,
    ConfirmingPublisher,
)
from lookout_common.codec import CONTENT_TYPE, SampleBatch, encode_batch
from lookout_common.errors import (
    LimitExceeded,
    PayloadTooLarge,
    ServiceUnavailable,
    ValidationFailed,
)

from .limits import SeriesLimiter
from .settings import IngestSettings

INGEST_REQUESTS = Counter(
    "ingest_requests_total", "Ingest requests by protocol and outcome", ["protocol", "code"]
)
INGEST_POINTS = Counter("ingest_points_total", "Samples accepted (broker confirmed)", ["protocol"])
INGEST_LATENCY = Histogram(
    "ingest_latency_seconds", "Time from request to answer", ["protocol"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)

F = TypeVar("F", bound=Callable[..., Any])


def settings() -> IngestSettings:
    return current_app.extensions["lookout.settings"]  # type: ignore[no-any-return]


def instrumented(protocol: str) -> Callable[[F], F]:
    """Count a handler's requests by answer code and time them."""

    def wrap(handler: F) -> F:
        @functools.wraps(handler)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            code = 500
            try:
                response = handler(*args, **kwargs)
                code = response[1] if isinstance(response, tuple) else response.status_code
                return response
            except Exception as exc:
                code = getattr(exc, "status", None) or getattr(exc, "code", None) or 500
                raise
            finally:
                INGEST_REQUESTS.labels(protocol, str(code)).inc()
                INGEST_LATENCY.labels(protocol).observe(time.perf_counter() - started)

        return wrapper  # type: ignore[return-value]

    return wrap


def request_body(limit: int | None = None, *, encoding: str | None = None) -> bytes:
    """The body, decoded from gzip/deflate when the client says so, never larger
    than ``limit`` (default ``INGEST_MAX_BODY_BYTES``) once decoded."""
    limit = limit or settings().ingest_max_body_bytes
    raw = request.get_data(cache=False)
    if encoding is None:
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


def publish_batch(batch: SampleBatch, protocol: str) -> str | None:
    """Apply the series limits, publish ``batch`` as one message and wait for the
    broker's confirm; 503 on any broker failure. Returns the message id, or None for an
    empty batch (nothing to send). Raises LimitExceeded, after publishing the rest,
    when new series were refused."""
    limiter: SeriesLimiter = current_app.extensions["lookout.limits"]
    limiter.check_labels(batch)
    admission = limiter.admit(batch)
    message_id = _publish(admission.batch, protocol)
    if admission.refused:
        raise LimitExceeded(limiter.describe(admission), accepted=len(admission.batch),
                            message_id=message_id)
    return message_id


def _publish(batch: SampleBatch, protocol: str) -> str | None:
    if not len(batch) and not batch.metadata:
        return None
    publisher: ConfirmingPublisher = current_app.extensions["lookout.publisher"]
    retry_after = settings().ingest_retry_after_s
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
            f"ingest queue is full, retry later ({exc})", retry_after
        ) from None
    except BrokerUnavailable as exc:
        raise ServiceUnavailable(
            f"message broker unavailable, retry later ({exc})", retry_after
        ) from None
    INGEST_POINTS.labels(protocol).inc(len(batch))
    return message_id
