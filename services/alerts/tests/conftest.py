from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from lookout_alerts.app import create_app
from lookout_alerts.settings import AlertsSettings
from lookout_alerts.storage import AlertStore
from lookout_alerts.testing import QueryServer, add_user_with_token
from lookout_common.db.schema import migrate
from lookout_common.settings import StorageMode


@dataclass(frozen=True)
class Person:
    id: int
    username: str
    role: str
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def migrated_url(fresh_database_url: str) -> str:
    migrate(AlertsSettings(database_url=fresh_database_url, storage_mode=StorageMode.POSTGRES))
    return fresh_database_url


@pytest.fixture
def query_server(migrated_url: str, servers, redis_key_prefix: str  # type: ignore[no-untyped-def]
                 ) -> Iterator[QueryServer]:
    """The real query service (where accounts live) on a free port."""
    server = QueryServer(migrated_url, servers.redis_url + "/0", redis_key_prefix).start()
    yield server
    server.stop()


@pytest.fixture
def alerts_settings(migrated_url: str, query_server: QueryServer) -> AlertsSettings:
    return AlertsSettings(database_url=migrated_url, storage_mode=StorageMode.POSTGRES,
                          query_url=query_server.url)


@pytest.fixture
def people(migrated_url: str) -> dict[str, Person]:
    """viewer, editor ("ed"), a second editor ("other") and an admin, each with a token."""
    out = {}
    for name, role in (("vi", "viewer"), ("ed", "editor"), ("other", "editor"),
                       ("boss", "admin")):
        user_id, token = add_user_with_token(migrated_url, name, role)
        out[name] = Person(user_id, name, role, token)
    return out


@pytest.fixture
def store(alerts_settings: AlertsSettings) -> AlertStore:
    return AlertStore(alerts_settings)


@pytest.fixture
def client(alerts_settings: AlertsSettings, people: dict[str, Person]):  # type: ignore[no-untyped-def]
    """The alerts API, every request as the editor "ed" unless it says otherwise."""
    test_client = create_app(alerts_settings).test_client()
    test_client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {people['ed'].token}"
    return test_client


@pytest.fixture
def anonymous(alerts_settings: AlertsSettings):  # type: ignore[no-untyped-def]
    return create_app(alerts_settings).test_client()
