"""Answering ``*_over_time`` from the 1-minute / 1-hour rollups when, and only when, the
answer is provably the one the raw samples give.

A window ``[e - R, e]`` with ``R`` and ``e`` whole multiples of the bucket width ``B``
is exactly the buckets starting in ``[e - R, e - B]`` plus the sample at ``e`` itself,
if there is one — which is the first sample of the bucket starting at ``e``
(``first_time == e``). From ``min max sum count first last`` of those buckets,
``count sum avg min max last present _over_time`` follow exactly. Rollups exclude
staleness markers, as range vectors do. Where a bucket's sum, min or max is not finite
(NaN samples, infinities, overflow) the floating-point rules of the two computations can
differ, so the whole selector is read raw instead. See docs/promql.md.
"""

from __future__ import annotations

import numpy as np

from .model import UNKNOWN_TIME, RollupSeries
from .range_functions import Result, window_chunks

BUCKETS_MS = (3_600_000, 60_000)  # widest first
DECOMPOSABLE = {"count_over_time", "sum_over_time", "avg_over_time", "min_over_time",
                "max_over_time", "last_over_time", "present_over_time"}
RAW_UP_TO_MS = 3_600_000  # reads spanning at most 1 h always use raw samples
MINUTE_UP_TO_MS = 86_400_000  # the 1-hour rollup only for reads beyond 24 h


def choose_bucket(function: str, range_ms: int, ends: np.ndarray) -> int | None:
    """The rollup to read for ``function`` over ``[e - range_ms, e]`` at every ``e`` in
    ``ends``, or None for raw samples."""
    if function not in DECOMPOSABLE or not len(ends):
        return None
    span = int(ends.max() - ends.min()) + range_ms
    if span <= RAW_UP_TO_MS:
        return None
    for bucket in BUCKETS_MS:
        if bucket == 3_600_000 and span <= MINUTE_UP_TO_MS:
            continue
        if range_ms % bucket == 0 and not (ends % bucket).any():
            return bucket
    return None


def exact(series: list[RollupSeries]) -> bool:
    """Every bucket's aggregates are finite, so summing and comparing them is exact, and
    every bucket knows its first sample."""
    return all(np.isfinite(s.sum).all() and np.isfinite(s.min).all()
               and np.isfinite(s.max).all() and (s.first_time != UNKNOWN_TIME).all()
               for s in series)


def current_steps(pending: list[tuple[int, int]], ends: np.ndarray, range_ms: int,
                  bucket_ms: int) -> np.ndarray:
    """Steps whose buckets (``[e - range, e + bucket)``) no pending range ``[lo, hi)``
    touches: only those may be answered from the rollup."""
    ok = np.ones(len(ends), dtype=bool)
    for lo, hi in pending:
        ok &= ~((lo < ends + bucket_ms) & (hi > ends - range_ms))
    return ok


def evaluate(function: str, s: RollupSeries, bucket_ms: int, range_ms: int,
             ends: np.ndarray) -> Result:
    lo = np.searchsorted(s.bucket, ends - range_ms, side="left")
    hi = np.searchsorted(s.bucket, ends - bucket_ms, side="right")
    edge_at = np.searchsorted(s.bucket, ends, side="left")
    clipped = np.minimum(edge_at, len(s.bucket) - 1)
    edge = (edge_at < len(s.bucket)) & (s.bucket[clipped] == ends) & (s.first_time[clipped] == ends)
    edge_value = np.where(edge, s.first[clipped], np.nan)

    counts_before = np.concatenate(([0], np.cumsum(s.count)))
    count = (counts_before[hi] - counts_before[lo]) + edge
    present = count > 0
    if function == "count_over_time":
        return count.astype(np.float64), present
    if function == "present_over_time":
        return np.ones(len(ends)), present
    if function == "last_over_time":
        interior_last = np.where(hi > lo, s.last[np.maximum(hi - 1, 0)], np.nan)
        return np.where(edge, edge_value, interior_last), present

    def gather(column: np.ndarray, reduce: str) -> np.ndarray:
        out = np.full(len(ends), np.nan)
        for sl, idx, mask in window_chunks(lo, hi):
            w = column[idx]
            if reduce == "sum":
                out[sl] = np.where(mask, w, 0.0).sum(axis=1)
            elif reduce == "min":
                out[sl] = np.fmin.reduce(np.where(mask, w, np.nan), axis=1)
            else:
                out[sl] = np.fmax.reduce(np.where(mask, w, np.nan), axis=1)
        return out

    if function in ("sum_over_time", "avg_over_time"):
        total = gather(s.sum, "sum")
        total = np.where(hi > lo, total, 0.0) + np.where(edge, edge_value, 0.0)
        if function == "sum_over_time":
            return total, present
        return total / np.maximum(count, 1), present
    if function == "min_over_time":
        return np.fmin(gather(s.min, "min"), edge_value), present
    if function == "max_over_time":
        return np.fmax(gather(s.max, "max"), edge_value), present
    raise ValueError(f"{function} is not computed from rollups")
