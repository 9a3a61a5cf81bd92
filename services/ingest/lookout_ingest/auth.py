"""Ingest authentication: ``Authorization: Bearer <token>`` or HTTP basic auth, as
Prometheus's remote_write configuration offers (``authorization`` / ``basic_auth``).

Credentials are created by an admin (``lookout credentials ...``) and checked against
PostgreSQL; answers are cached briefly (accepted for 30 s, refused for 5 s), so a
revoked credential stops working within 30 s and a wrong one costs one lookup.
"""

from __future__ import annotations

import base64
import binascii
import threading

import psycopg2
import psycopg2.pool
from cachetools import TTLCache
from flask import Flask, g, request

from lookout_common import credentials
from lookout_common.errors import ServiceUnavailable, Unauthorized

from .settings import IngestSettings

OPEN_PATHS = ("/health/", "/metrics")


class CredentialChecker:
    def __init__(self, settings: IngestSettings) -> None:
        self._settings = settings
        self._pool: psycopg2.pool.ThreadedConnectionPool | None = None
        self._lock = threading.Lock()
        self._accepted: TTLCache[tuple[str | None, str], str] = TTLCache(10_000, ttl=30)
        self._refused: TTLCache[tuple[str | None, str], bool] = TTLCache(10_000, ttl=5)

    def _connection_pool(self) -> psycopg2.pool.ThreadedConnectionPool:
        with self._lock:
            if self._pool is None:
                self._pool = psycopg2.pool.ThreadedConnectionPool(
                    1, 4, self._settings.database_url, connect_timeout=5,
                    application_name="lookout-ingest-auth")
            return self._pool

    def check(self, header: str) -> str:
        """The credential's name for an Authorization header, or raise Unauthorized."""
        username, secret = parse_authorization(header)
        key = (username, secret)
        with self._lock:
            name = self._accepted.get(key)
            refused = key in self._refused
        if name:
            return name
        if refused:
            raise Unauthorized("invalid or revoked credentials")
        try:
            pool = self._connection_pool()
            conn = pool.getconn()
        except psycopg2.Error as exc:
            raise ServiceUnavailable(f"cannot check credentials: database unavailable ({exc})",
                                     self._settings.ingest_retry_after_s) from None
        try:
            name = credentials.verify(conn, secret, username)
        except psycopg2.Error as exc:
            pool.putconn(conn, close=True)
            raise ServiceUnavailable(f"cannot check credentials: {exc}",
                                     self._settings.ingest_retry_after_s) from None
        pool.putconn(conn)
        with self._lock:
            if name:
                self._accepted[key] = name
            else:
                self._refused[key] = True
        if not name:
            raise Unauthorized("invalid or revoked credentials")
        return name

    def close(self) -> None:
        if self._pool is not None:
            self._pool.closeall()


def parse_authorization(header: str) -> tuple[str | None, str]:
    """(username or None, secret) from a Bearer or Basic Authorization header."""
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    # Influx clients (Telegraf, client libraries) send their token as "Token <token>".
    if scheme.lower() in ("bearer", "token") and value:
        return None, value
    if scheme.lower() == "basic" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            raise Unauthorized("malformed basic credentials: not base64 of 'user:password'") \
                from None
        username, sep, password = decoded.partition(":")
        if not sep:
            raise Unauthorized("malformed basic credentials: expected 'user:password'")
        return username, password
    raise Unauthorized(
        f"unsupported Authorization scheme {scheme!r}: use Bearer (or Token) or Basic"
    )


def install_ingest_auth(app: Flask, settings: IngestSettings) -> CredentialChecker | None:
    if not settings.ingest_auth:
        return None
    checker = CredentialChecker(settings)

    @app.before_request
    def _authenticate() -> None:
        if request.path.startswith(OPEN_PATHS):
            return
        header = request.headers.get("Authorization")
        if not header:
            raise Unauthorized(
                "missing credentials: send 'Authorization: Bearer <token>' or HTTP basic "
                "auth (an admin creates them with `lookout credentials`)"
            )
        g.client = checker.check(header)

    return checker
