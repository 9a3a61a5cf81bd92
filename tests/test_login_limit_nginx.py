"""The login limit (QUERY_LOGIN_ATTEMPTS_PER_MINUTE, 5) counts per client address as
nginx sees it: a real nginx, rendered from the template, in front of the real query
app. Clients connect from different loopback addresses (127.0.0.2, 127.0.0.3, ...),
so nginx's $remote_addr differs; nginx appends it to X-Forwarded-For and the query
service trusts only that last hop (ProxyFix x_for=1). Two clients are limited
independently, and a client cannot reset its limit, or spend another's, by sending an
X-Forwarded-For of its own."""

from __future__ import annotations

import http.client
import json
import shutil
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest
import redis

from lookout_alerts.testing import QueryServer
from lookout_common.db.schema import migrate
from lookout_common.settings import DatabaseSettings, StorageMode
from lookout_query.accounts import hash_password

from .test_nginx_config import NGINX, free_port, render

PASSWORD = "right-password-1"


class Client:
    """HTTP from one loopback source address to nginx."""

    def __init__(self, port: int, source: str) -> None:
        self.port, self.source = port, source

    def login(self, password: str, forwarded_for: str | None = None
              ) -> tuple[int, dict[str, str]]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10,
                                          source_address=(self.source, 0))
        headers = {"Content-Type": "application/json"}
        if forwarded_for:
            headers["X-Forwarded-For"] = forwarded_for
        try:
            conn.request("POST", "/api/v1/auth/login", headers=headers,
                         body=json.dumps({"username": "alice", "password": password}))
            r = conn.getresponse()
            r.read()
            return r.status, dict(r.getheaders())
        finally:
            conn.close()


@pytest.fixture
def front_door(fresh_database_url, servers, redis_key_prefix) -> Iterator[int]:  # type: ignore[no-untyped-def]
    if NGINX is None:
        pytest.skip("nginx is not installed (/usr/sbin/nginx)")
    migrate(DatabaseSettings(database_url=fresh_database_url, storage_mode=StorageMode.POSTGRES))
    conn = psycopg2.connect(fresh_database_url)
    with conn, conn.cursor() as cur:
        cur.execute("INSERT INTO users (username, password_hash, role) VALUES"
                    " ('alice', %s, 'viewer')", (hash_password(PASSWORD),))
    conn.close()
    query = QueryServer(fresh_database_url, servers.redis_url + "/0", redis_key_prefix).start()
    run_dir = Path(tempfile.mkdtemp(prefix="lookout-nginx-login-"))
    run_dir.chmod(0o755)
    dist = run_dir / "dist"
    dist.mkdir()
    (dist / "index.html").write_text("<!doctype html>")
    for path in (dist, dist / "index.html"):
        path.chmod(path.stat().st_mode | stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0))
    port = free_port()
    unused = f"server 127.0.0.1:{free_port()};"
    result = render(run_dir, HTTP_PORT=str(port), INGEST_SERVERS=unused,
                    QUERY_SERVERS=f"server 127.0.0.1:{query.url.rsplit(':', 1)[1]};",
                    ALERTS_SERVERS=unused, FRONTEND_ROOT=str(dist))
    assert result.returncode == 0, result.stderr
    assert NGINX is not None
    process = subprocess.Popen(
        [NGINX, "-p", str(run_dir), "-e", "stderr", "-c", str(run_dir / "nginx.conf"),
         "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while True:
            assert process.poll() is None, "nginx exited"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "nginx did not listen within 10 s"
                time.sleep(0.05)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)
        query.stop()
        shutil.rmtree(run_dir, ignore_errors=True)


def test_login_limit_counts_per_address_nginx_saw(front_door, servers, redis_key_prefix):
    a, b, c = (Client(front_door, f"127.0.0.{n}") for n in (2, 3, 4))
    # Client A: five attempts (wrong password) are answered, the sixth is refused.
    assert [a.login("wrong")[0] for _ in range(5)] == [401] * 5
    status, headers = a.login(PASSWORD)
    assert status == 429 and 1 <= int(headers["Retry-After"]) <= 60
    # Its own X-Forwarded-For does not make it someone else: nginx appends the real
    # address and only that hop is trusted.
    for spoof in ("198.51.100.9", "127.0.0.3", "10.0.0.1, 10.0.0.2"):
        assert a.login(PASSWORD, forwarded_for=spoof)[0] == 429
    # Client B, another address behind the same nginx, has its own five attempts.
    assert b.login(PASSWORD)[0] == 200
    assert [b.login("wrong")[0] for _ in range(4)] == [401] * 4
    assert b.login(PASSWORD)[0] == 429
    # Client C claims to be A (or B): it is counted as itself, and not refused.
    assert c.login(PASSWORD, forwarded_for="127.0.0.2")[0] == 200
    # The counters are keyed by the addresses nginx saw, and by nothing a client sent.
    store = redis.Redis.from_url(servers.redis_url + "/0")
    try:
        keys = {k.decode().removeprefix(redis_key_prefix + "ratelimit:login:")
                for k in store.scan_iter(match=f"{redis_key_prefix}ratelimit:login:*")}
        counts = {k: int(store.get(f"{redis_key_prefix}ratelimit:login:{k}") or 0)
                  for k in keys}
    finally:
        store.close()
    assert counts == {"127.0.0.2": 9, "127.0.0.3": 6, "127.0.0.4": 1}
