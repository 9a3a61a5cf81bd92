"""The systems the compliance harness compares, as real processes on 127.0.0.1.

Three demo-exporter instances, node_exporter and Debian's ``prometheus`` (scraping
those and itself every 5 s, remote-writing everything to Lookout), and a Lookout stack
— worker, ingest, query — on a database, vhost and Redis key prefix of its own, created
here and removed on ``close()``. Every port is a free one; ``make run``'s are never used.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import psycopg2
import redis
import requests
from prometheus_client.parser import text_string_to_metric_families

from lookout_common.db.connection import drop_database, ensure_database
from lookout_common.testing import RabbitAdmin, ServerUrls, database_url, unique_name

from ..stack import ROOT, ServiceProcess, free_port, wait_until

SCRAPE_INTERVAL_S = 5
# Prometheus's default; it is also the step of a subquery written without one (`x[5m:]`),
# which Lookout's engine fixes at 1 m.
EVALUATION_INTERVAL = "1m"
# The instance names the compliance queries match on (the hosted demo service's).
DEMO_INSTANCES = ("demo.promlabs.com:10000", "demo.promlabs.com:10001",
                  "demo.promlabs.com:10002")
STALE_NAN_HEX = "7ff0000000000002"


class ProcessError(RuntimeError):
    """A process of the stack did not start or died; the message has its log's tail."""


class Process:
    """A command with its output in a log file, in its own process group."""

    def __init__(self, name: str, command: list[str], log_dir: Path, ready_url: str) -> None:
        self.name = name
        self.command = command
        self.log_path = log_dir / f"{name}.log"
        self.ready_url = ready_url
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Process:
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command, stdout=self._log, stderr=subprocess.STDOUT,
                                     cwd=ROOT, start_new_session=True)
        try:
            wait_until(self._ready, 60, f"{self.name} at {self.ready_url}", interval=0.25)
        except AssertionError as exc:
            raise ProcessError(f"{exc}\n--- {self.log_path} ---\n{self.log_tail()}") from None
        return self

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise ProcessError(f"{self.name} exited with {self.proc.returncode}:\n"
                               + self.log_tail())
        return requests.get(self.ready_url, timeout=2).status_code == 200

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:] if self.log_path.exists() \
            else ""

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


def prometheus_config(self_port: int, demo_ports: list[int], node_port: int,
                      remote_write_url: str, scrape: bool = True) -> str:
    """Scrape the demo instances (labelled with the names the queries expect),
    node_exporter and Prometheus itself; remote-write everything. ``scrape=False``:
    the same without targets (see ``ComplianceStack.freeze``)."""
    demo_targets = "\n".join(
        f"      - targets: ['127.0.0.1:{port}']\n        labels: {{instance: '{name}'}}"
        for port, name in zip(demo_ports, DEMO_INSTANCES, strict=True))
    scrape_configs = f"""\
scrape_configs:
  - job_name: demo
    static_configs:
{demo_targets}
  - job_name: node
    static_configs: [{{targets: ['127.0.0.1:{node_port}']}}]
  - job_name: prometheus
    static_configs: [{{targets: ['127.0.0.1:{self_port}']}}]
""" if scrape else "scrape_configs: []\n"
    return f"""\
global:
  scrape_interval: {SCRAPE_INTERVAL_S}s
  evaluation_interval: {EVALUATION_INTERVAL}
{scrape_configs}remote_write:
  - url: {remote_write_url}
    remote_timeout: 30s
    queue_config: {{batch_send_deadline: 1s, max_samples_per_send: 2000,
                    min_backoff: 100ms, max_backoff: 2s}}
    metadata_config: {{send: true, send_interval: 30s}}
"""


