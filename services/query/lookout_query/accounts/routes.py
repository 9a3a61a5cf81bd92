"""HTTP routes of accounts: sign in and out, who am I, users and API tokens (admins)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from lookout_common.errors import Conflict, NotFound, Unauthorized, ValidationFailed

from ..permissions import ROLES, Permission, api
from . import SESSION_COOKIE, accounts, hash_password, new_token, require_principal, token_hash

bp = Blueprint("accounts", __name__)

USERNAME = {"type": "string", "pattern": "^[A-Za-z0-9_.@-]{1,64}$"}
ROLE = {"type": "string", "enum": list(ROLES)}
USER = {"type": "object", "required": ["id", "username", "role"],
        "properties": {"id": {"type": "integer"}, "username": {"type": "string"},
                       "role": ROLE}}
LOGIN_BODY = {"type": "object", "required": ["username", "password"],
              "properties": {"username": {"type": "string"}, "password": {"type": "string"}}}
NEW_USER = {"type": "object", "required": ["username", "password", "role"],
            "properties": {"username": USERNAME,
                           "password": {"type": "string", "minLength": 8, "maxLength": 1024},
                           "role": ROLE}}
USER_CHANGE = {"type": "object",
               "properties": {"password": {"type": "string", "minLength": 8,
                                           "maxLength": 1024},
                              "role": ROLE, "disabled": {"type": "boolean"}}}
NEW_TOKEN = {"type": "object", "required": ["name"],
             "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 100},
                            "username": {"type": "string"}}}
TOKEN = {"type": "object", "required": ["id", "name", "username"],
         "properties": {"id": {"type": "integer"}, "name": {"type": "string"},
                        "username": {"type": "string"}, "token": {"type": "string"}}}


def json_body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise ValidationFailed("the request body must be a JSON object", field="body")
    return body


def string_field(body: dict[str, Any], name: str, *, required: bool = True,
                 max_len: int = 1024, min_len: int = 0) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not (min_len <= len(value) <= max_len):
        raise ValidationFailed(f"{name} must be a string of {min_len} to {max_len} characters",
                               field=name)
    return value


@api(bp, "POST", "/api/v1/auth/login", Permission.PUBLIC, "Sign in; sets the session cookie",
     body=LOGIN_BODY, response={"type": "object", "required": ["user"],
                                "properties": {"user": USER}})
def login() -> Response:
    acc = accounts()
    acc.count_attempt("login", request.remote_addr or "unknown",
                      acc.settings.query_login_attempts_per_minute, required=True)
    body = json_body()
    username = string_field(body, "username", max_len=64) or ""
    password = string_field(body, "password") or ""
    principal = acc.authenticate(username, password)
    if principal is None:
        raise Unauthorized("unknown user or wrong password")
    session_id = acc.open_session(principal.user_id)
    response = jsonify({"user": principal.to_json()})
    response.set_cookie(SESSION_COOKIE, session_id, max_age=acc.settings.query_session_ttl_s,
                        httponly=True, samesite="Strict", secure=request.is_secure, path="/")
    return response


@api(bp, "POST", "/api/v1/auth/logout", Permission.PUBLIC,
     "Sign out: the session is revoked", status=204, response={})
def logout() -> tuple[str, int, dict[str, str]] | Response:
    session_id = request.cookies.get(SESSION_COOKIE)
    if session_id:
        accounts().close_session(session_id)
    response = Response(status=204)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="Strict",
                           secure=request.is_secure)
    return response


@api(bp, "GET", "/api/v1/auth/me", Permission.VIEWER, "The signed-in user",
     response={"type": "object", "required": ["user"], "properties": {"user": USER}})
def me() -> Response:
    return jsonify({"user": require_principal().to_json()})


def _user_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "username": row.username, "role": row.role,
            "disabled": row.disabled_at is not None, "created_at": row.created_at.isoformat()}


@api(bp, "GET", "/api/v1/users", Permission.ADMIN, "All users",
     response={"type": "object", "required": ["users"],
               "properties": {"users": {"type": "array", "items": USER}}})
def list_users() -> Response:
    with accounts().engine.connect() as conn:
        rows = conn.execute(text("SELECT id, username, role, created_at, disabled_at "
                                 "FROM users ORDER BY id")).all()
    return jsonify({"users": [_user_json(r) for r in rows]})


def _role(body: dict[str, Any], required: bool) -> str | None:
    role = body.get("role")
    if role is None and not required:
        return None
    if role not in ROLES:
        raise ValidationFailed(f"role must be one of {', '.join(ROLES)}", field="role")
    return str(role)


@api(bp, "POST", "/api/v1/users", Permission.ADMIN, "Create a user", body=NEW_USER,
     response=USER, status=201)
def create_user() -> tuple[Response, int]:
    body = json_body()
    username = string_field(body, "username", max_len=64, min_len=1) or ""
    if not all(c.isascii() and (c.isalnum() or c in "_.@-") for c in username):
        raise ValidationFailed("username may hold letters, digits and _ . @ -",
                               field="username")
    password = string_field(body, "password", min_len=8) or ""
    role = _role(body, True)
    try:
        with accounts().engine.begin() as conn:
            row = conn.execute(text(
                "INSERT INTO users (username, password_hash, role) VALUES (:u, :h, :r) "
                "RETURNING id, username, role, created_at, disabled_at"),
                {"u": username, "h": hash_password(password), "r": role}).one()
    except IntegrityError:
        raise Conflict(f"a user named {username!r} exists") from None
    return jsonify(_user_json(row)), 201


@api(bp, "PATCH", "/api/v1/users/<int:user_id>", Permission.ADMIN,
     "Change a user's role, password or disabled state", body=USER_CHANGE, response=USER)
def change_user(user_id: int) -> Response:
    body = json_body()
    role = _role(body, False)
    password = string_field(body, "password", required=False, min_len=8)
    disabled = body.get("disabled")
    if disabled is not None and not isinstance(disabled, bool):
        raise ValidationFailed("disabled must be true or false", field="disabled")
    with accounts().engine.begin() as conn:
        row = conn.execute(text(
            "UPDATE users SET role = coalesce(:r, role), "
            "password_hash = coalesce(:h, password_hash), "
            "disabled_at = CASE WHEN :d IS NULL THEN disabled_at WHEN :d THEN "
            "coalesce(disabled_at, now()) ELSE NULL END, updated_at = now() "
            "WHERE id = :id RETURNING id, username, role, created_at, disabled_at"),
            {"r": role, "h": hash_password(password) if password else None, "d": disabled,
             "id": user_id}).first()
    if row is None:
        raise NotFound(f"no user {user_id}")
    return jsonify(_user_json(row))


@api(bp, "DELETE", "/api/v1/users/<int:user_id>", Permission.ADMIN, "Delete a user",
     status=204, response={})
def delete_user(user_id: int) -> Response:
    if user_id == require_principal().user_id:
        raise Conflict("you cannot delete yourself")
    with accounts().engine.begin() as conn:
        row = conn.execute(text("DELETE FROM users WHERE id = :id RETURNING id"),
                           {"id": user_id}).first()
    if row is None:
        raise NotFound(f"no user {user_id}")
    return Response(status=204)


def _token_json(row: Any) -> dict[str, Any]:
    return {"id": row.id, "name": row.name, "username": row.username,
            "created_at": row.created_at.isoformat(),
            "last_used_at": row.last_used_at.isoformat() if row.last_used_at else None,
            "revoked": row.revoked_at is not None}


@api(bp, "GET", "/api/v1/tokens", Permission.ADMIN, "All API tokens (never their secrets)",
     response={"type": "object", "required": ["tokens"],
               "properties": {"tokens": {"type": "array", "items": TOKEN}}})
def list_tokens() -> Response:
    with accounts().engine.connect() as conn:
        rows = conn.execute(text(
            "SELECT t.id, t.name, u.username, t.created_at, t.last_used_at, t.revoked_at "
            "FROM api_tokens t JOIN users u ON u.id = t.user_id ORDER BY t.id")).all()
    return jsonify({"tokens": [_token_json(r) for r in rows]})


@api(bp, "POST", "/api/v1/tokens", Permission.ADMIN,
     "Create an API token for a user (yourself by default); the secret is shown once",
     body=NEW_TOKEN, response=TOKEN, status=201)
def create_token() -> tuple[Response, int]:
    body = json_body()
    name = string_field(body, "name", max_len=100, min_len=1) or ""
    username = string_field(body, "username", required=False, max_len=64)
    token, row = issue_token(name, username or require_principal().username)
    return jsonify({**_token_json(row), "token": token}), 201


def issue_token(name: str, username: str) -> tuple[str, Any]:
    token = new_token()
    try:
        with accounts().engine.begin() as conn:
            row = conn.execute(text(
                "INSERT INTO api_tokens (name, user_id, token_hash) "
                "SELECT :n, id, :h FROM users WHERE username = :u "
                "RETURNING id, name, :u AS username, created_at, last_used_at, revoked_at"),
                {"n": name, "h": token_hash(token), "u": username}).first()
    except IntegrityError:
        raise Conflict(f"{username} already has a token named {name!r}") from None
    if row is None:
        raise ValidationFailed(f"no user {username!r}", field="username")
    return token, row


@api(bp, "DELETE", "/api/v1/tokens/<int:token_id>", Permission.ADMIN, "Revoke an API token",
     status=204, response={})
def revoke_token(token_id: int) -> Response:
    with accounts().engine.begin() as conn:
        row = conn.execute(text(
            "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = :id "
            "RETURNING id"), {"id": token_id}).first()
    if row is None:
        raise NotFound(f"no token {token_id}")
    return Response(status=204)
