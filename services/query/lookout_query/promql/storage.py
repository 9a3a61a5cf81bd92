"""The PromQL engine's view of PostgreSQL: series chosen by label matchers, their raw
samples, their 1-minute / 1-hour rollups, and the label catalogue the Prometheus API lists.

Label matchers become SQL conditions with bound parameters, never SQL text: the metric
name is the ``metric`` column, every other label ``labels->>name``, where a label the
series lacks reads as "" (so ``{a=""}`` selects series without ``a``, as in Prometheus).
Regular expressions are anchored at both ends, as Prometheus anchors them, and
translated from RE2 (Prometheus's dialect) to PostgreSQL's where the two differ; the
few RE2 constructs without an exact PostgreSQL form are applied in Python to the rows
the other matchers selected (``postgres_regex``, ``SeriesCondition``).

Samples travel as PostgreSQL's binary COPY format and are decoded by NumPy in one pass:
no Python work per sample, and float bits unchanged (the staleness marker is a NaN
with one exact bit pattern, and must stay that NaN).
"""

from __future__ import annotations

import functools
import io
import itertools
import re
import struct
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import psycopg2
import psycopg2.errors
import psycopg2.extensions
from sqlalchemy import Engine

from .model import (
    METRIC_NAME,
    UNKNOWN_TIME,
    BadQuery,
    Labels,
    Matcher,
    QueryTimeout,
    QueryTooLarge,
    RollupRead,
    RollupSeries,
    Series,
    Unsupported,
)

PG_MINUS_INFINITY = np.iinfo(np.int64).min  # '-infinity'::timestamptz in binary
PG_EPOCH_MS = 946_684_800_000  # 2000-01-01T00:00:00Z, where PostgreSQL's timestamps count from
UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Samples are never older than 1970 (the wire codec refuses them) nor newer than year 9999.
EARLIEST_MS = 0
LATEST_MS = 253_402_300_799_999

ROLLUP_TABLES = {60_000: "samples_1m", 3_600_000: "samples_1h"}

# -- the binary COPY format ------------------------------------------------------------
# A file is a signature, flags, a header extension, then one record per row: the field
# count (int16) and per field its length (int32) and its bytes, big-endian; then -1.
COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00"
COPY_TRAILER = struct.pack("!h", -1)


def _row_dtype(fields: Sequence[tuple[str, str]]) -> np.dtype:
    layout: list[tuple[str, str]] = [("field_count", ">i2")]
    for name, kind in fields:
        layout += [(f"{name}_length", ">i4"), (name, kind)]
    return np.dtype(layout)


SAMPLE_ROW = _row_dtype([("series_id", ">i4"), ("time", ">i8"), ("value", ">f8")])
# A rollup column as read: its SQL (a first sample not recorded — rolled up before
# migration 0004, raw samples gone — reads as NaN at -infinity, which the decoder turns
# into UNKNOWN_TIME; a correction not recorded as NaN) and its COPY type.
ROLLUP_FIELDS = {
    "bucket": ("bucket", ">i8"),
    "count": ("count::int8", ">i8"),
    "sum": ("sum::float8", ">f8"),
    "first": ("coalesce(first::float8, 'NaN')", ">f8"),
    "first_time": ("coalesce(first_time, '-infinity')", ">i8"),
    "min": ("min::float8", ">f8"),
    "max": ("max::float8", ">f8"),
    "last": ("last::float8", ">f8"),
    "last_time": ("last_time", ">i8"),
    "correction": ("coalesce(correction, 'NaN')", ">f8"),
}
ROLLUP_ALWAYS = ("bucket", "count", "sum", "first", "first_time")
ROLLUP_OPTIONAL = ("min", "max", "last", "last_time", "correction")


class CopyFormatError(RuntimeError):
    """PostgreSQL sent COPY output this reader does not understand (a schema drift)."""


