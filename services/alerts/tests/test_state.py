"""Golden tests of the per-series state machine: each file in golden/ names ``for`` and
``keep_firing_for``, then lists evaluations ``time value expected-phase`` (``-`` = the
condition does not hold); ``restart`` round-trips the state through its stored form,
as the evaluator does across a restart."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lookout_alerts.state import INACTIVE, AlertPhase, AlertState, step

GOLDEN = sorted((Path(__file__).parent / "golden").glob("*.txt"))


@pytest.mark.parametrize("path", GOLDEN, ids=lambda p: p.stem)
def test_golden(path: Path) -> None:
    params: dict[str, float] = {}
    state = INACTIVE
    evaluations = 0
    for number, raw in enumerate(path.read_text().splitlines(), 1):
        line = raw.split("#", 1)[0].split()
        if not line:
            continue
        if line[0] in ("for", "keep_firing_for"):
            params[line[0]] = float(line[1])
        elif line[0] == "restart":
            state = AlertState.from_json(json.loads(json.dumps(state.to_json())))
        else:
            t, value, expected = float(line[0]), line[1], line[2]
            state, _ = step(state, None if value == "-" else float(value), t,
                            params["for"], params["keep_firing_for"])
            evaluations += 1
            assert state.phase == AlertPhase(expected), f"{path.name}:{number}: {state}"
    assert evaluations > 0


def test_transitions_and_times() -> None:
    s, t = step(INACTIVE, 7.0, 100.0, 60)
    assert t and (t.before, t.after, t.at) == (AlertPhase.INACTIVE, AlertPhase.PENDING, 100.0)
    s, t = step(s, 8.0, 159.9, 60)
    assert t is None and s.phase is AlertPhase.PENDING
    s, t = step(s, 9.0, 160.0, 60)
    assert t and t.after is AlertPhase.FIRING
    assert (s.active_at, s.fired_at, s.value) == (100.0, 160.0, 9.0)
    s, t = step(s, None, 170.0, 60)
    assert t and (t.before, t.after) == (AlertPhase.FIRING, AlertPhase.RESOLVED)
    assert s.resolved_at == 170.0 and s.value == 9.0  # the last value seen is kept


def test_negative_durations_are_refused() -> None:
    with pytest.raises(ValueError):
        step(INACTIVE, 1.0, 0.0, -1)
