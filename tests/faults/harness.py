"""The fault-injection harness: a real stack under load from the producer's load
generator, a fault in the middle, and an exact account of what was acknowledged and
what was stored.

The account is exact because the load generator is deterministic given ``--seed``:
sender thread ``t`` owns the series ``t, t + C, t + 2C, …`` and draws values from
``random.Random(seed + t)`` round-robin over them, each series' timestamps strictly
increasing. So :func:`expected_values` rebuilds, with the producer's own
``LoadBatches``, the exact sequence of values every series was sent, and
:func:`take_account` compares it, series by series and in time order, with what
``samples`` holds:

* **lost** — sent values missing from storage;
* **duplicated** — stored rows beyond the one each sent sample should give (a sample
  stored twice, under any timestamp, or a row nobody sent);
* **re-sent copies** — copies of accepted requests that reached the store as another
  broker message (a client retry after an ambiguous failure): ``ingested_messages``
  beyond one per acknowledged request, and the samples they carried beyond the rows
  stored. The store recognises them and writes nothing; they are reported, and must
  be whole requests.

Every sample counts as acknowledged only once the producer has its 2xx, so a run is
only accountable when the producer acknowledged every sample it generated (none
rejected, none given up).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import psycopg2
import requests

from lookout_common.testing import RabbitAdmin, ServerUrls, vhost_of
from lookout_producer.load_batches import LOAD_METRIC, LoadBatches
from lookout_producer.load_runner import LoadPlan

from ..stack import ROOT, ServiceProcess, wait_until

if TYPE_CHECKING:
    from ..test_pipeline import Stack


# -- the load -----------------------------------------------------------------------


@dataclass(frozen=True)
class LoadSpec:
    """One run of ``python -m lookout_producer --load``: 200,000 samples over 1,000
    series at 4,000 samples/s take 50 s, so a fault after 20 % lands mid-load."""

    total: int = 200_000
    series: int = 1_000
    batch: int = 1_000
    concurrency: int = 2
    rate: float = 4_000
    seed: int = 1

    def plan(self) -> LoadPlan:
        return LoadPlan(rate=self.rate, series=self.series, batch=self.batch,
                        concurrency=self.concurrency, total=self.total, seed=self.seed)

    def argv(self, url: str) -> list[str]:
        return [sys.executable, "-m", "lookout_producer", "--load", "--url", url,
                "--rate", str(self.rate), "--series", str(self.series),
                "--batch", str(self.batch), "--concurrency", str(self.concurrency),
                "--total", str(self.total), "--seed", str(self.seed)]


@dataclass(frozen=True)
class ProducerSummary:
    exit_code: int
    acknowledged: int
    rejected: int
    failed: int
    requests: int
    retries: int
    elapsed_s: float


SUMMARY_FIELDS = {
    "acknowledged": r"samples acknowledged\s+([\d,]+)",
    "rejected": r"samples rejected\s+([\d,]+)",
    "failed": r"samples failed\s+([\d,]+)",
    "requests": r"requests\s+([\d,]+)",
    "retries": r"retries\s+([\d,]+)",
}


def parse_summary(text: str, exit_code: int) -> ProducerSummary:
    """The numbers of the load generator's summary (``LoadSummary.format``)."""
    counts: dict[str, int] = {}
    for name, pattern in SUMMARY_FIELDS.items():
        match = re.search(pattern, text)
        if match is None:
            raise AssertionError(f"no {name!r} in the load generator's summary:\n{text}")
        counts[name] = int(match.group(1).replace(",", ""))
    elapsed = re.search(r"elapsed\s+([\d.]+) s", text)
    return ProducerSummary(exit_code=exit_code, elapsed_s=float(elapsed.group(1)) if elapsed
                           else float("nan"), **counts)


class LoadGenerator:
    """The producer's load generator as a subprocess: its client retries connection
    errors and 503s (honouring ``Retry-After``), like a real agent."""

    def __init__(self, spec: LoadSpec, url: str, log_dir: Path) -> None:
        self.spec = spec
        self.url = url
        self.out_path = log_dir / "producer.out"
        self.log_path = log_dir / "producer.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> LoadGenerator:
        env = {**os.environ, "LOG_FORMAT": "text", "LOG_LEVEL": "INFO"}
        with open(self.out_path, "wb") as out, open(self.log_path, "wb") as err:
            self.proc = subprocess.Popen(self.spec.argv(self.url), env=env, stdout=out,
                                         stderr=err, cwd=ROOT, start_new_session=True)
        return self

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def wait(self, timeout: float) -> ProducerSummary:
        assert self.proc is not None
        try:
            code = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"the load generator did not finish in {timeout:.0f} s:\n"
                                 + self.log_tail()) from None
        return parse_summary(self.out_path.read_text(), code)

    def stop(self) -> None:
        if self.running:
            assert self.proc is not None
            os.killpg(self.proc.pid, signal.SIGTERM)  # it prints its summary and exits
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text()[-chars:] if self.log_path.exists() else ""


