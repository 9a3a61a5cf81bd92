"""The whole Lookout stack behind nginx, driven by Playwright in Debian's Chromium.

One stack per test session (starting it takes a while): its own PostgreSQL database,
RabbitMQ vhost and Redis key prefix; migrations and the broker topology; ingest, worker,
query, the alerts API, the alerts evaluator (evaluating every second) and the demo
producer; nginx rendered from infra/nginx serving the BUILT front end (frontend/dist,
rebuilt here when it is missing or older than its sources). Everything is stopped and
dropped at the end.

Fixtures for tests:

- ``lookout``: the running stack (``BrowserStack``): URLs, an admin's credentials,
  ``create_user(role)``, ``api(account)`` (a requests session signed in through nginx),
  ``push(items)`` (samples through ingest).
- ``page`` (pytest-playwright's, against ``base_url`` = nginx), ``admin_page``: a page
  whose context is signed in as the admin; ``sign_in(page, account)`` for other users.
- ``screenshot(page, name)``: a PNG of the page; into docs/screenshots/ when
  LOOKOUT_SCREENSHOTS=1 (``make screenshots``), else into the test's temporary directory.

Playwright never downloads a browser here: it launches /usr/bin/chromium (installed by
scripts/bootstrap.sh) headless.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests

from lookout_common.db.connection import drop_database, ensure_database
from lookout_common.testing import RabbitAdmin, ServerUrls, database_url, unique_name

from ..stack import ROOT, Nginx, ServiceProcess, free_port

CHROMIUM = Path(os.environ.get("LOOKOUT_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking"]
NGINX = Path("/usr/sbin/nginx")
FRONTEND = ROOT / "frontend"
SCREENSHOTS = ROOT / "docs" / "screenshots"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in item.path.parents:
            item.add_marker(pytest.mark.browser)


# --- the front end --------------------------------------------------------------------------
def _newest_source_mtime() -> float:
    newest = 0.0
    for path in [FRONTEND / "index.html", FRONTEND / "package.json",
                 *(FRONTEND / "src").rglob("*"), *(FRONTEND / "public").rglob("*")]:
        if path.is_file():
            newest = max(newest, path.stat().st_mtime)
    return newest


def ensure_frontend_built() -> Path:
    """frontend/dist, built now (``npm run build``) when missing or older than a source."""
    index = FRONTEND / "dist" / "index.html"
    if not index.exists() or index.stat().st_mtime < _newest_source_mtime():
        result = subprocess.run(["npm", "run", "build", "--silent"], cwd=FRONTEND,
                                capture_output=True, text=True, timeout=600, check=False)
        if result.returncode != 0:
            pytest.fail(f"the front-end build failed:\n{result.stdout[-3000:]}"
                        f"\n{result.stderr[-3000:]}")
    return FRONTEND / "dist"


# --- the stack --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Account:
    username: str
    password: str
    role: str


class BrowserStack:
    def __init__(self, servers: ServerUrls, log_dir: Path) -> None:
        self.servers = servers
        self.log_dir = log_dir
        self.database_url = database_url(servers, unique_name("lookout_browser"))
        self.vhost = unique_name("lookout_browser")
        self.redis_key_prefix = unique_name("lookout_browser") + ":"
        self.amqp_url = f"{servers.amqp_base}/{quote(self.vhost, safe='')}"
        self.rabbit = RabbitAdmin(servers.rabbitmq_api)
        self.admin = Account("admin", "admin-" + secrets.token_hex(8), "admin")
        self.ports = {name: free_port() for name in
                      ("http", "ingest", "worker", "query", "alerts", "evaluator", "smtp")}
        self.base_url = f"http://127.0.0.1:{self.ports['http']}"
        self.ingest_url = f"http://127.0.0.1:{self.ports['ingest']}"
        self.query_url = f"http://127.0.0.1:{self.ports['query']}"
        self.alerts_url = f"http://127.0.0.1:{self.ports['alerts']}"
        self.processes: list[ServiceProcess] = []
        self.nginx: Nginx | None = None
        self._sessions: dict[str, requests.Session] = {}

    # The environment every process shares (each adds its own port).
    @property
    def env(self) -> dict[str, str]:
        return {
            "DATABASE_URL": self.database_url, "AMQP_URL": self.amqp_url,
            "STORAGE_MODE": "postgres", "REDIS_URL": self.servers.redis_url,
            "REDIS_KEY_PREFIX": self.redis_key_prefix, "LOG_FORMAT": "text",
            "BROKER_HEARTBEAT_S": "5", "QUERY_URL": self.query_url,
            "INGEST_URL": self.ingest_url, "ENV_FILE": "",
        }

    def _cli(self, *args: str) -> None:
        result = subprocess.run(
            [sys.executable, "-c", "from lookout_common.cli import main; main()", *args],
            env={**os.environ, **self.env}, capture_output=True, text=True, timeout=120,
            check=False, cwd=ROOT)
        if result.returncode != 0:
            raise AssertionError(f"lookout {' '.join(args)} failed:\n{result.stderr[-3000:]}")

    def _start(self, module: str, health_path: str | None, **env: str) -> ServiceProcess:
        port_key = env.pop("_port", None)
        health = (f"http://127.0.0.1:{self.ports[port_key]}{health_path}"
                  if port_key and health_path else None)
        p = ServiceProcess(module, {**self.env, **env}, self.log_dir, health)
        self.processes.append(p)
        return p.start(wait=health is not None)

    def start(self, frontend_dist: Path) -> BrowserStack:
        ensure_database(self.database_url)
        self.rabbit.create_vhost(self.vhost)
        self._cli("migrate")
        self._cli("setup-broker")
        p = self.ports
        self._start("lookout_ingest", "/health/live", _port="ingest",
                    INGEST_PORT=str(p["ingest"]), INGEST_WORKERS="1",
                    INGEST_RATE_LIMIT="100000/second")
        self._start("lookout_worker", "/health/ready", _port="worker",
                    WORKER_PORT=str(p["worker"]), WORKER_MAINTENANCE_INTERVAL_S="5")
        self._start("lookout_query", "/health/live", _port="query",
                    QUERY_PORT=str(p["query"]), QUERY_WORKERS="1",
                    QUERY_ADMIN_USER=self.admin.username,
                    QUERY_ADMIN_PASSWORD=self.admin.password,
                    QUERY_LOGIN_ATTEMPTS_PER_MINUTE="100000",
                    QUERY_RATE_LIMIT_PER_MINUTE="100000",
                    QUERY_DASHBOARDS_DIR=str(ROOT / "infra" / "dashboards"))
        alerts_env = {"ALERTS_EVAL_INTERVAL_S": "1", "ALERTS_GROUP_WAIT_S": "0",
                      "ALERTS_GROUP_INTERVAL_S": "1", "ALERTS_RETRY_DELAYS_S": "0.2",
                      "ALERTS_PROVISION_DEFAULTS": "false", "ALERTS_HTTP_TIMEOUT_S": "3",
                      "ALERTS_EXTERNAL_URL": self.base_url, "ALERTS_AUTH_CACHE_S": "1",
                      "SMTP_PORT": str(p["smtp"]), "SMTP_FROM": "lookout@example.com"}
        self._start("lookout_alerts", "/health/ready", _port="alerts",
                    ALERTS_PORT=str(p["alerts"]), **alerts_env)
        self._start("lookout_alerts.evaluator", "/metrics", _port="evaluator",
                    ALERTS_EVALUATOR_PORT=str(p["evaluator"]), **alerts_env)
        # Demo data: what the provisioned "Services overview" dashboard shows.
        self._start("lookout_producer", None, PRODUCER_URL=self.ingest_url,
                    PRODUCER_INTERVAL_S="2")
        run_dir = self.log_dir / "nginx"
        self.nginx = Nginx(run_dir, ingest=[f"127.0.0.1:{p['ingest']}"],
                           query=[f"127.0.0.1:{p['query']}"],
                           alerts=[f"127.0.0.1:{p['alerts']}"],
                           frontend_root=frontend_dist.resolve(), port=p["http"]).start()
        return self

    def close(self) -> None:
        if self.nginx is not None:
            self.nginx.stop()
        for p in reversed(self.processes):
            p.stop()
        for s in self._sessions.values():
            s.close()
        import redis

        client = redis.Redis.from_url(self.servers.redis_url)
        try:
            keys = list(client.scan_iter(match=self.redis_key_prefix + "*", count=1000))
            if keys:
                client.delete(*keys)
        finally:
            client.close()
        self.rabbit.delete_vhost(self.vhost)
        drop_database(self.database_url)

    # --- helpers for tests ----------------------------------------------------------------
    def url(self, path: str) -> str:
        return self.base_url + path

    def api(self, account: Account | None = None) -> requests.Session:
        """A requests session signed in (cookie) as ``account`` (the admin by default),
        talking to nginx like the browser does."""
        account = account or self.admin
        if account.username not in self._sessions:
            s = requests.Session()
            r = s.post(self.url("/api/v1/auth/login"), timeout=10,
                       json={"username": account.username, "password": account.password})
            assert r.status_code == 200, r.text
            self._sessions[account.username] = s
        return self._sessions[account.username]

    def create_user(self, role: str, username: str | None = None) -> Account:
        account = Account(username or f"{role}-{uuid.uuid4().hex[:8]}",
                          "pw-" + secrets.token_hex(8), role)
        r = self.api().post(self.url("/api/v1/users"), timeout=10, json={
            "username": account.username, "password": account.password, "role": role})
        assert r.status_code == 201, r.text
        return account

    def push(self, items: list[dict[str, Any]]) -> None:
        r = requests.post(self.ingest_url + "/api/v1/metrics", json=items, timeout=10)
        assert r.status_code == 202, r.text

    def promql(self, query: str) -> list[dict[str, Any]]:
        r = requests.get(self.query_url + "/prometheus/api/v1/query",
                         params={"query": query}, timeout=10)
        assert r.status_code == 200, r.text
        return r.json()["data"]["result"]  # type: ignore[no-any-return]

    def backfill_demo(self, minutes: int, step_s: int = 15) -> None:
        """The demo producer's data for the last ``minutes`` (as if it had been running),
        so charts have a history to draw."""
        from lookout_producer.demo import DemoFeed

        now_ms = int(time.time() * 1000)
        start_ms = now_ms - minutes * 60_000
        feed = DemoFeed(start_ms, seed=7)
        batch: list[dict[str, Any]] = []
        for t in range(start_ms, now_ms - step_s * 1000, step_s * 1000):
            batch.extend(p.as_json() for p in feed.tick(t).points)
            if len(batch) >= 5000:
                self.push(batch)
                batch = []
        if batch:
            self.push(batch)

    def process(self, module: str) -> ServiceProcess:
        [p] = [p for p in self.processes if p.module == module]
        return p

    def analyze(self) -> None:
        """ANALYZE the database, as autovacuum would in time (the admin page's sample
        count is PostgreSQL's estimate)."""
        import psycopg2

        conn = psycopg2.connect(self.database_url)
        try:
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute("ANALYZE")
        finally:
            conn.close()

    def publish_raw(self, body: bytes, message_id: str) -> None:
        """Put ``body`` on the ingest path as ingest would (a garbled one ends in the DLQ)."""
        import pika

        from lookout_common.broker import (
            INGEST_EXCHANGE,
            INGEST_ROUTING_KEY,
            connection_parameters,
            declare_topology,
        )
        from lookout_common.settings import BrokerSettings

        settings = BrokerSettings(amqp_url=self.amqp_url)
        connection = pika.BlockingConnection(connection_parameters(settings, "browser-test"))
        try:
            channel = connection.channel()
            declare_topology(channel, settings)
            channel.confirm_delivery()
            channel.basic_publish(INGEST_EXCHANGE, INGEST_ROUTING_KEY, body,
                                  pika.BasicProperties(delivery_mode=2, message_id=message_id,
                                                        timestamp=int(time.time())))
        finally:
            connection.close()

    def log_tails(self) -> str:
        return "\n".join(f"--- {p.module}\n{p.log_tail(1500)}" for p in self.processes)


@pytest.fixture(scope="session")
def lookout(servers: ServerUrls, tmp_path_factory: pytest.TempPathFactory
            ) -> Iterator[BrowserStack]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/bootstrap.sh installs Debian's chromium")
    if not NGINX.exists():
        pytest.fail(f"{NGINX} is missing: scripts/bootstrap.sh installs nginx-light")
    dist = ensure_frontend_built()
    stack = BrowserStack(servers, tmp_path_factory.mktemp("browser-stack"))
    try:
        stack.start(dist)
        yield stack
    finally:
        stack.close()


# --- Playwright (pytest-playwright's fixtures, pointed at the stack and Debian's Chromium) -
@pytest.fixture(scope="session")
def base_url(lookout: BrowserStack) -> str:
    return lookout.base_url


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "headless": True,
            "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1440, "height": 900}}


def sign_in(page: Any, lookout: BrowserStack, account: Account) -> None:
    """Give the page's context the session cookie of ``account`` (the API login, the
    same request the login form sends); the login form itself is tested in test_login."""
    r = page.request.post(lookout.url("/api/v1/auth/login"),
                          data={"username": account.username, "password": account.password})
    assert r.status == 200, r.text()


@pytest.fixture
def admin_page(page: Any, lookout: BrowserStack) -> Any:
    sign_in(page, lookout, lookout.admin)
    return page


@pytest.fixture
def screenshot(tmp_path: Path, request: pytest.FixtureRequest) -> Callable[[Any, str], Path]:
    # Only test_screenshots.py writes docs/screenshots/; elsewhere a picture is a record
    # of the test, kept in its temporary directory.
    into_docs = (os.environ.get("LOOKOUT_SCREENSHOTS") == "1"
                 and request.module.__name__.endswith("test_screenshots"))

    def take(page: Any, name: str) -> Path:
        folder = SCREENSHOTS if into_docs else tmp_path
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=False)
        return path

    return take
