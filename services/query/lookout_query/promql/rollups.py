"""Answering ``*_over_time`` from the 1-minute / 1-hour rollups when, and only when, the
answer is provably the one the raw samples give.

A window ``[e - R, e]`` with ``R`` and ``e`` whole multiples of the bucket width ``B``
is exactly the buckets starting in ``[e - R, e - B]`` plus the sample at ``e`` itself,
if there is one — which is the first sample of the bucket starting at ``e``
(``first_time == e``). From ``min max sum count first last`` of those buckets,
``count sum avg min max last present _over_time`` follow exactly; with each bucket's
counter ``correction`` (the sum of the values just before each reset inside it) so do
``rate``, ``increase`` and ``delta``: the window's first and last samples are its first
bucket's first and last bucket's last (or the edge sample), and a reset between two
buckets shows as a bucket's first sample below the previous bucket's last. Rollups exclude
staleness markers, as range vectors do. Where a bucket's sum, min or max is not finite
(NaN samples, infinities, overflow) the floating-point rules of the two computations can
differ, so the whole selector is read raw instead. See docs/promql.md.
"""

from __future__ import annotations

import numpy as np

from .model import UNKNOWN_TIME, RollupSeries
from .range_functions import Result, WindowEnds, extrapolate, window_chunks

BUCKETS_MS = (3_600_000, 60_000)  # widest first
# rate, increase, delta: (is_counter, is_rate), as range_functions computes them.
EXTRAPOLATED = {"rate": (True, True), "increase": (True, False), "delta": (False, False)}
DECOMPOSABLE = {"count_over_time", "sum_over_time", "avg_over_time", "min_over_time",
                "max_over_time", "last_over_time", "present_over_time", *EXTRAPOLATED}
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


def exact(series: list[RollupSeries], function: str) -> bool:
    """Every bucket's aggregates are finite, so summing and comparing them is exact, and
    every bucket knows its first sample (and, for a counter function, its correction,
    which rollups made before migration 0008 and past raw retention lack)."""
    counter = EXTRAPOLATED.get(function, (False, False))[0]
    return all(np.isfinite(s.sum).all() and np.isfinite(s.min).all()
               and np.isfinite(s.max).all() and (s.first_time != UNKNOWN_TIME).all()
               and (not counter or np.isfinite(s.correction).all())
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
    if function in EXTRAPOLATED:
        return _extrapolated(function, s, lo, hi, edge, edge_value, count, range_ms, ends)
    if function == "count_over_time":
        return count.astype(np.float64), present
    if function == "present_over_time":
        return np.ones(len(ends)), present
    if function == "last_over_time":
        interior_last = np.where(hi > lo, s.last[np.maximum(hi - 1, 0)], np.nan)
        return np.where(edge, edge_value, interior_last), present

    def gather(column: np.ndarray, reduce: str) -> np.ndarray:
        return _gather(column, lo, hi, reduce)

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


def _gather(column: np.ndarray, lo: np.ndarray, hi: np.ndarray, reduce: str) -> np.ndarray:
    """Per window, ``column[lo:hi]`` summed, or its least or greatest value."""
    out = np.full(len(lo), np.nan)
    for sl, idx, mask in window_chunks(lo, hi):
        w = column[idx]
        if reduce == "sum":
            out[sl] = np.where(mask, w, 0.0).sum(axis=1)
        elif reduce == "min":
            out[sl] = np.fmin.reduce(np.where(mask, w, np.nan), axis=1)
        else:
            out[sl] = np.fmax.reduce(np.where(mask, w, np.nan), axis=1)
    return out


def _sum(column: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Per window, ``column[lo:hi]`` summed (no work where the column is all zeros, as a
    counter's corrections mostly are)."""
    if not column.any():
        return np.zeros(len(lo))
    return _gather(column, lo, hi, "sum")


def _extrapolated(function: str, s: RollupSeries, lo: np.ndarray, hi: np.ndarray,
                  edge: np.ndarray, edge_value: np.ndarray, count: np.ndarray,
                  range_ms: int, ends: np.ndarray) -> Result:
    is_counter, is_rate = EXTRAPOLATED[function]
    present = count >= 2  # a rate needs two samples
    values = np.full(len(ends), np.nan)
    if not present.any():
        return values, present
    i = np.nonzero(present)[0]
    lo, hi, edge, edge_value, ends = lo[i], hi[i], edge[i], edge_value[i], ends[i]
    inside = hi > lo  # else the window holds the edge sample only
    first_row, last_row = np.minimum(lo, len(s.bucket) - 1), np.maximum(hi - 1, 0)
    first_t = np.where(inside, s.first_time[first_row], ends)
    first_v = np.where(inside, s.first[first_row], edge_value)
    last_t = np.where(edge, ends, s.last_time[last_row])
    last_v = np.where(edge, edge_value, s.last[last_row])
    correction: np.ndarray | float = 0.0
    if is_counter:
        # A reset between consecutive buckets: the later one starts below the earlier's end.
        previous_last = np.concatenate(([np.nan], s.last[:-1]))
        between = np.where(s.first < previous_last, previous_last, 0.0)
        # Row lo's "between" looks outside the window: only rows lo+1 .. hi-1 count.
        correction = _sum(s.correction, lo, hi) + _sum(between, np.minimum(lo + 1, hi), hi)
        # The edge sample follows the last bucket.
        last_inside = s.last[last_row]
        correction = np.where(inside, correction, 0.0)
        correction += np.where(edge & inside & (edge_value < last_inside), last_inside, 0.0)
    values[i] = extrapolate(WindowEnds(first_t, first_v, last_t, last_v, count[i], correction),
                            ends, range_ms, is_counter, is_rate)
    return values, present
