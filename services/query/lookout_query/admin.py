"""Admin API: statistics, health of every dependency, and the dead-letter queue
(``lookout_common.dlq``, the same code as ``lookout dlq``). Admin only."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pika
from flask import Blueprint, Response, current_app, jsonify, request
from prometheus_client import REGISTRY as METRICS
from sqlalchemy import Engine, text

from lookout_common import __version__
from lookout_common.broker import (
    DEAD_LETTER_QUEUE,
    INGEST_QUEUE,
    connection_parameters,
    declare_topology,
)
from lookout_common.dlq import DeadLetter, DeadLetterQueue
from lookout_common.errors import NotFound, ServiceUnavailable, ValidationFailed

from .accounts import accounts
from .permissions import Permission, api
from .settings import QuerySettings

bp = Blueprint("admin", __name__)
STARTED = time.time()

DEPENDENCY = {"type": "object", "required": ["status", "latency_ms"],
              "properties": {"status": {"type": "string", "enum": ["ok", "down"]},
                             "latency_ms": {"type": "number"}}}
HEALTH = {"type": "object", "required": ["status", "version", "uptime_s", "dependencies"],
          "properties": {"status": {"type": "string", "enum": ["ok", "degraded"]},
                         "version": {"type": "string"}, "uptime_s": {"type": "number"},
                         "dependencies": {"type": "object",
                                          "additionalProperties": DEPENDENCY}}}
DEAD_LETTER = {"type": "object", "required": ["message_id", "reason", "summary"]}
SELECTION = {"type": "object",
             "properties": {"message_ids": {"type": "array", "items": {"type": "string"}},
                            "all": {"type": "boolean"}}}


def _settings() -> QuerySettings:
    return accounts().settings


def _engine() -> Engine:
    return accounts().engine


def _queue_depths(settings: QuerySettings) -> dict[str, int]:
    connection = pika.BlockingConnection(connection_parameters(settings, "lookout-admin"))
    try:
        channel = connection.channel()
        declare_topology(channel, settings)  # idempotent; as lookout_common.dlq does
        depths = {}
        for queue in (INGEST_QUEUE, DEAD_LETTER_QUEUE):
            depths[queue] = int(channel.queue_declare(queue, passive=True).method.message_count)
        return depths
    finally:
        if connection.is_open:
            connection.close()


def _broker_ping(settings: QuerySettings) -> None:
    connection = pika.BlockingConnection(connection_parameters(settings, "lookout-health"))
    try:
        connection.channel()
    finally:
        if connection.is_open:
            connection.close()


def _metric_total(name: str) -> float:
    value = METRICS.get_sample_value(name)
    return float(value or 0.0)


@api(bp, "GET", "/api/v1/admin/stats", Permission.ADMIN,
     "Series, samples, ingest rate, queue depth, database size, cache hit rate",
     response={"type": "object", "required": ["series", "samples", "database_bytes"]})
def stats() -> Response:
    with _engine().connect() as conn:
        series = conn.execute(text("SELECT count(*) FROM series")).scalar_one()
        # An estimate (planner statistics): counting a large samples table would be slow.
        samples = conn.execute(text(
            "SELECT coalesce(sum(c.reltuples), 0)::bigint FROM pg_class c "
            "JOIN pg_inherits i ON i.inhrelid = c.oid "
            "WHERE i.inhparent = 'samples'::regclass AND c.reltuples > 0")).scalar_one()
        if not samples:
            samples = conn.execute(text(
                "SELECT greatest(reltuples, 0)::bigint FROM pg_class "
                "WHERE oid = 'samples'::regclass")).scalar_one()
        last_minute = conn.execute(text(
            "SELECT count(*) FROM samples WHERE time > now() - interval '1 minute'")
        ).scalar_one()
        size = conn.execute(text("SELECT pg_database_size(current_database())")).scalar_one()
    try:
        queues: dict[str, int] | None = _queue_depths(_settings())
    except Exception:  # the broker down is a fact to show, not a failure of stats
        queues = None
    hits = _metric_total("query_cache_hits_total")
    misses = _metric_total("query_cache_misses_total")
    return jsonify({"series": series, "samples": samples,
                    "ingest_rate_per_s": round(last_minute / 60.0, 3),
                    "queue_depth": queues, "database_bytes": size,
                    "cache_hit_rate": round(hits / (hits + misses), 4) if hits + misses
                    else None, "cache_scope": "this query process"})


@api(bp, "POST", "/api/v1/admin/retention", Permission.ADMIN,
     "Apply retention now: drop raw samples and rollups older than the retention settings "
     "(or the days given, which may only be shorter)",
     body={"type": "object", "properties": {
         "raw_days": {"type": "integer", "minimum": 1},
         "rollup_1m_days": {"type": "integer", "minimum": 1},
         "rollup_1h_days": {"type": "integer", "minimum": 1}}},
     response={"type": "object", "required": ["deleted"]})
def retention() -> Response:
    settings = _settings()
    document = request.get_json(silent=True) or {}
    if not isinstance(document, dict):
        raise ValidationFailed("the request body must be a JSON object", field="body")
    days = {}
    for key, default in (("raw_days", settings.retention_raw_days),
                         ("rollup_1m_days", settings.retention_1m_days),
                         ("rollup_1h_days", settings.retention_1h_days)):
        value = document.get(key, default)
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValidationFailed(f"{key} must be an integer >= 1", field=key)
        days[key] = min(value, default)
    deleted: dict[str, int | None] = {}
    with _engine().begin() as conn:
        for table, key, column in (("samples", "raw_days", "time"),
                                   ("samples_1m", "rollup_1m_days", "bucket"),
                                   ("samples_1h", "rollup_1h_days", "bucket")):
            kind = conn.execute(text("SELECT relkind FROM pg_class WHERE oid = "
                                     "to_regclass(:t)"), {"t": table}).scalar()
            if kind not in ("r", "p"):  # a continuous aggregate: TimescaleDB's policy
                deleted[table] = None
                continue
            result = conn.execute(text(
                f"DELETE FROM {table} WHERE {column} < now() - make_interval(days => :d)"),
                {"d": days[key]})
            deleted[table] = result.rowcount
    return jsonify({"deleted": deleted, "days": days})


def _timed(check: Callable[[], object]) -> dict[str, Any]:
    t0 = time.perf_counter()
    try:
        check()
        status: dict[str, Any] = {"status": "ok"}
    except Exception as exc:  # a failing dependency is reported, not raised
        status = {"status": "down", "error": str(exc)[:300]}
    status["latency_ms"] = round((time.perf_counter() - t0) * 1000, 2)
    return status


@api(bp, "GET", "/api/v1/admin/health", Permission.ADMIN,
     "Status, version, uptime and each dependency's status and latency", response=HEALTH)
def health() -> Response:
    settings = _settings()

    def database() -> None:
        with _engine().connect() as conn:
            conn.execute(text("SELECT 1"))

    dependencies = {"database": _timed(database), "redis": _timed(accounts().redis.ping),
                    "broker": _timed(lambda: _broker_ping(settings))}
    healthy = all(d["status"] == "ok" for d in dependencies.values())
    return jsonify({"status": "ok" if healthy else "degraded", "version": __version__,
                    "uptime_s": round(time.time() - STARTED, 1),
                    "dependencies": dependencies})


def _dlq() -> DeadLetterQueue:
    return current_app.extensions["lookout.dlq"]  # type: ignore[no-any-return]


def _letter_json(letter: DeadLetter, with_headers: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "message_id": letter.message_id, "reason": letter.reason, "summary": letter.summary(),
        "bytes": len(letter.body), "content_type": letter.content_type,
        "published_at": letter.published_at.isoformat() if letter.published_at else None}
    if with_headers:
        out["headers"] = {k: (v.isoformat() if isinstance(v, datetime) else str(v))
                          for k, v in letter.headers.items()}
    return out


def _broker_call(call: Callable[[], Any]) -> Any:
    try:
        return call()
    except pika.exceptions.AMQPError as exc:
        raise ServiceUnavailable(f"the broker does not answer: {exc!r}") from exc


@api(bp, "GET", "/api/v1/admin/dlq", Permission.ADMIN, "Messages in the dead-letter queue",
     parameters=({"name": "limit", "in": "query",
                  "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},),
     response={"type": "object", "required": ["count", "messages"]})
def dlq_list() -> Response:
    limit = request.args.get("limit", "100")
    if not limit.isdigit() or not 1 <= int(limit) <= 1000:
        raise ValidationFailed("limit must be an integer from 1 to 1000", field="limit")
    letters = _broker_call(lambda: _dlq().peek(int(limit)))
    count = _broker_call(_dlq().count)
    return jsonify({"count": count, "messages": [_letter_json(m) for m in letters]})


@api(bp, "GET", "/api/v1/admin/dlq/<message_id>", Permission.ADMIN,
     "One dead-lettered message", response=DEAD_LETTER)
def dlq_show(message_id: str) -> Response:
    letter = _broker_call(lambda: _dlq().find(message_id))
    if letter is None:
        raise NotFound(f"no message {message_id} in the dead-letter queue")
    return jsonify(_letter_json(letter, with_headers=True))


def _selection() -> list[str] | None:
    document = request.get_json(silent=True)
    if not isinstance(document, dict):
        raise ValidationFailed("the body must be {\"message_ids\": [...]} or {\"all\": true}",
                               field="body")
    if document.get("all") is True:
        return None
    ids = document.get("message_ids")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise ValidationFailed("message_ids must be a non-empty list of ids (or all: true)",
                               field="message_ids")
    return ids


@api(bp, "POST", "/api/v1/admin/dlq/replay", Permission.ADMIN,
     "Put messages back on the ingest path", body=SELECTION,
     response={"type": "object", "required": ["done", "kept"]})
def dlq_replay() -> Response:
    selection = _selection()
    outcome = _broker_call(lambda: _dlq().replay(selection))
    return jsonify({"done": outcome.done, "kept": outcome.kept})


@api(bp, "POST", "/api/v1/admin/dlq/purge", Permission.ADMIN,
     "Drop messages from the dead-letter queue", body=SELECTION,
     response={"type": "object", "required": ["done", "kept"]})
def dlq_purge() -> Response:
    selection = _selection()
    outcome = _broker_call(lambda: _dlq().purge(selection))
    return jsonify({"done": outcome.done, "kept": outcome.kept})
