"""The alert state machine of one series, a pure function of time and query results.

Semantics follow Prometheus's alerting rules (its alert generator specification):

- a series the rule's condition holds for becomes *pending* at the evaluation that first
  sees it (``active_at``), and *firing* at the first evaluation at which it has held for
  at least ``for`` (with ``for`` = 0 that is the same evaluation);
- a pending series that stops matching is dropped (back to *inactive*, no event);
- a firing series that stops matching keeps firing while it has been missing for less
  than ``keep_firing_for`` (``keep_firing_since`` marks the first miss; a match clears it),
  then becomes *resolved* (``resolved_at``): the notification of the resolution is due;
- a resolved series that matches again starts over as pending with a new ``active_at``.

Nothing here reads a clock or a database: the evaluator passes ``now`` and the value the
query returned (``None`` when the series is absent or the condition does not hold), and
persists the returned state, so a restarted evaluator continues where it stopped.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from enum import StrEnum
from typing import Any


class AlertPhase(StrEnum):
    INACTIVE = "inactive"
    PENDING = "pending"
    FIRING = "firing"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class AlertState:
    """Where one series of one rule stands. Times are unix seconds."""

    phase: AlertPhase = AlertPhase.INACTIVE
    active_at: float | None = None
    fired_at: float | None = None
    resolved_at: float | None = None
    keep_firing_since: float | None = None
    value: float | None = None
    last_evaluated_at: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "phase": self.phase.value}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> AlertState:
        return cls(**{**data, "phase": AlertPhase(data["phase"])})


@dataclass(frozen=True)
class Transition:
    """A change of phase worth an event: to pending, to firing, to resolved."""

    before: AlertPhase
    after: AlertPhase
    at: float
    value: float | None


INACTIVE = AlertState()


def step(state: AlertState, value: float | None, now: float, for_s: float,
         keep_firing_for_s: float = 0.0) -> tuple[AlertState, Transition | None]:
    """One evaluation of one series: ``value`` is the query's value where the condition
    holds, ``None`` where it does not. Returns the new state and the transition, if any."""
    if for_s < 0 or keep_firing_for_s < 0:
        raise ValueError("for and keep_firing_for must not be negative")
    phase = state.phase
    if value is not None:
        if phase in (AlertPhase.INACTIVE, AlertPhase.RESOLVED):
            state = AlertState(AlertPhase.PENDING, active_at=now, value=value,
                               last_evaluated_at=now)
        else:
            state = replace(state, value=value, keep_firing_since=None, last_evaluated_at=now)
        if state.phase is AlertPhase.PENDING and state.active_at is not None \
                and now - state.active_at >= for_s:
            state = replace(state, phase=AlertPhase.FIRING, fired_at=now)
    else:
        if phase is AlertPhase.PENDING:
            state = replace(INACTIVE, last_evaluated_at=now)
        elif phase is AlertPhase.FIRING:
            since = state.keep_firing_since if state.keep_firing_since is not None else now
            if now - since < keep_firing_for_s:
                state = replace(state, keep_firing_since=since, last_evaluated_at=now)
            else:
                state = replace(state, phase=AlertPhase.RESOLVED, resolved_at=now,
                                keep_firing_since=None, last_evaluated_at=now)
        else:
            state = replace(state, last_evaluated_at=now)
    if state.phase is phase:
        return state, None
    return state, Transition(phase, state.phase, now, state.value)
