"""Live push: ingest-to-client latency under load, and clients per query process.

    make bench-live              (or: .venv/bin/python -m benchmarks.live --help)

Starts ingest, one worker and one query process (QUERY_ASYNC_MODE of each mode asked
for) on a database, vhost and Redis prefix of their own, then:

1. Latency. A background loader POSTs ``--load`` samples/s (1,000 series). A probe
   client subscribes to ``bench_probe`` and every 0.5 s a probe sample is POSTed; the
   latency is from just before the POST until the client received (a) the ``result``
   of its subscription holding the probe's value and (b) the ``metric`` stream message
   holding the probe point. Goal: p95 ≤ 1 s. Reference in the same run: the same POST
   followed by polling ``/prometheus/api/v1/query`` every 50 ms until the value shows
   (what a dashboard without push could do at best).
2. Clients. N clients (gevent greenlets in helper processes, WebSocket transport)
   connect to the one query process; probe samples are POSTed and every client
   records when the ``metric`` message arrived. The broadcast round trip of a client is
   its arrival time minus the message's ``server_time`` (the emit, through the Redis
   message queue, to the client). N grows until the p95 passes 250 ms. Goal: ≥ 1,000.
   The clients share the machine's cores with the server (run at lower priority,
   ``--client-nice``, as they stand for browsers elsewhere); the query process's CPU
   time per delivery and its memory are printed as well, the figures least disturbed
   by other work on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import psutil
import redis
import requests

from lookout_common.db.connection import drop_database, ensure_database
from lookout_common.db.schema import migrate
from lookout_common.settings import DatabaseSettings
from lookout_common.testing import RabbitAdmin
from tests.stack import ServiceProcess, free_port


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


class Loader(threading.Thread):
    """POSTs ``rate`` samples/s in 10 requests per second (1,000 series)."""

    def __init__(self, url: str, rate: int) -> None:
        super().__init__(daemon=True)
        self.url, self.rate = url + "/api/v1/metrics", rate
        self.stop = threading.Event()
        self.sent = 0
        self.started = time.monotonic()

    def run(self) -> None:
        session = requests.Session()
        self.started = time.monotonic()
        per_request = max(1, self.rate // 10)
        tick = time.monotonic()
        while not self.stop.is_set():
            # Agents' samples carry their scrape time, a little in the past.
            t = int(time.time() * 1000) - 2000
            items: list[Any] = [{"name": "bench_load", "value": i, "labels": {"s": str(i % 1000)},
                      "timestamp": t} for i in range(per_request)]
            session.post(self.url, json=items, timeout=10)
            self.sent += per_request
            tick += 0.1
            self.stop.wait(max(0.0, tick - time.monotonic()))


def latency_run(ingest: str, query: str, rate: int, probes: int) -> dict[str, list[float]]:
    import socketio

    arrivals: dict[tuple[str, float], float] = {}
    lock = threading.Lock()
    client = socketio.Client()

    @client.on("result")
    def on_result(data: dict[str, Any]) -> None:
        now = time.time()
        with lock:
            for series in data["result"]:
                for _, v in series["values"]:
                    arrivals.setdefault(("result", float(v)), now)

    @client.on("metric")
    def on_metric(data: dict[str, Any]) -> None:
        now = time.time()
        with lock:
            for p in data["points"]:
                if p["name"] == "bench_probe":
                    arrivals.setdefault(("metric", float(p["value"])), now)

    client.connect(query, transports=["websocket"], wait_timeout=10)
    assert client.transport() == "websocket"
    ack = client.call("subscribe", {"id": "p", "query": "bench_probe", "range": 60, "step": 1})
    assert ack["ok"], ack
    loader = Loader(ingest, rate)
    loader.start()
    time.sleep(3)
    out: dict[str, list[float]] = {"result": [], "metric": [], "poll": []}
    session = requests.Session()
    try:
        for n in range(1, probes + 1):
            value = 1_000_000.0 + n
            sent = time.time()
            r = session.post(ingest + "/api/v1/metrics", json=[
                {"name": "bench_probe", "value": value, "timestamp": int(sent * 1000)}],
                timeout=10)
            assert r.status_code == 202, r.text
            deadline = sent + 10
            while time.time() < deadline:
                with lock:
                    done = ("result", value) in arrivals and ("metric", value) in arrivals
                if done:
                    break
                time.sleep(0.005)
            with lock:
                for kind in ("result", "metric"):
                    if (kind, value) in arrivals:
                        out[kind].append(arrivals[(kind, value)] - sent)
            # Reference: the same wait by polling the query API.
            value += 0.5
            sent = time.time()
            session.post(ingest + "/api/v1/metrics", json=[
                {"name": "bench_poll", "value": value, "timestamp": int(sent * 1000)}],
                timeout=10)
            while time.time() < sent + 10:
                body = session.get(query + "/prometheus/api/v1/query",
                                   params={"query": "bench_poll"}, timeout=10).json()
                got = body["data"]["result"]
                if got and float(got[0]["value"][1]) == value:
                    out["poll"].append(time.time() - sent)
                    break
                time.sleep(0.05)
            time.sleep(0.3)
    finally:
        loader.stop.set()
        client.disconnect()
    print(f"  background load: {loader.sent / (time.monotonic() - loader.started):,.0f} "
          "samples/s sent "
          f"(target {rate:,})", flush=True)
    return out


# -- many clients ------------------------------------------------------------------------

def tree_usage(pid: int) -> tuple[float, int]:
    """CPU seconds (user + system) and resident bytes of a process and its children."""
    root = psutil.Process(pid)
    cpu, rss = 0.0, 0
    for proc in (root, *root.children(recursive=True)):
        try:
            times = proc.cpu_times()
            cpu += times.user + times.system
            rss += proc.memory_info().rss
        except psutil.NoSuchProcess:
            pass
    return cpu, rss


def clients_run(ingest: str, query: str, n: int, broadcasts: int,
                server_pid: int, nice: int) -> tuple[int, list[float], float, int]:
    procs = max(1, n // 250)
    hold = n * 0.006 + 8 + broadcasts * 0.5  # connect, wait, broadcasts
    children = [subprocess.Popen(
        ["nice", "-n", str(nice), sys.executable, "-m", "benchmarks.live_clients", query,
         str(n // procs + (1 if i < n % procs else 0)), str(hold)],
        stdout=subprocess.PIPE, text=True) for i in range(procs)]
    time.sleep(n * 0.006 + 6)  # let them connect
    session = requests.Session()
    cpu_before, rss = tree_usage(server_pid)
    for b in range(broadcasts):
        session.post(ingest + "/api/v1/metrics", json=[
            {"name": "bench_probe", "value": b, "timestamp": int(time.time() * 1000)}],
            timeout=10)
        time.sleep(0.5)
    cpu = tree_usage(server_pid)[0] - cpu_before
    connected, delays = 0, []
    for child in children:
        out, _ = child.communicate(timeout=hold + 180)
        line = json.loads(out.strip().splitlines()[-1])
        connected += line["connected"]
        delays += line["delays"]
    return connected, delays, cpu, rss


# -- the stack ---------------------------------------------------------------------------

def start_stack(env: dict[str, str], logs: Path, mode: str, clients: int
                ) -> tuple[list[ServiceProcess], str, str]:
    ingest_port, worker_port, query_port = free_port(), free_port(), free_port()
    ingest = ServiceProcess("lookout_ingest", {**env, "INGEST_PORT": str(ingest_port)},
                            logs, f"http://127.0.0.1:{ingest_port}/health/ready")
    worker = ServiceProcess("lookout_worker", {**env, "WORKER_PORT": str(worker_port)},
                            logs, f"http://127.0.0.1:{worker_port}/health/ready")
    query = ServiceProcess("lookout_query", {
        **env, "QUERY_PORT": str(query_port), "QUERY_ASYNC_MODE": mode,
        "QUERY_THREADS": str(min(2048, clients + 64))},
        logs, f"http://127.0.0.1:{query_port}/health/ready")
    query.log_path = logs / f"query-{mode}.log"
    for p in (ingest, worker, query):
        p.start()
    return [ingest, worker, query], f"http://127.0.0.1:{ingest_port}", \
        f"http://127.0.0.1:{query_port}"


def summary(name: str, values: list[float]) -> str:
    if not values:
        return f"{name}: no samples"
    ms = [v * 1000 for v in values]
    return (f"{name}: n={len(ms)} p50={statistics.median(ms):.0f} ms "
            f"p95={percentile(ms, 95):.0f} ms max={max(ms):.0f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--modes", default="gevent,threading",
                        help="QUERY_ASYNC_MODE values to measure, comma-separated")
    parser.add_argument("--load", type=int, default=10_000, help="background samples/s")
    parser.add_argument("--probes", type=int, default=40)
    parser.add_argument("--clients", default="250,500,1000,1500,2000",
                        help="client counts to try, in order")
    parser.add_argument("--broadcasts", type=int, default=20)
    parser.add_argument("--client-nice", type=int, default=10,
                        help="niceness of the client processes: they stand for browsers on "
                             "other machines and should not take the server's CPU")
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--rabbitmq-api", default="http://guest:guest@127.0.0.1:15672")
    args = parser.parse_args()

    name = f"lookout_bench_{uuid.uuid4().hex[:8]}"
    db_url = args.pg.rsplit("/", 1)[0] + "/" + name
    admin = RabbitAdmin(args.rabbitmq_api)
    ensure_database(db_url)
    admin.create_vhost(name)
    migrate(DatabaseSettings(database_url=db_url, storage_mode="postgres"))
    env = {"DATABASE_URL": db_url, "AMQP_URL": f"{args.amqp}/{name}", "LOG_LEVEL": "WARNING",
           "REDIS_URL": args.redis, "REDIS_KEY_PREFIX": f"{name}:", "STORAGE_MODE": "postgres",
           "QUERY_DASHBOARDS_DIR": "", "INGEST_RATE_LIMIT": "100000/second"}
    logs = Path(tempfile.mkdtemp(prefix="lookout-bench-live-"))
    print(f"logs: {logs}", flush=True)
    results: dict[str, Any] = {}
    try:
        for mode in args.modes.split(","):
            counts = [int(c) for c in args.clients.split(",")]
            processes, ingest, query = start_stack(env, logs, mode, max(counts))
            try:
                print(f"== QUERY_ASYNC_MODE={mode}", flush=True)
                lat = latency_run(ingest, query, args.load, args.probes)
                for kind in ("result", "metric", "poll"):
                    print("  " + summary(f"POST -> {kind}" if kind != "poll" else
                                         "reference: POST -> seen by polling the API",
                                         lat[kind]), flush=True)
                p95_push = percentile(lat["result"], 95) if lat["result"] else float("nan")
                p95_poll = percentile(lat["poll"], 95) if lat["poll"] else float("nan")
                print(f"  ratio p95 push/poll: {p95_push / p95_poll:.2f}; goal p95 <= 1000 ms: "
                      f"{'met' if p95_push <= 1 else 'MISSED'}", flush=True)
                best = 0
                for n in counts:
                    assert processes[2].proc is not None
                    connected, delays, cpu, rss = clients_run(
                        ingest, query, n, args.broadcasts, processes[2].proc.pid,
                        args.client_nice)
                    p95 = percentile(delays, 95) * 1000 if delays else float("inf")
                    expected = connected * args.broadcasts
                    print(f"  {n} clients: {connected} connected, {len(delays)}/{expected} "
                          f"deliveries, broadcast p50={statistics.median(delays) * 1000:.0f} ms "
                          f"p95={p95:.0f} ms; query process: "
                          f"{cpu * 1e6 / max(1, len(delays)):.0f} µs CPU per delivery, "
                          f"{rss / 2**20:.0f} MiB resident" if delays
                          else f"  {n} clients: none delivered", flush=True)
                    if connected < n or p95 > 250 or len(delays) < expected:
                        break
                    best = n
                print(f"  clients at p95 <= 250 ms: {best:,} (goal >= 1,000: "
                      f"{'met' if best >= 1000 else 'MISSED'})", flush=True)
                results[mode] = {"latency": lat, "clients": best}
            finally:
                for p in processes:
                    p.stop()
    finally:
        try:
            redis.Redis.from_url(args.redis).delete(f"{name}:live:recent")
        except redis.RedisError:
            pass
        admin.delete_vhost(name)
        drop_database(db_url)
        os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)


if __name__ == "__main__":
    main()
