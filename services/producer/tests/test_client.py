"""The ingest client against a real local HTTP server playing scripted answers.

``ingest_server`` is conftest's ``ScriptedServer`` (typed ``Any``: with
``--import-mode=importlib`` a test module cannot import conftest).
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from lookout_producer.client import IngestClient, Outcome
from lookout_producer.load_batches import LoadBatches
from lookout_producer.points import MetricPoint

NOW_MS = 1_750_000_000_000
PATH = "/api/v1/metrics"


def body(samples: int) -> bytes:
    return LoadBatches(range(10), seed=1).body(samples, NOW_MS)


def test_posts_points_as_a_json_array(ingest_server: Any) -> None:
    points = [MetricPoint("cpu_percent", {"service": "api"}, 41.5, NOW_MS),
              MetricPoint("signal", {"signal": "sine"}, -3.25, NOW_MS + 500)]
    with IngestClient(ingest_server.url + PATH) as client:
        assert client.send_points(points) is Outcome.ACKNOWLEDGED
    [request] = ingest_server.received
    assert request.path == PATH
    assert request.headers["Content-Type"] == "application/json"
    assert len(request.headers["X-Request-ID"]) == 32
    assert request.items() == [
        {"name": "cpu_percent", "labels": {"service": "api"}, "value": 41.5,
         "timestamp": NOW_MS},
        {"name": "signal", "labels": {"signal": "sine"}, "value": -3.25,
         "timestamp": NOW_MS + 500},
    ]
    assert client.stats.snapshot().acknowledged == 2


def test_503_with_retry_after_is_retried_and_counted_once(ingest_server: Any) -> None:
    unavailable = ingest_server.json_error(503, "message broker unavailable, retry later",
                                           **{"Retry-After": "1"})
    ingest_server.script = [unavailable, unavailable]
    started = time.monotonic()
    with IngestClient(ingest_server.url + PATH) as client:
        outcome = client.send(body(300), 300)
    elapsed = time.monotonic() - started
    assert outcome is Outcome.ACKNOWLEDGED
    assert [r.body for r in ingest_server.received] == [body(300)] * 3
    # The same request each time: the retry is urllib3's, not a new batch.
    assert len({r.headers["X-Request-ID"] for r in ingest_server.received}) == 1
    totals = client.stats.snapshot()
    assert (totals.requests, totals.retries, totals.acknowledged) == (1, 2, 300)
    assert (totals.rejected, totals.failed) == (0, 0)
    assert 2.0 <= elapsed < 5.0  # Retry-After: 1, twice


def test_400_is_not_retried_and_counted_rejected(
    ingest_server: Any, caplog: pytest.LogCaptureFixture
) -> None:
    ingest_server.default = ingest_server.json_error(
        400, "item 3: labels.bad-name: label name 'bad-name' does not match")
    with caplog.at_level(logging.ERROR, logger="lookout_producer"):
        with IngestClient(ingest_server.url + PATH) as client:
            outcome = client.send(body(40), 40)
    assert outcome is Outcome.REJECTED
    assert len(ingest_server.received) == 1
    totals = client.stats.snapshot()
    assert (totals.requests, totals.retries, totals.acknowledged, totals.rejected) == (1, 0, 0, 40)
    [record] = [r for r in caplog.records if r.getMessage().startswith("ingest rejected a batch")]
    assert record.__dict__["status"] == 400
    assert record.__dict__["error"] == (
        "item 3: labels.bad-name: label name 'bad-name' does not match")


@pytest.mark.parametrize("status", [429, 502, 503, 504])
def test_retryable_statuses_are_retried(ingest_server: Any, status: int) -> None:
    ingest_server.script = [ingest_server.json_error(status, "busy")]
    with IngestClient(ingest_server.url + PATH, backoff_factor=0.01) as client:
        assert client.send(body(5), 5) is Outcome.ACKNOWLEDGED
    assert len(ingest_server.received) == 2
    assert client.stats.snapshot().retries == 1


@pytest.mark.parametrize("status", [413, 500])
def test_other_errors_are_final(ingest_server: Any, status: int) -> None:
    ingest_server.default = ingest_server.json_error(status, "no")
    with IngestClient(ingest_server.url + PATH, backoff_factor=0.01) as client:
        outcome = client.send(body(5), 5)
    assert len(ingest_server.received) == 1
    totals = client.stats.snapshot()
    if status == 413:
        assert outcome is Outcome.REJECTED and totals.rejected == 5
    else:
        assert outcome is Outcome.FAILED and totals.failed == 5


def test_gives_up_once_the_retries_are_spent(ingest_server: Any) -> None:
    ingest_server.default = ingest_server.json_error(503, "ingest queue is full")
    with IngestClient(ingest_server.url + PATH, retry_total=3, backoff_factor=0.01) as client:
        outcome = client.send(body(7), 7)
    assert outcome is Outcome.FAILED
    assert len(ingest_server.received) == 4
    totals = client.stats.snapshot()
    assert (totals.retries, totals.acknowledged, totals.failed) == (3, 0, 7)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_rides_out_a_server_that_is_not_up_yet(
    start_ingest_server: Callable[..., Any],
) -> None:
    port = free_port()
    servers: list[Any] = []
    timer = threading.Timer(1.0, lambda: servers.append(start_ingest_server(port)))
    timer.start()
    try:
        with IngestClient(f"http://127.0.0.1:{port}{PATH}", backoff_factor=0.05) as client:
            outcome = client.send(body(9), 9)
    finally:
        timer.join()
    assert outcome is Outcome.ACKNOWLEDGED
    [server] = servers
    assert server.samples == 9
    totals = client.stats.snapshot()
    assert totals.retries >= 2 and totals.acknowledged == 9


def test_a_server_that_never_comes_up_fails_the_batch() -> None:
    with IngestClient(f"http://127.0.0.1:{free_port()}{PATH}", retry_total=2,
                      backoff_factor=0.01) as client:
        outcome = client.send(body(3), 3)
    assert outcome is Outcome.FAILED
    totals = client.stats.snapshot()
    assert (totals.requests, totals.retries, totals.failed) == (1, 2, 3)
