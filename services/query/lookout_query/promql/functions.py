"""Functions of instant vectors and scalars (math, time, labels, ``histogram_quantile``,
``sort``...), evaluated over all steps at once. Range-vector functions are in
``range_functions``; the evaluator dispatches both.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

import numpy as np

from .model import ExecutionError, Labels, is_valid_label_name, translate_regex
from .values import ScalarSteps, VectorSteps, drop_name, merge_same_labels


def _map_values(vec: VectorSteps, fn: Callable[[np.ndarray], np.ndarray]) -> VectorSteps:
    with np.errstate(all="ignore"):
        values = fn(vec.values)
    return merge_same_labels([drop_name(ls) for ls in vec.labels], values, vec.present)


def _sgn(x: np.ndarray) -> np.ndarray:
    return np.sign(x)


MATH: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "abs": np.abs, "ceil": np.ceil, "floor": np.floor, "exp": np.exp, "sqrt": np.sqrt,
    "ln": np.log, "log2": np.log2, "log10": np.log10, "sgn": _sgn,
    "sin": np.sin, "cos": np.cos, "tan": np.tan, "asin": np.arcsin, "acos": np.arccos,
    "atan": np.arctan, "sinh": np.sinh, "cosh": np.cosh, "tanh": np.tanh,
    "asinh": np.arcsinh, "acosh": np.arccosh, "atanh": np.arctanh,
    "deg": np.degrees, "rad": np.radians,
}


def round_(vec: VectorSteps, to_nearest: ScalarSteps | None) -> VectorSteps:
    nearest = to_nearest.values if to_nearest is not None else np.ones(vec.steps)
    inverse = 1.0 / nearest
    return _map_values(vec, lambda v: np.floor(v * inverse + 0.5) / inverse)


def clamp(vec: VectorSteps, low: np.ndarray | None, high: np.ndarray | None) -> VectorSteps:
    out = _map_values(vec, lambda v: v)
    values = out.values
    # NaN in a bound or a value gives NaN, like Go's math.Max/math.Min.
    if high is not None:
        values = np.minimum(values, high)
    if low is not None:
        values = np.maximum(values, low)
    present = out.present.copy()
    if low is not None and high is not None:
        present &= ~(high < low)[None, :]
    return VectorSteps(out.labels, values, present).without_empty_rows()


def _calendar(values: np.ndarray, part: str) -> np.ndarray:
    """A calendar field (UTC) of each value read as unix seconds, truncated to whole
    seconds as Go's time.Unix(int64(v), 0) does; NaN and infinities give NaN."""
    finite = np.isfinite(values)
    seconds = np.where(finite, np.trunc(np.where(finite, values, 0.0)), 0).astype(np.int64)
    if part == "minute":
        out = (seconds // 60) % 60
    elif part == "hour":
        out = (seconds // 3600) % 24
    elif part == "day_of_week":
        out = (seconds // 86_400 + 4) % 7  # 1970-01-01 was a Thursday; Sunday is 0
    else:
        day = seconds.astype("datetime64[s]").astype("datetime64[D]")
        month = day.astype("datetime64[M]")
        year = day.astype("datetime64[Y]")
        if part == "day_of_month":
            out = (day - month.astype("datetime64[D]")).astype(np.int64) + 1
        elif part == "day_of_year":
            out = (day - year.astype("datetime64[D]")).astype(np.int64) + 1
        elif part == "days_in_month":
            out = ((month + 1).astype("datetime64[D]")
                   - month.astype("datetime64[D]")).astype(np.int64)
        elif part == "month":
            out = (month - year.astype("datetime64[M]")).astype(np.int64) + 1
        else:  # year
            out = year.astype(np.int64) + 1970
    return np.where(finite, out.astype(np.float64), np.nan)


CALENDAR = {"minute", "hour", "day_of_week", "day_of_month", "day_of_year", "days_in_month",
            "month", "year"}


def calendar(name: str, vec: VectorSteps) -> VectorSteps:
    return _map_values(vec, lambda v: _calendar(v, name))


_TEMPLATE = re.compile(r"\$(?:\$|\{([A-Za-z0-9_]*)\}|([A-Za-z0-9_]+))")


def _expand(template: str, match: re.Match[str]) -> str:
    """Go's regexp.Expand: ``$1``, ``${1}``, ``$name``, ``$$``; unknown groups are empty
    (``$1x`` names the group "1x", which does not exist)."""
    def one(m: re.Match[str]) -> str:
        if m.group(0) == "$$":
            return "$"
        name = m.group(1) if m.group(1) is not None else m.group(2)
        try:
            return match.group(int(name) if name.isdigit() else name) or ""
        except IndexError:
            return ""
    return _TEMPLATE.sub(one, template)


def _with_label(vec: VectorSteps, dst: str,
                new_value: Callable[[dict[str, str]], str | None]) -> VectorSteps:
    """Every series with label ``dst`` set to ``new_value(labels)`` — removed when that is
    "", left as it was when it is None; series whose labels become equal merge."""
    out: list[Labels] = []
    for labels in vec.labels:
        mapping = dict(labels)
        value = new_value(mapping)
        if value:
            mapping[dst] = value
        elif value is not None:
            mapping.pop(dst, None)
        out.append(tuple(sorted(mapping.items())))
    return merge_same_labels(out, vec.values, vec.present)


def label_replace(vec: VectorSteps, dst: str, replacement: str, src: str,
                  regex: str) -> VectorSteps:
    try:
        pattern = re.compile(f"^(?:{translate_regex(regex)})$", re.DOTALL)
    except re.error as exc:
        raise ExecutionError(
            f"invalid regular expression in label_replace(): {regex}: {exc}") from None
    if not is_valid_label_name(dst):
        raise ExecutionError(f"invalid destination label name in label_replace(): {dst}")
    def new_value(labels: dict[str, str]) -> str | None:
        match = pattern.match(labels.get(src, ""))
        return None if match is None else _expand(replacement, match)

    return _with_label(vec, dst, new_value)


def label_join(vec: VectorSteps, dst: str, separator: str, sources: list[str]) -> VectorSteps:
    if not is_valid_label_name(dst):
        raise ExecutionError(f"invalid destination label name in label_join(): {dst}")
    for src in sources:
        if not is_valid_label_name(src):
            raise ExecutionError(f"invalid source label name in label_join(): {src}")
    return _with_label(vec, dst,
                       lambda labels: separator.join(labels.get(src, "") for src in sources))


def sort(vec: VectorSteps, descending: bool) -> VectorSteps:
    """Orders an instant query's answer (a range query's series are sorted by labels
    anyway). NaN values come last either way, as in Prometheus."""
    if vec.steps != 1 or not len(vec):
        return vec
    values = vec.values[:, 0]
    nan = np.isnan(values)
    key = np.where(nan, 0.0, -values if descending else values)
    order = np.lexsort((key, nan))
    out = vec.keep_rows(order)
    out.ordered = True
    return out


def scalar(vec: VectorSteps) -> ScalarSteps:
    counts = vec.present.sum(axis=0)
    values = np.full(vec.steps, np.nan)
    if len(vec):
        first = np.argmax(vec.present, axis=0)
        one = counts == 1
        values[one] = vec.values[first[one], np.nonzero(one)[0]]
    return ScalarSteps(values)


def absent(present_any: np.ndarray, labels: Labels) -> VectorSteps:
    missing = ~present_any
    return VectorSteps([labels], np.ones((1, len(missing))), missing[None, :]).without_empty_rows()


def histogram_quantile(q: np.ndarray, vec: VectorSteps) -> VectorSteps:
    """Quantiles from classic histogram buckets (``le`` label), per group of the other
    labels; buckets are sorted, merged by bound, made monotonic, then interpolated."""
    # Grouped with the metric name, which the answer then drops: two histograms that
    # differ only by name collide, and the query fails as Prometheus's does.
    groups: dict[Labels, list[tuple[float, int]]] = {}
    for i, labels in enumerate(vec.labels):
        le = None
        rest = []
        for name, value in labels:
            if name == "le":
                le = value
            else:
                rest.append((name, value))
        if le is None:
            continue
        try:
            bound = float(le)
        except ValueError:
            continue
        groups.setdefault(tuple(rest), []).append((bound, i))
    out_labels, out_values, out_present = [], [], []
    steps = vec.steps
    for labels, buckets in groups.items():
        buckets.sort(key=lambda b: b[0])
        bounds = np.array([b for b, _ in buckets])
        rows = [i for _, i in buckets]
        counts = np.where(vec.present[rows], vec.values[rows], 0.0)
        present_rows = vec.present[rows]
        # Buckets with the same bound are one bucket.
        uniq = np.unique(bounds)
        if len(uniq) != len(bounds):
            summed = np.zeros((len(uniq), steps))
            summed_p = np.zeros((len(uniq), steps), dtype=bool)
            where = np.searchsorted(uniq, bounds)
            np.add.at(summed, where, counts)
            np.logical_or.at(summed_p, where, present_rows)
            bounds, counts, present_rows = uniq, summed, summed_p
        any_present = present_rows.any(axis=0)
        if present_rows.all() and np.isfinite(counts).all():
            values = bucket_quantiles(q, bounds, counts)  # every bucket at every step
        else:
            values = np.full(steps, np.nan)
            for step in np.nonzero(any_present)[0]:
                here = present_rows[:, step]
                values[step] = bucket_quantile(float(q[step]), bounds[here],
                                               counts[here, step])
        out_labels.append(labels)
        out_values.append(values)
        out_present.append(any_present)
    if not out_labels:
        return VectorSteps.empty(steps)
    return merge_same_labels([drop_name(ls) for ls in out_labels], np.array(out_values),
                             np.array(out_present))


def bucket_quantiles(q: np.ndarray, bounds: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """``bucket_quantile`` at every step at once, for ``counts`` (buckets by steps) that
    are all present and finite, ``bounds`` sorted and distinct."""
    steps = counts.shape[1]
    if len(bounds) < 2 or not math.isinf(bounds[-1]) or bounds[-1] < 0:
        out = np.full(steps, np.nan)
    else:
        counts = np.maximum.accumulate(counts, axis=0)
        observations = counts[-1]
        rank = q * observations
        reached = counts[:-1] >= rank[None, :]
        b = np.where(reached.any(axis=0), np.argmax(reached, axis=0), len(bounds) - 1)
        previous = np.maximum(b - 1, 0)
        below = np.where(b > 0, counts[previous, np.arange(steps)], 0.0)
        start = np.where(b > 0, bounds[previous], 0.0)
        end = bounds[np.minimum(b, len(bounds) - 1)]
        in_bucket = counts[np.minimum(b, len(bounds) - 1), np.arange(steps)] - below
        out = start + (end - start) * ((rank - below) / in_bucket)
        out = np.where(b == len(bounds) - 1, bounds[-2], out)
        out = np.where((b == 0) & (bounds[0] <= 0), bounds[0], out)
        out = np.where(observations == 0, np.nan, out)
    out = np.where(q < 0, -np.inf, out)
    out = np.where(q > 1, np.inf, out)
    return np.where(np.isnan(q), np.nan, out)


def bucket_quantile(q: float, bounds: np.ndarray, counts: np.ndarray) -> float:
    if math.isnan(q):
        return math.nan
    if q < 0:
        return -math.inf
    if q > 1:
        return math.inf
    if len(bounds) == 0 or not math.isinf(bounds[-1]) or bounds[-1] < 0:
        return math.nan
    counts = np.maximum.accumulate(counts)  # monotonic, as a broken scrape may not be
    if len(bounds) < 2:
        return math.nan
    observations = counts[-1]
    if observations == 0:
        return math.nan
    rank = q * observations
    b = int(np.searchsorted(counts[:-1], rank, side="left"))
    if b == len(bounds) - 1:
        return float(bounds[-2])
    if b == 0 and bounds[0] <= 0:
        return float(bounds[0])
    start, end, count = 0.0, float(bounds[b]), float(counts[b])
    if b > 0:
        start = float(bounds[b - 1])
        count -= counts[b - 1]
        rank -= counts[b - 1]
    return start + (end - start) * (rank / count)
