"""The series model: what a metric sample is and the rules it must follow.

Every ingest protocol produces ``Sample`` values through ``SampleValidator`` so the
same rules hold whatever the agent; the worker checks them again on decode.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

METRIC_NAME_RE = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
LABEL_NAME_RE = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
MAX_METRIC_NAME_LEN = 255
MAX_LABEL_NAME_LEN = 64
MAX_LABEL_VALUE_LEN = 256
MAX_PAST_MS = 365 * 24 * 3600 * 1000
MAX_FUTURE_MS = 5 * 60 * 1000

Labels = tuple[tuple[str, str], ...]


class RuleBroken(ValueError):
    """One rule broken by one value; ``field`` says where."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True, slots=True)
class SeriesKey:
    """A metric name plus its labels, sorted by name: the identity of a series.

    ``fingerprint`` (blake2b-128 of name and labels, the ``series`` table's key) is
    computed once here; ingest limits and the worker's id cache read it per request.
    """

    metric: str
    labels: Labels
    fingerprint: bytes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        h = hashlib.blake2b(digest_size=16)
        h.update(self.metric.encode())
        for name, value in self.labels:
            h.update(b"\xff")
            h.update(name.encode())
            h.update(b"\xfe")
            h.update(value.encode())
        object.__setattr__(self, "fingerprint", h.digest())


METRIC_TYPES = frozenset({"counter", "gauge", "histogram", "gaugehistogram", "summary", "info",
                          "stateset", "unknown"})
MAX_HELP_LEN = 1024
MAX_UNIT_LEN = 64


@dataclass(frozen=True, slots=True)
class MetricMetadata:
    """What an agent says about a metric: its type, help text and unit."""

    metric: str
    type: str
    help: str = ""
    unit: str = ""


def check_metadata(metric: object, type_: object, help_: object, unit: object) -> MetricMetadata:
    name = check_metric_name(metric, "metadata.metric")
    if type_ not in METRIC_TYPES:
        raise RuleBroken("metadata.type", f"metric type {type_!r} is not one of "
                                          f"{', '.join(sorted(METRIC_TYPES))}")
    for part, value, limit in (("help", help_, MAX_HELP_LEN), ("unit", unit, MAX_UNIT_LEN)):
        if not isinstance(value, str):
            raise RuleBroken(f"metadata.{part}", f"{part} must be a string")
        if "\x00" in value:
            raise RuleBroken(f"metadata.{part}", f"{part} contains a NUL character")
        if len(value) > limit:
            raise RuleBroken(f"metadata.{part}",
                             f"{part} is {len(value)} characters long, the limit is {limit}")
    return MetricMetadata(name, str(type_), str(help_), str(unit))


@dataclass(frozen=True, slots=True)
class Sample:
    series: SeriesKey
    timestamp_ms: int
    value: float


def check_metric_name(name: object, field: str = "name") -> str:
    if not isinstance(name, str):
        raise RuleBroken(field, "metric name must be a string")
    if not name:
        raise RuleBroken(field, "metric name must not be empty")
    if len(name) > MAX_METRIC_NAME_LEN:
        raise RuleBroken(
            field, f"metric name is {len(name)} characters long, the limit is {MAX_METRIC_NAME_LEN}"
        )
    if not METRIC_NAME_RE.match(name):
        raise RuleBroken(field, f"metric name {name!r} does not match [a-zA-Z_:][a-zA-Z0-9_:]*")
    return name


def check_labels(labels: object, field: str = "labels") -> Labels:
    """Validate a label mapping and return it sorted; empty values mean 'no label'."""
    if labels is None:
        return ()
    if not isinstance(labels, Mapping):
        raise RuleBroken(field, f"{field} must be an object of label name to string value")
    pairs = []
    for name, value in labels.items():
        where = f"{field}.{name}"
        if not isinstance(name, str) or not name:
            raise RuleBroken(field, "label names must be non-empty strings")
        if len(name) > MAX_LABEL_NAME_LEN:
            raise RuleBroken(
                where,
                f"label name is {len(name)} characters long, the limit is {MAX_LABEL_NAME_LEN}",
            )
        if not LABEL_NAME_RE.match(name):
            raise RuleBroken(where, f"label name {name!r} does not match [a-zA-Z_][a-zA-Z0-9_]*")
        if name.startswith("__"):
            raise RuleBroken(where, f"label name {name!r} is reserved (names starting with __)")
        if not isinstance(value, str):
            raise RuleBroken(where, f"label value must be a string, got {type(value).__name__}")
        if len(value) > MAX_LABEL_VALUE_LEN:
            raise RuleBroken(
                where,
                f"label value is {len(value)} characters long, the limit is {MAX_LABEL_VALUE_LEN}",
            )
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise RuleBroken(where, "label value is not valid UTF-8") from None
        if "\x00" in value:  # PostgreSQL text and jsonb cannot hold NUL
            raise RuleBroken(where, "label value contains a NUL character")
        if value:
            pairs.append((name, value))
    pairs.sort()
    return tuple(pairs)


