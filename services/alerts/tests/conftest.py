from __future__ import annotations

import pytest

from lookout_alerts.app import create_app
from lookout_alerts.settings import AlertsSettings
from lookout_alerts.storage import AlertStore
from lookout_common.db.schema import migrate
from lookout_common.settings import StorageMode


@pytest.fixture
def alerts_settings(fresh_database_url: str) -> AlertsSettings:
    settings = AlertsSettings(database_url=fresh_database_url,
                              storage_mode=StorageMode.POSTGRES)
    migrate(settings)
    return settings


@pytest.fixture
def store(alerts_settings: AlertsSettings) -> AlertStore:
    return AlertStore(alerts_settings)


@pytest.fixture
def client(alerts_settings: AlertsSettings):  # type: ignore[no-untyped-def]
    return create_app(alerts_settings).test_client()
