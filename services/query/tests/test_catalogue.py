"""The metric catalogue endpoints on a real database."""

import psycopg2
import pytest

from lookout_common.db.schema import migrate
from lookout_common.settings import StorageMode
from lookout_query.app import create_app
from lookout_query.settings import QuerySettings


@pytest.fixture
def client(fresh_database_url, servers):
    settings = QuerySettings(database_url=fresh_database_url, storage_mode=StorageMode.POSTGRES,
                             redis_url=servers.redis_url + "/0")
    migrate(settings)
    conn = psycopg2.connect(fresh_database_url)
    with conn, conn.cursor() as cur:
        for i, (metric, labels) in enumerate([
            ("cpu", '{"host": "a", "dc": "eu"}'), ("cpu", '{"host": "b", "dc": "eu"}'),
            ("mem", '{"host": "a"}'),
        ]):
            cur.execute("INSERT INTO series (metric, labels, fingerprint) VALUES (%s, %s, %s)",
                        (metric, labels, bytes([i])))
    conn.close()
    app = create_app(settings)
    yield app.test_client()


def test_lists_metrics_with_series_counts(client):
    assert client.get("/api/v1/metrics").json == {
        "metrics": [{"name": "cpu", "series": 2}, {"name": "mem", "series": 1}]}


def test_tags_of_a_metric(client):
    assert client.get("/api/v1/metrics/cpu/tags").json == {
        "metric": "cpu", "tags": {"dc": ["eu"], "host": ["a", "b"]}}


def test_unknown_and_invalid_metric(client):
    r = client.get("/api/v1/metrics/nope/tags")
    assert r.status_code == 404
    assert r.json["error"] == {"type": "not_found", "message": "no series of metric 'nope'"}
    r = client.get("/api/v1/metrics/1bad/tags")
    assert r.status_code == 400
    assert "does not match" in r.json["error"]["message"]


def test_ready_checks_database_and_redis(client):
    r = client.get("/health/ready")
    assert r.status_code == 200
    assert set(r.json["dependencies"]) == {"database", "redis"}


def test_requests_are_counted_by_route(client):
    client.get("/api/v1/metrics/cpu/tags")
    client.get("/api/v1/metrics/nope/tags")
    text = client.get("/metrics").get_data(as_text=True)
    assert 'query_requests_total{code="200",route="/api/v1/metrics/<name>/tags"}' in text
    assert 'query_requests_total{code="404",route="/api/v1/metrics/<name>/tags"}' in text
    assert 'query_latency_seconds_count{route="/api/v1/metrics/<name>/tags"}' in text