class ComplianceStack:
    """Start with ``start()``; ``close()`` stops everything and removes what it made."""

    def __init__(self, servers: ServerUrls, work_dir: Path) -> None:
        self.servers = servers
        self.work_dir = work_dir
        self.database_url = database_url(servers, unique_name("lookout_compliance"))
        self.vhost = unique_name("lookout_compliance")
        self.redis_key_prefix = unique_name("lookout_compliance") + ":"
        self.rabbit = RabbitAdmin(servers.rabbitmq_api)
        self.amqp_url = f"{servers.amqp_base}/{quote(self.vhost, safe='')}"
        self.processes: list[Process | ServiceProcess] = []
        self._made_database = self._made_vhost = False
        self.prometheus_url = self.lookout_url = self.ingest_url = ""
        self.started_at = 0.0  # when Prometheus began scraping (unix seconds)

    # -- start-up ---------------------------------------------------------------------

    def start(self) -> ComplianceStack:
        for binary in ("prometheus", "prometheus-node-exporter"):
            if shutil.which(binary) is None:
                raise ProcessError(f"{binary} is not installed (Debian: apt-get install -y "
                                   f"{binary}; scripts/bootstrap.sh installs both)")
        ensure_database(self.database_url)
        self._made_database = True
        self.rabbit.create_vhost(self.vhost)
        self._made_vhost = True
        env = {"DATABASE_URL": self.database_url, "AMQP_URL": self.amqp_url,
               "STORAGE_MODE": "postgres", "LOG_FORMAT": "text",
               "REDIS_URL": self.servers.redis_url, "REDIS_KEY_PREFIX": self.redis_key_prefix}
        worker_port, ingest_port, query_port = free_port(), free_port(), free_port()
        self._service("lookout_worker", {**env, "WORKER_PORT": str(worker_port)},
                      f"http://127.0.0.1:{worker_port}/health/ready")
        self.ingest_url = f"http://127.0.0.1:{ingest_port}"
        self._service("lookout_ingest", {**env, "INGEST_PORT": str(ingest_port),
                                         "INGEST_WORKERS": "2"},
                      f"{self.ingest_url}/health/live")
        self.lookout_url = f"http://127.0.0.1:{query_port}"
        self._service("lookout_query", {**env, "QUERY_PORT": str(query_port),
                                        "QUERY_WORKERS": "2"},
                      f"{self.lookout_url}/health/live")
        demo_ports = [free_port() for _ in DEMO_INSTANCES]
        self._demo = self._process(
            "demo_exporter", [sys.executable, "-m", "tests.compliance.demo_exporter",
                              *(f"--port={p}" for p in demo_ports)],
            f"http://127.0.0.1:{demo_ports[-1]}/metrics")
        node_port = free_port()
        self._process("node_exporter", ["prometheus-node-exporter",
                                        f"--web.listen-address=127.0.0.1:{node_port}"],
                      f"http://127.0.0.1:{node_port}/metrics")
        prometheus_port = free_port()
        self.prometheus_url = f"http://127.0.0.1:{prometheus_port}"
        self._config = self.work_dir / "prometheus.yml"
        self._config_args = (prometheus_port, demo_ports, node_port,
                             f"{self.ingest_url}/api/v1/write")
        self._config.write_text(prometheus_config(*self._config_args))
        self._process("prometheus", [
            "prometheus", f"--config.file={self._config}",
            f"--storage.tsdb.path={self.work_dir / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{prometheus_port}", "--web.enable-lifecycle",
            "--log.level=info",
        ], f"{self.prometheus_url}/-/ready")
        self.started_at = time.time()
        return self

    def _service(self, module: str, env: dict[str, str], health_url: str) -> None:
        process = ServiceProcess(module, env, self.work_dir, health_url)
        self.processes.append(process)
        try:
            process.start()
        except AssertionError as exc:
            raise ProcessError(f"{exc}\n--- {process.log_path} ---\n{process.log_tail()}") \
                from None

    def _process(self, name: str, command: list[str], ready_url: str) -> Process:
        process = Process(name, command, self.work_dir, ready_url)
        self.processes.append(process)
        return process.start()

    def restart_demo_exporter(self, down_s: float = 2 * SCRAPE_INTERVAL_S) -> None:
        """Stop the demo instances for longer than a scrape interval, then start them
        afresh: failed scrapes (``up`` 0, staleness markers), then counters from zero."""
        self._demo.stop()
        time.sleep(down_s)
        self._demo.start()

    # -- state ------------------------------------------------------------------------

    def sql(self, query: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        conn = psycopg2.connect(self.database_url)
        try:
            with conn.cursor() as cur:
                cur.execute(query, params)
                return cur.fetchall()
        finally:
            conn.close()

    def lookout_samples(self, until_s: float) -> int:
        """Samples Lookout holds at or before ``until_s``, staleness markers left out."""
        [(count,)] = self.sql(
            "SELECT count(*) FROM samples WHERE time <= to_timestamp(%s) "
            "AND float8send(value) <> decode(%s, 'hex')", (until_s, STALE_NAN_HEX))
        return int(count)  # type: ignore[call-overload]

    def prometheus_samples(self, until_s: float) -> int:
        """The same count from Prometheus: every sample since start-up up to ``until_s``
        (its range selectors leave staleness markers out too)."""
        window_s = int(until_s - self.started_at) + 120
        r = requests.get(f"{self.prometheus_url}/api/v1/query", timeout=60, params={
            "query": f'{{__name__=~".+"}}[{window_s}s]', "time": f"{until_s:.3f}"})
        r.raise_for_status()
        return sum(len(series["values"]) for series in r.json()["data"]["result"])

    def _remote_write_pending(self) -> float:
        """Samples Prometheus's remote-write queue holds but has not delivered yet."""
        text = requests.get(f"{self.prometheus_url}/metrics", timeout=10).text
        for family in text_string_to_metric_families(text):
            if family.name == "prometheus_remote_storage_samples_pending":
                return sum(s.value for s in family.samples)
        raise ProcessError("Prometheus does not export prometheus_remote_storage_samples_pending")

    def _lookout_rows(self) -> int:
        [(count,)] = self.sql("SELECT count(*) FROM samples")
        return int(count)  # type: ignore[call-overload]

    def prometheus_version(self) -> str:
        r = requests.get(f"{self.prometheus_url}/api/v1/status/buildinfo", timeout=10)
        return str(r.json()["data"]["version"]) if r.ok else "?"

    def freeze(self) -> float:
        """Stop every scrape (a configuration without targets, reloaded), so that
        Prometheus's data stops growing and Lookout can hold all of it: a query then
        reads the same samples from both, whatever its offset or range. Returns when
        scraping stopped (unix seconds). Prometheus ends each series with a staleness
        marker a scrape interval or two later, as when a target goes away."""
        self._config.write_text(prometheus_config(*self._config_args, scrape=False))
        frozen_at = time.time()
        requests.post(f"{self.prometheus_url}/-/reload", timeout=30).raise_for_status()

        def no_targets() -> bool:
            r = requests.get(f"{self.prometheus_url}/api/v1/targets", timeout=10)
            return not r.json()["data"]["activeTargets"]

        wait_until(no_targets, 30, "Prometheus to drop its targets", interval=0.5)
        return frozen_at

    def wait_until_caught_up(self, timeout_s: float = 180) -> tuple[int, int]:
        """After ``freeze()``: wait for the staleness markers, for the remote-write
        queue to drain and for Lookout to hold every sample Prometheus holds; return
        (Prometheus's count, Lookout's) — equal unless the wait timed out."""
        deadline = time.monotonic() + timeout_s
        time.sleep(3 * SCRAPE_INTERVAL_S)  # the end-of-scrape staleness markers
        while self._remote_write_pending() > 0 and time.monotonic() < deadline:
            time.sleep(1)
        until_s = time.time() + 60
        want = self.prometheus_samples(until_s)
        got = self.lookout_samples(until_s)
        while got != want and time.monotonic() < deadline:
            time.sleep(1)
            got = self.lookout_samples(until_s)
        rows = -1  # the staleness markers too: wait until nothing more arrives
        while rows != (rows := self._lookout_rows()) and time.monotonic() < deadline:
            time.sleep(2)
        return want, got

    # -- tear-down --------------------------------------------------------------------

    def close(self) -> None:
        for process in reversed(self.processes):
            try:
                process.stop()
            except Exception as exc:  # keep stopping the others
                print(f"could not stop {process}: {exc!r}", file=sys.stderr)
        if self._made_vhost:
            self.rabbit.delete_vhost(self.vhost)
        if self._made_database:
            drop_database(self.database_url)
        client = redis.Redis.from_url(self.servers.redis_url)
        try:
            keys = list(client.scan_iter(match=self.redis_key_prefix + "*", count=1000))
            if keys:
                client.delete(*keys)
        finally:
            client.close()
