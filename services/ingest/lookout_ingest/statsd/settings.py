from __future__ import annotations

import re

from pydantic import Field, field_validator

from lookout_common.settings import BaseServiceSettings, BrokerSettings


class StatsdSettings(BaseServiceSettings, BrokerSettings):
    statsd_host: str = "127.0.0.1"
    statsd_port: int = Field(8125, ge=0, le=65535)  # 0: any free port (tests)
    statsd_flush_interval_s: float = Field(10, gt=0, le=3600)
    # Comma-separated percentiles for timers, histograms and distributions: "90,99".
    statsd_percentiles: str = "90"
    # Prepended to every metric name with "_" (dots become "_" too); empty: none.
    statsd_prefix: str = Field("", pattern=r"^([a-zA-Z_:][a-zA-Z0-9_:.]*)?$")
    # The socket's receive buffer: room for bursts while a flush is computed.
    statsd_receive_buffer_bytes: int = Field(8 * 1024 * 1024, ge=65536)
    # Flushes kept while the broker is down (oldest dropped beyond); 360 = 1 h at 10 s.
    statsd_max_pending_flushes: int = Field(360, ge=1)
    # Serve the listener's own Prometheus metrics on this port; 0: not served.
    statsd_metrics_port: int = Field(0, ge=0, le=65535)

    @field_validator("statsd_percentiles")
    @classmethod
    def _check_percentiles(cls, value: str) -> str:
        parts = [p.strip() for p in value.split(",") if p.strip()]
        for part in parts:
            if not re.fullmatch(r"\d+(\.\d+)?", part) or not 0 < float(part) <= 100:
                raise ValueError(f"percentile {part!r} is not a number in (0, 100]")
        return ",".join(parts)

    @property
    def percentiles(self) -> tuple[float, ...]:
        return tuple(dict.fromkeys(float(p) for p in self.statsd_percentiles.split(",") if p))
