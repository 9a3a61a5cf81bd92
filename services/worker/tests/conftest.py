import psycopg2
import pytest
from lookout_common.db.schema import migrate
from lookout_common.settings import StorageMode
from lookout_common.testing import timescaledb_available
from lookout_worker.settings import WorkerSettings


@pytest.fixture(params=[StorageMode.POSTGRES, StorageMode.TIMESCALEDB], ids=lambda m: m.value)
def mode(request, servers):
    if request.param is StorageMode.TIMESCALEDB:
        ok, why = timescaledb_available(servers)
        if not ok:
            pytest.skip(f"TimescaleDB mode not tested: {why}")
    return request.param


@pytest.fixture
def settings(fresh_database_url, mode):
    s = WorkerSettings(database_url=fresh_database_url, storage_mode=mode)
    assert migrate(s) is mode
    return s


@pytest.fixture
def db(settings):
    conn = psycopg2.connect(settings.database_url)
    conn.autocommit = True
    yield conn
    conn.close()


def query(conn, sql, params=None):
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall()
