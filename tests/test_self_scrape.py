"""Lookout scrapes its own /metrics and ingests them through its own push endpoint."""

from __future__ import annotations

import threading

import pytest
from werkzeug.serving import make_server

from lookout_common.testing import drain_ingest_queue
from lookout_ingest.app import create_app
from lookout_ingest.settings import IngestSettings
from lookout_producer.self_scrape import SelfScraper, SelfScrapeSettings, parse_targets

from .stack import free_port


@pytest.fixture
def ingest_url(amqp_url, servers, redis_key_prefix):
    settings = IngestSettings(amqp_url=amqp_url, redis_url=servers.redis_url,
                              redis_key_prefix=redis_key_prefix)
    app = create_app(settings)
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", settings
    server.shutdown()
    app.extensions["lookout.publisher"].close()


def published(settings) -> list:
    return [sample for _props, batch in drain_ingest_queue(settings) for sample in batch.samples()]


def test_scrapes_itself_and_marks_dead_targets(ingest_url):
    url, settings = ingest_url
    import requests

    assert requests.post(url + "/api/v1/metrics", json=[{"name": "x", "value": 1}],
                         timeout=10).status_code == 202
    scraper = SelfScraper(SelfScrapeSettings(
        producer_url=url,
        scrape_targets=f"ingest={url}/metrics,worker=http://127.0.0.1:1/metrics"))
    assert scraper.scrape_once() == {"ingest": 204, "worker": 204}
    samples = [s for s in published(settings) if s.series.metric != "x"]
    up = {dict(s.series.labels)["job"]: s.value for s in samples if s.series.metric == "up"}
    assert up == {"ingest": 1.0, "worker": 0.0}
    port = url.rsplit(":", 1)[1]
    ingest_metrics = {s.series.metric for s in samples
                      if dict(s.series.labels).get("instance") == f"127.0.0.1:{port}"}
    assert {"ingest_requests_total", "ingest_latency_seconds_bucket", "up",
            "scrape_duration_seconds"} <= ingest_metrics


def test_targets_are_validated():
    assert [t.job for t in parse_targets("a=http://x:1/metrics, b=https://y/metrics")] == ["a", "b"]
    with pytest.raises(ValueError, match="target 'nope' is not job=http"):
        parse_targets("nope")
