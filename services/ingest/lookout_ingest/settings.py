from __future__ import annotations

from pydantic import Field

from lookout_common.settings import BaseServiceSettings, BrokerSettings


class IngestSettings(BaseServiceSettings, BrokerSettings):
    ingest_host: str = "127.0.0.1"
    ingest_port: int = Field(8081, ge=1, le=65535)
    ingest_workers: int = Field(2, ge=1, le=64)
    ingest_threads: int = Field(8, ge=1, le=256)
    ingest_max_body_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    ingest_retry_after_s: int = Field(5, ge=1, le=3600)
