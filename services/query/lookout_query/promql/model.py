"""The values PromQL works with, and the one interface between the engine and storage.

Times are integer unix milliseconds throughout, as in Prometheus. A series' labels are
a tuple of ``(name, value)`` pairs sorted by name, with the metric name under
``__name__`` (storage keeps it in its own column; the querier puts it back).
"""

from __future__ import annotations

import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol

import numpy as np

Labels = tuple[tuple[str, str], ...]
METRIC_NAME = "__name__"

# Prometheus's staleness marker: a NaN with this exact bit pattern.
STALE_NAN_BITS = 0x7FF0000000000002
STALE_NAN = struct.unpack(">d", struct.pack(">Q", STALE_NAN_BITS))[0]


def is_stale(values: np.ndarray) -> np.ndarray:
    """Element-wise: is this value the staleness marker (not just any NaN)?"""
    return np.asarray(values, dtype=np.float64).view(np.uint64) == STALE_NAN_BITS


def labels_of(mapping: dict[str, str]) -> Labels:
    return tuple(sorted(mapping.items()))


def metric_name(labels: Labels) -> str | None:
    for name, value in labels:
        if name == METRIC_NAME:
            return value
    return None


# RE2's POSIX classes, valid inside brackets: Python has none (and warns on "[[").
_POSIX_CLASSES = {
    "alnum": "0-9A-Za-z", "alpha": "A-Za-z", "ascii": "\\x00-\\x7f", "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f", "digit": "0-9", "graph": "!-~", "lower": "a-z",
    "print": " -~", "punct": "!-/:-@\\[-`{-~", "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z", "word": "0-9A-Za-z_", "xdigit": "0-9A-Fa-f",
}
_POSIX_CLASS = re.compile(r"\[:(" + "|".join(_POSIX_CLASSES) + r"):\]")
_FLAG_GROUP = re.compile(r"\(\?([imsU]+)\)")


def translate_regex(pattern: str) -> str:
    """An RE2 pattern (Prometheus's dialect) as Python ``re`` syntax.

    The one difference that matters in practice: RE2 allows flag groups such as
    ``(?i)`` anywhere, applying to the rest of the enclosing group; Python only at the
    start. They become scoped groups ``(?i:...)`` closed where the enclosing group ends.
    """
    out: list[str] = []
    closers: list[int] = [0]  # per open group: scoped groups to close at its end
    i, in_class = 0, False
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            posix = _POSIX_CLASS.match(pattern, i)
            if posix is not None:
                out.append(_POSIX_CLASSES[posix.group(1)])
                i = posix.end()
                continue
            in_class = c != "]"
            out.append(c)
        elif c == "[":
            in_class = True
            out.append(c)
            if pattern[i + 1:i + 2] == "]" or pattern[i + 1:i + 3] == "^]":
                step = 2 if pattern[i + 1] == "]" else 3
                out.append(pattern[i + 1:i + step])
                i += step
                continue
        elif (m := _FLAG_GROUP.match(pattern, i)) is not None:
            flags = m.group(1).replace("U", "")
            if flags:
                out.append(f"(?{flags}:")
                closers[-1] += 1
            i = m.end()
            continue
        elif c == "(":
            closers.append(0)
            out.append(c)
        elif c == ")":
            out.append(")" * closers.pop() if len(closers) > 1 else "")
            out.append(c)
        else:
            out.append(c)
        i += 1
    out.append(")" * closers[0])
    return "".join(out)


def compile_anchored(pattern: str) -> re.Pattern[str]:
    """A label regex as Prometheus applies it: fully anchored (``^(?:re)$``)."""
    return re.compile(f"(?:{translate_regex(pattern)})\\Z")


@dataclass(frozen=True)
class Matcher:
    """A label matcher; regular expressions are fully anchored, as in Prometheus."""

    name: str
    op: str  # "=", "!=", "=~", "!~"
    value: str

    @cached_property
    def _regex(self) -> re.Pattern[str]:
        return compile_anchored(self.value)

    def matches(self, value: str) -> bool:
        """``value`` is "" for a label the series does not have."""
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        hit = self._regex.match(value) is not None
        return hit if self.op == "=~" else not hit


