"""``python -m lookout_producer`` end to end against a local HTTP server."""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from lookout_producer.__main__ import main


@pytest.fixture(autouse=True)
def restore_process_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """main() configures logging and installs a SIGTERM handler: undo both."""
    for name in ("PRODUCER_URL", "PRODUCER_INTERVAL_S"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LOG_FORMAT", "text")
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    sigterm = signal.getsignal(signal.SIGTERM)
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    signal.signal(signal.SIGTERM, sigterm)


def test_once_sends_one_demo_tick(ingest_server: Any) -> None:
    assert main(["--url", ingest_server.url, "--once", "--seed", "1"]) == 0
    [request] = ingest_server.received
    assert request.path == "/api/v1/metrics"
    names = {item["name"] for item in request.items()}
    assert names == {"latency_ms", "throughput_rps", "error_rate_percent", "cpu_percent",
                     "memory_percent", "signal"}
    # The ingest API's own parser takes the whole tick (names, labels, time window).
    json_batch = pytest.importorskip("lookout_ingest.json_batch")
    samples = json_batch.parse_json_batch(request.body, now_ms=int(time.time() * 1000))
    assert len(samples) == len(request.items()) == 25 + 5


def test_once_exits_1_when_the_tick_is_rejected(ingest_server: Any) -> None:
    ingest_server.default = ingest_server.json_error(400, "bad")
    assert main(["--url", ingest_server.url, "--once"]) == 1


def test_load_prints_a_summary(ingest_server: Any, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--url", ingest_server.url, "--load", "--rate", "0", "--series", "20",
                 "--batch", "100", "--total", "1000"])
    assert code == 0
    out = capsys.readouterr().out
    assert "samples acknowledged  1,000" in out
    assert "requests              10" in out
    assert ingest_server.samples == 1000


@pytest.mark.parametrize("argv", [
    ["--rate", "100"],  # a load flag without --load
    ["--load", "--once"],
    ["--load", "--batch", "50001"],
    ["--load", "--series", "2", "--concurrency", "3"],
    ["--load", "--rate", "-5"],
])
def test_bad_arguments_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as excinfo:
        main(argv)
    assert excinfo.value.code == 2


def test_a_bad_url_fails_naming_the_variable() -> None:
    with pytest.raises(SystemExit) as excinfo:
        main(["--url", "localhost:8080", "--once"])
    assert "PRODUCER_URL='localhost:8080'" in str(excinfo.value.code)


def test_sigterm_stops_the_demo_cleanly(ingest_server: Any) -> None:
    env = {"PRODUCER_URL": ingest_server.url, "PRODUCER_INTERVAL_S": "0.2", "LOG_FORMAT": "text",
           "PATH": "/usr/bin:/bin"}
    process = subprocess.Popen([sys.executable, "-m", "lookout_producer"], env=env,
                               stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 20
        while len(ingest_server.received) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, stderr
    assert "demo stopped" in stderr
    assert "Traceback" not in stderr
    assert len(ingest_server.received) >= 3
