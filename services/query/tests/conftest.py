"""Fixtures for the PromQL script suites (``promqltest.py``): a fresh database per
script, and a passed / total line per script file at the end of the session."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from lookout_common.db.connection import drop_database, ensure_database
from lookout_common.settings import StorageMode
from lookout_common.testing import ServerUrls, database_url, timescaledb_available, unique_name
from lookout_query.promql.engine import Engine

from .promqltest import Script, ScriptRunner, ScriptStorage


@dataclass
class Tally:
    passed: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def total(self) -> int:
        return self.passed + self.failed + self.skipped


TALLIES = pytest.StashKey[dict[tuple[str, str], Tally]]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "promqltest(suite, file): one eval of a PromQL test script, counted in "
                   "the per-file summary")
    config.stash[TALLIES] = {}


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]
                              ) -> Iterator[pytest.TestReport]:
    report: pytest.TestReport = yield
    marker = item.get_closest_marker("promqltest")
    counted = report.when == "call" or (report.when == "setup" and not report.passed)
    if marker is not None and counted:
        key = (marker.kwargs["suite"], marker.kwargs["file"])
        tally = item.config.stash[TALLIES].setdefault(key, Tally())
        if report.passed:
            tally.passed += 1
        elif report.skipped:
            tally.skipped += 1
        else:
            tally.failed += 1
    return report


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:  # type: ignore[no-untyped-def]
    tallies = config.stash.get(TALLIES, {})
    if not tallies:
        return
    terminalreporter.section("PromQL test scripts: passed / total per file")
    for suite in sorted({suite for suite, _ in tallies}):
        files = {f: t for (s, f), t in tallies.items() if s == suite}
        for name, t in sorted(files.items()):
            skipped = f"  ({t.skipped} skipped)" if t.skipped else ""
            terminalreporter.write_line(f"{suite:<20} {name:<28} {t.passed:>4} / {t.total}"
                                        f"{skipped}")
        passed = sum(t.passed for t in files.values())
        total = sum(t.total for t in files.values())
        terminalreporter.write_line(f"{suite:<20} {'all files':<28} {passed:>4} / {total}")


@pytest.fixture(scope="session")
def script_runner(servers: ServerUrls) -> Iterator[Callable[[Script], ScriptRunner]]:
    """The runner of a script, on a database of its own (created when the script's first
    eval runs, dropped when another script's eval runs or the session ends)."""
    current: list[tuple[tuple[Script, StorageMode], ScriptRunner, str]] = []
    timescaledb, why_not = timescaledb_available(servers)

    def close_current() -> None:
        while current:
            _, runner, url = current.pop()
            runner.storage.close()
            drop_database(url)

    def runner_for(script: Script, mode: StorageMode = StorageMode.POSTGRES) -> ScriptRunner:
        if mode is StorageMode.TIMESCALEDB and not timescaledb:
            pytest.skip(f"TimescaleDB mode not tested: {why_not}")
        if current and current[0][0][0] is script and current[0][0][1] is mode:
            return current[0][1]
        close_current()
        url = database_url(servers, unique_name("lookout_promqltest"))
        ensure_database(url)
        runner = ScriptRunner(script, ScriptStorage(url, mode), Engine)
        current.append(((script, mode), runner, url))
        return runner

    yield runner_for
    close_current()
