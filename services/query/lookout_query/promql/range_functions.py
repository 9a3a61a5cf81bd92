"""Functions of a range vector (``rate``, ``*_over_time``, ``deriv``...), vectorised.

Each function takes one series' samples ``t`` (ms), ``v`` and, per step, the slice
``[lo, hi)`` of the samples inside that step's window, and returns ``(values, present)``
per step. Windows are read either as slices (first/last sample, counts) or as a
``(steps, width)`` matrix of the window's samples, built a bounded chunk of steps at a
time. Formulas follow Prometheus 2.42's ``promql/functions.go`` semantics.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np

from .model import ExecutionError

Result = tuple[np.ndarray, np.ndarray]
MAX_WINDOW_CELLS = 2_000_000


def window_chunks(lo: np.ndarray, hi: np.ndarray) -> Iterator[tuple[slice, np.ndarray, np.ndarray]]:
    """Chunks of steps as (step slice, index matrix, mask); ``mask`` marks real samples."""
    steps = len(lo)
    if steps == 0:
        return
    width = int((hi - lo).max())
    width = max(width, 1)
    per_chunk = max(1, MAX_WINDOW_CELLS // width)
    offsets = np.arange(width)
    for start in range(0, steps, per_chunk):
        sl = slice(start, min(steps, start + per_chunk))
        idx = lo[sl, None] + offsets[None, :]
        mask = idx < hi[sl, None]
        yield sl, np.where(mask, idx, 0), mask


def _gathered(v: np.ndarray, lo: np.ndarray, hi: np.ndarray,
              reduce: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    out = np.full(len(lo), np.nan)
    if len(v) == 0:
        return out
    for sl, idx, mask in window_chunks(lo, hi):
        out[sl] = reduce(v[idx], mask)
    return out


def _count(lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    return hi - lo


# -- *_over_time ------------------------------------------------------------------------


def count_over_time(t, v, lo, hi, ends, step_times, args) -> Result:
    n = _count(lo, hi)
    return n.astype(np.float64), n > 0


def sum_over_time(t, v, lo, hi, ends, step_times, args) -> Result:
    values = _gathered(v, lo, hi, lambda w, m: np.where(m, w, 0.0).sum(axis=1))
    return values, hi > lo


def _incremental_mean(window: np.ndarray) -> float:
    """Prometheus's mean for windows whose plain sum overflows."""
    mean, count = 0.0, 0.0
    for x in window:
        count += 1
        if np.isinf(mean):
            if np.isinf(x) and (mean > 0) == (x > 0):
                continue
            if not np.isinf(x) and not np.isnan(x):
                continue
        mean += x / count - mean / count
    return mean


def avg_over_time(t, v, lo, hi, ends, step_times, args) -> Result:
    n = _count(lo, hi)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        sums = _gathered(v, lo, hi, lambda w, m: np.where(m, w, 0.0).sum(axis=1))
        values = sums / n
    # Where the plain sum is not finite (infinities, overflow), Prometheus's running mean
    # and the sum part ways: use the running mean there.
    for i in np.nonzero(~np.isfinite(values) & (n > 0))[0]:
        values[i] = _incremental_mean(v[lo[i]:hi[i]])
    return values, n > 0


def min_over_time(t, v, lo, hi, ends, step_times, args) -> Result:
    # fmin ignores NaN unless every sample is NaN: Prometheus's rule too.
    values = _gathered(v, lo, hi, lambda w, m: np.fmin.reduce(np.where(m, w, np.nan), axis=1))
    return values, hi > lo


def max_over_time(t, v, lo, hi, ends, step_times, args) -> Result:
    values = _gathered(v, lo, hi, lambda w, m: np.fmax.reduce(np.where(m, w, np.nan), axis=1))
    return values, hi > lo


def last_over_time(t, v, lo, hi, ends, step_times, args) -> Result:
    present = hi > lo
    values = np.full(len(lo), np.nan)
    values[present] = v[hi[present] - 1]
    return values, present


def present_over_time(t, v, lo, hi, ends, step_times, args) -> Result:
    present = hi > lo
    return np.ones(len(lo)), present


