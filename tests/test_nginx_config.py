"""The nginx templates render into a config that nginx accepts and that routes right.

scripts/render_nginx.py renders infra/nginx/*.template into a temporary run dir; the
real nginx checks it (`nginx -t`) and then serves it on a free loopback port in front
of small HTTP servers standing in for ingest, query and alerts, each answering with its
own name and the path and headers it received.
"""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
RENDER_SCRIPT = REPO_ROOT / "scripts" / "render_nginx.py"
SERVER_TEMPLATE = REPO_ROOT / "infra" / "nginx" / "lookout.conf.template"
NGINX = "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else shutil.which("nginx")

needs_nginx = pytest.mark.skipif(
    NGINX is None,
    reason="nginx is not installed (/usr/sbin/nginx): cannot check the rendered config",
)


def load_render_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("render_nginx", RENDER_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def render(run_dir: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    # Only the variables under test: the caller's own HTTP_PORT etc. must not leak in.
    env = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "HTTP_PORT",
            "INGEST_SERVERS",
            "QUERY_SERVERS",
            "ALERTS_SERVERS",
            "FRONTEND_ROOT",
            "INGEST_HOST",
            "INGEST_PORT",
            "QUERY_HOST",
            "QUERY_PORT",
            "ALERTS_HOST",
            "ALERTS_PORT",
        }
    }
    env.update(settings)
    return subprocess.run(
        [sys.executable, str(RENDER_SCRIPT), "--run-dir", str(run_dir)],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def nginx_test(run_dir: Path) -> subprocess.CompletedProcess[str]:
    assert NGINX is not None
    return subprocess.run(
        [NGINX, "-t", "-p", str(run_dir), "-e", "stderr", "-c", str(run_dir / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- rendering ------------------------------------------------------------------------------


def test_only_the_named_placeholders_are_substituted() -> None:
    render_module = load_render_module()
    text = (
        "listen ${HTTP_PORT}; $HTTP_PORT; $HTTP_PORTS; ${HOME} $host $request_id $http_x_request_id"
    )
    assert render_module.substitute(text, {"HTTP_PORT": "8080"}) == (
        "listen 8080; 8080; $HTTP_PORTS; ${HOME} $host $request_id $http_x_request_id"
    )


def test_the_server_template_uses_no_other_environment_variable() -> None:
    # The nginx image substitutes defined environment variables: an upper-case
    # $NAME in the template would be replaced too, or break the local render.
    found = set(re.findall(r"\$\{?([A-Z][A-Z0-9_]*)", SERVER_TEMPLATE.read_text()))
    assert found == {"HTTP_PORT", "INGEST_SERVERS", "QUERY_SERVERS", "ALERTS_SERVERS",
                     "FRONTEND_ROOT"}


def test_defaults_follow_the_service_settings(tmp_path: Path) -> None:
    result = render(tmp_path, INGEST_HOST="0.0.0.0", INGEST_PORT="9081", QUERY_PORT="9082",
                    ALERTS_PORT="9083")
    assert result.returncode == 0, result.stderr
    conf = (tmp_path / "lookout.conf").read_text()
    assert "server 127.0.0.1:9081;" in conf
    assert "server 127.0.0.1:9082;" in conf
    assert "server 127.0.0.1:9083;" in conf
    assert "listen 8080;" in conf
    assert f"root {REPO_ROOT / 'frontend' / 'dist'};" in conf
    main_conf = (tmp_path / "nginx.conf").read_text()
    assert f"include {tmp_path.resolve()}/lookout.conf;" in main_conf
    assert "$" not in main_conf  # nothing left unrendered


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("HTTP_PORT", "80a"),
        ("INGEST_SERVERS", "127.0.0.1:8081"),
        ("ALERTS_SERVERS", "127.0.0.1:8083"),
        ("FRONTEND_ROOT", "relative/dist"),
    ],
)
def test_a_bad_value_is_refused_with_its_name(tmp_path: Path, name: str, value: str) -> None:
    result = render(tmp_path, **{name: value})
    assert result.returncode == 1
    assert name in result.stderr
    assert not (tmp_path / "lookout.conf").exists()


@needs_nginx
def test_nginx_accepts_the_rendered_config(tmp_path: Path) -> None:
    result = render(
        tmp_path,
        HTTP_PORT="18080",
        INGEST_SERVERS="server 127.0.0.1:18081; server 127.0.0.1:18091;",
        QUERY_SERVERS="server 127.0.0.1:18082; server 127.0.0.1:18092;",
        ALERTS_SERVERS="server 127.0.0.1:18083;",
        FRONTEND_ROOT=str(tmp_path / "dist"),
    )
    assert result.returncode == 0, result.stderr
    checked = nginx_test(tmp_path)
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr


# --- routing through a running nginx -----------------------------------------------------------


class EchoBackend(ThreadingHTTPServer):
    """Answers every request with its own name and what it received."""

    daemon_threads = True

    def __init__(self, name: str) -> None:
        self.name = name
        super().__init__(("127.0.0.1", 0), EchoHandler)


class EchoHandler(BaseHTTPRequestHandler):
    server: EchoBackend
    protocol_version = "HTTP/1.1"

    def _echo(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        body = json.dumps(
            {
                "backend": self.server.name,
                "method": self.command,
                "path": self.path,
                "request_id": self.headers.get("X-Request-ID"),
                "forwarded_for": self.headers.get("X-Forwarded-For"),
                "forwarded_proto": self.headers.get("X-Forwarded-Proto"),
                "upgrade": self.headers.get("Upgrade"),
                "connection": self.headers.get("Connection"),
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = _echo

    def log_message(self, format: str, *args: object) -> None:
        pass


class FrontDoor:
    def __init__(self, port: int) -> None:
        self.port = port

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def echo(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> dict[str, str | None]:
        status, _, answer = self.request(method, path, body=body, headers=headers)
        assert status == 200, (method, path, status, answer[:200])
        echoed: dict[str, str | None] = json.loads(answer)
        return echoed


@pytest.fixture(scope="module")
def front_door() -> Iterator[FrontDoor]:
    if NGINX is None:
        pytest.skip("nginx is not installed (/usr/sbin/nginx): cannot run the front door")
    backends = [EchoBackend("ingest"), EchoBackend("query"), EchoBackend("alerts")]
    threads = [threading.Thread(target=b.serve_forever, daemon=True) for b in backends]
    for thread in threads:
        thread.start()
    # nginx started as root runs its workers as nobody: they must be able to read the
    # run dir and the front end, which pytest's private tmp_path does not allow.
    run_dir = Path(tempfile.mkdtemp(prefix="lookout-nginx-test-"))
    run_dir.chmod(0o755)
    dist = run_dir / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text("<!doctype html><title>Lookout</title>")
    (dist / "assets" / "app-1234.js").write_text("console.log('lookout')")
    for path in [dist, dist / "assets", *dist.rglob("*")]:
        path.chmod(path.stat().st_mode | stat.S_IROTH | (stat.S_IXOTH if path.is_dir() else 0))

    port = free_port()
    result = render(
        run_dir,
        HTTP_PORT=str(port),
        INGEST_SERVERS=f"server 127.0.0.1:{backends[0].server_address[1]};",
        QUERY_SERVERS=f"server 127.0.0.1:{backends[1].server_address[1]};",
        ALERTS_SERVERS=f"server 127.0.0.1:{backends[2].server_address[1]};",
        FRONTEND_ROOT=str(dist),
    )
    assert result.returncode == 0, result.stderr
    process = subprocess.Popen(
        [
            NGINX,
            "-p",
            str(run_dir),
            "-e",
            "stderr",
            "-c",
            str(run_dir / "nginx.conf"),
            "-g",
            "daemon off;",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            if process.poll() is not None:
                errors = process.stderr.read() if process.stderr else ""
                pytest.fail(f"nginx exited with {process.returncode}: {errors}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("nginx did not listen within 10 s")
                time.sleep(0.05)
        yield FrontDoor(port)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()
        for backend in backends:
            backend.shutdown()
            backend.server_close()
        shutil.rmtree(run_dir, ignore_errors=True)


@pytest.mark.parametrize(
    ("method", "path", "backend", "upstream_path"),
    [
        ("POST", "/api/v1/metrics", "ingest", "/api/v1/metrics"),
        ("GET", "/api/v1/metrics", "query", "/api/v1/metrics"),
        ("GET", "/api/v1/metrics/cpu/tags", "query", "/api/v1/metrics/cpu/tags"),
        ("POST", "/api/v1/write", "ingest", "/api/v1/write"),
        ("POST", "/prometheus/api/v1/write", "ingest", "/prometheus/api/v1/write"),
        (
            "POST",
            "/api/v1/import/prometheus/metrics/job/node",
            "ingest",
            "/api/v1/import/prometheus/metrics/job/node",
        ),
        ("POST", "/api/v2/write?precision=ms", "ingest", "/api/v2/write?precision=ms"),
        ("POST", "/ingest/statsd", "ingest", "/ingest/statsd"),
        ("POST", "/api/v1/query", "query", "/api/v1/query"),
        ("GET", "/api/v1/dashboards/3", "query", "/api/v1/dashboards/3"),
        (
            "GET",
            "/prometheus/api/v1/query_range?query=up",
            "query",
            "/prometheus/api/v1/query_range?query=up",
        ),
        (
            "GET",
            "/socket.io/?EIO=4&transport=polling",
            "query",
            "/socket.io/?EIO=4&transport=polling",
        ),
        ("GET", "/health/ingest", "ingest", "/health/ready"),
        ("GET", "/health/query", "query", "/health/ready"),
        ("GET", "/api/v1/alerts", "alerts", "/api/v1/alerts"),
        ("POST", "/api/v1/alerts", "alerts", "/api/v1/alerts"),
        ("GET", "/api/v1/alerts/3", "alerts", "/api/v1/alerts/3"),
        ("GET", "/api/v1/alerts/3/history?limit=5", "alerts", "/api/v1/alerts/3/history?limit=5"),
        ("POST", "/api/v1/alerts/import", "alerts", "/api/v1/alerts/import"),
        ("GET", "/api/v1/silences", "alerts", "/api/v1/silences"),
        ("GET", "/api/v1/silences/7", "alerts", "/api/v1/silences/7"),
        ("GET", "/prometheus/api/v1/rules?type=alert", "alerts",
         "/prometheus/api/v1/rules?type=alert"),
        ("GET", "/prometheus/api/v1/alerts", "alerts", "/prometheus/api/v1/alerts"),
        ("GET", "/health/alerts", "alerts", "/health/ready"),
        # Neighbours that only look alike stay with the query service.
        ("GET", "/api/v1/alertsx", "query", "/api/v1/alertsx"),
        ("GET", "/prometheus/api/v1/alerts_x", "query", "/prometheus/api/v1/alerts_x"),
    ],
)
@needs_nginx
def test_each_path_reaches_its_service(
    front_door: FrontDoor, method: str, path: str, backend: str, upstream_path: str
) -> None:
    body = b"[]" if method == "POST" else None
    echoed = front_door.echo(method, path, body=body)
    assert (echoed["backend"], echoed["path"]) == (backend, upstream_path)


@needs_nginx
def test_request_id_is_kept_or_made(front_door: FrontDoor) -> None:
    kept = front_door.echo("GET", "/api/v1/metrics", headers={"X-Request-ID": "req-42"})
    made = front_door.echo("GET", "/api/v1/metrics")
    assert kept["request_id"] == "req-42"
    assert made["request_id"] is not None and len(made["request_id"]) == 32
    assert made["forwarded_for"] == "127.0.0.1"
    assert made["forwarded_proto"] == "http"


@needs_nginx
def test_websocket_upgrade_is_passed_to_query(front_door: FrontDoor) -> None:
    upgrade = front_door.echo(
        "GET",
        "/socket.io/?EIO=4&transport=websocket",
        headers={"Upgrade": "websocket", "Connection": "Upgrade"},
    )
    polling = front_door.echo("GET", "/socket.io/?EIO=4&transport=polling")
    assert (upgrade["upgrade"], upgrade["connection"]) == ("websocket", "upgrade")
    assert polling["upgrade"] is None and polling["connection"] is None


@needs_nginx
def test_front_end_routes_fall_back_to_index(front_door: FrontDoor) -> None:
    status, headers, body = front_door.request("GET", "/dashboards/7")
    assert status == 200 and b"<title>Lookout</title>" in body
    assert headers.get("Cache-Control") == "no-cache"
    status, headers, _ = front_door.request("GET", "/assets/app-1234.js")
    assert status == 200 and "immutable" in headers.get("Cache-Control", "")
    status, _, _ = front_door.request("GET", "/assets/missing.js")
    assert status == 404


@needs_nginx
def test_bodies_over_16_mib_are_refused(front_door: FrontDoor) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", front_door.port, timeout=10)
    try:
        conn.putrequest("POST", "/api/v1/write")
        conn.putheader("Content-Length", str(16 * 1024 * 1024 + 1))
        conn.endheaders()  # nginx answers from the header alone
        assert conn.getresponse().status == 413
    finally:
        conn.close()
