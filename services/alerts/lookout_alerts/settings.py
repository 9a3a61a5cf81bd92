"""Settings of the alerts API (``python -m lookout_alerts``) and the evaluator
(``python -m lookout_alerts.evaluator``), read from the environment."""

from __future__ import annotations

from pydantic import Field, field_validator

from lookout_common.settings import BaseServiceSettings, BrokerSettings, DatabaseSettings


class AlertsSettings(BaseServiceSettings, DatabaseSettings, BrokerSettings):
    alerts_host: str = "127.0.0.1"
    alerts_port: int = Field(8083, ge=1, le=65535)
    # The evaluator's own /metrics and /health/live.
    alerts_evaluator_port: int = Field(9102, ge=0, le=65535)

    # --- evaluation ---
    alerts_eval_interval_s: float = Field(10.0, gt=0, le=3600)
    query_url: str = Field("http://127.0.0.1:8082", pattern=r"^https?://")
    ingest_url: str = Field("http://127.0.0.1:8081", pattern=r"^https?://")
    # Bearer token for ingest when it requires one (INGEST_AUTH=true).
    alerts_ingest_token: str = ""
    # API token for the query service when it requires one (QUERY_AUTH_REQUIRED=true).
    alerts_query_token: str = ""
    alerts_http_timeout_s: float = Field(10.0, gt=0, le=300)

    # --- who may change rules (accounts are checked by the query service) ---
    # Timeout of GET {QUERY_URL}/api/v1/auth/me; no answer in time: 503.
    alerts_auth_timeout_s: float = Field(2.0, gt=0, le=30)
    # How long a positive answer is reused (a revoked session may act this long); 0: never.
    alerts_auth_cache_s: float = Field(5.0, ge=0, le=300)
    # Reading rules, alerts and silences needs a signed-in user too (as QUERY_AUTH_REQUIRED).
    alerts_auth_required: bool = False
    # How long a resolved alert is kept (and re-notified as resolved) before it is forgotten.
    alerts_resolved_retention_s: float = Field(900.0, ge=0)
    # Where generatorURL / externalURL in notifications point (the UI).
    alerts_external_url: str = Field("http://127.0.0.1:8080", pattern=r"^https?://")
    # Create the default rules (the demo thresholds) when the rule table is empty.
    alerts_provision_defaults: bool = True
    # Targets given to the provisioned rules (comma-separated type:address, e.g.
    # email:ops@example.com,webhook:http://hooks.local/alert); empty: none.
    alerts_default_targets: str = ""

    # --- grouping (Alertmanager's meaning) ---
    alerts_group_by: str = "alertname"
    alerts_group_wait_s: float = Field(30.0, ge=0)
    alerts_group_interval_s: float = Field(300.0, ge=0)
    alerts_repeat_interval_s: float = Field(14400.0, gt=0)

    # --- delivery ---
    # Pauses between attempts; len + 1 attempts in all. 2xx success, 5xx/network retried.
    alerts_retry_delays_s: str = "30,60,120"
    alerts_breaker_failures: int = Field(3, ge=1)
    alerts_breaker_reset_s: float = Field(60.0, gt=0)
    alerts_delivery_workers: int = Field(4, ge=1, le=64)
    smtp_host: str = "127.0.0.1"
    smtp_port: int = Field(1025, ge=1, le=65535)
    smtp_from: str = "lookout@localhost"
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    # Forward every alert to this Alertmanager too (POST /api/v2/alerts); empty: off.
    alertmanager_url: str = Field("", pattern=r"^(https?://.*)?$")

    @field_validator("alerts_retry_delays_s")
    @classmethod
    def _delays(cls, value: str) -> str:
        try:
            delays = [float(v) for v in value.split(",") if v.strip()]
        except ValueError as exc:
            raise ValueError("expected comma-separated seconds, like 30,60,120") from exc
        if any(d < 0 for d in delays):
            raise ValueError("delays must not be negative")
        return value

    @field_validator("alerts_default_targets")
    @classmethod
    def _targets(cls, value: str) -> str:
        for item in filter(None, (v.strip() for v in value.split(","))):
            kind, _, address = item.partition(":")
            if kind not in ("email", "webhook", "alertmanager") or not address:
                raise ValueError(f"{item!r}: expected type:address (email, webhook)")
        return value

    def retry_delays(self) -> list[float]:
        return [float(v) for v in self.alerts_retry_delays_s.split(",") if v.strip()]

    def group_by(self) -> list[str]:
        return [v.strip() for v in self.alerts_group_by.split(",") if v.strip()]

    def default_targets(self) -> list[dict[str, str]]:
        out = []
        for item in filter(None, (v.strip() for v in self.alerts_default_targets.split(","))):
            kind, _, address = item.partition(":")
            out.append({"type": kind, "address": address})
        return out
