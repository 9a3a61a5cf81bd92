from __future__ import annotations

from pydantic import Field

from lookout_common.settings import (
    BaseServiceSettings,
    BrokerSettings,
    DatabaseSettings,
    RedisSettings,
)


class IngestSettings(BaseServiceSettings, BrokerSettings, DatabaseSettings, RedisSettings):
    ingest_host: str = "127.0.0.1"
    ingest_port: int = Field(8081, ge=1, le=65535)
    ingest_workers: int = Field(2, ge=1, le=64)
    ingest_threads: int = Field(8, ge=1, le=256)
    ingest_max_body_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    ingest_retry_after_s: int = Field(5, ge=1, le=3600)
    # Require a token or basic-auth pair (see `lookout credentials`) on every push.
    ingest_auth: bool = False
    # Requests per client (credential name, or address without auth); limits syntax.
    ingest_rate_limit: str = Field("1000/second", pattern=r"^\d+\s*(/|per)\s*\d*\s*[a-z]+$")
    # 0 means no limit.
    ingest_max_series_per_metric: int = Field(100_000, ge=0)
    ingest_max_series_total: int = Field(1_000_000, ge=0)
    ingest_max_labels_per_series: int = Field(30, ge=1, le=1000)
