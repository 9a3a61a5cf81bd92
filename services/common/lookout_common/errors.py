"""Typed errors shared by the services.

User errors carry the HTTP status they map to; a Flask error handler turns them
into ``{"error": {"type", "message", ...}}`` once, so handlers only raise.
"""

from __future__ import annotations

from typing import Any


class LookoutError(Exception):
    status = 500
    type = "internal_error"

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def headers(self) -> dict[str, str]:
        """Extra response headers (Retry-After, WWW-Authenticate)."""
        return {}

    def to_json(self) -> dict[str, Any]:
        body: dict[str, Any] = {"type": self.type, "message": self.message}
        body.update(self.details)
        return {"error": body}


class ValidationFailed(LookoutError):
    """The request (or one of its items) breaks a rule; nothing of it is accepted."""

    status = 400
    type = "validation_error"


class BadRequest(LookoutError):
    """A request parameter is malformed."""

    status = 400
    type = "bad_request"


class NotFound(LookoutError):
    status = 404
    type = "not_found"


class Unauthorized(LookoutError):
    status = 401
    type = "unauthorized"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="lookout", Basic realm="lookout"'}


class Forbidden(LookoutError):
    status = 403
    type = "forbidden"


class Conflict(LookoutError):
    status = 409
    type = "conflict"


class TooManyRequests(LookoutError):
    status = 429
    type = "rate_limited"

    def __init__(self, message: str, retry_after_s: int, **details: Any) -> None:
        super().__init__(message, **details)
        self.retry_after_s = retry_after_s

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


class LimitExceeded(LookoutError):
    """A limit on series was reached: the series beyond it were not accepted."""

    status = 400
    type = "limit_exceeded"


class PayloadTooLarge(LookoutError):
    status = 413
    type = "payload_too_large"


class UnsupportedMediaType(LookoutError):
    status = 415
    type = "unsupported_media_type"


class ServiceUnavailable(LookoutError):
    """A dependency is down or overloaded; the client should retry later."""

    status = 503
    type = "unavailable"

    def __init__(self, message: str, retry_after_s: int = 5, **details: Any) -> None:
        super().__init__(message, **details)
        self.retry_after_s = retry_after_s

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)}


class WireFormatError(Exception):
    """A broker message that can never be decoded: it belongs in the dead-letter queue."""
