"""Prometheus's own PromQL test scripts of v2.42.0 (Lookout's reference semantics), one
pytest case per eval, run through Lookout's real storage and engine (see promqltest.py).

Cases listed in prometheus_suite_skips.yml are skipped with their reason; a listed case
that does not exist fails, so the list cannot go stale.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from lookout_common.settings import StorageMode

from .promqltest import Eval, Script, read_scripts, suite_cases

SUITE = "prometheus v2.42.0"
# ../shared/data beside the repository (the checkout's parent), or where the variable says.
SCRIPTS_DIR = Path(os.environ.get(
    "LOOKOUT_PROMQLTEST_DIR",
    Path(__file__).resolve().parents[3].parent / "shared" / "data" / "promqltest-v2.42.0"))
SKIPS_FILE = Path(__file__).with_name("prometheus_suite_skips.yml")

if not SCRIPTS_DIR.is_dir():
    pytest.skip(f"Prometheus's test scripts are not at {SCRIPTS_DIR} "
                "(set LOOKOUT_PROMQLTEST_DIR)", allow_module_level=True)

SCRIPTS = read_scripts(SCRIPTS_DIR)
SKIPS: dict[str, str] = yaml.safe_load(SKIPS_FILE.read_text()) or {}


MODES = (StorageMode.POSTGRES, StorageMode.TIMESCALEDB)


@pytest.mark.parametrize(("mode", "script", "case"), suite_cases(SUITE, SCRIPTS, MODES))
def test_prometheus_case(mode: StorageMode, script: Script, case: Eval, script_runner) -> None:  # type: ignore[no-untyped-def]
    reason = SKIPS.get(script.case_id(case))
    if reason:
        pytest.skip(reason)
    script_runner(script, mode).run(case)


def test_skip_list_names_real_cases() -> None:
    known = {script.case_id(case) for script in SCRIPTS for case in script.evals}
    assert sorted(set(SKIPS) - known) == []
    assert all(isinstance(reason, str) and reason.strip() for reason in SKIPS.values())
