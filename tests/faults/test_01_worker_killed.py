"""Scenario 1: the worker is killed with SIGKILL mid-load, after at least 20 % of the
load is stored and while it holds deliveries it has not committed, and started again
5 s later. Its unacked messages go back to the queue; the new worker must store each
exactly once."""

from __future__ import annotations

import signal
import time

import pytest

from .harness import FaultRun, assert_nothing_lost_or_duplicated, run_scenario

pytestmark = pytest.mark.faults


def test_worker_killed_mid_load(fault_stack, rabbit_admin, amqp_url, fault_report):
    def inject(run: FaultRun) -> None:
        # Kill it while it holds received, uncommitted samples (it writes every 100 ms,
        # so within a second or two), else the kill would prove little.
        deadline = time.monotonic() + 10
        pending = run.worker_gauge("worker_pending_samples") or 0
        while pending <= 0 and time.monotonic() < deadline:
            time.sleep(0.01)
            pending = run.worker_gauge("worker_pending_samples") or 0
        run.worker.kill(signal.SIGKILL)
        run.notes["pending_samples_at_kill"] = int(pending)

    def restore(run: FaultRun) -> None:
        run.start_worker()  # returns once its /health/ready answers 200

    result = run_scenario("worker kill -9", fault_stack, rabbit_admin, amqp_url, fault_report,
                          inject=inject, restore=restore, hold_s=5)
    assert_nothing_lost_or_duplicated(result, stack=fault_stack)
    assert result.details["fault"]["pending_samples_at_kill"] > 0, (
        "the worker held nothing uncommitted when it was killed")
