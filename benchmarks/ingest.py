"""End-to-end ingest throughput against a straight COPY of the same rows.

    make bench-ingest            (or: .venv/bin/python -m benchmarks.ingest --help)

Starts ingest (gunicorn) and one worker on a database and vhost of their own, then
runs the producer's load generator (HTTP, JSON) several times and measures samples/s
from the first request until the last sample is committed. In the same run it COPYs
the same rows straight into the same table (binary COPY, the worker's own format)
and prints both rates, the ratio (goal ≥ 0.5), and the worker's resident memory.
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import numpy as np
import psutil
import psycopg2

from lookout_common.db.connection import drop_database, ensure_database
from lookout_common.db.schema import migrate
from lookout_common.settings import DatabaseSettings
from lookout_common.testing import RabbitAdmin
from lookout_worker.copy_format import COPY_SAMPLES_SQL, encode_sample_rows
from tests.stack import ServiceProcess, free_port, wait_until


def count(url: str) -> int:
    """Committed samples, from the worker's per-message log (committed in the same
    transaction as the samples): cheap to poll, unlike count(*) over the hypertable."""
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT coalesce(sum(samples), 0) FROM ingested_messages")
            return cur.fetchone()[0]
    finally:
        conn.close()


def count_rows(url: str) -> int:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM samples")
            return cur.fetchone()[0]
    finally:
        conn.close()


class RssSampler(threading.Thread):
    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.samples: list[int] = []
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.25):
            try:
                self.samples.append(self.process.memory_info().rss)
            except psutil.Error:
                return


def run_load(url: str, args: argparse.Namespace, total: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "lookout_producer", "--load", "--url", url,
         "--rate", str(args.rate), "--series", str(args.series), "--batch", str(args.batch),
         "--concurrency", str(args.concurrency), "--total", str(total)],
        capture_output=True, text=True, check=True,
    )


Rows = tuple[np.ndarray, np.ndarray, np.ndarray]


def copy_reference(url: str, rows: Rows, reps: int) -> list[float]:
    payload = encode_sample_rows(*rows)
    rates = []
    conn = psycopg2.connect(url)
    try:
        for _ in range(reps):
            with conn.cursor() as cur:
                cur.execute("TRUNCATE samples")
            conn.commit()
            started = time.perf_counter()
            with conn.cursor() as cur:
                cur.copy_expert(COPY_SAMPLES_SQL.format(table="samples"), io.BytesIO(payload))
            conn.commit()
            rates.append(len(rows[0]) / (time.perf_counter() - started))
    finally:
        conn.close()
    return rates


def read_rows(url: str, limit: int) -> Rows:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("""SELECT (extract(epoch FROM time) * 1000)::bigint, series_id, value
                           FROM samples ORDER BY time DESC LIMIT %s""", (limit,))
            data = cur.fetchall()
    finally:
        conn.close()
    t, s, v = zip(*data, strict=True)
    return np.array(t, dtype=np.int64), np.array(s, dtype=np.int32), np.array(v, dtype=np.float64)


RW_SAMPLES_PER_SERIES = 5
RW_SAMPLES_PER_REQUEST = 5_000


def remote_write_bodies(args: argparse.Namespace) -> list[bytes]:
    """snappy-compressed WriteRequests, as a Prometheus agent sends them: 1,000 series
    with 5 samples each per request, every (series, time) distinct across requests."""
    import cramjam

    from lookout_ingest.proto.remote_pb2 import WriteRequest

    n_series = RW_SAMPLES_PER_REQUEST // RW_SAMPLES_PER_SERIES
    requests_total = args.runs * (args.samples // RW_SAMPLES_PER_REQUEST)
    base_ms = int(time.time() * 1000) - 1_800_000
    bodies = []
    for r in range(requests_total):
        request = WriteRequest()
        for i in range(n_series):
            ts = request.timeseries.add()
            ts.labels.add(name="__name__", value="rw_bench_value")
            ts.labels.add(name="instance", value=f"host-{i % 50:03d}:9100")
            ts.labels.add(name="job", value="bench")
            ts.labels.add(name="series", value=f"s{i:05d}")
            for j in range(RW_SAMPLES_PER_SERIES):
                ts.samples.add(value=float(r * 10 + j),
                               timestamp=base_ms + (r * RW_SAMPLES_PER_SERIES + j) * 10)
        bodies.append(bytes(cramjam.snappy.compress_raw(request.SerializeToString())))
    return bodies


def post_remote_write(url: str, bodies: list[bytes], concurrency: int) -> None:
    from concurrent.futures import ThreadPoolExecutor

    import requests

    headers = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
               "X-Prometheus-Remote-Write-Version": "0.1.0"}
    local = threading.local()

    def send(body: bytes) -> None:
        session = getattr(local, "session", None) or requests.Session()
        local.session = session
        response = session.post(url + "/api/v1/write", data=body, headers=headers, timeout=60)
        if response.status_code != 204:
            raise SystemExit(f"remote_write answered {response.status_code}: {response.text}")

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(send, bodies))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--samples", type=int, default=300_000, help="samples per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--series", type=int, default=1_000)
    parser.add_argument("--batch", type=int, default=5_000, help="samples per HTTP request")
    parser.add_argument("--rate", type=int, default=1_000_000, help="producer's target rate")
    parser.add_argument("--concurrency", type=int, default=4, help="producer sender threads")
    parser.add_argument("--ingest-workers", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1,
                        help="worker processes (competing consumers)")
    parser.add_argument("--skip-remote-write", action="store_true",
                        help="only the JSON path and the COPY reference")
    parser.add_argument("--storage-mode", choices=["auto", "timescaledb", "postgres"],
                        default="auto")
    parser.add_argument("--worker-batch-samples", type=int, default=None,
                        help="WORKER_BATCH_SAMPLES for this run (default: the setting's)")
    parser.add_argument("--worker-batch-ms", type=int, default=None)
    parser.add_argument("--pg", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672")
    parser.add_argument("--rabbitmq-api", default="http://guest:guest@127.0.0.1:15672")
    args = parser.parse_args()

    name = f"lookout_bench_{uuid.uuid4().hex[:8]}"
    db_url = args.pg.rsplit("/", 1)[0] + "/" + name
    admin = RabbitAdmin(args.rabbitmq_api)
    ensure_database(db_url)
    admin.create_vhost(name)
    mode = migrate(DatabaseSettings(database_url=db_url, storage_mode=args.storage_mode))
    env = {"DATABASE_URL": db_url, "AMQP_URL": f"{args.amqp}/{name}", "LOG_LEVEL": "WARNING"}
    if args.worker_batch_samples:
        env["WORKER_BATCH_SAMPLES"] = str(args.worker_batch_samples)
    if args.worker_batch_ms:
        env["WORKER_BATCH_MS"] = str(args.worker_batch_ms)
    logs = Path(tempfile.mkdtemp(prefix="lookout-bench-"))
    ingest_port, worker_port = free_port(), free_port()
    ingest = ServiceProcess("lookout_ingest", {**env, "INGEST_PORT": str(ingest_port),
                                               "INGEST_WORKERS": str(args.ingest_workers)},
                            logs, f"http://127.0.0.1:{ingest_port}/health/ready")
    workers = []
    for n in range(args.workers):
        port = worker_port if n == 0 else free_port()
        workers.append(ServiceProcess(
            "lookout_worker", {**env, "WORKER_PORT": str(port)}, logs / f"w{n}",
            f"http://127.0.0.1:{port}/health/ready"))
        (logs / f"w{n}").mkdir()
    worker = workers[0]
    url = f"http://127.0.0.1:{ingest_port}"
    try:
        ingest.start()
        for w in workers:
            w.start()
        assert worker.proc is not None
        # Warm-up: series created, caches and connections established.
        run_load(url, args, 2 * args.series)
        wait_until(lambda: count(db_url) == 2 * args.series, 60, "warm-up stored")
        e2e, rss = [], RssSampler(worker.proc.pid)
        rss.start()
        for run in range(args.runs):
            before = count(db_url)
            started = time.perf_counter()
            run_load(url, args, args.samples)
            target = before + args.samples
            wait_until(lambda t=target: count(db_url) >= t, 600, "run stored",
                       interval=0.02)
            elapsed = time.perf_counter() - started
            e2e.append(args.samples / elapsed)
            print(f"run {run + 1}: {args.samples:,} samples end to end in {elapsed:.2f} s "
                  f"= {e2e[-1]:,.0f} samples/s", flush=True)
        rss.stopped.set()
        remote_write = []
        bodies = [] if args.skip_remote_write else remote_write_bodies(args)
        per_run = len(bodies) // args.runs
        for run in range(args.runs if bodies else 0):
            before = count(db_url)
            started = time.perf_counter()
            post_remote_write(url, bodies[run * per_run:(run + 1) * per_run], args.concurrency)
            target = before + per_run * RW_SAMPLES_PER_REQUEST
            wait_until(lambda t=target: count(db_url) >= t, 600, "run stored", interval=0.02)
            elapsed = time.perf_counter() - started
            remote_write.append(per_run * RW_SAMPLES_PER_REQUEST / elapsed)
            print(f"remote_write run {run + 1}: {per_run * RW_SAMPLES_PER_REQUEST:,} samples end "
                  f"to end in {elapsed:.2f} s = {remote_write[-1]:,.0f} samples/s", flush=True)
        expected = 2 * args.series + args.runs * (args.samples + per_run * RW_SAMPLES_PER_REQUEST)
        stored = count_rows(db_url)
        if stored != expected:
            raise SystemExit(f"stored {stored} samples, expected {expected}")
        rows = read_rows(db_url, args.samples)
        ingest.stop()
        for w in workers:
            w.stop()
        copy = copy_reference(db_url, rows, args.runs)
        for run, rate in enumerate(copy):
            print(f"COPY {run + 1}: {rate:,.0f} samples/s", flush=True)
    finally:
        ingest.stop()
        for w in workers:
            w.stop()
        drop_database(db_url)
        admin.delete_vhost(name)
    e2e_median, copy_median = statistics.median(e2e), statistics.median(copy)
    rw_median = statistics.median(remote_write) if remote_write else float("nan")
    rss_mib = statistics.median(rss.samples) / 2**20 if rss.samples else float("nan")
    print()
    print(f"storage mode:            {mode.value}")
    print(f"series:                  {args.series:,}   samples per run: {args.samples:,}   "
          f"batch per request: {args.batch:,}")
    print(f"workers:                 {args.workers}")
    print(f"worker batch:            {env.get('WORKER_BATCH_SAMPLES', 'default')} samples / "
          f"{env.get('WORKER_BATCH_MS', 'default')} ms")
    print(f"end to end (median):     {e2e_median:,.0f} samples/s")
    print(f"straight COPY (median):  {copy_median:,.0f} samples/s")
    print(f"ratio:                   {e2e_median / copy_median:.2f}   (goal >= 0.5)")
    print(f"remote_write end to end: {rw_median:,.0f} samples/s   (ratio to COPY "
          f"{rw_median / copy_median:.2f}; {RW_SAMPLES_PER_REQUEST:,} samples per request, "
          f"{RW_SAMPLES_PER_SERIES} per series, bodies built before the clock starts)")
    rss_max = max(rss.samples) / 2**20 if rss.samples else float("nan")
    print(f"worker RSS (median):     {rss_mib:.0f} MiB   (max {rss_max:.0f} MiB; the first worker)")


if __name__ == "__main__":
    main()
