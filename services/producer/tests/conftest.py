"""A real local HTTP server that plays a script of answers, for the client tests.

Tests reach it through fixtures only (``ingest_server``, ``start_ingest_server``):
with ``--import-mode=importlib`` a test module cannot import this one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import orjson
import pytest

ACCEPTED: tuple[int, dict[str, str], bytes] = (202, {}, b'{"status":"accepted"}')


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    def items(self) -> list[dict]:
        return orjson.loads(self.body)


@dataclass
class ScriptedServer:
    """Answers requests with ``script`` in order, then with ``default`` forever."""

    url: str = ""
    script: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    default: tuple[int, dict[str, str], bytes] = ACCEPTED
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_answer(self, request: Received) -> tuple[int, dict[str, str], bytes]:
        with self.lock:
            self.received.append(request)
            return self.script.pop(0) if self.script else self.default

    @staticmethod
    def json_error(status: int, message: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
        """An answer shaped like Lookout's error handler's."""
        kind = "unavailable" if status == 503 else "validation_error"
        return status, headers, orjson.dumps({"error": {"type": kind, "message": message}})

    @property
    def samples(self) -> int:
        with self.lock:
            return sum(len(r.items()) for r in self.received)


def _handler(server: ScriptedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the real ingest API

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, headers, payload = server.next_answer(
                Received(self.path, dict(self.headers.items()), body)
            )
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Handler


def start_server(scripted: ScriptedServer, port: int = 0) -> ThreadingHTTPServer:
    httpd = ThreadingHTTPServer(("127.0.0.1", port), _handler(scripted))
    httpd.daemon_threads = True
    scripted.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
                     daemon=True).start()
    return httpd


@pytest.fixture
def start_ingest_server() -> Iterator[Callable[..., ScriptedServer]]:
    """Start a scripted server, on a given port if asked; stopped after the test."""
    running: list[ThreadingHTTPServer] = []

    def start(port: int = 0) -> ScriptedServer:
        scripted = ScriptedServer()
        running.append(start_server(scripted, port))
        return scripted

    try:
        yield start
    finally:
        for httpd in running:
            httpd.shutdown()
            httpd.server_close()


@pytest.fixture
def ingest_server(start_ingest_server: Callable[..., ScriptedServer]) -> ScriptedServer:
    return start_ingest_server()
