from __future__ import annotations

from pydantic import Field

from lookout_common.settings import BaseServiceSettings, BrokerSettings, DatabaseSettings


class WorkerSettings(BaseServiceSettings, DatabaseSettings, BrokerSettings):
    worker_batch_samples: int = Field(20_000, ge=1, le=5_000_000)
    worker_batch_ms: int = Field(100, ge=1, le=60_000)
    worker_prefetch: int = Field(2_000, ge=1, le=65_535)
    worker_series_cache_size: int = Field(1_000_000, ge=1_000)
    worker_maintenance_interval_s: float = Field(15.0, gt=0)
    worker_partitions_ahead_days: int = Field(3, ge=1, le=60)
    # Newest points carried by each "ingested" event (the live `metric` stream); 0: none.
    worker_live_points: int = Field(200, ge=0, le=10_000)
    worker_host: str = "127.0.0.1"
    worker_port: int = Field(9101, ge=0, le=65535)
