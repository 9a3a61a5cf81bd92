"""What the evaluator passes between nodes: every value is evaluated at all steps at once.

* ``ScalarSteps``: one float per step.
* ``VectorSteps``: an instant vector at every step — a row per series, a column per step,
  with ``present`` saying where the series has a sample (PromQL values may be NaN, so
  absence needs its own mask).
* ``RangeSteps``: a range vector (matrix selector or subquery) at every step — the
  series' samples, and per step the window ``[end - range, end]`` to read.
* ``StringValue``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from .model import METRIC_NAME, ExecutionError, Labels


@dataclass
class ScalarSteps:
    values: np.ndarray  # (steps,)


@dataclass
class StringValue:
    value: str


@dataclass
class VectorSteps:
    labels: list[Labels]
    values: np.ndarray  # (series, steps) float64
    present: np.ndarray  # (series, steps) bool
    # For an instant query, the order of the rows is the order of the answer (sort()).
    ordered: bool = False

    @classmethod
    def empty(cls, steps: int) -> VectorSteps:
        return cls([], np.empty((0, steps)), np.zeros((0, steps), dtype=bool))

    @property
    def steps(self) -> int:
        return self.values.shape[1]

    def __len__(self) -> int:
        return len(self.labels)

    def keep_rows(self, rows: np.ndarray | list[int]) -> VectorSteps:
        rows = np.asarray(rows, dtype=np.intp)
        return VectorSteps([self.labels[i] for i in rows], self.values[rows],
                           self.present[rows])

    def without_empty_rows(self) -> VectorSteps:
        rows = np.nonzero(self.present.any(axis=1))[0]
        if len(rows) == len(self.labels):
            return self
        return self.keep_rows(rows)


@dataclass
class RangeSeries:
    labels: Labels
    t: np.ndarray  # int64 ms, ascending, staleness markers already removed
    v: np.ndarray  # float64


@dataclass
class RangeSteps:
    series: list[RangeSeries]
    range_ms: int
    ends: np.ndarray  # (steps,) int64: the window's end per step (offset and @ applied)
    step_times: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=np.int64))

    def bounds(self, s: RangeSeries) -> tuple[np.ndarray, np.ndarray]:
        """Per step, the slice ``[lo, hi)`` of ``s``'s samples in ``[end - range, end]``."""
        lo = np.searchsorted(s.t, self.ends - self.range_ms, side="left")
        hi = np.searchsorted(s.t, self.ends, side="right")
        return lo, hi


Value = ScalarSteps | StringValue | VectorSteps | RangeSteps


def drop_name(labels: Labels) -> Labels:
    return tuple(pair for pair in labels if pair[0] != METRIC_NAME)


def merge_same_labels(
    labels: Iterable[Labels], values: np.ndarray, present: np.ndarray,
    message: str = "vector cannot contain metrics with the same labelset",
) -> VectorSteps:
    """Rows whose labels became equal (a dropped metric name, label_replace...) are one
    series, unless two of them have a sample at the same step: then the query fails
    there, as Prometheus's does."""
    labels = list(labels)
    positions: dict[Labels, list[int]] = {}
    for i, ls in enumerate(labels):
        positions.setdefault(ls, []).append(i)
    if len(positions) == len(labels):
        return VectorSteps(labels, values, present)
    out_labels, out_values, out_present = [], [], []
    for ls, rows in positions.items():
        if len(rows) == 1:
            out_labels.append(ls)
            out_values.append(values[rows[0]])
            out_present.append(present[rows[0]])
            continue
        block = present[rows]
        if (block.sum(axis=0) > 1).any():
            raise ExecutionError(message)
        merged_present = block.any(axis=0)
        which = np.argmax(block, axis=0)
        merged = values[rows][which, np.arange(values.shape[1])]
        out_labels.append(ls)
        out_values.append(np.where(merged_present, merged, 0.0))
        out_present.append(merged_present)
    steps = values.shape[1]
    return VectorSteps(out_labels,
                       np.array(out_values).reshape(len(out_labels), steps),
                       np.array(out_present, dtype=bool).reshape(len(out_labels), steps))
