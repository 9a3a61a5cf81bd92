"""A real Prometheus remote-writes to a real Lookout stack, and both agree.

Prometheus (Debian's ``prometheus`` package; the test skips without the binary) scrapes
itself and Lookout's ingest every second and remote-writes to a gunicorn ingest and a
worker on the test's own database and vhost. Once Lookout holds what Prometheus holds
for a 30-second window, the samples of a few metrics — ``up``, ``prometheus_build_info``,
a counter, a histogram's buckets — are compared: the same series (Prometheus's
``job``/``instance`` labels included), the same millisecond timestamps, the same float64
values, read from Prometheus's own query API at a fixed time and from Lookout's
``samples`` table. So is the metadata Prometheus sends (type, help) for a counter.
"""

from __future__ import annotations

import math
import shutil
import signal
import subprocess
import time
from pathlib import Path

import cramjam
import pytest
import requests

from lookout_common.settings import StorageMode

from .stack import free_port, wait_until
from .test_pipeline import Stack

PROMETHEUS = shutil.which("prometheus")
pytestmark = pytest.mark.skipif(
    PROMETHEUS is None,
    reason="the prometheus binary is not installed (Debian: apt-get install prometheus)",
)
WINDOW_S = 30
METRICS = ("up", "prometheus_build_info", "prometheus_http_requests_total",
           "prometheus_http_request_duration_seconds_bucket")
STALE_NAN_BITS = 0x7FF0000000000002


