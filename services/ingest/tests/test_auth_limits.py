"""Ingest authentication, series limits and rate limits, on real PostgreSQL, RabbitMQ
and Redis."""

import base64
import os
import subprocess
import sys

import pytest

from lookout_common import credentials
from lookout_common.db.schema import migrate
from lookout_common.settings import StorageMode
from lookout_common.testing import drain_ingest_queue
from lookout_ingest.app import create_app
from lookout_ingest.settings import IngestSettings


@pytest.fixture
def settings(amqp_url, servers, redis_key_prefix, fresh_database_url):
    s = IngestSettings(amqp_url=amqp_url, redis_url=servers.redis_url,
                       redis_key_prefix=redis_key_prefix, database_url=fresh_database_url,
                       storage_mode=StorageMode.POSTGRES, broker_confirm_timeout_s=2)
    migrate(s)
    return s


@pytest.fixture
def make_client():
    apps = []

    def make(settings, **changes):
        apps.append(create_app(settings.model_copy(update=changes)))
        return apps[-1].test_client()

    yield make
    for app in apps:
        app.extensions["lookout.publisher"].close()


@pytest.fixture
def db(settings):
    import psycopg2

    conn = psycopg2.connect(settings.database_url)
    yield conn
    conn.close()


def queued(settings):
    return [batch for _props, batch in drain_ingest_queue(settings)]


ONE = [{"name": "up", "value": 1}]


def basic(user, password):
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


# -- authentication -------------------------------------------------------------------

def test_no_credentials_is_401_with_a_clear_message(settings, make_client):
    client = make_client(settings, ingest_auth=True)
    r = client.post("/api/v1/metrics", json=ONE)
    assert r.status_code == 401
    assert r.json["error"] == {
        "type": "unauthorized",
        "message": "missing credentials: send 'Authorization: Bearer <token>' or HTTP basic "
                   "auth (an admin creates them with `lookout credentials`)"}
    assert r.headers["WWW-Authenticate"] == 'Bearer realm="lookout", Basic realm="lookout"'
    assert client.get("/health/live").status_code == 200  # health stays open
    ready = client.get("/health/ready")
    assert ready.status_code == 200 and set(ready.json["dependencies"]) == {"broker", "database"}
    assert queued(settings) == []


def test_bearer_and_basic_credentials(settings, make_client, db):
    token = credentials.create_token(db, "prometheus-eu")
    password = credentials.create_basic(db, "vector", username="vector")
    client = make_client(settings, ingest_auth=True)
    assert client.post("/api/v1/metrics", json=ONE,
                       headers={"Authorization": f"Bearer {token}"}).status_code == 202
    assert client.post("/api/v1/metrics", json=ONE,
                       headers={"Authorization": basic("vector", password)}).status_code == 202
    # Influx clients say "Token" for a bearer token.
    assert client.post("/api/v2/write", data=b"cpu usage=1",
                       headers={"Authorization": f"Token {token}"}).status_code == 204
    for header, message in [
        (f"Bearer {token}x", "invalid or revoked credentials"),
        (basic("vector", password + "x"), "invalid or revoked credentials"),
        (basic("someone", password), "invalid or revoked credentials"),
        ("Basic !!!", "malformed basic credentials: not base64 of 'user:password'"),
        ("Digest abc", "unsupported Authorization scheme 'Digest': use Bearer (or Token) or Basic"),
    ]:
        r = client.post("/api/v1/metrics", json=ONE, headers={"Authorization": header})
        assert (r.status_code, r.json["error"]["message"]) == (401, message), header
    assert len(queued(settings)) == 3


