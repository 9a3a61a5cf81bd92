"""Scenario 2: RabbitMQ is restarted mid-load (``rabbitmqctl stop_app``, 10 s, then
``start_app``) while the producer keeps retrying. Ingest answers 503 with Retry-After
meanwhile and reconnects by itself; the worker reconnects by itself; the durable queue
keeps its persistent messages, and the test's vhost survives."""

from __future__ import annotations

import pytest

from lookout_common.testing import vhost_of

from .harness import FaultRun, assert_nothing_lost_or_duplicated, run_scenario

pytestmark = pytest.mark.faults


def test_broker_restarted_mid_load(fault_stack, rabbit_admin, rabbit_node, amqp_url,
                                   fault_report):
    why_not = rabbit_node.controllable()
    if why_not:
        pytest.skip(f"cannot restart RabbitMQ: {why_not}")

    def inject(run: FaultRun) -> None:
        rabbit_node.stop_app()

    def restore(run: FaultRun) -> None:
        rabbit_node.start_app()  # start_app, await_startup, 5672 and 15672 answering

    try:
        result = run_scenario("RabbitMQ restart", fault_stack, rabbit_admin, amqp_url,
                              fault_report, inject=inject, restore=restore, hold_s=10)
    finally:
        rabbit_node.ensure_running()
    assert vhost_of(amqp_url) in {v["name"] for v in _vhosts(rabbit_admin)}
    assert result.producer_retries > 0, "the producer never had to retry: no outage seen"
    assert_nothing_lost_or_duplicated(result, stack=fault_stack)


def _vhosts(admin):
    import requests

    r = requests.get(admin.base + "/vhosts", auth=admin.auth, timeout=10)
    r.raise_for_status()
    return r.json()