class Prometheus:
    """``prometheus`` on a free 127.0.0.1 port, storage and config in ``directory``."""

    def __init__(self, directory: Path, remote_write_url: str, ingest_target: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = directory / "prometheus.log"
        config = directory / "prometheus.yml"
        config.write_text(f"""
global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: prometheus
    static_configs: [{{targets: ["127.0.0.1:{self.port}"]}}]
  - job_name: lookout_ingest
    static_configs: [{{targets: ["{ingest_target}"]}}]
remote_write:
  - url: {remote_write_url}
    remote_timeout: 10s
    queue_config: {{batch_send_deadline: 200ms, max_samples_per_send: 500,
                    min_backoff: 50ms, max_backoff: 1s}}
    metadata_config: {{send: true, send_interval: 1s}}
""")
        self.command = [
            PROMETHEUS, f"--config.file={config}", f"--storage.tsdb.path={directory / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{self.port}", "--log.level=info",
        ]
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Prometheus:
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.command, stdout=self._log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        wait_until(self._ready, 60, f"prometheus at {self.url}")
        return self

    def _ready(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"prometheus exited with {self.proc.returncode}:\n"
                                 + self.log_path.read_text()[-3000:])
        return requests.get(f"{self.url}/-/ready", timeout=2).status_code == 200

    def api(self, path: str, **params: object) -> object:
        r = requests.get(f"{self.url}/api/v1/{path}", params=params, timeout=10)
        r.raise_for_status()
        body = r.json()
        assert body["status"] == "success", body
        return body["data"]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if getattr(self, "_log", None):
            self._log.close()


@pytest.fixture
def stack(fresh_database_url, amqp_url, tmp_path, servers, redis_key_prefix):
    s = Stack(fresh_database_url, amqp_url, StorageMode.POSTGRES, tmp_path,
              redis_url=servers.redis_url, redis_key_prefix=redis_key_prefix)
    yield s
    s.close()


@pytest.fixture
def prometheus(stack, tmp_path):
    ingest = stack.ingest()
    stack.worker()
    empty_write_request = bytes(cramjam.snappy.compress_raw(b""))
    r = requests.post(f"{ingest.url}/api/v1/write", data=empty_write_request, timeout=10,
                      headers={"Content-Encoding": "snappy",
                               "Content-Type": "application/x-protobuf"})
    assert r.status_code == 204, (
        f"ingest answers {r.status_code} to an empty remote_write request: is "
        "remote_write_api registered in lookout_ingest.app.create_app?")
    server = Prometheus(tmp_path, f"{ingest.url}/api/v1/write",
                        ingest.url.removeprefix("http://")).start()
    yield server
    server.stop()


def prometheus_samples(prometheus: Prometheus, metric: str, at: float) -> dict:
    """{labels: [(timestamp_ms, value), ...]} for ``metric[WINDOW_S s]`` at ``at``."""
    data = prometheus.api("query", query=f"{metric}[{WINDOW_S}s]", time=f"{at:.3f}")
    assert data["resultType"] == "matrix"
    return {
        _key({k: v for k, v in series["metric"].items() if k != "__name__"}):
            [(round(float(ts) * 1000), float(value)) for ts, value in series["values"]]
        for series in data["result"]
    }


def lookout_samples(stack: Stack, metric: str, at: float) -> dict:
    """The same, from Lookout's tables. Prometheus's queries never return its stale
    markers, so they are left out here too."""
    hi = round(at * 1000)
    lo = hi - WINDOW_S * 1000
    rows = stack.sql("""
        SELECT s.labels, (extract(epoch FROM x.time) * 1000)::bigint AS ms, x.value,
               float8send(x.value) AS bits
        FROM samples x JOIN series s ON s.id = x.series_id
        WHERE s.metric = %s ORDER BY s.id, x.time""", (metric,))
    out: dict = {}
    for labels, ms, value, bits in rows:
        if lo <= ms <= hi and int.from_bytes(bytes(bits), "big") != STALE_NAN_BITS:
            out.setdefault(_key(labels), []).append((ms, value))
    return out


def _key(labels: dict) -> tuple:
    return tuple(sorted(labels.items()))


def _same_series(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(_same(a[key], b[key]) for key in a)


def _same(a: list, b: list) -> bool:
    return len(a) == len(b) and all(
        ta == tb and (va == vb or (math.isnan(va) and math.isnan(vb)))
        for (ta, va), (tb, vb) in zip(a, b, strict=True))


@pytest.mark.timeout(300)
def test_prometheus_and_lookout_hold_the_same_samples(prometheus, stack):
    # Let Prometheus scrape for a window's worth, then fix the time to compare at.
    wait_until(lambda: stack.stored() > 0, 60, "the first remote-written samples in Lookout")
    time.sleep(WINDOW_S / 3)
    at = time.time() - 2
    expected = {metric: prometheus_samples(prometheus, metric, at) for metric in METRICS}
    for metric, series in expected.items():
        assert series, f"Prometheus has no {metric} in the window"
    assert {dict(k)["job"] for k in expected["up"]} == {"prometheus", "lookout_ingest"}
    assert all(len(samples) >= 5 for samples in expected["up"].values()), expected["up"]
    compared = sum(len(s) for series in expected.values() for s in series.values())
    print(f"comparing {compared} samples of {sum(map(len, expected.values()))} series")

    def lookout_caught_up() -> bool:
        return all(_same_series(lookout_samples(stack, m, at), expected[m]) for m in METRICS)

    try:
        wait_until(lookout_caught_up, 60, "Lookout to hold what Prometheus holds")
    except AssertionError:
        for metric in METRICS:  # say what differs
            got = lookout_samples(stack, metric, at)
            for key, samples in expected[metric].items():
                assert _same(got.get(key, []), samples), (metric, dict(key), got.get(key),
                                                         samples)
            assert set(got) == set(expected[metric]), metric
        raise
    # Metadata: Prometheus sends what its targets said about their metrics.
    [want] = prometheus.api("metadata", metric="prometheus_http_requests_total")[
        "prometheus_http_requests_total"]

    def metadata_stored() -> list:
        return stack.sql("SELECT type, help FROM metric_metadata WHERE metric = %s",
                         ("prometheus_http_requests_total",))

    wait_until(metadata_stored, 30, "the metadata of prometheus_http_requests_total")
    assert metadata_stored() == [(want["type"], want["help"])] == [("counter", want["help"])]
