"""The query service's Flask app."""

from __future__ import annotations

import time

import redis
from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from prometheus_client import Counter, Gauge, Histogram
from redis.backoff import NoBackoff
from redis.retry import Retry
from sqlalchemy import Engine, create_engine, event, text

from lookout_common import __version__
from lookout_common.db.connection import sqlalchemy_url
from lookout_common.errors import BadRequest, NotFound
from lookout_common.series import RuleBroken, check_metric_name
from lookout_common.web import (
    health_blueprint,
    install_error_handlers,
    install_request_ids,
    metrics_blueprint,
)

from . import prometheus_api, query_api
from .breaker import DependencyBreaker, is_database_outage
from .cache import CachePolicy, QueryCache
from .catalogue import MetricCatalogue
from .live import install_live
from .platform import install_platform
from .query_runner import QueryLimits, QueryRunner
from .settings import QuerySettings

bp = Blueprint("catalogue", __name__)

QUERY_REQUESTS = Counter("query_requests_total", "Query API requests by route and answer code",
                         ["route", "code"])
# Summed over the gunicorn workers that are alive.
DB_CONNECTIONS = Gauge("db_connections_active", "Database connections in use (checked out of "
                       "the pool)", multiprocess_mode="livesum")
QUERY_LATENCY = Histogram("query_latency_seconds", "Time to answer a query API request",
                          ["route"], buckets=(0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                              1, 2.5, 5, 10, 30))


def _count_requests(response: Response) -> Response:
    """Every API request of this service, by route pattern (not the raw path)."""
    if request.path.startswith(("/api/", "/prometheus/api/")) and "started" in g:
        route = request.url_rule.rule if request.url_rule else "unmatched"
        QUERY_REQUESTS.labels(route, str(response.status_code)).inc()
        QUERY_LATENCY.labels(route).observe(time.perf_counter() - g.started)
    return response


def query_runner(settings: QuerySettings, engine: Engine) -> QueryRunner:
    """The query path: Redis cache, PromQL engine, database breaker, from settings."""
    database_breaker = DependencyBreaker(
        "database", fail_max=settings.query_breaker_failures,
        reset_s=settings.query_breaker_reset_s, is_outage=is_database_outage)
    # One failure is enough to stop asking Redis for a while: answers do not need it.
    redis_breaker = DependencyBreaker(
        "redis", fail_max=1, reset_s=settings.query_cache_retry_s,
        is_outage=lambda exc: isinstance(exc, redis.RedisError))
    client = None
    if settings.query_cache_enabled:
        client = redis.Redis.from_url(
            settings.redis_url, socket_timeout=settings.query_cache_timeout_s,
            socket_connect_timeout=settings.query_cache_timeout_s,
            retry=Retry(NoBackoff(), 0), health_check_interval=0)
    lookback_ms = int(settings.query_lookback_s * 1000)
    policy = CachePolicy(
        prefix=settings.redis_key_prefix, ttl_s=settings.query_cache_ttl_s,
        recent_ttl_s=settings.query_cache_recent_ttl_s,
        recent_window_s=settings.query_cache_recent_window_s,
        max_bytes=settings.query_cache_max_bytes, lookback_ms=lookback_ms)
    limits = QueryLimits(timeout_s=settings.query_timeout_s, lookback_ms=lookback_ms,
                         max_samples=settings.query_max_samples,
                         max_series=settings.query_max_series)
    return QueryRunner(engine, limits=limits, breaker=database_breaker,
                       cache=QueryCache(client, policy, redis_breaker))


def create_served_app(settings: QuerySettings) -> Flask:
    """The app of a gunicorn worker: live push with its background tasks."""
    if settings.query_async_mode == "gevent":
        # gunicorn's gevent worker has patched the standard library; psycopg2 is a C
        # extension and waits cooperatively only with this.
        from psycogreen.gevent import patch_psycopg
        patch_psycopg()
    return create_app(settings, served=True)


def create_app(settings: QuerySettings, *, served: bool = False) -> Flask:
    app = Flask(__name__)
    engine = create_engine(sqlalchemy_url(settings.database_url), pool_size=5,
                           max_overflow=5, pool_pre_ping=True,
                           connect_args={"connect_timeout": settings.query_db_connect_timeout_s,
                                         "application_name": "lookout-query"})
    event.listen(engine, "checkout", lambda *_: DB_CONNECTIONS.inc())
    event.listen(engine, "checkin", lambda *_: DB_CONNECTIONS.dec())
    cache = redis.Redis.from_url(settings.redis_url, socket_timeout=2, socket_connect_timeout=2)
    app.extensions["lookout.catalogue"] = MetricCatalogue(engine)
    app.extensions["lookout.query_runner"] = query_runner(settings, engine)
    install_request_ids(app)
    install_error_handlers(app)
    app.after_request(_count_requests)
    app.register_blueprint(bp)
    app.register_blueprint(prometheus_api.bp)
    app.register_blueprint(query_api.bp)

    def check_db() -> None:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    app.register_blueprint(health_blueprint({"database": check_db, "redis": cache.ping},
                                            __version__))
    app.register_blueprint(metrics_blueprint())
    install_platform(app, settings, engine)
    install_live(app, settings, app.extensions["lookout.query_runner"], served=served)
    return app


@bp.get("/api/v1/metrics")
def list_metrics() -> Response:
    catalogue: MetricCatalogue = current_app.extensions["lookout.catalogue"]
    return jsonify({"metrics": catalogue.metrics()})


@bp.get("/api/v1/metrics/<name>/tags")
def metric_tags(name: str) -> Response:
    try:
        check_metric_name(name)
    except RuleBroken as exc:
        raise BadRequest(exc.message) from None
    catalogue: MetricCatalogue = current_app.extensions["lookout.catalogue"]
    tags = catalogue.tags(name)
    if tags is None:
        raise NotFound(f"no series of metric {name!r}")
    return jsonify({"metric": name, "tags": tags})