# -- watching the run ------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    t: float  # seconds since the timeline started
    stored: int | None  # count(*) in samples; None while the database does not answer
    queued: int | None  # messages in metrics.ingest (ready + unacked); None: no answer


class Timeline:
    """Twice a second: how many samples are stored and how many messages are queued.
    Either is ``None`` while its server is down, which is the point of the exercise."""

    def __init__(self, database_url: str, admin: RabbitAdmin, vhost: str,
                 interval_s: float = 0.5) -> None:
        self.database_url = database_url
        self.admin = admin
        self.vhost = vhost
        self.interval_s = interval_s
        self.points: list[Point] = []
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="fault-timeline", daemon=True)

    def start(self) -> Timeline:
        self._started = time.monotonic()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def now(self) -> float:
        return time.monotonic() - self._started

    def _run(self) -> None:
        while not self._stop.is_set():
            point = Point(self.now(), self._stored(), self._queued())
            self.points.append(point)
            self._stop.wait(self.interval_s)

    def _stored(self) -> int | None:
        try:
            conn = psycopg2.connect(self.database_url, connect_timeout=2)
        except psycopg2.Error:
            return None
        try:
            with conn.cursor() as cur:
                cur.execute("SET statement_timeout = '5s'")
                cur.execute("SELECT count(*) FROM samples")
                return int(cur.fetchone()[0])
        except psycopg2.Error:
            return None
        finally:
            conn.close()

    def _queued(self) -> int | None:
        try:
            messages = self.admin.queue(self.vhost, "metrics.ingest").get("messages")
        except (requests.RequestException, ValueError):
            return None
        return None if messages is None else int(messages)

    def last_stored(self) -> int:
        for point in reversed(self.points):
            if point.stored is not None:
                return point.stored
        return 0

    def stored_at(self, t: float) -> int:
        """The last known count at or before ``t``."""
        known = [p.stored for p in self.points if p.t <= t and p.stored is not None]
        return known[-1] if known else 0

    def first(self, after: float, predicate: Callable[[Point], bool]) -> float | None:
        for point in self.points:
            if point.t >= after and predicate(point):
                return point.t
        return None

    def queue_peak(self, start: float, end: float) -> int | None:
        seen = [p.queued for p in self.points if start <= p.t <= end and p.queued is not None]
        return max(seen) if seen else None


# -- the account -------------------------------------------------------------------------


def expected_values(spec: LoadSpec) -> dict[str, list[float]]:
    """Per series label, the values the load generator sent, in the order sent (which
    is time order: a series' timestamps strictly increase)."""
    plan = spec.plan()
    expected: dict[str, list[float]] = defaultdict(list)
    for thread in range(spec.concurrency):
        batches = LoadBatches(range(thread, spec.series, spec.concurrency),
                              seed=spec.seed + thread)
        quota = plan.thread_quota(thread)
        assert quota is not None
        for item in batches.items(quota, now_ms=0):  # values do not depend on the clock
            expected[item["labels"]["series"]].append(item["value"])
    return dict(expected)


def stored_values(cur: Any) -> dict[str, list[float]]:
    cur.execute(
        """SELECT s.labels->>'series', x.value FROM samples x JOIN series s ON s.id = x.series_id
           WHERE s.metric = %s ORDER BY s.labels->>'series', x.time""",
        (LOAD_METRIC,),
    )
    stored: dict[str, list[float]] = defaultdict(list)
    for label, value in cur.fetchall():
        stored[label].append(value)
    return dict(stored)


