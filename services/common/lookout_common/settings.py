"""Settings read from the environment, validated once at start-up.

Every service has a settings class built from the mixins below. ``load_settings``
turns a validation failure into one clear line naming the bad variable and exits,
so a typo in ``.env`` stops the service before it connects to anything.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, TypeVar

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict


class StorageMode(StrEnum):
    AUTO = "auto"
    TIMESCALEDB = "timescaledb"
    POSTGRES = "postgres"


class QueueType(StrEnum):
    CLASSIC = "classic"
    QUORUM = "quorum"


class LogFormat(StrEnum):
    JSON = "json"
    TEXT = "text"


class BaseServiceSettings(BaseSettings):
    """Variables every service understands."""

    model_config = SettingsConfigDict(case_sensitive=False, extra="ignore", frozen=True)

    log_level: str = Field("INFO", pattern=r"^(?i:DEBUG|INFO|WARNING|ERROR|CRITICAL)$")
    log_format: LogFormat = LogFormat.JSON


class DatabaseSettings(BaseSettings):
    database_url: str = Field(
        "postgresql://postgres@127.0.0.1:5432/lookout", pattern=r"^postgres(ql)?://"
    )
    storage_mode: StorageMode = StorageMode.AUTO
    retention_raw_days: int = Field(7, ge=1)
    retention_1m_days: int = Field(30, ge=1)
    retention_1h_days: int = Field(365, ge=1)


class BrokerSettings(BaseSettings):
    amqp_url: str = Field("amqp://guest:guest@127.0.0.1:5672/%2F", pattern=r"^amqps?://")
    broker_queue_type: QueueType = QueueType.CLASSIC
    # Messages (one per accepted request) the ingest queue holds before the broker
    # rejects publishes; the ingest API turns that into 503 instead of growing memory.
    broker_queue_max_length: int = Field(200_000, ge=1)
    broker_heartbeat_s: int = Field(10, ge=1, le=600)
    # How long a publish may wait for the broker (connect, flow control) before 503.
    broker_confirm_timeout_s: float = Field(5.0, gt=0, le=120)


class RedisSettings(BaseSettings):
    redis_url: str = Field("redis://127.0.0.1:6379/0", pattern=r"^rediss?://")
    # Every key Lookout writes starts with this (tests use their own prefix).
    redis_key_prefix: str = Field("lookout:", max_length=64)


S = TypeVar("S", bound=BaseSettings)


class SettingsError(SystemExit):
    """Raised (as an exit) when the environment holds an invalid value."""


def describe_validation_error(cls: type[BaseSettings], exc: ValidationError) -> str:
    prefix = cls.model_config.get("env_prefix", "") or ""
    problems = []
    for err in exc.errors():
        field = ".".join(str(p) for p in err["loc"])
        var = (prefix + field).upper()
        problems.append(f"{var}={err.get('input')!r}: {err['msg']}")
    return "invalid setting " + "; ".join(problems)


def load_settings(cls: type[S], **overrides: Any) -> S:
    """Build ``cls`` from the environment; on a bad value exit naming the variable."""
    try:
        return cls(**overrides)
    except ValidationError as exc:
        # SystemExit with a string prints it to stderr and exits with status 1.
        raise SettingsError(describe_validation_error(cls, exc)) from exc
