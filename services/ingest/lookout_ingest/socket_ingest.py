"""WebSocket ingestion: agents stream ``metrics`` frames over Socket.IO (namespace
``/ingest``, path ``/ingest/socket.io/``), each frame exactly the JSON body of
``POST /api/v1/metrics``. A frame goes through the same validation, series limits and
confirmed publish as the HTTP endpoint; its acknowledgement is sent only after the
broker confirmed it (docs/api.md, "WebSocket ingestion").

WebSocket transport only: the ingest instances run several gunicorn workers and nginx
does not pin a client to one, which Socket.IO's long-polling fallback would need.
Threading mode (gunicorn's gthread worker): the publisher's I/O thread is a real thread.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

import orjson
from flask import Flask, g, request
from flask_socketio import ConnectionRefusedError, SocketIO
from prometheus_client import Counter, Gauge

from lookout_common.errors import LookoutError, PayloadTooLarge, ServiceUnavailable

from .accept import INGEST_LATENCY, INGEST_REQUESTS, publish_batch
from .auth import CredentialChecker
from .json_batch import parse_json_batch
from .settings import IngestSettings

log = logging.getLogger(__name__)


def refuse(error: dict[str, str]) -> ConnectionRefusedError:
    """A refused connection: the client's connect_error has the reason as its message
    and ``{"type", "message"}`` as its data."""
    return ConnectionRefusedError(error["message"], error)

NAMESPACE = "/ingest"
SOCKETIO_PATH = "ingest/socket.io"
PROTOCOL = "websocket"

CONNECTIONS = Gauge("ingest_websocket_connections", "Agents connected over WebSocket",
                    multiprocess_mode="livesum")
REFUSED = Counter("ingest_websocket_refused_total", "WebSocket ingestion connections refused")


def install_socket_ingest(app: Flask, settings: IngestSettings,
                          checker: CredentialChecker | None) -> SocketIO:
    socketio = SocketIO(app, async_mode="threading", path=SOCKETIO_PATH,
                        transports=["websocket"], cors_allowed_origins="*",
                        max_http_buffer_size=settings.ingest_max_body_bytes,
                        logger=False, engineio_logger=False)

    @socketio.on("connect", namespace=NAMESPACE)
    def connect(auth: Any = None) -> None:
        if checker is None:
            CONNECTIONS.inc()
            return
        token = auth.get("token") if isinstance(auth, dict) else None
        if not token:
            REFUSED.inc()
            raise refuse({
                "type": "unauthorized",
                "message": "INGEST_AUTH is set: connect with auth {token: <ingest token>}"})
        try:
            checker.check(f"Bearer {token}")
        except LookoutError as exc:
            REFUSED.inc()
            raise refuse({"type": exc.type, "message": exc.message}) from None
        CONNECTIONS.inc()

    @socketio.on("disconnect", namespace=NAMESPACE)
    def disconnect(*_args: Any) -> None:
        CONNECTIONS.dec()

    @socketio.on("metrics", namespace=NAMESPACE)
    def metrics(frame: Any = None) -> dict[str, Any]:
        return accept_frame(frame, settings)

    return socketio


def accept_frame(frame: Any, settings: IngestSettings) -> dict[str, Any]:
    """The acknowledgement of one frame: accepted (broker confirmed) or why not."""
    g.request_id = uuid.uuid4().hex
    started = time.perf_counter()
    code = 500
    try:
        body = frame if isinstance(frame, bytes) else (
            frame.encode() if isinstance(frame, str) else orjson.dumps(frame))
        if len(body) > settings.ingest_max_body_bytes:
            raise PayloadTooLarge(f"frame is larger than the limit of "
                                  f"{settings.ingest_max_body_bytes} bytes")
        batch = parse_json_batch(body, now_ms=int(time.time() * 1000))
        message_id = publish_batch(batch, PROTOCOL)
        code = 202
        return {"status": "accepted", "samples": len(batch), "message_id": message_id}
    except ServiceUnavailable as exc:
        code = exc.status
        return {**exc.to_json(), "retry_after": exc.retry_after_s}
    except LookoutError as exc:
        code = exc.status
        return exc.to_json()
    except Exception:
        log.exception("websocket frame failed", extra={"request_id": g.request_id,
                                                       "sid": getattr(request, "sid", None)})
        return {"error": {"type": "internal_error", "message":
                          f"internal error; see the ingest log (request id {g.request_id})"}}
    finally:
        INGEST_REQUESTS.labels(PROTOCOL, str(code)).inc()
        INGEST_LATENCY.labels(PROTOCOL).observe(time.perf_counter() - started)
