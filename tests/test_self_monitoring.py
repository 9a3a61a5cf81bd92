"""Lookout watches itself: while the demo producer pushes data, the self-scraper ingests
the services' own /metrics, and Lookout's PromQL API answers questions about them."""

from __future__ import annotations

import time

import requests

from lookout_common.settings import StorageMode

from .stack import ServiceProcess, free_port, wait_until
from .test_pipeline import Stack


def start_query(stack: Stack) -> str:
    port = free_port()
    p = ServiceProcess("lookout_query", {**stack.base_env, "QUERY_PORT": str(port),
                                         "QUERY_WORKERS": "1"},
                       stack.log_dir, f"http://127.0.0.1:{port}/health/live")
    stack.processes.append(p)
    p.start()
    return f"http://127.0.0.1:{port}"


def start_process(stack: Stack, module: str, env: dict[str, str]) -> None:
    p = ServiceProcess(module, {**stack.base_env, **env}, stack.log_dir, None)
    stack.processes.append(p)
    p.start(wait=False)


def promql(query_url: str, query: str) -> list[dict]:
    r = requests.get(f"{query_url}/prometheus/api/v1/query", params={"query": query},
                     timeout=10)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "success" and body["data"]["resultType"] == "vector", body
    return body["data"]["result"]


def test_ingest_points_total_through_lookouts_own_promql_api(fresh_database_url, amqp_url,
                                                           tmp_path, servers, redis_key_prefix):
    stack = Stack(fresh_database_url, amqp_url, StorageMode.POSTGRES, tmp_path,
                  redis_url=servers.redis_url, redis_key_prefix=redis_key_prefix)
    try:
        ingest = stack.ingest()
        stack.worker()
        query_url = start_query(stack)
        start_process(stack, "lookout_producer", {"PRODUCER_URL": ingest.url,
                                                  "PRODUCER_INTERVAL_S": "1"})
        start_process(stack, "lookout_producer.self_scrape", {
            "PRODUCER_URL": ingest.url, "SCRAPE_INTERVAL_S": "1",
            "SCRAPE_TARGETS": f"ingest={ingest.url}/metrics,query={query_url}/metrics"})

        def points_ingested() -> float:
            result = promql(query_url, 'sum(ingest_points_total{job="ingest"})')
            return float(result[0]["value"][1]) if result else 0.0

        wait_until(lambda: points_ingested() > 0, 60, "ingest_points_total in Lookout")
        first = points_ingested()
        # The producer keeps pushing: the counter Lookout reports about itself grows.
        wait_until(lambda: points_ingested() > first, 60, "ingest_points_total to grow")
        time.sleep(3)
        rate = promql(query_url, 'sum(rate(ingest_points_total{job="ingest"}[30s]))')
        assert rate and float(rate[0]["value"][1]) > 0, rate
        up = {r["metric"]["job"]: r["value"][1] for r in promql(query_url, "up")}
        assert up == {"ingest": "1", "query": "1"}
        # The query service's own figures, from its /metrics, through the same path.
        wait_until(lambda: promql(query_url, 'sum(query_cache_misses_total{job="query"}) > 0'),
                   30, "the query service's cache misses in Lookout")
        connections = promql(query_url, 'db_connections_active{job="query"}')
        assert connections and float(connections[0]["value"][1]) >= 0
    finally:
        stack.close()
