"""Helpers for cross-service tests: Lookout's real processes and a TCP proxy that can
cut the network between a service and a server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(predicate: Callable[[], object], timeout: float, what: str,
               interval: float = 0.1) -> None:
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except Exception as exc:  # the thing we wait for may not answer yet
            last_error = exc
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}"
                         + (f" (last error: {last_error!r})" if last_error else ""))


class ServiceProcess:
    """``python -m <module>`` with its own environment, output kept in a log file."""

    def __init__(self, module: str, env: dict[str, str], log_dir: Path,
                 health_url: str | None = None) -> None:
        self.module = module
        self.env = {**os.environ, **env}
        self.log_path = log_dir / f"{module}.log"
        self.health_url = health_url
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, wait: bool = True) -> ServiceProcess:
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", self.module], env=self.env, stdout=log,
            stderr=subprocess.STDOUT, cwd=ROOT, start_new_session=True,
        )
        self._log = log
        if wait and self.health_url:
            wait_until(self._healthy, 60, f"{self.module} at {self.health_url}")
        return self

    def _healthy(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.module} exited with {self.proc.returncode}:\n"
                                 + self.log_path.read_text()[-3000:])
        return requests.get(self.health_url, timeout=2).status_code == 200  # type: ignore[arg-type]

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the whole process group (gunicorn's workers included)."""
        assert self.proc is not None
        os.killpg(self.proc.pid, sig)
        self.proc.wait(timeout=30)
        self._log.close()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        if getattr(self, "_log", None):
            self._log.close()

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text()[-chars:] if self.log_path.exists() else ""


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a server; ``cut()`` drops every connection and
    refuses new ones (the server looks down), ``restore()`` lets them through again;
    ``freeze()`` keeps connections open but holds every byte (the server hangs)
    until ``thaw()``."""

    def __init__(self, target_port: int, target_host: str = "127.0.0.1") -> None:
        self.target = (target_host, target_port)
        self.port = free_port()
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._open = False
        self._frozen = False

    def freeze(self) -> None:
        self._frozen = True

    def thaw(self) -> None:
        self._frozen = False

    def start(self) -> TcpProxy:
        self.restore()
        return self

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener, self._open = listener, True
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        self._open = False
        if self._listener is not None:
            # shutdown() wakes the thread blocked in accept(); close() alone would not,
            # and that accept would still take one more connection.
            try:
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        with self._lock:
            for s in list(self._sockets):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while self._open:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            if not self._open:
                client.close()
                return
            try:
                server = socket.create_connection(self.target, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, server))
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                while self._frozen and self._open:
                    time.sleep(0.02)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass
            with self._lock:
                self._sockets.discard(src)
                self._sockets.discard(dst)


class Nginx:
    """The real nginx with Lookout's rendered config (scripts/render_nginx.py) on a free
    port, in front of the given ingest, query and alerts addresses."""

    def __init__(self, run_dir: Path, *, ingest: list[str], query: list[str],
                 alerts: list[str] | None = None, frontend_root: Path | None = None,
                 port: int | None = None) -> None:
        self.run_dir = run_dir
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        # nginx's workers run as nobody, who cannot enter pytest's private tmp dirs.
        root = frontend_root or Path(tempfile.mkdtemp(prefix="lookout-www-"))
        os.chmod(root, 0o755)
        if not (root / "index.html").exists():
            (root / "index.html").write_text("<!doctype html><title>Lookout</title>")
            os.chmod(root / "index.html", 0o644)
        self.env = {"HTTP_PORT": str(self.port), "FRONTEND_ROOT": str(root),
                    "INGEST_SERVERS": " ".join(f"server {a};" for a in ingest),
                    "QUERY_SERVERS": " ".join(f"server {a};" for a in query),
                    "ALERTS_SERVERS": " ".join(f"server {a};" for a in
                                               (alerts or [f"127.0.0.1:{free_port()}"]))}
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Nginx:
        subprocess.run([sys.executable, str(ROOT / "scripts" / "render_nginx.py"),
                        "--run-dir", str(self.run_dir)], env={**os.environ, **self.env},
                       check=True, capture_output=True, timeout=30)
        binary = "/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else "nginx"
        with open(self.run_dir / "stderr.log", "ab") as stderr:
            self.proc = subprocess.Popen(
                [binary, "-p", str(self.run_dir), "-e", "stderr", "-c",
                 str(self.run_dir / "nginx.conf"), "-g", "daemon off;"],
                stdout=subprocess.DEVNULL, stderr=stderr, start_new_session=True)
        wait_until(lambda: requests.get(self.url + "/health/query", timeout=2).status_code
                   == 200, 30, "nginx to serve the query service's readiness")
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=30)
