from __future__ import annotations

import pytest

from lookout_common.settings import SettingsError, load_settings
from lookout_producer.settings import ProducerSettings


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PRODUCER_URL", "PRODUCER_INTERVAL_S", "PRODUCER_TIMEOUT_S"):
        monkeypatch.delenv(name, raising=False)


def test_defaults() -> None:
    settings = load_settings(ProducerSettings)
    assert settings.producer_url == "http://127.0.0.1:8080"
    assert settings.producer_interval_s == 5
    assert settings.metrics_url == "http://127.0.0.1:8080/api/v1/metrics"


def test_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRODUCER_URL", "http://nginx:8080/")
    monkeypatch.setenv("PRODUCER_INTERVAL_S", "0.5")
    settings = load_settings(ProducerSettings)
    assert settings.metrics_url == "http://nginx:8080/api/v1/metrics"
    assert settings.producer_interval_s == 0.5


def test_an_override_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PRODUCER_URL", "http://nginx:8080")
    settings = load_settings(ProducerSettings, producer_url="https://lookout.example/base")
    assert settings.metrics_url == "https://lookout.example/base/api/v1/metrics"


@pytest.mark.parametrize(("variable", "value"), [
    ("PRODUCER_URL", "ftp://nginx:8080"),
    ("PRODUCER_URL", "nginx:8080"),
    ("PRODUCER_INTERVAL_S", "0"),
    ("PRODUCER_INTERVAL_S", "soon"),
    ("PRODUCER_TIMEOUT_S", "-1"),
])
def test_a_bad_value_fails_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as excinfo:
        load_settings(ProducerSettings)
    assert f"{variable}={value!r}" in str(excinfo.value)
