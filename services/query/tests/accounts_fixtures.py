"""Shared fixtures of the accounts / dashboards tests: a migrated database, the app with
a bootstrapped admin, and users of each role with API tokens."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import psycopg2
import pytest
from flask import Flask
from flask.testing import FlaskClient
from psycopg2 import sql as psql
from sqlalchemy import text

from lookout_common.db.connection import drop_database, ensure_database
from lookout_common.db.schema import migrate
from lookout_common.settings import StorageMode
from lookout_common.testing import database_url, unique_name
from lookout_query.accounts import hash_password, new_token, token_hash
from lookout_query.app import create_app
from lookout_query.settings import QuerySettings

ADMIN_PASSWORD = "admin-password-for-tests"


@dataclass
class User:
    id: int
    username: str
    role: str
    password: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture(scope="session")
def accounts_template(servers: Any) -> Iterator[str]:
    """A database migrated once per session (plain PostgreSQL: no TimescaleDB scheduler
    connects to it), copied for each test — a copy takes a fraction of a migration."""
    url = database_url(servers, unique_name("lookout_accounts_template"))
    ensure_database(url)
    migrate(QuerySettings(database_url=url, storage_mode=StorageMode.POSTGRES))
    yield url
    drop_database(url)


@pytest.fixture
def migrated_database(servers: Any, accounts_template: str) -> Iterator[str]:
    url = database_url(servers, unique_name("lookout_test"))
    conn = psycopg2.connect(servers.pg_admin_url)
    conn.autocommit = True
    statement = psql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
        psql.Identifier(url.rsplit("/", 1)[1]),
        psql.Identifier(accounts_template.rsplit("/", 1)[1]))
    try:
        for attempt in range(20):
            try:
                with conn.cursor() as cur:
                    cur.execute(statement)
                break
            except psycopg2.errors.ObjectInUse:  # autovacuum visiting the template
                if attempt == 19:
                    raise
                time.sleep(0.1)
    finally:
        conn.close()
    yield url
    drop_database(url)


@pytest.fixture
def make_app(migrated_database: str, servers: Any, redis_key_prefix: str
             ) -> Callable[..., Flask]:
    def make(**overrides: Any) -> Flask:
        values: dict[str, Any] = {
            "database_url": migrated_database, "redis_url": servers.redis_url + "/0",
            "redis_key_prefix": redis_key_prefix, "query_admin_password": ADMIN_PASSWORD}
        values.update(overrides)
        return create_app(QuerySettings(**values))

    return make


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    return make_app()


def add_user(app: Flask, username: str, role: str, hashed: bool = True) -> User:
    """A user with a token; ``hashed=False``: an unusable password (fast, no argon2)."""
    engine = app.extensions["lookout.accounts"].engine
    password = f"{username}-password"
    token = new_token()
    with engine.begin() as conn:
        user_id = conn.execute(text(
            "INSERT INTO users (username, password_hash, role) VALUES (:u, :h, :r) "
            "ON CONFLICT (username) DO UPDATE SET role = EXCLUDED.role RETURNING id"),
            {"u": username, "h": hash_password(password) if hashed else "-", "r": role}
        ).scalar_one()
        conn.execute(text("INSERT INTO api_tokens (name, user_id, token_hash) "
                          "VALUES (:n, :u, :h)"),
                     {"n": token[-8:], "u": user_id, "h": token_hash(token)})
    return User(user_id, username, role, password, token)


@pytest.fixture
def users(app: Flask) -> dict[str, User]:
    """viewer, editor (owner), other (a second editor), admin — each with a token (and,
    but for the admin, no usable password: hashing is what makes setups slow)."""
    out = {name: add_user(app, name, role, hashed=False) for name, role in
           (("viewer", "viewer"), ("editor", "editor"), ("other", "editor"))}
    # The bootstrapped admin (its password from settings), plus a token.
    out["admin"] = add_user(app, "admin", "admin", hashed=False)
    out["admin"].password = ADMIN_PASSWORD
    return out


def client(app: Flask) -> FlaskClient:
    return app.test_client()


def dashboard_body(name: str = "Board", **extra: Any) -> dict[str, Any]:
    body = {"name": name, "description": "d", "layout": {"columns": 24},
            "variables": [{"name": "job", "type": "query", "query": "label_values(up, job)"}],
            "time_range": {"from": "now-6h", "to": "now"}, "refresh": "30s",
            "panels": [{"title": "Up", "type": "line", "query": "up", "options": {"unit": "s"},
                        "position": {"x": 0, "y": 0, "w": 12, "h": 8}}]}
    body.update(extra)
    return body
