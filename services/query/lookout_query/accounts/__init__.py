"""Accounts: users with argon2id password hashes, API tokens, sessions in Redis, and the
``before_request`` hook that resolves who is calling and enforces each route's
declared permission (``permissions.REGISTRY``)."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from typing import Any

import redis
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, g, request
from sqlalchemy import Engine, text

from lookout_common.credentials import api_token_hash, new_api_token
from lookout_common.errors import (
    Forbidden,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
)

from ..permissions import ROLE_RANK, Permission, spec_for
from ..settings import QuerySettings

log = logging.getLogger(__name__)

SESSION_COOKIE = "lookout_session"
MAX_ID = 2**31 - 1
# Routes whose JSON bodies are stored in PostgreSQL.
STORED_TAGS = ("accounts", "dashboards", "admin")
_hasher = PasswordHasher()
# Verified against when the user does not exist, so both answers take as long.
_DUMMY_HASH = _hasher.hash("lookout-no-such-user")


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    role: str
    via: str  # "session" or "token"

    def at_least(self, role: str) -> bool:
        return ROLE_RANK[self.role] >= ROLE_RANK[role]

    def to_json(self) -> dict[str, Any]:
        return {"id": self.user_id, "username": self.username, "role": self.role,
                "via": self.via}


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def password_matches(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


token_hash = api_token_hash
new_token = new_api_token


class Accounts:
    """Users, tokens and sessions over the query service's engine and a Redis client."""

    def __init__(self, settings: QuerySettings, engine: Engine) -> None:
        self.settings = settings
        self.engine = engine
        self.redis = redis.Redis.from_url(settings.redis_url, socket_timeout=1,
                                          socket_connect_timeout=1)

    # -- users ------------------------------------------------------------------------
    def bootstrap_admin(self) -> bool:
        """Create the configured admin when no user of that name exists (first start)."""
        s = self.settings
        if not s.query_admin_password:
            return False
        with self.engine.begin() as conn:
            row = conn.execute(text(
                "INSERT INTO users (username, password_hash, role) VALUES (:u, :h, 'admin') "
                "ON CONFLICT (username) DO NOTHING RETURNING id"),
                {"u": s.query_admin_user, "h": hash_password(s.query_admin_password)}).first()
        return row is not None

    def authenticate(self, username: str, password: str) -> Principal | None:
        with self.engine.connect() as conn:
            row = conn.execute(text(
                "SELECT id, username, role, password_hash FROM users "
                "WHERE username = :u AND disabled_at IS NULL"), {"u": username}).first()
        if row is None:
            password_matches(_DUMMY_HASH, password)
            return None
        if not password_matches(row.password_hash, password):
            return None
        return Principal(row.id, row.username, row.role, "session")

    def user(self, user_id: int, via: str) -> Principal | None:
        with self.engine.connect() as conn:
            row = conn.execute(text(
                "SELECT id, username, role FROM users WHERE id = :id AND disabled_at IS NULL"),
                {"id": user_id}).first()
        return None if row is None else Principal(row.id, row.username, row.role, via)

    def token_user(self, token: str) -> Principal | None:
        with self.engine.begin() as conn:
            row = conn.execute(text(
                "UPDATE api_tokens t SET last_used_at = now() FROM users u "
                "WHERE t.token_hash = :h AND t.revoked_at IS NULL AND u.id = t.user_id "
                "AND u.disabled_at IS NULL RETURNING u.id, u.username, u.role"),
                {"h": token_hash(token)}).first()
        return None if row is None else Principal(row.id, row.username, row.role, "token")

    # -- sessions ---------------------------------------------------------------------
    def _session_key(self, session_id: str) -> str:
        digest = hashlib.sha256(session_id.encode()).hexdigest()
        return f"{self.settings.redis_key_prefix}session:{digest}"

    def open_session(self, user_id: int) -> str:
        session_id = secrets.token_urlsafe(32)  # 32 random bytes
        try:
            self.redis.set(self._session_key(session_id), str(user_id),
                           ex=self.settings.query_session_ttl_s)
        except redis.RedisError as exc:
            raise ServiceUnavailable(
                "sessions are unavailable: Redis does not answer; try again shortly") from exc
        return session_id

    def session_user_id(self, session_id: str) -> int | None:
        try:
            value = self.redis.get(self._session_key(session_id))
        except redis.RedisError as exc:
            raise ServiceUnavailable(
                "sessions are unavailable: Redis does not answer; try again shortly") from exc
        return None if value is None else int(value)  # type: ignore[arg-type]

    def close_session(self, session_id: str) -> None:
        try:
            self.redis.delete(self._session_key(session_id))
        except redis.RedisError as exc:
            raise ServiceUnavailable(
                "sessions are unavailable: Redis does not answer; try again shortly") from exc

    # -- rate limits ------------------------------------------------------------------
    def count_attempt(self, kind: str, who: str, limit: int, *, required: bool) -> None:
        """A fixed one-minute window per ``kind`` and ``who``; beyond ``limit`` → 429.
        ``required``: Redis down refuses (503) instead of letting the request through."""
        key = f"{self.settings.redis_key_prefix}ratelimit:{kind}:{who}"
        try:
            pipe = self.redis.pipeline()
            pipe.incr(key)
            pipe.expire(key, 60, nx=True)
            pipe.ttl(key)
            count, _, ttl = pipe.execute()
        except redis.RedisError as exc:
            if required:
                raise ServiceUnavailable(
                    f"{kind} is unavailable: Redis (which counts attempts) does not answer; "
                    "try again shortly") from exc
            return
        if int(count) > limit:
            retry = max(1, int(ttl))
            raise TooManyRequests(
                f"more than {limit} {kind} attempts per minute from {who}; retry in {retry} s",
                retry_after_s=retry)


