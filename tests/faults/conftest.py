"""Fault-injection runs stop real, shared servers (RabbitMQ's application, the PostgreSQL
cluster), so they only run when asked for: ``pytest tests/faults -m faults -s``
(``make faults``). Without ``-m faults`` they are deselected, ``make test`` included."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from lookout_common.settings import StorageMode
from lookout_common.testing import RabbitAdmin, ServerUrls

from ..test_pipeline import Stack
from .harness import FaultReport, PostgresCluster, RabbitNode, redis_answering

REPORT_KEY = pytest.StashKey[FaultReport]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "faults: fault-injection runs that stop and restart real servers (make faults); "
        "deselected unless -m selects them",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "faults" in (config.getoption("markexpr") or ""):
        return  # -m decides (``-m faults`` runs them, ``-m "not faults"`` leaves them out)
    dropped = [item for item in items if item.get_closest_marker("faults")]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if not item.get_closest_marker("faults")]


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:  # type: ignore[no-untyped-def]
    report = config.stash.get(REPORT_KEY, None)
    if report is None or not report.results:
        return
    terminalreporter.section("fault injection")
    terminalreporter.write_line(report.table())
    terminalreporter.write_line(f"results: {report.md_path} and {report.json_path}")


@pytest.fixture(scope="session")
def fault_report(request: pytest.FixtureRequest,
                 tmp_path_factory: pytest.TempPathFactory) -> FaultReport:
    report = FaultReport(tmp_path_factory.getbasetemp())
    request.config.stash[REPORT_KEY] = report
    return report


@pytest.fixture(scope="session")
def rabbit_node(servers: ServerUrls, rabbit_admin: RabbitAdmin) -> RabbitNode:
    return RabbitNode(servers, rabbit_admin)


@pytest.fixture(scope="session")
def postgres_cluster(servers: ServerUrls) -> PostgresCluster:
    return PostgresCluster(servers)


@pytest.fixture
def servers_running(servers: ServerUrls, rabbit_node: RabbitNode,
                    postgres_cluster: PostgresCluster) -> Iterator[None]:
    """PostgreSQL, RabbitMQ and Redis answer before the scenario, and again after it,
    whatever happened in between: a server a scenario stopped is started again here
    too (the scenario restores it itself, in a ``finally``; this is the second net)."""
    _ensure_servers(servers, rabbit_node, postgres_cluster)
    yield
    _ensure_servers(servers, rabbit_node, postgres_cluster)


def _ensure_servers(servers: ServerUrls, rabbit: RabbitNode, postgres: PostgresCluster) -> None:
    if rabbit.controllable() is None:
        rabbit.ensure_running()
    else:
        rabbit.wait_answering(60)
    if postgres.controllable() is None:
        postgres.ensure_running()
    else:
        postgres.wait_accepting(60)
    assert redis_answering(servers.redis_url), f"Redis does not answer at {servers.redis_url}"


@pytest.fixture
def fault_stack(servers_running: None, fresh_database_url: str, amqp_url: str, tmp_path,
                servers: ServerUrls, redis_key_prefix: str) -> Iterator[Stack]:
    """Ingest and worker processes on the test's own database and vhost, in whatever
    storage mode ``auto`` picks on this server."""
    stack = Stack(fresh_database_url, amqp_url, StorageMode.AUTO, tmp_path, servers.redis_url,
                  redis_key_prefix)
    yield stack
    stack.close()
