from __future__ import annotations

from pydantic import Field

from lookout_common.settings import BaseServiceSettings, DatabaseSettings, RedisSettings


class QuerySettings(BaseServiceSettings, DatabaseSettings, RedisSettings):
    query_host: str = "127.0.0.1"
    query_port: int = Field(8082, ge=1, le=65535)
    query_workers: int = Field(2, ge=1, le=64)
    query_threads: int = Field(8, ge=1, le=256)