@dataclass(frozen=True)
class Account:
    acknowledged: int  # samples the producer had a 2xx for
    stored: int  # count(*) in samples
    distinct: int  # count(DISTINCT (series_id, time)) in samples
    lost: int
    duplicated: int
    misordered_series: int  # series whose stored values are the sent ones, but not in order
    messages_acknowledged: int  # requests answered 2xx (one broker message each)
    messages_ingested: int  # rows in ingested_messages
    samples_in_ingested: int  # sum(samples) over ingested_messages
    lost_examples: list[str] = field(default_factory=list)
    duplicated_examples: list[str] = field(default_factory=list)

    @property
    def resent_messages(self) -> int:
        return self.messages_ingested - self.messages_acknowledged

    @property
    def resent_samples(self) -> int:
        return self.samples_in_ingested - self.stored


def take_account(database_url: str, spec: LoadSpec, summary: ProducerSummary) -> Account:
    expected = expected_values(spec)
    conn = psycopg2.connect(database_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*), count(DISTINCT (series_id, time)) FROM samples")
            stored, distinct = cur.fetchone()
            cur.execute("SELECT count(*), coalesce(sum(samples), 0) FROM ingested_messages")
            messages_ingested, samples_in_ingested = cur.fetchone()
            actual = stored_values(cur)
    finally:
        conn.close()
    lost = duplicated = misordered = 0
    lost_examples: list[str] = []
    duplicated_examples: list[str] = []
    for label in sorted(set(expected) | set(actual)):
        want, got = expected.get(label, []), actual.get(label, [])
        if want == got:
            continue
        missing = Counter(want) - Counter(got)
        extra = Counter(got) - Counter(want)
        lost += missing.total()
        duplicated += extra.total()
        if missing and len(lost_examples) < 10:
            lost_examples.append(f"{label}: {missing.total()} missing, e.g. "
                                 f"{sorted(missing)[:3]}")
        if extra and len(duplicated_examples) < 10:
            duplicated_examples.append(f"{label}: {extra.total()} extra, e.g. {sorted(extra)[:3]}")
        if not missing and not extra:
            misordered += 1
    return Account(
        acknowledged=summary.acknowledged, stored=stored, distinct=distinct, lost=lost,
        duplicated=duplicated + (stored - distinct), misordered_series=misordered,
        messages_acknowledged=summary.requests, messages_ingested=messages_ingested,
        samples_in_ingested=int(samples_in_ingested), lost_examples=lost_examples,
        duplicated_examples=duplicated_examples,
    )


# -- the servers -------------------------------------------------------------------------


