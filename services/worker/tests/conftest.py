import psycopg2
import pytest

from lookout_common.db.schema import migrate
from lookout_worker.settings import WorkerSettings


@pytest.fixture
def mode(storage_mode):
    return storage_mode


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
