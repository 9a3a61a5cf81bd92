# ruff: noqa: F811 (fixtures are imported from accounts_fixtures)
"""Admin API on real PostgreSQL, Redis and RabbitMQ: stats, retention, health, and the
dead-letter queue (list, show, replay, purge) through lookout_common.dlq."""

import time

import pika
import pytest

from lookout_common.broker import (
    DEAD_LETTER_QUEUE,
    INGEST_QUEUE,
    REASON_HEADER,
    connection_parameters,
    declare_topology,
)
from lookout_common.codec import SampleBatch, encode_batch
from lookout_common.series import Sample, SeriesKey
from lookout_query.settings import QuerySettings

from .accounts_fixtures import (  # noqa: F401 (fixtures)
    accounts_template,
    make_app,
    migrated_database,
    users,
)


@pytest.fixture
def app(make_app, amqp_url):
    return make_app(amqp_url=amqp_url)


def dead_letter(amqp_url, message_id, reason):
    settings = QuerySettings(amqp_url=amqp_url)
    body = encode_batch(SampleBatch.from_samples(
        [Sample(SeriesKey("temperature", (("room", "a"),)), int(time.time() * 1000), 1.5)]))
    connection = pika.BlockingConnection(connection_parameters(settings, "test"))
    try:
        channel = connection.channel()
        declare_topology(channel, settings)
        channel.confirm_delivery()
        channel.basic_publish("", DEAD_LETTER_QUEUE, body, pika.BasicProperties(
            delivery_mode=2, message_id=message_id, timestamp=int(time.time()),
            headers={REASON_HEADER: reason}))
    finally:
        connection.close()


def test_dlq_list_show_replay_purge(app, users, amqp_url):
    c = app.test_client()
    admin = users["admin"].auth
    dead_letter(amqp_url, "m-1", "database refused: check constraint")
    dead_letter(amqp_url, "m-2", "undecodable")
    listed = c.get("/api/v1/admin/dlq", headers=admin).json
    assert listed["count"] == 2
    assert [m["message_id"] for m in listed["messages"]] == ["m-1", "m-2"]
    assert listed["messages"][0]["summary"] == "1 samples in 1 series (temperature)"
    shown = c.get("/api/v1/admin/dlq/m-1", headers=admin).json
    assert shown["reason"] == "database refused: check constraint"
    assert c.get("/api/v1/admin/dlq/nope", headers=admin).status_code == 404
    assert c.get("/api/v1/admin/dlq", headers=users["editor"].auth).status_code == 403
    r = c.post("/api/v1/admin/dlq/replay", json={"message_ids": ["m-1"]}, headers=admin)
    assert r.json == {"done": ["m-1"], "kept": 1}
    stats = c.get("/api/v1/admin/stats", headers=admin).json
    assert stats["queue_depth"] == {INGEST_QUEUE: 1, DEAD_LETTER_QUEUE: 1}
    r = c.post("/api/v1/admin/dlq/purge", json={"all": True}, headers=admin)
    assert r.json == {"done": ["m-2"], "kept": 0}
    assert c.get("/api/v1/admin/dlq", headers=admin).json["count"] == 0
    r = c.post("/api/v1/admin/dlq/purge", json={}, headers=admin)
    assert r.status_code == 400 and r.json["error"]["field"] == "message_ids"


def test_stats_health_retention(app, users):
    c = app.test_client()
    admin = users["admin"].auth
    stats = c.get("/api/v1/admin/stats", headers=admin).json
    assert stats["series"] == 0 and stats["database_bytes"] > 1_000_000
    assert stats["ingest_rate_per_s"] == 0
    health = c.get("/api/v1/admin/health", headers=admin).json
    assert health["status"] == "ok", health
    assert health["uptime_s"] >= 0
    assert set(health["dependencies"]) == {"database", "redis", "broker"}
    assert all(d["status"] == "ok" and d["latency_ms"] >= 0
               for d in health["dependencies"].values())
    r = c.post("/api/v1/admin/retention", json={"raw_days": 3}, headers=admin)
    assert r.status_code == 200, r.json
    assert r.json["days"] == {"raw_days": 3, "rollup_1m_days": 30, "rollup_1h_days": 365}
    assert set(r.json["deleted"]) == {"samples", "samples_1m", "samples_1h"}
    r = c.post("/api/v1/admin/retention", json={"raw_days": 0}, headers=admin)
    assert r.status_code == 400 and r.json["error"]["field"] == "raw_days"


def test_health_reports_a_dependency_down(make_app, users):
    app = make_app(amqp_url="amqp://guest:guest@127.0.0.1:1/%2F")
    health = app.test_client().get("/api/v1/admin/health", headers=users["admin"].auth).json
    assert health["status"] == "degraded"
    assert health["dependencies"]["broker"]["status"] == "down"
    assert health["dependencies"]["database"]["status"] == "ok"