def run(argv: list[str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run an admin command; its output goes into the error when it fails."""
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        raise AssertionError(f"{' '.join(argv)} exited with {done.returncode}:\n"
                             f"{done.stdout}\n{done.stderr}")
    return done


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


class RabbitNode:
    """The local RabbitMQ node, driven with rabbitmqctl. ``stop_app`` stops the broker
    application but not the Erlang node, so ``start_app`` brings it back with its
    durable vhosts, queues and persistent messages."""

    def __init__(self, servers: ServerUrls, admin: RabbitAdmin) -> None:
        parts = urlsplit(servers.amqp_base)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 5672
        self.admin = admin

    def controllable(self) -> str | None:
        """Why this node cannot be stopped and started from here, or None."""
        if not shutil.which("rabbitmqctl"):
            return "rabbitmqctl is not installed"
        if self.host not in ("127.0.0.1", "localhost"):
            return f"RabbitMQ at {self.host} is not local"
        return None

    def app_running(self) -> bool:
        return subprocess.run(["rabbitmq-diagnostics", "-q", "check_running"],
                              capture_output=True, timeout=60, check=False).returncode == 0

    def stop_app(self) -> None:
        run(["rabbitmqctl", "stop_app"])

    def start_app(self) -> None:
        run(["rabbitmqctl", "start_app"], timeout=180)
        run(["rabbitmqctl", "await_startup"], timeout=180)
        self.wait_answering(120)

    def answering(self) -> bool:
        if not port_open(self.host, self.port):
            return False
        r = requests.get(self.admin.base + "/overview", auth=self.admin.auth, timeout=5)
        return r.status_code == 200

    def wait_answering(self, timeout: float) -> None:
        wait_until(self.answering, timeout,
                   f"RabbitMQ to answer on {self.port} and its management API", interval=0.5)

    def ensure_running(self) -> None:
        if not self.app_running():
            self.start_app()
        self.wait_answering(120)


class PostgresCluster:
    """The local PostgreSQL cluster serving the tests, driven with pg_ctlcluster."""

    def __init__(self, servers: ServerUrls) -> None:
        self.admin_url = servers.pg_admin_url
        parts = urlsplit(servers.pg_admin_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 5432
        self.version, self.name = self._find_cluster()

    def _find_cluster(self) -> tuple[str, str]:
        if not shutil.which("pg_lsclusters"):
            return "", ""
        out = run(["pg_lsclusters", "--no-header"]).stdout
        for line in out.splitlines():
            cols = line.split()
            if len(cols) >= 4 and cols[2] == str(self.port):
                return cols[0], cols[1]
        return "", ""

    def controllable(self) -> str | None:
        if self.host not in ("127.0.0.1", "localhost"):
            return f"PostgreSQL at {self.host} is not local"
        if not self.version:
            return f"no pg_ctlcluster cluster listens on port {self.port}"
        return None

    def _ctl(self, *args: str) -> None:
        run(["pg_ctlcluster", "--skip-systemctl-redirect", self.version, self.name, *args],
            timeout=180)

    def online(self) -> bool:
        out = run(["pg_lsclusters", "--no-header"]).stdout
        return any(line.split()[:2] == [self.version, self.name] and "online" in line.split()
                   for line in out.splitlines() if line.strip())

    def stop(self) -> None:
        self._ctl("stop", "-m", "fast")

    def start(self) -> None:
        self._ctl("start")
        self.wait_accepting(120)

    def accepting(self) -> bool:
        psycopg2.connect(self.admin_url, connect_timeout=2).close()
        return True

    def wait_accepting(self, timeout: float) -> None:
        wait_until(self.accepting, timeout, "PostgreSQL to accept connections", interval=0.5)

    def ensure_running(self) -> None:
        if not self.online():
            self.start()
        self.wait_accepting(120)


def redis_answering(url: str) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_timeout=2)
    try:
        return bool(client.ping())
    finally:
        client.close()


# -- one scenario -------------------------------------------------------------------------


@dataclass
class ScenarioResult:
    scenario: str
    storage_mode: str
    acknowledged: int
    stored: int
    lost: int
    duplicated: int
    resent_messages: int  # copies of accepted requests recognised by the store
    resent_samples: int
    producer_retries: int
    producer_failed: int
    producer_rejected: int
    stored_at_fault: int
    fault_at_s: float  # since the load started
    outage_s: float  # fault injected → component back
    writes_resumed_s: float | None  # fault injected → first new sample stored after it
    all_stored_s: float | None  # fault injected → every acknowledged sample stored
    load_s: float  # the load generator's elapsed time
    queue_peak: int | None  # most messages in metrics.ingest from the fault to the end
    queue_left: int | None
    dlq: int | None
    misordered_series: int
    log_dir: str
    details: dict[str, Any] = field(default_factory=dict)

    HEADER = ("| scenario | storage | acknowledged | stored | lost | duplicated | "
              "re-sent copies absorbed | producer retries | fault at | outage | "
              "writes resumed | all stored |")
    RULE = "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|"

    def row(self) -> str:
        def secs(value: float | None) -> str:
            return "never" if value is None else f"{value:.1f} s"

        return (f"| {self.scenario} | {self.storage_mode} | {self.acknowledged:,} | "
                f"{self.stored:,} | {self.lost:,} | {self.duplicated:,} | "
                f"{self.resent_messages:,} msgs / {self.resent_samples:,} samples | "
                f"{self.producer_retries:,} | {self.fault_at_s:.1f} s "
                f"({self.stored_at_fault:,} stored) | {self.outage_s:.1f} s | "
                f"{secs(self.writes_resumed_s)} | {secs(self.all_stored_s)} |")


class FaultReport:
    """Collects the rows of a session and keeps ``faults-results.json`` and
    ``faults-results.md`` up to date after each scenario."""

    def __init__(self, directory: Path) -> None:
        self.json_path = directory / "faults-results.json"
        self.md_path = directory / "faults-results.md"
        self.results: list[ScenarioResult] = []
        self.started = datetime.now(UTC)

    def add(self, result: ScenarioResult) -> None:
        self.results.append(result)
        self.json_path.write_text(json.dumps(
            {"started": self.started.isoformat(timespec="seconds"),
             "machine": machine_description(),
             "results": [asdict(r) for r in self.results]}, indent=2) + "\n")
        self.md_path.write_text(self.table() + "\n")
        print(f"\n{ScenarioResult.HEADER}\n{ScenarioResult.RULE}\n{result.row()}", flush=True)
        print(f"fault results: {self.md_path} and {self.json_path}", flush=True)

    def table(self) -> str:
        return "\n".join([ScenarioResult.HEADER, ScenarioResult.RULE,
                          *(r.row() for r in self.results)])


def machine_description() -> str:
    return f"{os.cpu_count()} cores, {sys.platform}, Python {sys.version.split()[0]}"


def storage_mode_of(database_url: str) -> str:
    conn = psycopg2.connect(database_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT value FROM lookout_meta WHERE key = 'storage_mode'")
            row = cur.fetchone()
            return str(row[0]) if row else "unknown"
    finally:
        conn.close()


def worker_log_summary(path: Path) -> dict[str, int]:
    """From the workers' JSON log: redelivered messages they recognised, write retries,
    broker reconnects, batches committed."""
    summary = {"batches": 0, "redeliveries_skipped": 0, "write_retries": 0,
               "broker_reconnects": 0, "dead_lettered": 0}
    if not path.exists():
        return summary
    for line in path.read_text(errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        message = entry.get("message")
        if message == "batch committed":
            summary["batches"] += 1
            summary["redeliveries_skipped"] += int(entry.get("duplicates", 0))
            summary["dead_lettered"] += int(entry.get("dead_lettered", 0))
        elif message == "database write failed, retrying":
            summary["write_retries"] += 1
        elif message == "broker connection lost, reconnecting":
            summary["broker_reconnects"] += 1
    return summary


@dataclass
class FaultRun:
    """What a scenario's fault acts on."""

    stack: Stack
    ingest: ServiceProcess
    worker: ServiceProcess
    worker_env: dict[str, str]
    notes: dict[str, Any] = field(default_factory=dict)  # what the fault saw, for the report

    def worker_gauge(self, name: str) -> float | None:
        """A gauge from the current worker's /metrics, or None if it does not answer."""
        assert self.worker.health_url is not None
        url = self.worker.health_url.replace("/health/ready", "/metrics")
        try:
            text = requests.get(url, timeout=2).text
        except requests.RequestException:
            return None
        match = re.search(rf"^{re.escape(name)} ([0-9.e+-]+)$", text, re.MULTILINE)
        return float(match.group(1)) if match else None

    def start_worker(self) -> ServiceProcess:
        self.worker = self.stack.worker(**self.worker_env)
        return self.worker


def run_scenario(
    name: str,
    stack: Stack,
    admin: RabbitAdmin,
    amqp_url: str,
    report: FaultReport,
    *,
    inject: Callable[[FaultRun], None],
    restore: Callable[[FaultRun], None],
    hold_s: float,
    spec: LoadSpec | None = None,
    fault_after_fraction: float = 0.2,
    drain_timeout_s: float = 240,
) -> ScenarioResult:
    """Start ingest and a worker, drive the load, inject the fault once
    ``fault_after_fraction`` of the load is stored, hold it ``hold_s`` seconds, restore
    it (always, whatever happens), wait for the load to finish and the queue to drain,
    then account for every sample and report the row."""
    spec = spec or LoadSpec()
    worker_env = {"LOG_FORMAT": "json"}
    ingest = stack.ingest()
    run_ = FaultRun(stack, ingest, stack.worker(**worker_env), worker_env)
    mode = storage_mode_of(stack.database_url)
    vhost = vhost_of(amqp_url)
    timeline = Timeline(stack.database_url, admin, vhost).start()
    load = LoadGenerator(spec, ingest.url, stack.log_dir).start()  # type: ignore[attr-defined]
    try:
        threshold = int(spec.total * fault_after_fraction)
        wait_until(lambda: timeline.last_stored() >= threshold or not load.running, 120,
                   f"{threshold:,} samples stored before the fault", interval=0.2)
        assert load.running, ("the load finished before the fault could be injected:\n"
                              + load.log_tail())
        fault_at = timeline.now()
        stored_at_fault = timeline.last_stored()
        try:
            inject(run_)
            time.sleep(hold_s)
        finally:
            restore_started = timeline.now()
            restore(run_)
        back_at = timeline.now()
        summary = load.wait(timeout=360)
        drained = _wait_quietly(lambda: timeline.last_stored() >= summary.acknowledged,
                                drain_timeout_s)
        if drained:
            _wait_quietly(lambda: admin.queue(vhost, "metrics.ingest").get("messages") == 0, 30)
        time.sleep(3)  # anything still in flight would show up as more rows now
    finally:
        load.stop()
        timeline.stop()

    account = take_account(stack.database_url, spec, summary)
    queue = _queue_or_none(admin, vhost, "metrics.ingest")
    dlq = _queue_or_none(admin, vhost, "metrics.dlq")
    stalled_at = timeline.stored_at(restore_started)
    resumed = timeline.first(restore_started,
                             lambda p: p.stored is not None and p.stored > stalled_at)
    all_stored = timeline.first(fault_at, lambda p: p.stored is not None
                                and p.stored >= summary.acknowledged)
    result = ScenarioResult(
        scenario=name, storage_mode=mode, acknowledged=summary.acknowledged,
        stored=account.stored, lost=account.lost, duplicated=account.duplicated,
        resent_messages=account.resent_messages, resent_samples=account.resent_samples,
        producer_retries=summary.retries, producer_failed=summary.failed,
        producer_rejected=summary.rejected, stored_at_fault=stored_at_fault,
        fault_at_s=round(fault_at, 1), outage_s=round(back_at - fault_at, 1),
        writes_resumed_s=None if resumed is None else round(resumed - fault_at, 1),
        all_stored_s=None if all_stored is None else round(all_stored - fault_at, 1),
        load_s=summary.elapsed_s,
        queue_peak=timeline.queue_peak(fault_at, timeline.now()),
        queue_left=None if queue is None else queue.get("messages"),
        dlq=None if dlq is None else dlq.get("messages", 0),
        misordered_series=account.misordered_series, log_dir=str(stack.log_dir),
        details={
            "load": asdict(spec), "producer": asdict(summary),
            "messages_acknowledged": account.messages_acknowledged,
            "messages_ingested": account.messages_ingested,
            "samples_in_ingested_messages": account.samples_in_ingested,
            "distinct_series_time": account.distinct,
            "restore_took_s": round(back_at - restore_started, 1),
            # since the broker (re)started; a restart resets these statistics
            "broker_redelivered": ((queue or {}).get("message_stats") or {}).get("redeliver"),
            "worker": worker_log_summary(stack.log_dir / "lookout_worker.log"),
            "fault": run_.notes,
            "lost_examples": account.lost_examples,
            "duplicated_examples": account.duplicated_examples,
        },
    )
    report.add(result)
    print(f"logs: {stack.log_dir}  details: {json.dumps(result.details)}", flush=True)
    return result


def assert_nothing_lost_or_duplicated(result: ScenarioResult, spec: LoadSpec | None = None,
                                      stack: Stack | None = None) -> None:
    spec = spec or LoadSpec()
    logs = ""
    if stack is not None and (result.lost or result.duplicated):
        logs = "\n".join(f"--- {p.module} ---\n{p.log_tail(4000)}" for p in stack.processes)
    assert result.producer_rejected == 0 and result.producer_failed == 0, (
        f"the producer did not get every sample acknowledged (rejected "
        f"{result.producer_rejected:,}, gave up on {result.producer_failed:,}); "
        f"see {result.log_dir}/producer.log")
    assert result.acknowledged == spec.total, result
    assert result.lost == 0, (f"{result.lost:,} acknowledged samples lost: "
                              f"{result.details['lost_examples']}\n{logs}")
    assert result.duplicated == 0, (f"{result.duplicated:,} samples stored twice or unsent: "
                                    f"{result.details['duplicated_examples']}\n{logs}")
    assert result.stored == result.acknowledged
    assert result.misordered_series == 0
    # Copies of accepted requests may reach the store (a retry after a lost answer);
    # each must be a whole request whose samples were all recognised and skipped.
    assert result.resent_messages >= 0, "an acknowledged request never reached the store"
    assert result.resent_samples == result.resent_messages * spec.batch, result.details
    assert result.queue_left == 0, f"{result.queue_left} messages left in metrics.ingest"
    assert result.dlq == 0, f"{result.dlq} messages dead-lettered"


def _wait_quietly(predicate: Callable[[], bool], timeout: float) -> bool:
    """Like ``wait_until``, but a timeout is an answer (the account will tell why)."""
    try:
        wait_until(predicate, timeout, "drain", interval=0.5)
        return True
    except AssertionError:
        return False


def _queue_or_none(admin: RabbitAdmin, vhost: str, queue: str) -> dict[str, Any] | None:
    try:
        return admin.queue(vhost, queue)
    except requests.RequestException:
        return None