def test_revoked_credential_is_refused(settings, make_client, db):
    token = credentials.create_token(db, "old")
    credentials.revoke(db, "old")
    r = make_client(settings, ingest_auth=True).post(
        "/api/v1/metrics", json=ONE, headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 401


def test_cli_creates_lists_and_revokes(settings, make_client):
    env = {**os.environ, "DATABASE_URL": settings.database_url}

    def lookout(*args):
        return subprocess.run([sys.executable, "-c", "from lookout_common.cli import main; main()",
                               "credentials", *args], env=env, capture_output=True, text=True,
                              timeout=60)

    created = lookout("create-token", "node-1")
    assert created.returncode == 0, created.stderr
    token = created.stdout.split("(shown once): ")[1].split()[0]
    client = make_client(settings, ingest_auth=True)
    assert client.post("/api/v1/metrics", json=ONE,
                       headers={"Authorization": f"Bearer {token}"}).status_code == 202
    assert lookout("create-token", "node-1").stderr.strip().endswith(
        "a credential named 'node-1' (or user None) exists")
    listed = lookout("list").stdout
    assert listed.startswith("node-1\ttoken\tcreated ") and listed.rstrip().endswith("active")
    assert token not in listed
    assert lookout("revoke", "node-1").returncode == 0
    assert "revoked" in lookout("list").stdout


# -- series limits ----------------------------------------------------------------------

def series(metric, n, value=1.0):
    return {"name": metric, "value": value, "labels": {"n": str(n)}}


def test_series_limits_refuse_new_series_and_keep_existing_ones_flowing(settings, make_client):
    client = make_client(settings, ingest_max_series_per_metric=2, ingest_max_series_total=3)
    assert client.post("/api/v1/metrics", json=[series("a", 1), series("a", 2)]).status_code == 202
    r = client.post("/api/v1/metrics", json=[series("a", 1, 5.0), series("a", 3)])
    assert r.status_code == 400
    error = r.json["error"]
    assert error["type"] == "limit_exceeded" and error["accepted"] == 1
    assert error["message"] == (
        "1 new series refused by INGEST_MAX_SERIES_PER_METRIC=2 (metrics: a); "
        "1 samples dropped, the other 1 were accepted")
    # Existing series keep flowing; another metric may still grow to the total.
    assert client.post("/api/v1/metrics", json=[series("a", 2), series("b", 1)]).status_code == 202
    r = client.post("/api/v1/metrics", json=[series("b", 2)])
    assert r.status_code == 400
    assert r.json["error"]["message"].startswith(
        "1 new series refused by INGEST_MAX_SERIES_TOTAL=3 (metrics: b)")
    published = queued(settings)
    assert [[(s.series.metric, s.series.labels, s.value) for s in b.samples()] for b in published] == [
        [("a", (("n", "1"),), 1.0), ("a", (("n", "2"),), 1.0)],
        [("a", (("n", "1"),), 5.0)],
        [("a", (("n", "2"),), 1.0), ("b", (("n", "1"),), 1.0)],
    ]
    # A second ingest instance (a fresh app) sees the same counts through Redis.
    other = make_client(settings, ingest_max_series_per_metric=2, ingest_max_series_total=3)
    assert other.post("/api/v1/metrics", json=[series("c", 1)]).status_code == 400


def test_too_many_labels(settings, make_client):
    client = make_client(settings, ingest_max_labels_per_series=2)
    r = client.post("/api/v1/metrics", json=[{"name": "x", "value": 1,
                                              "labels": {"a": "1", "b": "2", "c": "3"}}])
    assert r.status_code == 400
    assert r.json["error"]["message"] == (
        "series x has 3 labels, the limit is 2 (INGEST_MAX_LABELS_PER_SERIES); "
        "nothing in this request was accepted")
    assert queued(settings) == []


def test_redis_down_skips_limits_but_accepts(settings, make_client):
    client = make_client(settings, redis_url="redis://127.0.0.1:1/0",
                         ingest_max_series_per_metric=1)
    assert client.post("/api/v1/metrics", json=[series("a", 1), series("a", 2)]).status_code == 202
    assert len(queued(settings)) == 1


# -- rate limit ---------------------------------------------------------------------------

def test_rate_limit_per_client_is_429_with_retry_after(settings, make_client):
    client = make_client(settings, ingest_rate_limit="3/minute")
    me = {"X-Forwarded-For": "203.0.113.7"}
    codes = [client.post("/api/v1/metrics", json=ONE, headers=me).status_code for _ in range(4)]
    assert codes == [202, 202, 202, 429]
    r = client.post("/api/v1/metrics", json=ONE, headers=me)
    assert r.status_code == 429
    assert 1 <= int(r.headers["Retry-After"]) <= 61  # the rest of the minute window
    assert r.json["error"]["type"] == "rate_limited"
    assert r.json["error"]["message"].startswith(
        "rate limit of 3 per 1 minute exceeded for 203.0.113.7 (INGEST_RATE_LIMIT); retry in")
    # Another client has its own budget.
    assert client.post("/api/v1/metrics", json=ONE,
                       headers={"X-Forwarded-For": "203.0.113.8"}).status_code == 202
    assert len(queued(settings)) == 4
