"""Every service validates its settings at start and fails fast naming the variable."""

import os
import subprocess
import sys

import pytest

from lookout_common.settings import SettingsError, load_settings
from lookout_worker.settings import WorkerSettings


@pytest.mark.parametrize(
    ("module", "variable", "value", "complaint"),
    [
        ("lookout_worker", "WORKER_BATCH_SAMPLES", "lots", "Input should be a valid integer"),
        ("lookout_ingest", "INGEST_PORT", "70000", "Input should be less than or equal to 65535"),
        ("lookout_ingest", "BROKER_QUEUE_TYPE", "stream", "Input should be 'classic' or 'quorum'"),
        ("lookout_query", "DATABASE_URL", "mysql://x", "String should match pattern"),
        ("lookout_alerts", "LOG_LEVEL", "LOUD", "String should match pattern"),
        ("lookout_worker", "STORAGE_MODE", "mongo", "Input should be 'auto', 'timescaledb' or 'postgres'"),
    ],
)
def test_bad_variable_stops_the_service_naming_it(module, variable, value, complaint):
    env = {**os.environ, variable: value,
           # Unreachable servers: a service that got past its settings would hang or fail
           # differently, so the message below can only come from validation.
           "AMQP_URL": "amqp://guest:guest@127.0.0.1:1/%2F"}
    if variable != "DATABASE_URL":
        env["DATABASE_URL"] = "postgresql://postgres@127.0.0.1:1/none"
    result = subprocess.run([sys.executable, "-m", module], env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 1
    assert result.stderr.startswith(f"invalid setting {variable}={value!r}: {complaint}")


def test_load_settings_reports_every_bad_variable(monkeypatch):
    monkeypatch.setenv("WORKER_BATCH_MS", "0")
    monkeypatch.setenv("WORKER_PREFETCH", "x")
    with pytest.raises(SettingsError) as exc:
        load_settings(WorkerSettings)
    message = str(exc.value)
    assert "WORKER_BATCH_MS='0': Input should be greater than or equal to 1" in message
    assert "WORKER_PREFETCH='x': Input should be a valid integer" in message


# Set for `make run` on purpose (an admin to log in with, the provisioned dashboards);
# their defaults are empty, and .env.example says so beside them.
LOCAL_RUN_VALUES = {"QUERY_ADMIN_PASSWORD", "QUERY_DASHBOARDS_DIR"}


def test_defaults_match_env_example():
    """.env.example lists every variable with its default (or, for LOCAL_RUN_VALUES, the
    value a local run needs, with the default named in its comment)."""
    from pathlib import Path

    from lookout_alerts.settings import AlertsSettings
    from lookout_ingest.settings import IngestSettings
    from lookout_ingest.statsd.settings import StatsdSettings
    from lookout_producer.self_scrape import SelfScrapeSettings
    from lookout_producer.settings import ProducerSettings
    from lookout_query.settings import QuerySettings

    example = {}
    for line in (Path(__file__).parents[3] / ".env.example").read_text().splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            example[key] = value
    for cls in (WorkerSettings, IngestSettings, QuerySettings, AlertsSettings, ProducerSettings,
                StatsdSettings, SelfScrapeSettings):
        for name, field in cls.model_fields.items():
            assert name.upper() in example, f"{name.upper()} missing from .env.example"
            default = field.default
            default = getattr(default, "value", default)
            written = example[name.upper()]
            if name.upper() in LOCAL_RUN_VALUES:
                assert default == "" and written, name.upper()
                continue
            if isinstance(default, bool):
                assert str(default).lower() == written, name.upper()
            elif isinstance(default, float):
                assert float(written) == default, name.upper()
            else:
                assert str(default) == written, name.upper()