def _variance(w: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Welford's running variance over each row, as Prometheus computes it (a constant
    window gives exactly 0)."""
    rows = w.shape[0]
    count, mean, acc = np.zeros(rows), np.zeros(rows), np.zeros(rows)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        for k in range(w.shape[1]):
            p = m[:, k]
            x = w[:, k]
            count = count + p
            delta = np.where(p, x - mean, 0.0)
            mean = mean + np.where(p, delta / np.maximum(count, 1), 0.0)
            acc = acc + np.where(p, delta * (x - mean), 0.0)
        return acc / count


def stdvar_over_time(t, v, lo, hi, ends, step_times, args) -> Result:
    return _gathered(v, lo, hi, _variance), hi > lo


def stddev_over_time(t, v, lo, hi, ends, step_times, args) -> Result:
    return np.sqrt(_gathered(v, lo, hi, _variance)), hi > lo


def quantile_of_rows(q: np.ndarray, w: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Prometheus's quantile (linear interpolation between closest ranks) of each row's
    marked values; NaN values sort first, as Prometheus's ordering puts them."""
    n = m.sum(axis=1)
    keys = np.where(m, np.where(np.isnan(w), -np.inf, w), np.inf)
    order = np.argsort(keys, axis=1, kind="stable")
    ordered = np.take_along_axis(np.where(m, w, np.inf), order, axis=1)
    out = np.full(len(n), np.nan)
    with np.errstate(invalid="ignore"):
        rank = q * (n - 1)
    lower = np.clip(np.floor(np.nan_to_num(rank)), 0, None).astype(np.int64)
    upper = np.minimum(lower + 1, np.maximum(n - 1, 0))
    lower = np.minimum(lower, np.maximum(n - 1, 0))
    weight = rank - np.floor(rank)
    rows = np.arange(len(n))
    if ordered.shape[1]:
        lo_v = ordered[rows, lower]
        hi_v = ordered[rows, upper]
        with np.errstate(invalid="ignore"):
            out = lo_v * (1 - weight) + hi_v * weight
    out = np.where(q < 0, -np.inf, out)
    out = np.where(q > 1, np.inf, out)
    out = np.where(np.isnan(q), np.nan, out)
    return np.where(n > 0, out, np.nan)


def quantile_over_time(t, v, lo, hi, ends, step_times, args) -> Result:
    q = args[0]
    out = np.full(len(lo), np.nan)
    if len(v):
        for sl, idx, mask in window_chunks(lo, hi):
            out[sl] = quantile_of_rows(q[sl], v[idx], mask)
    return out, hi > lo


def mad_over_time(t, v, lo, hi, ends, step_times, args) -> Result:
    out = np.full(len(lo), np.nan)
    half = np.full(len(lo), 0.5)
    if len(v):
        for sl, idx, mask in window_chunks(lo, hi):
            w = v[idx]
            median = quantile_of_rows(half[sl], w, mask)
            out[sl] = quantile_of_rows(half[sl], np.abs(w - median[:, None]), mask)
    return out, hi > lo


# -- counters and gauges -----------------------------------------------------------------


