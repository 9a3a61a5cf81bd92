from __future__ import annotations

from pydantic import Field

from lookout_common.settings import BaseServiceSettings

METRICS_PATH = "/api/v1/metrics"


class ProducerSettings(BaseServiceSettings):
    # The base URL of Lookout (nginx or the ingest API itself); batches go to
    # {producer_url}/api/v1/metrics.
    producer_url: str = Field("http://127.0.0.1:8080", pattern=r"^https?://[^\s/?#]+(/\S*)?$")
    # Seconds between two demo ticks.
    producer_interval_s: float = Field(5.0, ge=0.1, le=3600)
    # Read timeout of one HTTP attempt (connecting gets at most 5 s of it).
    producer_timeout_s: float = Field(30.0, gt=0, le=600)
    # Bearer token for an ingest that requires credentials (INGEST_AUTH=on); empty: none.
    producer_token: str = ""

    @property
    def metrics_url(self) -> str:
        return self.producer_url.rstrip("/") + METRICS_PATH
