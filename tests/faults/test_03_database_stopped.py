"""Scenario 3: PostgreSQL is stopped for 60 s mid-load (``pg_ctlcluster … stop -m
fast``). Ingest keeps accepting (it only needs the broker), the worker holds its
messages unacked and retries, and everything drains once the database is back."""

from __future__ import annotations

import pytest

from .harness import FaultRun, assert_nothing_lost_or_duplicated, run_scenario

pytestmark = pytest.mark.faults

OUTAGE_S = 60


def test_database_stopped_mid_load(fault_stack, rabbit_admin, postgres_cluster, amqp_url,
                                   fault_report):
    why_not = postgres_cluster.controllable()
    if why_not:
        pytest.skip(f"cannot stop PostgreSQL: {why_not}")

    def inject(run: FaultRun) -> None:
        postgres_cluster.stop()

    def restore(run: FaultRun) -> None:
        postgres_cluster.start()  # returns once it accepts connections

    try:
        result = run_scenario("PostgreSQL stopped 60 s", fault_stack, rabbit_admin, amqp_url,
                              fault_report, inject=inject, restore=restore, hold_s=OUTAGE_S)
    finally:
        postgres_cluster.ensure_running()
    # Ingest went on accepting while the database was down: no retries, the queue grew.
    assert result.producer_retries == 0, "ingest refused requests while only the database was down"
    assert result.queue_peak, "nothing was queued while the database was down"
    assert_nothing_lost_or_duplicated(result, stack=fault_stack)