def _reset_correction(v: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """Per window, the sum of the values just before each counter reset in it."""
    out = np.zeros(len(lo))
    if len(v) < 2:
        return out
    dropped = v[1:] < v[:-1]  # pair (i-1, i) is a reset, for i >= 1
    resets_before = np.concatenate(([0, 0], np.cumsum(dropped)))  # resets among pairs < i
    # pairs inside [lo, hi): i in [lo+1, hi-1]
    counts = np.where(hi - lo >= 2,
                      resets_before[np.maximum(hi, 1)] - resets_before[np.minimum(lo + 1, len(v))],
                      0)
    for i in np.nonzero(counts > 0)[0]:
        window = v[lo[i]:hi[i]]
        prev, cur = window[:-1], window[1:]
        out[i] = prev[cur < prev].sum()
    return out


def _extrapolated(t, v, lo, hi, ends, range_ms, is_counter: bool, is_rate: bool) -> Result:
    n = hi - lo
    present = n >= 2
    values = np.full(len(lo), np.nan)
    if not present.any():
        return values, present
    idx = np.nonzero(present)[0]
    first_i, last_i = lo[idx], hi[idx] - 1
    correction = _reset_correction(v, lo[idx], hi[idx]) if is_counter else 0.0
    values[idx] = extrapolate(
        WindowEnds(t[first_i], v[first_i], t[last_i], v[last_i], n[idx], correction),
        ends[idx], range_ms, is_counter, is_rate)
    return values, present


@dataclass
class WindowEnds:
    """What ``rate``, ``increase`` and ``delta`` need of each window (of at least two
    samples): its first and last sample, how many samples it holds and, for counters,
    the sum of the values just before each reset in it."""

    first_t: np.ndarray  # ms
    first_v: np.ndarray
    last_t: np.ndarray
    last_v: np.ndarray
    count: np.ndarray
    correction: np.ndarray | float


def extrapolate(w: WindowEnds, ends: np.ndarray, range_ms: int, is_counter: bool,
                is_rate: bool) -> np.ndarray:
    """Prometheus's extrapolated rate/increase/delta of windows ``[end - range, end]``."""
    result = w.last_v - w.first_v
    if is_counter:
        result = result + w.correction
    range_start = (ends - range_ms).astype(np.float64)
    range_end = ends.astype(np.float64)
    first_t = w.first_t.astype(np.float64)
    last_t = w.last_t.astype(np.float64)
    to_start = (first_t - range_start) / 1000
    to_end = (range_end - last_t) / 1000
    sampled = (last_t - first_t) / 1000
    average = sampled / (w.count - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        if is_counter:
            to_zero = sampled * (w.first_v / result)
            clamp = (result > 0) & (w.first_v >= 0) & (to_zero < to_start)
            to_start = np.where(clamp, to_zero, to_start)
        threshold = average * 1.1
        interval = sampled.copy()
        interval += np.where(to_start < threshold, to_start, average / 2)
        interval += np.where(to_end < threshold, to_end, average / 2)
        factor = interval / sampled
        if is_rate:
            factor = factor / (range_ms / 1000)
        return result * factor


def rate(t, v, lo, hi, ends, step_times, args, range_ms=0) -> Result:
    return _extrapolated(t, v, lo, hi, ends, range_ms, True, True)


def increase(t, v, lo, hi, ends, step_times, args, range_ms=0) -> Result:
    return _extrapolated(t, v, lo, hi, ends, range_ms, True, False)


def delta(t, v, lo, hi, ends, step_times, args, range_ms=0) -> Result:
    return _extrapolated(t, v, lo, hi, ends, range_ms, False, False)


def _instant(t, v, lo, hi, is_rate: bool) -> Result:
    present = (hi - lo) >= 2
    values = np.full(len(lo), np.nan)
    idx = np.nonzero(present)[0]
    last, prev = v[hi[idx] - 1], v[hi[idx] - 2]
    dt = (t[hi[idx] - 1] - t[hi[idx] - 2]) / 1000
    result = last - prev
    if is_rate:
        result = np.where(last < prev, last, result)
        ok = dt != 0
        present[idx[~ok]] = False
        with np.errstate(invalid="ignore", divide="ignore"):
            result = result / dt
    values[idx] = result
    return values, present


def irate(t, v, lo, hi, ends, step_times, args) -> Result:
    return _instant(t, v, lo, hi, True)


def idelta(t, v, lo, hi, ends, step_times, args) -> Result:
    return _instant(t, v, lo, hi, False)


def _pair_counts(indicator: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """How many pairs (i-1, i) inside each window have ``indicator[i-1]`` set."""
    before = np.concatenate(([0, 0], np.cumsum(indicator)))
    n = len(indicator) + 1
    return np.where(hi - lo >= 2,
                    before[np.maximum(hi, 1)] - before[np.minimum(lo + 1, n)], 0)


def changes(t, v, lo, hi, ends, step_times, args) -> Result:
    if len(v) < 2:
        return np.zeros(len(lo)), hi > lo
    prev, cur = v[:-1], v[1:]
    changed = (cur != prev) & ~(np.isnan(cur) & np.isnan(prev))
    return _pair_counts(changed, lo, hi).astype(np.float64), hi > lo


def resets(t, v, lo, hi, ends, step_times, args) -> Result:
    if len(v) < 2:
        return np.zeros(len(lo)), hi > lo
    return _pair_counts(v[1:] < v[:-1], lo, hi).astype(np.float64), hi > lo


def _regression(t, v, lo, hi, intercept_ms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Least-squares slope and intercept per window (x in seconds from intercept_ms)."""
    slope = np.full(len(lo), np.nan)
    intercept = np.full(len(lo), np.nan)
    for sl, idx, mask in window_chunks(lo, hi):
        n = mask.sum(axis=1).astype(np.float64)
        y = np.where(mask, v[idx], 0.0)
        x = np.where(mask, (t[idx] - intercept_ms[sl, None]) / 1000.0, 0.0)
        first = v[idx[:, 0]]
        const_y = (np.where(mask, v[idx] == first[:, None], True)).all(axis=1)
        with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
            sum_x, sum_y = x.sum(axis=1), y.sum(axis=1)
            sum_xy, sum_x2 = (x * y).sum(axis=1), (x * x).sum(axis=1)
            cov_xy = sum_xy - sum_x * sum_y / n
            var_x = sum_x2 - sum_x * sum_x / n
            s = cov_xy / var_x
            i = sum_y / n - s * sum_x / n
        s = np.where(const_y, np.where(np.isinf(first), np.nan, 0.0), s)
        i = np.where(const_y, np.where(np.isinf(first), np.nan, first), i)
        slope[sl], intercept[sl] = s, i
    return slope, intercept


def deriv(t, v, lo, hi, ends, step_times, args) -> Result:
    present = (hi - lo) >= 2
    if not len(v):
        return np.full(len(lo), np.nan), present
    first_t = t[np.minimum(lo, len(t) - 1)]
    slope, _ = _regression(t, v, lo, hi, first_t)
    return slope, present


def predict_linear(t, v, lo, hi, ends, step_times, args) -> Result:
    present = (hi - lo) >= 2
    if not len(v):
        return np.full(len(lo), np.nan), present
    slope, intercept = _regression(t, v, lo, hi, step_times)
    return slope * args[0] + intercept, present


def holt_winters(t, v, lo, hi, ends, step_times, args) -> Result:
    """Double exponential smoothing; both factors must lie strictly between 0 and 1."""
    sf, tf = args[0], args[1]
    present = (hi - lo) >= 2
    values = np.full(len(lo), np.nan)
    for i in np.nonzero(present)[0]:
        s_f, t_f = float(sf[i]), float(tf[i])
        if not 0 < s_f < 1:
            raise ExecutionError(f"invalid smoothing factor. Expected: 0 < sf < 1, got: {s_f:f}")
        if not 0 < t_f < 1:
            raise ExecutionError(f"invalid trend factor. Expected: 0 < tf < 1, got: {t_f:f}")
        window = v[lo[i]:hi[i]]
        s0, s1 = 0.0, float(window[0])
        b = float(window[1] - window[0])
        for j in range(1, len(window)):
            if j > 1:
                b = t_f * (s1 - s0) + (1 - t_f) * b
            s0, s1 = s1, s_f * float(window[j]) + (1 - s_f) * (s1 + b)
        values[i] = s1
    return values, present


# name → (function, number of scalar args before the range vector, after it)
RANGE_FUNCTIONS: dict[str, Callable[..., Result]] = {
    "count_over_time": count_over_time, "sum_over_time": sum_over_time,
    "avg_over_time": avg_over_time, "min_over_time": min_over_time,
    "max_over_time": max_over_time, "last_over_time": last_over_time,
    "present_over_time": present_over_time, "stddev_over_time": stddev_over_time,
    "stdvar_over_time": stdvar_over_time, "quantile_over_time": quantile_over_time,
    "mad_over_time": mad_over_time,
    "rate": rate, "increase": increase, "delta": delta, "irate": irate, "idelta": idelta,
    "changes": changes, "resets": resets, "deriv": deriv, "predict_linear": predict_linear,
    "holt_winters": holt_winters, "double_exponential_smoothing": holt_winters,
}
NEEDS_RANGE = {"rate", "increase", "delta"}
