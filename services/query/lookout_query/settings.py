from __future__ import annotations

from typing import Literal

from pydantic import Field

from lookout_common.settings import (
    BaseServiceSettings,
    BrokerSettings,
    DatabaseSettings,
    RedisSettings,
)


class QuerySettings(BaseServiceSettings, DatabaseSettings, RedisSettings, BrokerSettings):
    query_host: str = "127.0.0.1"
    query_port: int = Field(8082, ge=1, le=65535)
    # gunicorn worker processes. Socket.IO's long-polling fallback needs every request
    # of a session on one process, so with live push keep 1 and run more instances
    # (nginx pins a client to one); WebSocket sessions work with any number.
    query_workers: int = Field(1, ge=1, le=64)
    # Threads per worker (threading mode only; each open WebSocket holds one).
    query_threads: int = Field(8, ge=1, le=2048)

    # -- live push over Socket.IO (docs/live.md) --------------------------------------
    # gevent: gunicorn's gevent worker, one greenlet per connection (measured: thousands
    # of clients per process); threading: gthread, one thread per WebSocket.
    query_async_mode: Literal["gevent", "threading"] = "gevent"
    # Greenlets (connections) per gevent worker.
    query_worker_connections: int = Field(4000, ge=10, le=100_000)
    # Where the instances pass emits to each other's clients; empty: REDIS_URL.
    query_live_message_queue: str = ""
    query_live_heartbeat_s: float = Field(5.0, gt=0, le=300)
    # A subscription is re-evaluated at most this often while data keeps arriving.
    query_live_debounce_s: float = Field(0.25, ge=0, le=60)
    query_live_max_subscriptions: int = Field(50, ge=1, le=10_000)
    # Points the `metric` stream keeps for `initial` and sends per message at most.
    query_live_initial_points: int = Field(50, ge=0, le=10_000)
    query_live_points_per_message: int = Field(200, ge=1, le=10_000)
    # Origins besides the same origin that may open a socket (comma-separated; "*": any).
    query_live_cors_origins: str = ""

    # -- PromQL evaluation ------------------------------------------------------------
    # Longest a query may run (the `timeout` parameter can only shorten it); also the
    # database's statement_timeout for the query's reads.
    query_timeout_s: float = Field(30.0, gt=0, le=600)
    # How far back an instant selector looks for a sample (Prometheus's default: 5 m).
    query_lookback_s: float = Field(300.0, gt=0, le=86_400)
    # Samples one query may hold in memory at once.
    query_max_samples: int = Field(50_000_000, ge=1)
    # Series one selector (or one /series, /labels listing) may select.
    query_max_series: int = Field(50_000, ge=1)
    # Seconds libpq waits for a database connection before the attempt counts as failed.
    query_db_connect_timeout_s: int = Field(3, ge=1, le=60)

    # -- Redis query cache ------------------------------------------------------------
    query_cache_enabled: bool = True
    # TTL of a result whose range reaches into the last QUERY_CACHE_RECENT_WINDOW_S.
    query_cache_recent_ttl_s: int = Field(10, ge=1)
    query_cache_recent_window_s: int = Field(300, ge=0)
    # TTL of every other result.
    query_cache_ttl_s: int = Field(300, ge=1)
    # Encoded results larger than this are answered but not cached.
    query_cache_max_bytes: int = Field(33_554_432, ge=1)
    # Socket timeout of every cache read and write: a slow Redis must not slow queries.
    query_cache_timeout_s: float = Field(0.25, gt=0, le=10)
    # After a Redis failure, queries skip the cache this long before it is tried again.
    query_cache_retry_s: float = Field(5.0, gt=0, le=3600)

    # -- circuit breaker around the database --------------------------------------------
    # Consecutive database failures (connection refused, lost, timed out) that open it.
    query_breaker_failures: int = Field(5, ge=1)
    # Seconds it stays open (answering 503 at once) before one probe is let through.
    query_breaker_reset_s: float = Field(10.0, gt=0, le=3600)

    # -- accounts, dashboards (docs/accounts-and-dashboards.md) ---------------------------
    # true: the PromQL / Prometheus API and the catalogue need a viewer session or token.
    query_auth_required: bool = False
    # The admin created at first start when no user of that name exists (empty: none).
    query_admin_user: str = Field("admin", pattern=r"^[A-Za-z0-9_.@-]{1,64}$")
    query_admin_password: str = ""
    query_session_ttl_s: int = Field(86_400, ge=1)
    query_login_attempts_per_minute: int = Field(5, ge=1)
    # Queries per minute per signed-in user (anonymous queries are not counted).
    query_rate_limit_per_minute: int = Field(100, ge=1)
    # Dashboards provisioned from *.json here at start (empty: none).
    query_dashboards_dir: str = ""
