"""Ingest credentials: bearer tokens and basic-auth pairs that agents present.

Secrets are generated here (32 random bytes), shown once, and stored only as their
SHA-256. A fast hash is the right one for 256-bit random secrets (nothing to brute
force), and it lets ingest check a request with one indexed lookup.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime

import psycopg2.errors
import psycopg2.extensions


class CredentialError(ValueError):
    pass


@dataclass(frozen=True)
class Credential:
    name: str
    kind: str
    username: str | None
    created_at: datetime
    revoked_at: datetime | None


def secret_hash(secret: str, username: str | None = None) -> bytes:
    material = secret if username is None else f"{username}\x00{secret}"
    return hashlib.sha256(material.encode()).digest()


MIN_SECRET_LEN = 32


def _create(conn: psycopg2.extensions.connection, name: str, kind: str,
            username: str | None, secret: str | None = None) -> str:
    if secret is None:
        secret = secrets.token_urlsafe(32)
    elif len(secret) < MIN_SECRET_LEN:
        raise CredentialError(f"a given secret must be at least {MIN_SECRET_LEN} characters")
    try:
        with conn, conn.cursor() as cur:
            cur.execute(
                "INSERT INTO ingest_credentials (name, kind, username, secret_hash)"
                " VALUES (%s, %s, %s, %s)",
                (name, kind, username, secret_hash(secret, username)),
            )
    except psycopg2.errors.UniqueViolation:
        raise CredentialError(f"a credential named {name!r} (or user {username!r}) exists") \
            from None
    return secret


def create_token(conn: psycopg2.extensions.connection, name: str,
                 secret: str | None = None) -> str:
    """A new bearer token (generated unless ``secret`` is given, e.g. by a deployment);
    the returned secret is not stored anywhere."""
    return _create(conn, name, "token", None, secret)


def ensure_token(conn: psycopg2.extensions.connection, name: str, secret: str) -> bool:
    """Make sure token ``name`` exists with ``secret``; True if it was created."""
    with conn, conn.cursor() as cur:
        cur.execute("SELECT secret_hash FROM ingest_credentials WHERE name = %s", (name,))
        row = cur.fetchone()
    if row is None:
        create_token(conn, name, secret)
        return True
    if bytes(row[0]) != secret_hash(secret):
        raise CredentialError(f"credential {name!r} exists with another secret")
    return False


def create_basic(conn: psycopg2.extensions.connection, name: str, username: str) -> str:
    """A new basic-auth pair for ``username``; returns the generated password."""
    if not username or ":" in username:
        raise CredentialError("a basic-auth username must be non-empty and without ':'")
    return _create(conn, name, "basic", username)


def revoke(conn: psycopg2.extensions.connection, name: str) -> None:
    with conn, conn.cursor() as cur:
        cur.execute("UPDATE ingest_credentials SET revoked_at = now()"
                    " WHERE name = %s AND revoked_at IS NULL", (name,))
        if cur.rowcount == 0:
            raise CredentialError(f"no active credential named {name!r}")


def list_credentials(conn: psycopg2.extensions.connection) -> list[Credential]:
    with conn, conn.cursor() as cur:
        cur.execute("SELECT name, kind, username, created_at, revoked_at"
                    " FROM ingest_credentials ORDER BY name")
        return [Credential(*row) for row in cur.fetchall()]


def verify(conn: psycopg2.extensions.connection, secret: str,
           username: str | None = None) -> str | None:
    """The credential's name if ``secret`` (with ``username`` for basic) is active."""
    with conn, conn.cursor() as cur:
        cur.execute(
            "SELECT name FROM ingest_credentials WHERE secret_hash = %s"
            " AND username IS NOT DISTINCT FROM %s AND revoked_at IS NULL",
            (secret_hash(secret, username), username),
        )
        row = cur.fetchone()
    return row[0] if row else None


# -- API tokens of query-service users (Authorization: Bearer lkt_...) ---------------------
API_TOKEN_PREFIX = "lkt_"


def new_api_token() -> str:
    """32 random bytes, URL-safe, with a prefix that tells Lookout API tokens apart."""
    return API_TOKEN_PREFIX + secrets.token_urlsafe(32)


def api_token_hash(token: str) -> bytes:
    return hashlib.sha256(token.encode()).digest()


def create_api_token(conn: psycopg2.extensions.connection, name: str, username: str) -> str:
    """An API token NAME for user USERNAME (table api_tokens, migration 0005)."""
    token = new_api_token()
    try:
        with conn, conn.cursor() as cur:
            cur.execute("INSERT INTO api_tokens (name, user_id, token_hash) "
                        "SELECT %s, id, %s FROM users WHERE username = %s RETURNING id",
                        (name, api_token_hash(token), username))
            if cur.fetchone() is None:
                raise CredentialError(f"no user {username!r}")
    except psycopg2.errors.UniqueViolation:
        raise CredentialError(f"{username} already has a token named {name!r}") from None
    return token
