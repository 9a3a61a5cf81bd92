"""The demo exporter serves the metric shapes the compliance queries expect."""

from __future__ import annotations

import subprocess
import sys

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from ..stack import ROOT, free_port, wait_until
from .demo_exporter import GIB, IntermittentMetric

EXPECTED_TYPES = {
    "demo_api_request_duration_seconds": "histogram",
    "demo_api_http_requests_in_progress": "gauge",
    "demo_batch_last_success_timestamp_seconds": "gauge",
    "demo_batch_last_run_timestamp_seconds": "gauge",
    "demo_batch_last_run_duration_seconds": "gauge",
    "demo_batch_last_run_processed_bytes": "gauge",
    "demo_num_cpus": "gauge",
    "demo_cpu_usage_seconds": "counter",
    "demo_disk_usage_bytes": "gauge",
    "demo_disk_total_bytes": "gauge",
    "demo_is_holiday": "gauge",
    "demo_items_shipped": "counter",
    "demo_memory_usage_bytes": "gauge",
}


@pytest.fixture(scope="module")
def exposition():
    ports = [free_port(), free_port()]
    proc = subprocess.Popen([sys.executable, "-m", "tests.compliance.demo_exporter",
                             *(f"--port={p}" for p in ports)], cwd=ROOT)
    try:
        def scraped() -> list[str] | None:
            texts = [requests.get(f"http://127.0.0.1:{p}/metrics", timeout=2).text
                     for p in ports]
            return texts if all('status="200"' in t for t in texts) else None

        wait_until(scraped, 30, "both demo instances to have served a request")
        yield scraped()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def families(text: str) -> dict:
    return {f.name: f for f in text_string_to_metric_families(text)}


def test_every_instance_has_the_demo_metrics_and_nothing_else(exposition):
    for text in exposition:
        got = {name: f.type for name, f in families(text).items()}
        got.pop("demo_intermittent_metric", None)  # only in even minutes
        assert got == EXPECTED_TYPES
        assert "_created" not in text


def test_the_values_have_the_demo_services_shapes(exposition):
    f = families(exposition[0])
    value = {s.name: s.value for fam in f.values() for s in fam.samples if not s.labels}
    assert value["demo_num_cpus"] == 4
    assert value["demo_disk_total_bytes"] == 160e9
    assert 0.1 * 160e9 <= value["demo_disk_usage_bytes"] <= 0.9 * 160e9
    memory = {s.labels["type"]: s.value for s in f["demo_memory_usage_bytes"].samples}
    assert set(memory) == {"used", "cached", "buffers", "free"}
    assert sum(memory.values()) == 8 * GIB
    assert {s.labels["mode"] for s in f["demo_cpu_usage_seconds"].samples
            if s.name.endswith("_total")} == {"user", "system", "idle"}


def test_the_request_histogram_has_25_exponential_buckets_per_route(exposition):
    samples = families(exposition[0])["demo_api_request_duration_seconds"].samples
    buckets = [s for s in samples if s.name.endswith("_bucket")]
    routes = {(s.labels["method"], s.labels["path"], s.labels["status"]) for s in buckets}
    assert ("GET", "/api/foo", "200") in routes
    assert {path for _, path, _ in routes} <= {"/api/foo", "/api/bar", "/api/nonexistent"}
    assert {status for _, _, status in routes} <= {"200", "500", "404"}
    one_route = [s.labels["le"] for s in buckets
                 if (s.labels["method"], s.labels["path"], s.labels["status"])
                 == ("GET", "/api/foo", "200")]
    assert len(one_route) == 26
    assert one_route[:3] == ["0.0001", "0.00015000000000000001", "0.00022500000000000002"]
    assert one_route[-2:] == ["1.683411219602823", "+Inf"]


def test_the_instances_differ(exposition):
    # Each has its own random walks, like the demo service's separate processes.
    cpu = [{s.labels["mode"]: s.value for s in families(text)["demo_cpu_usage_seconds"].samples
            if s.name.endswith("_total")} for text in exposition]
    assert cpu[0] != cpu[1]


def test_the_intermittent_metric_is_there_only_in_even_minutes():
    even = IntermittentMetric(clock=lambda: 1_700_000_040.0)  # 22:14:00 UTC
    odd = IntermittentMetric(clock=lambda: 1_700_000_100.0)  # 22:15:00 UTC
    [family] = list(even.collect())
    assert (family.name, family.type, [s.value for s in family.samples]) == (
        "demo_intermittent_metric", "gauge", [1])
    assert list(odd.collect()) == []