_SPECIAL_VALUES = {"nan": math.nan, "+inf": math.inf, "inf": math.inf, "-inf": -math.inf}


def check_value(value: object, field: str = "value") -> float:
    if isinstance(value, bool) or value is None:
        raise RuleBroken(field, f"value must be a number, got {value!r}")
    if isinstance(value, (int, float)):
        try:
            return float(value)
        except OverflowError:
            raise RuleBroken(field, "value is too large for a 64-bit float") from None
    if isinstance(value, str) and value.lower() in _SPECIAL_VALUES:
        return _SPECIAL_VALUES[value.lower()]
    raise RuleBroken(
        field, f"value must be a number or one of \"NaN\", \"+Inf\", \"-Inf\", got {value!r}"
    )


# Unix times at or above this are read as milliseconds: 1e11 s is the year 5138,
# 1e11 ms is March 1973, so the two ranges cannot be confused in the accepted window.
MS_THRESHOLD = 100_000_000_000


def parse_timestamp_ms(ts: object, field: str = "timestamp") -> int:
    """RFC 3339 text or unix seconds/milliseconds to unix milliseconds."""
    if isinstance(ts, bool):
        raise RuleBroken(field, f"timestamp must be RFC 3339 text or a unix time, got {ts!r}")
    if isinstance(ts, (int, float)):
        if not math.isfinite(ts):
            raise RuleBroken(field, "timestamp must be finite")
        return round(ts) if abs(ts) >= MS_THRESHOLD else round(ts * 1000)
    if isinstance(ts, str):
        text = ts.strip()
        if text.endswith(("Z", "z")):
            text = text[:-1] + "+00:00"
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise RuleBroken(field, f"timestamp {ts!r} is not RFC 3339") from None
        if parsed.tzinfo is None or "T" not in text.upper():
            raise RuleBroken(
                field, f"timestamp {ts!r} is not RFC 3339 (date, 'T', time and offset required)"
            )
        return round(parsed.timestamp() * 1000)
    raise RuleBroken(field, f"timestamp must be RFC 3339 text or a unix time, got {ts!r}")


def check_timestamp_window(ts_ms: int, now_ms: int, field: str = "timestamp") -> int:
    if ts_ms < now_ms - MAX_PAST_MS:
        raise RuleBroken(field, f"timestamp {format_ms(ts_ms)} is more than 1 year in the past")
    if ts_ms > now_ms + MAX_FUTURE_MS:
        raise RuleBroken(
            field, f"timestamp {format_ms(ts_ms)} is more than 5 minutes in the future"
        )
    return ts_ms


def format_ms(ts_ms: int) -> str:
    try:
        return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).isoformat()
    except (OverflowError, ValueError, OSError):
        return str(ts_ms)


def series_key(metric: object, labels: object, labels_field: str = "labels") -> SeriesKey:
    return SeriesKey(check_metric_name(metric), check_labels(labels, field=labels_field))


class SeriesKeyCache:
    """Validated series keys by their raw form, so a series seen again is not
    validated again (the common case: agents send the same series every interval).

    Only keys that passed validation are stored; anything unusual (a non-object
    label set, unhashable values) takes the full path, which raises the right error.
    The cache is emptied when it reaches ``limit`` entries.
    """

    def __init__(self, limit: int = 100_000) -> None:
        self._keys: dict[object, SeriesKey] = {}
        self._limit = limit

    def get(self, metric: object, labels: object, labels_field: str = "labels") -> SeriesKey:
        try:
            raw = (metric, tuple(labels.items()) if isinstance(labels, dict) else labels)
            key = self._keys.get(raw)
        except TypeError:  # unhashable: certainly not a valid series
            return series_key(metric, labels, labels_field)
        if key is None:
            key = series_key(metric, labels, labels_field)
            if len(self._keys) >= self._limit:
                self._keys.clear()
            self._keys[raw] = key
        return key