def decode_binary_copy(data: bytes | memoryview, row: np.dtype) -> np.ndarray:
    """Rows of a binary COPY whose every field is fixed-width and never NULL (a view of
    ``data``, not a copy)."""
    if (bytes(data[:len(COPY_SIGNATURE)]) != COPY_SIGNATURE
            or bytes(data[len(data) - len(COPY_TRAILER):]) != COPY_TRAILER):
        raise CopyFormatError("not PostgreSQL binary COPY output")
    (extension_length,) = struct.unpack_from("!i", data, len(COPY_SIGNATURE) + 4)
    start = len(COPY_SIGNATURE) + 8 + extension_length
    body = len(data) - start - len(COPY_TRAILER)
    if body % row.itemsize:
        raise CopyFormatError(
            f"COPY rows are not {row.itemsize} bytes each (a NULL or a column of another type)"
        )
    rows = np.frombuffer(data, dtype=row, count=body // row.itemsize, offset=start)
    fields = [name for name in row.names or () if name != "field_count" and
              not name.endswith("_length")]
    if len(rows) and not (rows["field_count"] == len(fields)).all():
        raise CopyFormatError(f"COPY rows do not all have {len(fields)} fields")
    for name in fields:
        if len(rows) and not (rows[f"{name}_length"] == row[name].itemsize).all():
            raise CopyFormatError(f"COPY column {name} is NULL or not {row[name]}")
    return rows


def pg_time_to_unix_ms(micros_since_2000: np.ndarray) -> np.ndarray:
    """Binary timestamptz (int64 microseconds since 2000-01-01) to unix milliseconds."""
    return micros_since_2000.astype(np.int64) // 1000 + PG_EPOCH_MS


def native_float64(big_endian: np.ndarray) -> np.ndarray:
    """Big-endian float64 to native, bit for bit (through integers, so no NaN is touched)."""
    return big_endian.view(">u8").astype(np.uint64).view(np.float64)


def inline_parameters_for_copy(cursor: Any, statement: str, params: Sequence[object]) -> str:
    """COPY cannot take bound parameters, so its query gets its values as literals, quoted
    by the driver (``cursor.mogrify``) for this very connection — never by string pasting."""
    quoted: bytes = cursor.mogrify(statement, params)
    return quoted.decode(psycopg2.extensions.encodings[cursor.connection.encoding])


# -- matchers as SQL -------------------------------------------------------------------

# RE2 flags a Prometheus regex may open with, as PostgreSQL embedded options (which must
# come first in the whole pattern, so they are lifted out of the anchoring group).
_LEADING_FLAGS = re.compile(r"\(\?([is]+)\)")
_REPETITION = re.compile(r"\{\d+(?:,\d*)?\}")
_HEX_ESCAPE = re.compile(r"\\x(?:([0-9a-fA-F]{2})|\{([0-9a-fA-F]{1,6})\})")


def postgres_regex(pattern: str) -> str | None:
    """An RE2 pattern (Prometheus's dialect) as a PostgreSQL regex matching whole values,
    or None where the two dialects differ and no exact translation is known here.

    Translated: a leading ``(?i)``/``(?s)`` becomes PostgreSQL's embedded option;
    ``.`` becomes ``[^\\n]`` (RE2's dot stops at a newline unless ``(?s)``, PostgreSQL's
    does not); ``\\b``/``\\B`` (word boundaries) become ``\\y``/``\\Y``; ``\\z`` becomes
    ``\\Z``; ``\\xHH``/``\\x{H..}`` become fixed-width ``\\u``/``\\U``; a brace that is no
    repetition becomes a literal. Left to Python (None): flags or named groups anywhere
    else (``(?i:...)``, ``((?i)...)``, ``(?P<n>...)``), octal escapes, ``\\p``/``\\Q``/``\\C``,
    and ``\\D``/``\\S``/``\\W`` inside brackets.
    """
    options, dot_all, i = "", False, 0
    leading = _LEADING_FLAGS.match(pattern)
    if leading:
        options = "i" if "i" in leading.group(1) else ""
        dot_all = "s" in leading.group(1)
        i = leading.end()
    out: list[str] = []
    in_class = False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            escape = pattern[i + 1:i + 2]
            hex_escape = _HEX_ESCAPE.match(pattern, i)
            if hex_escape:
                code = int(hex_escape.group(1) or hex_escape.group(2), 16)
                out.append(f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}")
                i = hex_escape.end()
                continue
            if not escape or escape.isdigit() or escape in "pPQECx":
                return None
            if in_class and escape in "bBzDSW":
                return None
            out.append({"b": "\\y", "B": "\\Y", "z": "\\Z"}.get(escape, "\\" + escape))
            i += 2
            continue
        if in_class:
            if pattern.startswith(("[.", "[="), i):  # PostgreSQL's collating elements
                return None
            if pattern.startswith("[:", i):
                end = pattern.find(":]", i + 2)
                if end < 0:
                    return None
                out.append(pattern[i:end + 2])
                i = end + 2
                continue
            in_class = c != "]"
            out.append(c)
        elif c == "[":
            in_class = True
            head = "[^" if pattern.startswith("[^", i) else "["
            out.append(head)
            i += len(head)
            if pattern.startswith("]", i):  # a leading ] is a literal
                out.append("]")
                i += 1
            continue
        elif c == "(" and pattern.startswith("(?", i):
            if not pattern.startswith("(?:", i):
                return None
            out.append("(?:")
            i += 3
            continue
        elif c == ".":
            out.append("." if dot_all else "[^\\n]")
        elif c == "{":
            repetition = _REPETITION.match(pattern, i)
            if repetition:
                out.append(repetition.group())
                i = repetition.end()
                continue
            out.append("\\{")
        elif c == "}":
            out.append("\\}")
        else:
            out.append(c)
        i += 1
    if in_class:
        return None
    prefix = f"(?{options})" if options else ""
    return f"{prefix}^(?:{''.join(out)})$"


@dataclass(frozen=True)
class SeriesCondition:
    """Label matcher sets (any set, all its matchers) as one SQL condition on ``series s``.

    Where a regex has no exact PostgreSQL form it is left out of the SQL, which then
    selects a superset; ``recheck`` holds the sets to apply exactly, in Python, to each
    row (``Matcher.matches``), or None when the SQL is exact.
    """

    sql: str
    params: list[object]
    recheck: tuple[tuple[Matcher, ...], ...] | None = None

    def keeps(self, metric: str, labels: dict[str, str]) -> bool:
        if self.recheck is None:
            return True
        return any(
            all(m.matches(metric if m.name == METRIC_NAME else labels.get(m.name, ""))
                for m in matchers)
            for matchers in self.recheck
        )


def matcher_condition(matcher: Matcher) -> tuple[str, list[object]] | None:
    """One matcher as a condition on ``series s`` with its bound parameters; None for a
    regex PostgreSQL cannot evaluate exactly."""
    if matcher.name == METRIC_NAME:
        column, params = "s.metric", []
    else:
        column, params = "coalesce(s.labels->>%s, '')", [matcher.name]
    if matcher.op == "=" and matcher.name != METRIC_NAME and matcher.value:
        # Containment can use the GIN index on labels.
        return "s.labels @> jsonb_build_object(%s::text, %s::text)", [matcher.name,
                                                                       matcher.value]
    if matcher.op in ("=", "!="):
        operator = "=" if matcher.op == "=" else "<>"
        return f"{column} {operator} %s", [*params, matcher.value]
    if matcher.op in ("=~", "!~"):
        regex = postgres_regex(matcher.value)
        if regex is None:
            return None
        operator = "~" if matcher.op == "=~" else "!~"
        return f"{column} {operator} %s", [*params, regex]
    raise BadQuery(f"unknown label matcher operator {matcher.op!r}")


def series_condition(matcher_sets: Sequence[Sequence[Matcher]]) -> SeriesCondition:
    """Any one of ``matcher_sets`` holds (no sets: every series)."""
    alternatives, params = [], []
    inexact = False
    for matchers in matcher_sets:
        parts = []
        for matcher in matchers:
            condition = matcher_condition(matcher)
            if condition is None:
                inexact = True
                continue
            parts.append(condition[0])
            params += condition[1]
        alternatives.append("(" + (" AND ".join(parts) or "TRUE") + ")")
    recheck = tuple(tuple(ms) for ms in matcher_sets) if inexact else None
    return SeriesCondition(" OR ".join(alternatives) or "TRUE", params, recheck)


def _timestamp(ms: int) -> datetime:
    return UNIX_EPOCH + timedelta(milliseconds=ms)


def time_window(start_ms: int, end_ms: int) -> tuple[datetime, datetime] | None:
    """``[start_ms, end_ms]`` clipped to where samples can be; None if nothing is left."""
    lo, hi = max(start_ms, EARLIEST_MS), min(end_ms, LATEST_MS)
    if lo > hi:
        return None
    return _timestamp(lo), _timestamp(hi)


def series_labels(metric: str, labels: dict[str, str]) -> Labels:
    """A stored series' labels as the engine sees them: ``__name__`` included (unless
    the series has no name), empty values dropped, sorted by name."""
    pairs = [(name, value) for name, value in labels.items() if value != ""]
    if metric:
        pairs.append((METRIC_NAME, metric))
    return tuple(sorted(pairs))


# -- SQL -------------------------------------------------------------------------------

HAS_SAMPLES_SQL = """EXISTS (
    SELECT 1 FROM samples x WHERE x.series_id = s.id AND x.time >= %s AND x.time <= %s)"""
# Rollup reads first match series without asking whether they have buckets in the window
# (an EXISTS per series on a continuous aggregate's view costs more than the read): the
# read itself tells. Up to this many times the series limit; beyond, the EXISTS is asked.
ROLLUP_UNCHECKED_SERIES_FACTOR = 4
ROLLUP_HAS_BUCKETS_SQL = """EXISTS (
    SELECT 1 FROM {table} x WHERE x.series_id = s.id AND x.bucket >= %s AND x.bucket <= %s
      AND x.count > 0)"""
# LIMIT NULL is no limit.
MATCHING_SERIES_SQL = """
SELECT s.id, s.metric, s.labels FROM series s
WHERE ({condition}) AND {has_data}
LIMIT %s
"""
SAMPLES_COPY_SQL = """
COPY (
    SELECT series_id, time, value FROM samples
    WHERE series_id = ANY(%s::integer[]) AND time >= %s AND time <= %s
    ORDER BY series_id, time
) TO STDOUT (FORMAT binary)
"""
# Buckets holding only staleness markers (count 0, if a rollup keeps them) are no data.
# A first sample not recorded (rolled up before migration 0004, raw samples gone) reads
# as NaN at -infinity, which the decoder turns into UNKNOWN_TIME.
# Rollups not yet recomputed for what was written, as [lo, hi) unix ms overlapping a span.
STORAGE_MODE_SQL = "SELECT value FROM lookout_meta WHERE key = 'storage_mode'"
# Plain mode: the maintenance loop's backlog.
PLAIN_PENDING_SQL = """
SELECT (extract(epoch FROM lo) * 1000)::bigint, (extract(epoch FROM hi) * 1000)::bigint
FROM rollup_invalidations WHERE hi > %(lo)s AND lo <= %(hi)s
"""
# TimescaleDB: writes below a continuous aggregate's invalidation threshold wait in its
# invalidation logs until a refresh (above its watermark, real-time aggregation reads raw
# samples, so nothing there is pending). Values are unix microseconds, inclusive. These
# are TimescaleDB's catalog tables: if they cannot be read, nothing counts as current.
TIMESCALEDB_PENDING_SQL = """
WITH caggs AS (
    SELECT mat_hypertable_id, raw_hypertable_id,
           _timescaledb_functions.cagg_watermark(mat_hypertable_id) AS watermark
    FROM _timescaledb_catalog.continuous_agg
    WHERE user_view_schema = current_schema() AND user_view_name IN ('samples_1m', 'samples_1h')
), pending AS (
    SELECT h.lowest_modified_value AS lo, h.greatest_modified_value AS hi
    FROM _timescaledb_catalog.continuous_aggs_hypertable_invalidation_log h
    WHERE h.hypertable_id IN (SELECT raw_hypertable_id FROM caggs)
    UNION ALL
    SELECT m.lowest_modified_value, least(m.greatest_modified_value, c.watermark - 1)
    FROM _timescaledb_catalog.continuous_aggs_materialization_invalidation_log m
    JOIN caggs c ON c.mat_hypertable_id = m.materialization_id
    WHERE m.lowest_modified_value < c.watermark
)
SELECT floor(lo / 1000.0)::bigint, floor(hi / 1000.0)::bigint + 1 FROM pending
WHERE hi >= %(lo_us)s AND lo <= %(hi_us)s
"""
EVERYTHING = (-(2**62), 2**62)
# A database's storage mode never changes (lookout_meta records it at creation): read once
# per SQLAlchemy engine, not by each querier (the query service makes one per request).
_STORAGE_MODES: weakref.WeakKeyDictionary[Engine, str] = weakref.WeakKeyDictionary()
ROLLUP_COPY_SQL = """
COPY (
    SELECT series_id, {fields}
    FROM {table}
    WHERE series_id = ANY(%s::integer[]) AND bucket >= %s AND bucket <= %s AND count > 0
) TO STDOUT (FORMAT binary)
"""
LABEL_NAMES_SQL = """
WITH matched AS (
    SELECT s.metric, s.labels FROM series s WHERE ({condition}) AND {has_data}
)
SELECT %s WHERE EXISTS (SELECT 1 FROM matched WHERE metric <> '')
UNION
SELECT l.name FROM matched CROSS JOIN LATERAL jsonb_each_text(matched.labels) AS l(name, value)
WHERE l.value <> ''
ORDER BY 1
"""
METRIC_NAMES_SQL = """
SELECT DISTINCT s.metric FROM series s
WHERE ({condition}) AND {has_data} AND s.metric <> ''
ORDER BY 1
"""
LABEL_VALUES_SQL = """
SELECT DISTINCT s.labels->>%s AS value FROM series s
WHERE ({condition}) AND {has_data} AND coalesce(s.labels->>%s, '') <> ''
ORDER BY 1
"""


class PostgresQuerier:
    """``model.Querier`` over the ``series`` / ``samples`` tables and their rollups.

    ``max_series``: how many series one selector (or a series listing) may return
    before the query is refused with ``QueryTooLarge``. ``statement_timeout_ms``
    bounds every statement; a statement cut off raises ``QueryTimeout``.
    """

    def __init__(self, engine: Engine, *, max_series: int = 100_000,
                 statement_timeout_ms: int | None = None) -> None:
        self.engine = engine
        self.max_series = max_series
        self.statement_timeout_ms = statement_timeout_ms

    # -- the engine's reads --------------------------------------------------------------
    def select(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[Series]:
        window = time_window(start_ms, end_ms)
        if window is None:
            return []
        with self._cursor() as cur:
            found = self._matching_series(cur, series_condition([matchers]), HAS_SAMPLES_SQL,
                                          window)
            if not found:
                return []
            rows = self._copy_out(cur, SAMPLES_COPY_SQL, (list(found), *window), SAMPLE_ROW)
        ids = rows["series_id"]
        times = pg_time_to_unix_ms(rows["time"])
        values = native_float64(rows["value"])
        out = [Series(found[int(ids[lo])], times[lo:hi], values[lo:hi])
               for lo, hi in _runs(ids)]
        out.sort(key=lambda series: series.labels)
        return out

    def select_rollup(self, matchers: Sequence[Matcher], bucket_ms: int, start_ms: int,
                      end_ms: int, columns: Iterable[str] = ROLLUP_OPTIONAL) -> RollupRead:
        """Buckets of ``bucket_ms`` (60000 or 3600000) starting at ``start_ms <= bucket <=
        end_ms`` of every series ``matchers`` select (series without one are left out),
        with the ranges of that span whose rollups are still to be recomputed — read in
        one snapshot, so a range the maintenance loop finishes meanwhile is either seen
        pending or seen recomputed, never neither. Of ``min max last last_time
        correction``, only ``columns`` are read (the others are NaN / UNKNOWN_TIME); the
        rest always are."""
        wanted = [*ROLLUP_ALWAYS, *(c for c in ROLLUP_OPTIONAL if c in set(columns))]
        table = ROLLUP_TABLES.get(bucket_ms)
        if table is None:
            raise ValueError(f"no rollup of {bucket_ms} ms; there are {sorted(ROLLUP_TABLES)}")
        window = time_window(start_ms, end_ms)
        if window is None:
            return RollupRead([])
        reach = time_window(start_ms, end_ms + bucket_ms)
        assert reach is not None
        with self._cursor(snapshot=True) as cur:
            pending = self._pending_rollups(cur, reach, start_ms, end_ms + bucket_ms)
            condition = series_condition([matchers])
            found = self._matching_series(
                cur, condition, None, window, limited=False,
                limit=self.max_series * ROLLUP_UNCHECKED_SERIES_FACTOR + 1)
            if len(found) > self.max_series * ROLLUP_UNCHECKED_SERIES_FACTOR:
                found = self._matching_series(cur, condition,
                                              ROLLUP_HAS_BUCKETS_SQL.format(table=table), window)
            if not found:
                return RollupRead([], pending)
            fields = ", ".join(ROLLUP_FIELDS[name][0] for name in wanted)
            rows = self._copy_out(cur, ROLLUP_COPY_SQL.format(table=table, fields=fields),
                                  (list(found), *window), _rollup_row(tuple(wanted)))
        # PostgreSQL sends the rows in no particular order (sorting them there costs more
        # than here): by series, then bucket, column by column (the rows are wide).
        ids = rows["series_id"].astype(np.int64)
        decoded = {name: _rollup_column(rows, name) for name in wanted}
        if len(rows):
            # One int64 key: series id above, bucket (in seconds from the first) below.
            seconds = (decoded["bucket"] - int(decoded["bucket"].min())) // 1000
            # Stable (timsort): the index-only scan sends sorted runs, one per chunk.
            order = np.argsort((ids << 32) | seconds, kind="stable")
            ids = ids[order]
            decoded = {name: column[order] for name, column in decoded.items()}
        runs = list(_runs(ids))
        self._check_series_count(len(runs))
        for name in ROLLUP_OPTIONAL:  # not read
            decoded.setdefault(name, np.full(len(ids), UNKNOWN_TIME if name == "last_time"
                                             else np.nan))
        out = [RollupSeries(labels=found[int(ids[lo])],
                            **{name: column[lo:hi] for name, column in decoded.items()})
               for lo, hi in runs]
        out.sort(key=lambda series: series.labels)
        return RollupRead(out, pending)

    def _pending_rollups(self, cur: Any, reach: tuple[datetime, datetime], start_ms: int,
                         end_ms: int) -> list[tuple[int, int]]:
        mode = _STORAGE_MODES.get(self.engine)
        if mode is None:
            cur.execute(STORAGE_MODE_SQL)
            row = cur.fetchone()
            mode = _STORAGE_MODES[self.engine] = row[0] if row else "postgres"
        if mode != "timescaledb":
            cur.execute(PLAIN_PENDING_SQL, {"lo": reach[0], "hi": reach[1]})
            return [(lo, hi) for lo, hi in cur.fetchall()]
        cur.execute("SAVEPOINT pending_rollups")
        try:
            cur.execute(TIMESCALEDB_PENDING_SQL, {"lo_us": start_ms * 1000,
                                                  "hi_us": end_ms * 1000})
        except psycopg2.Error:
            # Another TimescaleDB version's catalog: never trust the rollups blindly.
            cur.execute("ROLLBACK TO SAVEPOINT pending_rollups")
            return [EVERYTHING]
        return [(lo, hi) for lo, hi in cur.fetchall()]

    # -- the Prometheus API's catalogue --------------------------------------------------
    def series(self, matcher_sets: Sequence[Sequence[Matcher]], start_ms: int,
               end_ms: int) -> list[Labels]:
        """Labels of every series any of ``matcher_sets`` selects (all series for none)
        that has a sample in ``[start_ms, end_ms]``, sorted."""
        window = time_window(start_ms, end_ms)
        if window is None:
            return []
        with self._cursor() as cur:
            found = self._matching_series(cur, series_condition(matcher_sets), HAS_SAMPLES_SQL,
                                          window)
        return sorted(found.values())

    def label_names(self, matcher_sets: Sequence[Sequence[Matcher]], start_ms: int,
                    end_ms: int) -> list[str]:
        """Label names (``__name__`` included) of those series, sorted."""
        return self._labels_of_series(
            matcher_sets, start_ms, end_ms,
            pick=lambda labels: (n for n, _ in labels),
            sql=LABEL_NAMES_SQL, params=lambda cond, window: (*cond, *window, METRIC_NAME))

    def label_values(self, name: str, matcher_sets: Sequence[Sequence[Matcher]],
                     start_ms: int, end_ms: int) -> list[str]:
        """The values label ``name`` takes on those series (never ""), sorted."""
        if name == METRIC_NAME:
            sql, params = METRIC_NAMES_SQL, lambda cond, window: (*cond, *window)
        else:
            sql, params = LABEL_VALUES_SQL, lambda cond, window: (name, *cond, *window, name)
        return self._labels_of_series(
            matcher_sets, start_ms, end_ms,
            pick=lambda labels: (v for n, v in labels if n == name), sql=sql, params=params)

    def _labels_of_series(
            self, matcher_sets: Sequence[Sequence[Matcher]], start_ms: int, end_ms: int, *,
            pick: Callable[[Labels], Iterable[str]], sql: str,
            params: Callable[[tuple[Any, ...], tuple[Any, ...]], tuple[Any, ...]]) -> list[str]:
        """Distinct label names or values of the series with data in the window, sorted:
        in SQL, or from the series themselves where a regex needs the Python recheck."""
        window = time_window(start_ms, end_ms)
        if window is None:
            return []
        condition = series_condition(matcher_sets)
        with self._cursor() as cur:
            if condition.recheck is not None:
                found = self._matching_series(cur, condition, HAS_SAMPLES_SQL, window,
                                              limited=False)
                return sorted({item for labels in found.values() for item in pick(labels)})
            cur.execute(sql.format(condition=condition.sql, has_data=HAS_SAMPLES_SQL),
                        params(tuple(condition.params), tuple(window)))
            return [value for (value,) in cur.fetchall()]

    # -- plumbing ------------------------------------------------------------------------
    @contextmanager
    def _cursor(self, snapshot: bool = False) -> Iterator[Any]:
        """A cursor on a pooled connection, its transaction rolled back after; a regex
        PostgreSQL cannot run and a statement timeout become the engine's typed errors.
        ``snapshot``: every statement sees the same snapshot (REPEATABLE READ)."""
        conn = self.engine.raw_connection()
        cur: Any = conn.cursor()
        try:
            if snapshot:
                cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            if self.statement_timeout_ms is not None:
                cur.execute("SELECT set_config('statement_timeout', %s, true)",
                            (str(self.statement_timeout_ms),))
            yield cur
        except psycopg2.errors.InvalidRegularExpression as exc:
            # The parser accepted it as RE2; PostgreSQL's dialect cannot run it.
            raise Unsupported(f"regular expression not supported by storage: "
                              f"{str(exc).strip()}") from None
        except psycopg2.errors.QueryCanceled:
            raise QueryTimeout("query timed out in expression evaluation (a storage read took "
                               f"longer than {self.statement_timeout_ms} ms)") from None
        finally:
            cur.close()
            conn.close()  # back to the pool, which rolls the transaction back

    def _matching_series(self, cur: Any, condition: SeriesCondition,
                         has_data_sql: str | None, window: tuple[datetime, datetime],
                         limited: bool = True, limit: int | None = None) -> dict[int, Labels]:
        """Ids and labels of the series ``condition`` selects that have data in ``window``
        (``has_data_sql``; None: whether or not they have); more than ``max_series`` of
        them is ``QueryTooLarge`` when ``limited``. ``limit``: at most this many rows."""
        # With a recheck to come, SQL's rows are a superset: the limit applies after it.
        if limited and condition.recheck is None:
            limit = self.max_series + 1
        window_params = window if has_data_sql is not None else ()
        cur.execute(MATCHING_SERIES_SQL.format(condition=condition.sql,
                                               has_data=has_data_sql or "TRUE"),
                    (*condition.params, *window_params, limit))
        found = {series_id: series_labels(metric, labels)
                 for series_id, metric, labels in cur.fetchall()
                 if condition.keeps(metric, labels)}
        if limited:
            self._check_series_count(len(found))
        return found

    def _check_series_count(self, count: int) -> None:
        if count > self.max_series:
            raise QueryTooLarge(
                f"the query selects more than {self.max_series} series "
                "(the limit of series per selector); narrow it with label matchers"
            )

    @staticmethod
    def _copy_out(cur: Any, statement: str, params: Sequence[object],
                  row: np.dtype) -> np.ndarray:
        buffer = io.BytesIO()
        statement = inline_parameters_for_copy(cur, statement, params)
        green = psycopg2.extensions.get_wait_callback()
        if green is None:
            cur.copy_expert(statement, buffer)
        else:
            # Under gevent (psycogreen's wait callback), psycopg2 refuses COPY: it runs
            # blocking instead. No other greenlet runs meanwhile, so lifting the global
            # callback for the call affects no one else (docs/live.md).
            psycopg2.extensions.set_wait_callback(None)
            try:
                cur.copy_expert(statement, buffer)
            finally:
                psycopg2.extensions.set_wait_callback(green)
        return decode_binary_copy(buffer.getbuffer(), row)  # no copy of what was read


@functools.cache
def _rollup_row(names: tuple[str, ...]) -> np.dtype:
    return _row_dtype([("series_id", ">i4"), *((n, ROLLUP_FIELDS[n][1]) for n in names)])


def _rollup_column(rows: np.ndarray, name: str) -> np.ndarray:
    """One rollup column of the decoded rows, native."""
    if name == "count":
        return rows[name].astype(np.int64)
    if name == "first_time":
        return np.where(rows[name] == PG_MINUS_INFINITY, UNKNOWN_TIME,
                        pg_time_to_unix_ms(rows[name]))
    if name in ("bucket", "last_time"):  # never NULL, so never -infinity
        return pg_time_to_unix_ms(rows[name])
    return native_float64(rows[name])


def _runs(ids: np.ndarray) -> Iterator[tuple[int, int]]:
    """``[lo, hi)`` of each run of equal values in the sorted ``ids``."""
    if not len(ids):
        return
    edges = np.flatnonzero(ids[1:] != ids[:-1]) + 1
    yield from itertools.pairwise([0, *edges.tolist(), len(ids)])
