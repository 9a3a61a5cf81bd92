from __future__ import annotations

from pydantic import Field

from lookout_common.settings import BaseServiceSettings, DatabaseSettings


class AlertsSettings(BaseServiceSettings, DatabaseSettings):
    alerts_host: str = "127.0.0.1"
    alerts_port: int = Field(8083, ge=1, le=65535)
