# ruff: noqa: F811 (fixtures are imported from accounts_fixtures)
"""Sign in and out, sessions in Redis (expiry, revocation), the login rate limit, API
tokens, and a clear 503 when Redis is down — against real PostgreSQL and Redis."""

import os
import subprocess
import sys
import time

import redis

from .accounts_fixtures import (  # noqa: F401 (fixtures)
    ADMIN_PASSWORD,
    accounts_template,
    app,
    make_app,
    migrated_database,
    users,
)


def login(client, username="admin", password=ADMIN_PASSWORD, **headers):
    return client.post("/api/v1/auth/login", json={"username": username, "password": password},
                       headers=headers)


def test_admin_bootstrapped_login_me_logout_revokes(app, servers, redis_key_prefix):
    c = app.test_client()
    assert c.get("/api/v1/auth/me").status_code == 401
    r = login(c)
    assert r.status_code == 200, r.json
    assert r.json["user"]["username"] == "admin" and r.json["user"]["role"] == "admin"
    cookie = r.headers["Set-Cookie"]
    assert "lookout_session=" in cookie and "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie and "Secure" not in cookie
    session_id = c.get_cookie("lookout_session").value
    assert len(session_id) == 43  # 32 random bytes, URL-safe base64
    store = redis.Redis.from_url(servers.redis_url)
    try:
        keys = list(store.scan_iter(redis_key_prefix + "session:*"))
        assert len(keys) == 1
        assert 86_000 < store.ttl(keys[0]) <= 86_400
        assert c.get("/api/v1/auth/me").json["user"]["username"] == "admin"
        assert c.post("/api/v1/auth/logout").status_code == 204
        assert not list(store.scan_iter(redis_key_prefix + "session:*"))
    finally:
        store.close()
    # The old cookie, presented again, is refused: the session was revoked.
    other = app.test_client()
    other.set_cookie("lookout_session", session_id)
    assert other.get("/api/v1/auth/me").status_code == 401


def test_secure_cookie_behind_tls(app):
    r = login(app.test_client(), **{"X-Forwarded-Proto": "https"})
    assert r.status_code == 200 and "Secure" in r.headers["Set-Cookie"]


def test_session_expires(make_app):
    app = make_app(query_session_ttl_s=1)
    c = app.test_client()
    assert login(c).status_code == 200
    assert c.get("/api/v1/auth/me").status_code == 200
    time.sleep(1.5)
    r = c.get("/api/v1/auth/me")
    assert r.status_code == 401 and r.json["error"]["type"] == "unauthorized"


def test_wrong_password_and_sixth_attempt_refused(app):
    c = app.test_client()
    for _ in range(4):
        r = login(c, password="wrong")
        assert r.status_code == 401, r.json
    assert login(c).status_code == 200  # the 5th attempt, right: still counted
    r = login(c)  # the 6th within the minute, even with the right password
    assert r.status_code == 429
    assert r.json["error"]["type"] == "rate_limited"
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    # Another address is not locked out.
    assert login(c, **{"X-Forwarded-For": "10.9.8.7"}).status_code == 200


def test_login_validation_names_the_field(app):
    r = app.test_client().post("/api/v1/auth/login", json={"username": "admin"})
    assert r.status_code == 400 and r.json["error"]["field"] == "password"


def test_redis_down_login_is_a_clear_503(make_app):
    app = make_app(redis_url="redis://127.0.0.1:1/0")
    r = login(app.test_client())
    assert r.status_code == 503
    assert r.json["error"]["type"] == "unavailable"
    assert "Redis" in r.json["error"]["message"]


def test_api_tokens(app, users):
    c = app.test_client()
    admin = users["admin"]
    r = c.post("/api/v1/tokens", json={"name": "ci", "username": "viewer"}, headers=admin.auth)
    assert r.status_code == 201, r.json
    token = r.json["token"]
    assert token.startswith("lkt_")
    me = c.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json["user"] == {"id": users["viewer"].id, "username": "viewer", "role": "viewer",
                               "via": "token"}
    listed = c.get("/api/v1/tokens", headers=admin.auth).json["tokens"]
    assert "token" not in listed[0] and {t["name"] for t in listed} >= {"ci"}
    assert c.delete(f"/api/v1/tokens/{r.json['id']}", headers=admin.auth).status_code == 204
    r = c.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401
    assert c.get("/api/v1/auth/me",
                 headers={"Authorization": "Bearer lkt_nonsense"}).status_code == 401


def test_users_admin(app, users):
    c = app.test_client()
    admin = users["admin"]
    r = c.post("/api/v1/users", json={"username": "carol", "password": "carol-password",
                                      "role": "editor"}, headers=admin.auth)
    assert r.status_code == 201 and r.json["role"] == "editor"
    assert c.post("/api/v1/users", json={"username": "carol", "password": "carol-password",
                                         "role": "editor"}, headers=admin.auth).status_code == 409
    r = c.post("/api/v1/users", json={"username": "dave", "password": "x", "role": "editor"},
               headers=admin.auth)
    assert r.status_code == 400 and r.json["error"]["field"] == "password"
    carol = r = c.get("/api/v1/users", headers=admin.auth).json["users"][-1]
    r = c.patch(f"/api/v1/users/{carol['id']}", json={"disabled": True}, headers=admin.auth)
    assert r.json["disabled"] is True
    assert login(c, "carol", "carol-password").status_code == 401


def test_query_api_open_by_default_and_closed_when_required(make_app, users):
    open_app = make_app()
    assert open_app.test_client().get("/api/v1/metrics").status_code == 200
    closed = make_app(query_auth_required=True)
    c = closed.test_client()
    assert c.get("/api/v1/metrics").status_code == 401
    assert c.get("/prometheus/api/v1/labels").status_code == 401
    assert c.get("/api/v1/metrics", headers=users["viewer"].auth).status_code == 200
    assert c.get("/health/live").status_code == 200


def test_query_rate_limit_per_user(make_app, users):
    app = make_app(query_rate_limit_per_minute=3)
    c = app.test_client()
    for _ in range(3):
        assert c.get("/api/v1/metrics", headers=users["viewer"].auth).status_code == 200
    r = c.get("/api/v1/metrics", headers=users["viewer"].auth)
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert c.get("/api/v1/metrics", headers=users["editor"].auth).status_code == 200
    assert c.get("/api/v1/metrics").status_code == 200  # anonymous: not counted


def test_cli_creates_an_api_token(app, users, migrated_database):
    env = {**os.environ, "DATABASE_URL": migrated_database}
    result = subprocess.run(
        [sys.executable, "-c", "from lookout_common.cli import main; main()", "api-tokens",
         "create", "deploy-script", "--user", "editor"],
        env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    token = result.stdout.split("(shown once): ")[1].split()[0]
    me = app.test_client().get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
    assert me.json["user"]["username"] == "editor" and me.json["user"]["via"] == "token"
    again = subprocess.run(
        [sys.executable, "-c", "from lookout_common.cli import main; main()", "api-tokens",
         "create", "deploy-script", "--user", "editor"],
        env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 1 and "already has a token" in again.stderr


def test_open_routes_ignore_foreign_tokens(make_app):
    foreign = {"Authorization": "Bearer some-ingest-token"}
    c = make_app().test_client()
    assert c.get("/metrics", headers=foreign).status_code == 200
    assert c.get("/api/v1/metrics", headers=foreign).status_code == 200
    strict = make_app(query_auth_required=True).test_client()
    r = strict.get("/prometheus/api/v1/labels", headers=foreign)
    assert r.status_code == 401 and r.json["status"] == "error"
