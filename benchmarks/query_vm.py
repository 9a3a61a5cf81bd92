"""The reference of ``make bench-query``: Debian's ``victoria-metrics``, single node.

Started on 127.0.0.1 on a free port with a temporary data directory of its own and
loaded with the same data set through its JSON-lines import (``/api/v1/import``: one
line per series and chunk, ``{"metric": {...}, "values": [...], "timestamps": [...]}``),
streamed while it is generated. Its Prometheus API answers the same queries;
``nocache=1`` bypasses its response cache for the cold figures.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import requests

from tests.stack import free_port, wait_until

from .query_data import Dataset

BINARY = "victoria-metrics"


def json_numbers(values: np.ndarray) -> str:
    """Shortest round-trip decimal text of each float64 (integers without '.0')."""
    if np.all(values == np.floor(values)) and np.all(np.abs(values) < 2**53):
        return ",".join(map(str, values.astype(np.int64).tolist()))
    return ",".join(map(repr, values.tolist()))


def import_lines(dataset: Dataset) -> Iterator[bytes]:
    prefixes = [
        '{"metric":' + json.dumps(s.selector_labels(), separators=(",", ":")) + ',"values":['
        for s in dataset.series
    ]
    for chunk in dataset.chunks():
        for row, prefix in enumerate(prefixes):
            yield (prefix + json_numbers(chunk.value[row]) + '],"timestamps":['
                   + ",".join(map(str, chunk.time_ms[row].tolist())) + "]}\n").encode()


class VictoriaMetrics:
    def __init__(self, binary: str = BINARY) -> None:
        path = shutil.which(binary)
        if path is None:
            raise SystemExit(f"{binary} not found: apt-get install -y victoria-metrics "
                             "(scripts/bootstrap.sh installs it)")
        self.binary = path
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = Path(tempfile.mkdtemp(prefix="lookout-bench-vm-"))
        self.log_path = self.data_dir.with_suffix(".log")
        self.proc: subprocess.Popen[bytes] | None = None

    def version(self) -> str:
        """The package's version: Debian's build reports none itself (-version prints
        nothing, vm_app_version is empty)."""
        out = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "victoria-metrics"],
                             capture_output=True, text=True)
        return f"Debian {out.stdout.strip()}" if out.returncode == 0 else "unknown version"

    def start(self) -> VictoriaMetrics:
        log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(
            [self.binary, f"-storageDataPath={self.data_dir}",
             f"-httpListenAddr=127.0.0.1:{self.port}",
             "-retentionPeriod=100y",  # the kept data set may be older than a month
             "-search.latencyOffset=0s",  # the data's last minute is complete
             "-loggerLevel=WARN"],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        wait_until(self._healthy, 60, f"victoria-metrics at {self.url}")
        return self

    def _healthy(self) -> bool:
        assert self.proc is not None
        if self.proc.poll() is not None:
            raise AssertionError(f"victoria-metrics exited with {self.proc.returncode}:\n"
                                 + self.log_path.read_text()[-3000:])
        return requests.get(self.url + "/health", timeout=2).status_code == 200

    def load(self, dataset: Dataset) -> float:
        """Import the whole data set; returns the seconds it took (generation included).
        Checks afterwards that every sample is there."""
        started = time.perf_counter()
        response = requests.post(self.url + "/api/v1/import", data=import_lines(dataset),
                                 timeout=3600)
        if response.status_code != 204:
            raise SystemExit(f"victoria-metrics import answered {response.status_code}: "
                             f"{response.text[:500]}")
        requests.get(self.url + "/internal/force_flush", timeout=60).raise_for_status()
        seconds = time.perf_counter() - started
        stored = self.count_samples(dataset)
        if stored != dataset.samples:
            raise SystemExit(f"victoria-metrics holds {stored:,} samples, "
                             f"expected {dataset.samples:,}")
        return seconds

    def count_samples(self, dataset: Dataset) -> int:
        p = dataset.params
        window_s = (p.end_ms - p.start_ms) // 1000 + 60
        names = "|".join(sorted({s.metric for s in dataset.series}))
        response = requests.get(self.url + "/api/v1/query", params={
            "query": f'sum(count_over_time({{__name__=~"{names}"}}[{window_s}s]))',
            "time": str(p.end_ms // 1000), "nocache": "1"}, timeout=600)
        response.raise_for_status()
        result = response.json()["data"]["result"]
        return int(float(result[0]["value"][1])) if result else 0

    def window_sums(self, metric: str, t_s: int, window_s: int) -> tuple[float, int]:
        """Sum and count of ``metric``'s raw samples in (t - window, t]."""
        found = []
        for fn in ("sum_over_time", "count_over_time"):
            response = requests.get(self.url + "/api/v1/query", params={
                "query": f'sum({fn}({{__name__="{metric}"}}[{window_s}s]))', "time": str(t_s),
                "nocache": "1"}, timeout=60)
            response.raise_for_status()
            result = response.json()["data"]["result"]
            found.append(float(result[0]["value"][1]) if result else 0.0)
        return found[0], int(found[1])

    def disk_bytes(self) -> int:
        return sum(f.stat().st_size for f in self.data_dir.rglob("*") if f.is_file())

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.log_path.unlink(missing_ok=True)
