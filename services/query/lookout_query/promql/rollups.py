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
staleness markers, as range vectors do. Where a bucket's sum is not finite (a NaN or
infinite sample, or an overflow) the floating-point rules of the two computations can
differ, so the whole selector is read raw instead. See docs/promql.md.
"""

from __future__ import annotations

import numpy as np

from .model import UNKNOWN_TIME, RollupSeries
from .range_functions import Result, WindowEnds, extrapolate

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


# The columns each function reads besides bucket, count, sum, first and first_time.
COLUMNS = {
    "min_over_time": ("min",), "max_over_time": ("max",), "last_over_time": ("last",),
    "rate": ("last", "last_time", "correction"), "increase": ("last", "last_time", "correction"),
    "delta": ("last", "last_time"),
}


def exact(series: list[RollupSeries], function: str) -> bool:
    """Every bucket's samples are finite (its sum is: a NaN or infinite sample, or an
    overflow, makes it not), so summing and comparing them is exact; every bucket knows
    its first sample and, for a counter function, its correction (rollups made before
    migration 0008 whose raw samples were past retention lack it)."""
    counter = EXTRAPOLATED.get(function, (False, False))[0]
    return all(np.isfinite(s.sum).all() and (s.first_time != UNKNOWN_TIME).all()
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


# Series are evaluated together on a grid of (series, bucket) cells, a bounded number of
# cells at a time.
GRID_CELLS = 250_000


def evaluate(function: str, series: list[RollupSeries], bucket_ms: int, range_ms: int,
             ends: np.ndarray) -> Result:
    """``function`` over ``[e - range_ms, e]`` at every ``e`` in ``ends`` (all multiples of
    ``bucket_ms``, as ``choose_bucket`` ensures) for every series: ``(values, present)``,
    one row per series."""
    values = np.full((len(series), len(ends)), np.nan)
    present = np.zeros((len(series), len(ends)), dtype=bool)
    if not len(series) or not len(ends):
        return values, present
    width = range_ms // bucket_ms
    origin = int(ends.min()) - range_ms  # grid cell 0 is the bucket starting here
    cells = (int(ends.max()) - origin) // bucket_ms + 1  # up to the bucket starting at e
    end_cell = (ends - origin) // bucket_ms
    per_chunk = max(1, GRID_CELLS // cells)
    for lo in range(0, len(series), per_chunk):
        grid = Grid(series[lo:lo + per_chunk], origin, bucket_ms, cells)
        rows = slice(lo, lo + len(grid.count))
        values[rows], present[rows] = grid.evaluate(function, width, end_cell, ends, range_ms)
    return values, present


class Grid:
    """Some series' buckets laid out on a grid of cells: row = series, column = bucket
    ``origin + column · bucket_ms``; a cell without a bucket has count 0."""

    def __init__(self, series: list[RollupSeries], origin: int, bucket_ms: int,
                 cells: int) -> None:
        shape = (len(series), cells)
        self.series = series
        row = np.repeat(np.arange(len(series)), [len(s.bucket) for s in series])
        column = (np.concatenate([s.bucket for s in series]) - origin) // bucket_ms
        self.flat = row * cells + column  # each bucket's cell in the flattened grid
        self.count = self._cells("count", np.zeros(shape, dtype=np.int64))
        self.shape = shape
        self._columns: dict[str, np.ndarray] = {}

    def _cells(self, name: str, out: np.ndarray) -> np.ndarray:
        out.ravel()[self.flat] = np.concatenate([getattr(s, name) for s in self.series])
        return out

    def column_of(self, name: str, fill: float = np.nan) -> np.ndarray:
        """The column ``name`` on the grid (``fill`` where no bucket), laid out once."""
        if name not in self._columns:
            dtype = np.int64 if name.endswith("_time") else np.float64
            self._columns[name] = self._cells(name, np.full(self.shape, fill, dtype=dtype))
        return self._columns[name]

    def evaluate(self, function: str, width: int, end_cell: np.ndarray, ends: np.ndarray,
                 range_ms: int) -> Result:
        first_cell = end_cell - width  # the window: cells first_cell .. end_cell - 1
        # The sample at e itself: the first sample of the bucket starting at e.
        first = self.column_of("first")
        edge = (self.count[:, end_cell] > 0) & (
            self.column_of("first_time", UNKNOWN_TIME)[:, end_cell] == ends)
        edge_value = np.where(edge, first[:, end_cell], np.nan)
        counts_before = np.concatenate(
            (np.zeros((self.shape[0], 1), dtype=np.int64), np.cumsum(self.count, axis=1)),
            axis=1)
        inside = counts_before[:, end_cell] - counts_before[:, first_cell]
        count = inside + edge
        present = count > 0
        if function == "count_over_time":
            return count.astype(np.float64), present
        if function == "present_over_time":
            return np.ones(count.shape), present
        filled = self.count > 0
        # Per cell, the nearest cell with a bucket at or before it (-1: none).
        cell_index = np.arange(self.shape[1])
        previous = np.maximum.accumulate(np.where(filled, cell_index, -1), axis=1)
        last_cell = previous[:, end_cell - 1]  # the window's last bucket, if >= first_cell
        has_inside = inside > 0
        if function == "last_over_time":
            last = np.take_along_axis(self.column_of("last"), np.maximum(last_cell, 0), axis=1)
            return np.where(edge, edge_value, np.where(has_inside, last, np.nan)), present
        if function in EXTRAPOLATED:
            return self._extrapolated(function, width, first_cell, end_cell, ends, range_ms,
                                      first, filled, previous, last_cell, has_inside, edge,
                                      edge_value, count)
        if function in ("sum_over_time", "avg_over_time"):
            total = np.where(has_inside, self._window(self.column_of("sum", 0.0), width,
                                                      first_cell, "sum"), 0.0)
            total += np.where(edge, edge_value, 0.0)
            if function == "sum_over_time":
                return total, present
            return total / np.maximum(count, 1), present
        if function == "min_over_time":
            return np.fmin(self._window(self.column_of("min"), width, first_cell, "min"),
                           edge_value), present
        if function == "max_over_time":
            return np.fmax(self._window(self.column_of("max"), width, first_cell, "max"),
                           edge_value), present
        raise ValueError(f"{function} is not computed from rollups")

    @staticmethod
    def _window(column: np.ndarray, width: int, first_cell: np.ndarray,
                reduce: str) -> np.ndarray:
        """Per row and window of ``width`` cells starting at each ``first_cell``: the
        cells summed (empty ones hold 0) or their least / greatest value (empty: NaN)."""
        # Every window position is reduced (a view: nothing is copied), then the ones
        # the steps need are picked.
        windows = np.lib.stride_tricks.sliding_window_view(column, width, axis=1)
        if reduce == "sum":
            reduced = windows.sum(axis=2)
        elif reduce == "min":
            reduced = np.fmin.reduce(windows, axis=2)
        else:
            reduced = np.fmax.reduce(windows, axis=2)
        return reduced[:, first_cell]

    def _extrapolated(self, function: str, width: int, first_cell: np.ndarray,
                      end_cell: np.ndarray, ends: np.ndarray, range_ms: int,
                      first: np.ndarray, filled: np.ndarray, previous: np.ndarray,
                      last_cell: np.ndarray, has_inside: np.ndarray, edge: np.ndarray,
                      edge_value: np.ndarray, count: np.ndarray) -> Result:
        is_counter, is_rate = EXTRAPOLATED[function]
        present = count >= 2  # a rate needs two samples
        if not present.any():
            return np.full(count.shape, np.nan), present
        cells = self.shape[1]
        # Per cell, the nearest cell with a bucket at or after it (cells: none).
        following = np.minimum.accumulate(
            np.where(filled, np.arange(cells), cells)[:, ::-1], axis=1)[:, ::-1]
        window_first = np.minimum(following[:, first_cell], cells - 1)
        window_last = np.maximum(last_cell, 0)
        last = self.column_of("last")
        first_time = self.column_of("first_time", UNKNOWN_TIME)
        at_end = np.broadcast_to(ends, count.shape)
        first_t = np.where(has_inside, np.take_along_axis(first_time, window_first, axis=1),
                           at_end)
        first_v = np.where(has_inside, np.take_along_axis(first, window_first, axis=1),
                           edge_value)
        last_inside = np.take_along_axis(last, window_last, axis=1)
        last_t = np.where(edge, at_end,
                          np.take_along_axis(self.column_of("last_time", UNKNOWN_TIME),
                                             window_last, axis=1))
        last_v = np.where(edge, edge_value, last_inside)
        correction: np.ndarray | float = 0.0
        if is_counter:
            # A reset between consecutive buckets: the later one starts below the earlier's
            # end. Cell i's term looks back to the bucket before it, which for the window's
            # first bucket lies outside the window: that term is taken off again.
            before = np.concatenate((np.full((self.shape[0], 1), -1), previous[:, :-1]), axis=1)
            previous_last = np.where(before >= 0,
                                     np.take_along_axis(last, np.maximum(before, 0), axis=1),
                                     np.nan)
            between = np.where(filled & (first < previous_last), previous_last, 0.0)
            terms = self.column_of("correction", 0.0) + between
            correction = np.zeros(count.shape)
            if terms.any():
                correction = (self._window(terms, width, first_cell, "sum")
                              - np.take_along_axis(between, window_first, axis=1))
            correction = np.where(has_inside, correction, 0.0)
            correction += np.where(edge & has_inside & (edge_value < last_inside),
                                   last_inside, 0.0)
        # Computed everywhere (cells with fewer than two samples give NaN or nonsense, and
        # are not present), which is cheaper than picking the present cells first.
        with np.errstate(invalid="ignore", divide="ignore"):
            values = extrapolate(WindowEnds(first_t, first_v, last_t, last_v, count, correction),
                                 at_end, range_ms, is_counter, is_rate)
        return np.where(present, values, np.nan), present