def accounts() -> Accounts:
    return current_app.extensions["lookout.accounts"]  # type: ignore[no-any-return]


def current_principal() -> Principal | None:
    return g.get("principal")


def require_principal() -> Principal:
    principal = current_principal()
    if principal is None:
        raise Unauthorized("sign in (POST /api/v1/auth/login) or present an API token")
    return principal


def resolve_principal(acc: Accounts) -> Principal | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        principal = acc.token_user(header[7:].strip())
        if principal is None:
            raise Unauthorized("the API token is unknown or revoked")
        return principal
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        user_id = acc.session_user_id(session_id)
        if user_id is not None:
            return acc.user(user_id, "session")
    return None


def enforce_permission() -> None:
    """``before_request``: resolve the caller, then apply the route's permission."""
    if request.endpoint is None or request.endpoint == "static":
        return  # 404 / 405 follow from routing
    spec = spec_for(request.endpoint)
    if spec is None:
        raise Forbidden(f"route {request.endpoint} declares no permission")
    if request.method == "OPTIONS":
        return
    for name, value in (request.view_args or {}).items():
        if isinstance(value, int) and value > MAX_ID:  # no row has it (integer ids)
            raise NotFound(f"no {name.removesuffix('_id')} {value}")
    if spec.tag in STORED_TAGS and b"\\u0000" in request.get_data(cache=True):
        # PostgreSQL text and jsonb cannot hold NUL: refuse it here, naming the problem.
        raise ValidationFailed("strings may not contain NUL (\\u0000)", field="body")
    acc = accounts()
    settings = acc.settings
    if spec.permission is Permission.PUBLIC:
        g.principal = _optional_principal(acc, strict=False)
        return
    if spec.permission is Permission.QUERY:
        # Open queries: an unknown token counts as anonymous (Prometheus scrapers and
        # Grafana data sources may send credentials meant for something else).
        principal = _optional_principal(acc, strict=settings.query_auth_required)
        g.principal = principal
        if principal is None:
            if settings.query_auth_required:
                raise Unauthorized("QUERY_AUTH_REQUIRED is set: sign in or present an API "
                                   "token to query")
            return
        acc.count_attempt("query", principal.username, settings.query_rate_limit_per_minute,
                          required=False)
        return
    principal = resolve_principal(acc)
    g.principal = principal
    if principal is None:
        raise Unauthorized("sign in (POST /api/v1/auth/login) or present an API token")
    if not principal.at_least(spec.permission.value):
        raise Forbidden(f"this needs the {spec.permission.value} role; "
                        f"{principal.username} is {principal.role}")


def _optional_principal(acc: Accounts, strict: bool) -> Principal | None:
    """The caller when it says who it is; open routes do not fail on Redis being down,
    nor (unless ``strict``) on an unknown token."""
    if not request.headers.get("Authorization", "")[:7].lower() == "bearer " and \
            not request.cookies.get(SESSION_COOKIE):
        return None
    try:
        return resolve_principal(acc)
    except ServiceUnavailable:
        return None
    except Unauthorized:
        if strict:
            raise
        return None
