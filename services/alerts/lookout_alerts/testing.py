"""Real receivers for tests: an SMTP server (aiosmtpd) that keeps the messages it is
given, an HTTP webhook receiver that keeps the JSON bodies and answers with the
statuses it is told to, and a real Alertmanager process."""

from __future__ import annotations

import json
import socket
import subprocess
import threading
import time
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests


class SmtpCatcher:
    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Message] = []
        catcher = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                msg = message_from_bytes(envelope.original_content or envelope.content)
                msg["X-Envelope-To"] = ",".join(envelope.rcpt_tos)
                catcher.messages.append(msg)
                return "250 OK"

        with socket.socket() as probe:  # aiosmtpd needs a real port to check readiness
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self._controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def start(self) -> SmtpCatcher:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()


class WebhookReceiver:
    """``statuses``: the answers to give, in order; when used up, ``default_status``."""

    def __init__(self, default_status: int = 200) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.attempts = 0
        self.statuses: list[int] = []
        self.default_status = default_status
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                receiver.attempts += 1
                status = receiver.statuses.pop(0) if receiver.statuses \
                    else receiver.default_status
                if 200 <= status < 300:
                    receiver.bodies.append(json.loads(raw))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def start(self) -> WebhookReceiver:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


ALERTMANAGER_CONFIG = """
route:
  receiver: blackhole
  group_wait: 1s
receivers:
  - name: blackhole
"""


class AlertmanagerProcess:
    """Debian's ``prometheus-alertmanager`` on a free port, storing under ``work_dir``."""

    def __init__(self, binary: str, work_dir: Path) -> None:
        self.binary = binary
        self.work_dir = work_dir
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])
        self.url = f"http://127.0.0.1:{self.port}"
        self._proc: subprocess.Popen[bytes] | None = None

    def start(self) -> AlertmanagerProcess:
        config = self.work_dir / "alertmanager.yml"
        config.write_text(ALERTMANAGER_CONFIG)
        self._proc = subprocess.Popen(
            [self.binary, f"--config.file={config}",
             f"--storage.path={self.work_dir / 'alertmanager-data'}",
             f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address="],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while True:
            try:
                if requests.get(f"{self.url}/-/ready", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("alertmanager did not become ready")
            time.sleep(0.1)

    def alerts(self) -> list[dict[str, Any]]:
        """What Alertmanager holds as active (``GET /api/v2/alerts``)."""
        return requests.get(f"{self.url}/api/v2/alerts", timeout=5).json()  # type: ignore[no-any-return]

    def stop(self) -> None:
        if self._proc is not None and self._proc.poll() is None:
            self._proc.terminate()
            self._proc.wait(timeout=10)


def add_user_with_token(database_url: str, username: str, role: str) -> tuple[int, str]:
    """A user of ``role`` (no usable password) with an API token, straight into the
    accounts tables (migration 0005); returns the user's id and the token."""
    import psycopg2

    from lookout_common.credentials import api_token_hash, new_api_token

    token = new_api_token()
    conn = psycopg2.connect(database_url)
    try:
        with conn, conn.cursor() as cur:
            cur.execute("INSERT INTO users (username, password_hash, role) VALUES (%s, '-', %s)"
                        " ON CONFLICT (username) DO UPDATE SET role = EXCLUDED.role"
                        " RETURNING id", (username, role))
            user_id = int(cur.fetchone()[0])  # type: ignore[index]
            cur.execute("INSERT INTO api_tokens (name, user_id, token_hash) VALUES (%s, %s, %s)",
                        (token[-8:], user_id, api_token_hash(token)))
    finally:
        conn.close()
    return user_id, token


class QueryServer:
    """The real query service app (accounts, /api/v1/auth/me) served on a free loopback
    port from a thread, for the alerts service to check callers against."""

    def __init__(self, database_url: str, redis_url: str, redis_key_prefix: str) -> None:
        from werkzeug.serving import make_server

        from lookout_common.settings import StorageMode
        from lookout_query.app import create_app
        from lookout_query.settings import QuerySettings

        settings = QuerySettings(database_url=database_url, redis_url=redis_url,
                                 redis_key_prefix=redis_key_prefix,
                                 storage_mode=StorageMode.POSTGRES, query_admin_password="",
                                 query_dashboards_dir="")
        self._server = make_server("127.0.0.1", 0, create_app(settings), threaded=True)
        self.url = f"http://127.0.0.1:{self._server.server_port}"
        self.requests = 0
        app: Any = self._server.app
        inner = app.wsgi_app

        def counting(environ: Any, start_response: Any) -> Any:
            self.requests += 1
            return inner(environ, start_response)

        app.wsgi_app = counting

    def start(self) -> QueryServer:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