@dataclass
class Series:
    """One series' raw samples in a time range: ``t`` ascending unix ms, ``v`` float64
    (staleness markers kept as their NaN bit pattern)."""

    labels: Labels
    t: np.ndarray
    v: np.ndarray


# A rollup bucket's ``first_time`` where its first sample is unknown: the bucket was
# rolled up before first samples were recorded, and its raw samples are past retention
# (its ``first`` is NaN then). Such a bucket cannot answer what needs the first sample.
UNKNOWN_TIME = np.iinfo(np.int64).min


@dataclass
class RollupSeries:
    """One series' pre-aggregated buckets (1 minute or 1 hour) in a time range.

    ``bucket`` is each bucket's start (unix ms, ascending); per bucket, ``min`` ``max``
    ``sum`` ``count`` summarise its samples, ``first``/``first_time`` and
    ``last``/``last_time`` are its earliest and latest sample (time in unix ms;
    ``first_time`` is ``UNKNOWN_TIME`` where the first sample is not known);
    ``correction`` is the sum of the values just before each counter reset among the
    bucket's samples (NaN where not known).
    Staleness markers are not part of any bucket.
    """

    labels: Labels
    bucket: np.ndarray  # int64
    min: np.ndarray  # float64
    max: np.ndarray
    sum: np.ndarray
    count: np.ndarray  # int64
    last: np.ndarray
    last_time: np.ndarray  # int64
    first: np.ndarray
    first_time: np.ndarray  # int64
    correction: np.ndarray


@dataclass
class RollupRead:
    """Rollup buckets and, read in the same snapshot, the time ranges ``[lo, hi)`` whose
    rollups are not yet recomputed from newly written samples (plain-PostgreSQL mode's
    maintenance backlog; TimescaleDB's real-time aggregates have none)."""

    series: list[RollupSeries]
    pending: list[tuple[int, int]] = field(default_factory=list)


class Querier(Protocol):
    """Where the engine reads samples from (PostgreSQL in the service, anything in tests)."""

    def select(self, matchers: Sequence[Matcher], start_ms: int, end_ms: int) -> list[Series]:
        """Every series all ``matchers`` hold for, with its samples at
        ``start_ms <= t <= end_ms``; a series with no sample there is left out."""
        ...


# -- query results -------------------------------------------------------------------


@dataclass
class Scalar:
    t_ms: int
    value: float


@dataclass
class String:
    t_ms: int
    value: str


@dataclass
class Vector:
    """An instant vector at ``t_ms``: ``samples`` is a list of (labels, value)."""

    t_ms: int
    samples: list[tuple[Labels, float]] = field(default_factory=list)


@dataclass
class Matrix:
    """A range query's answer, or a range vector selected at an instant."""

    series: list[Series] = field(default_factory=list)


Value = Scalar | String | Vector | Matrix


# -- errors --------------------------------------------------------------------------


class PromQLError(Exception):
    """Base class; ``error_type`` is Prometheus's ``errorType`` for the API envelope."""

    error_type = "execution"
    status = 422


class BadQuery(PromQLError):
    """The query does not parse, or asks for something PromQL forbids."""

    error_type = "bad_data"
    status = 400


class ExecutionError(PromQLError):
    """The query is valid but cannot be evaluated over this data (e.g. duplicate series)."""


class Unsupported(PromQLError):
    """Valid PromQL that Lookout does not evaluate; never answered with a guess."""


class QueryTooLarge(PromQLError):
    """A limit was hit: samples loaded, points per series, series per query."""


class QueryTimeout(PromQLError):
    error_type = "timeout"
    status = 503


def format_float(value: float) -> str:
    """A sample value as Prometheus prints it (Go's strconv.FormatFloat(v, 'f', -1, 64)):
    shortest round-trip digits, never an exponent; "+Inf", "-Inf", "NaN"."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    return str(np.format_float_positional(value, unique=True, trim="-"))


_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")


def is_valid_label_name(name: str) -> bool:
    return _LABEL_NAME.match(name) is not None
