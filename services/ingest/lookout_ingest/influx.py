"""The Influx line protocol (InfluxDB v2) as Lookout samples: a pure parser.

Syntax, per InfluxData's public reference::

    <measurement>[,<tag_key>=<tag_value>...] <field_key>=<field_value>[,...] [<timestamp>]

- Lines are separated by ``\\n`` (a trailing ``\\r`` is tolerated); blank lines and
  lines starting with ``#`` are ignored. Leading whitespace and runs of spaces between
  the sections are tolerated, as InfluxDB's own parser does.
- Escapes: in the measurement ``\\,`` ``\\ `` and ``\\\\``; in tag keys, tag values and
  field keys also ``\\=``; in string field values ``\\"`` and ``\\\\``. A backslash
  before any other character is a literal backslash. A tag value cannot be empty.
- Field values: float (``1``, ``-1.5``, ``1e3``), integer (``1i``, signed 64-bit),
  unsigned (``1u``, 0 .. 2^64-1), boolean (``t T true True TRUE f F false False
  FALSE``) and double-quoted strings. NaN and infinities are not line protocol floats.
- Timestamp: an integer in the request's precision (``ns`` default, ``us``, ``ms``,
  ``s``); missing means the time the request arrived.

How a point becomes Lookout samples (one per numeric field):

- metric name = ``<measurement>_<field key>``, every character outside
  ``[a-zA-Z0-9_:]`` replaced by ``_`` (so ``cpu`` + ``usage idle`` -> ``cpu_usage_idle``);
- label names = tag keys with every character outside ``[a-zA-Z0-9_]`` replaced by
  ``_``; label values are the tag values unchanged;
- booleans become 1 and 0, integers and unsigned integers floats (exact up to 2^53);
- string fields are skipped and counted (a line with only string fields is skipped
  whole); Lookout stores numbers only;
- timestamps are kept to the millisecond (finer precision is truncated);
- a field key given twice in a line keeps the last value (InfluxDB's rule for
  conflicting fields).

Whatever cannot be made valid that way is refused with the line number and the
rule: a name that still breaks Lookout's series rules after the replacement (a
metric name starting with a digit, a label name starting with ``__``, a name too
long), two tag keys or two field keys of one line that become the same name, a
timestamp outside the accepted window (1 year back, 5 minutes ahead), a malformed
line. One bad line refuses the whole request, like the JSON API.

Why Lookout has its own parser: the one maintained PyPI parser (line-protocol-parser)
follows InfluxDB 1.2's rules (``\\\\`` is not unescaped in tag values, unsigned values
are an extension), reports errors without saying which field or column, and would
still need our own line splitting, mapping and validation around it. This module is
a small position-based scanner over compiled regular expressions, so every error
names its line, column and element.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from lookout_common.codec import SampleBatch
from lookout_common.errors import ValidationFailed
from lookout_common.series import RuleBroken, SeriesKey, check_timestamp_window, series_key

PRECISIONS = ("ns", "us", "ms", "s")
MAX_REPORTED_ERRORS = 20
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
UINT64_MAX = 2**64 - 1
# InfluxDB's timestamp range: one short of int64 on each side.
TIMESTAMP_MIN, TIMESTAMP_MAX = -9223372036854775806, 9223372036854775806

_MEASUREMENT = re.compile(r"(?:[^\\, ]|\\.)+", re.S)
_KEY = re.compile(r"(?:[^\\,= ]|\\.)+", re.S)  # tag key, tag value, field key
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_UNQUOTED = re.compile(r"[^, ]+")
_FLOAT = re.compile(r"-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INTEGER = re.compile(r"-?\d+")
_UNSIGNED = re.compile(r"\d+")
_TIMESTAMP = re.compile(r"-?\d+")
_MEASUREMENT_ESCAPE = re.compile(r"\\([\\, ])")
_KEY_ESCAPE = re.compile(r"\\([\\,= ])")
_INVALID_METRIC_CHARS = re.compile(r"[^a-zA-Z0-9_:]")
_INVALID_LABEL_CHARS = re.compile(r"[^a-zA-Z0-9_]")
_BOOLEANS = {"t": 1.0, "T": 1.0, "true": 1.0, "True": 1.0, "TRUE": 1.0,
             "f": 0.0, "F": 0.0, "false": 0.0, "False": 0.0, "FALSE": 0.0}
_TO_MS = {"ns": lambda t: t // 1_000_000, "us": lambda t: t // 1_000,
          "ms": lambda t: t, "s": lambda t: t * 1_000}


class LineError(ValueError):
    """One line breaks the syntax; ``column`` is 1-based."""

    def __init__(self, column: int, message: str) -> None:
        super().__init__(message)
        self.column = column
        self.message = message


@dataclass(frozen=True, slots=True)
class Point:
    """One parsed line: names unescaped, numeric fields as floats."""

    measurement: str
    tags: tuple[tuple[str, str], ...]  # in line order
    fields: dict[str, float]
    string_fields: int
    timestamp: int | None


@dataclass(frozen=True)
class InfluxWrite:
    """What a write request holds once parsed and mapped."""

    batch: SampleBatch
    points: int  # lines that produced samples
    skipped_string_fields: int
    skipped_lines: int  # lines whose fields were all strings


def _shown(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")


def _unescape_key(raw: str) -> str:
    return _KEY_ESCAPE.sub(r"\1", raw) if "\\" in raw else raw


def _field_value(key: str, raw: str, column: int) -> float:
    last = raw[-1]
    if last == "i" and _INTEGER.fullmatch(raw, 0, len(raw) - 1):
        number = int(raw[:-1])
        if not INT64_MIN <= number <= INT64_MAX:
            raise LineError(column, f"field {_shown(key)}: integer {raw} is outside the "
                                    "signed 64-bit range")
        return float(number)
    if last == "u" and _UNSIGNED.fullmatch(raw, 0, len(raw) - 1):
        number = int(raw[:-1])
        if number > UINT64_MAX:
            raise LineError(column, f"field {_shown(key)}: unsigned integer {raw} is outside "
                                    "the unsigned 64-bit range")
        return float(number)
    boolean = _BOOLEANS.get(raw)
    if boolean is not None:
        return boolean
    if _FLOAT.fullmatch(raw):
        value = float(raw)
        if not math.isfinite(value):
            raise LineError(column, f"field {_shown(key)}: float {_shown(raw)} is outside the "
                                    "64-bit float range")
        return value
    raise LineError(column, f"field {_shown(key)}: invalid value {_shown(raw)} (expected a "
                            'float, an integer like 1i, an unsigned like 1u, a boolean or a '
                            '"string")')


_key_sections: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {}
_KEY_SECTIONS_LIMIT = 100_000


def parse_line(text: str) -> Point | None:
    """One line of line protocol; None for a blank or comment line. Raises LineError.

    Lines without backslashes, quotes or odd whitespace (nearly all of them) take a
    split-based fast path; anything it does not recognise goes to the scanner, which
    gives the same result or the precise error (a test holds the two paths equal)."""
    if text and text[-1] == "\r":
        text = text[:-1]
    if (not text or text[0] in " \t#" or "\\" in text or '"' in text or "\t" in text
            or "\x00" in text):
        return _scan(text)
    tokens = text.split(" ")
    if "" in tokens:
        tokens = [t for t in tokens if t]
    if not 2 <= len(tokens) <= 3:
        return _scan(text)
    key = _key_sections.get(tokens[0])
    if key is None:
        measurement, *pairs = tokens[0].split(",")
        tags = []
        for pair in pairs:
            tag_key, _, tag_value = pair.partition("=")
            if not tag_key or not tag_value or "=" in tag_value:
                return _scan(text)
            tags.append((tag_key, tag_value))
        if not measurement or len({k for k, _ in tags}) != len(tags):
            return _scan(text)
        key = (measurement, tuple(tags))
        if len(_key_sections) >= _KEY_SECTIONS_LIMIT:
            _key_sections.clear()
        _key_sections[tokens[0]] = key
    fields: dict[str, float] = {}
    try:
        for part in tokens[1].split(","):
            field_key, _, raw = part.partition("=")
            if not field_key or not raw or "=" in raw:
                return _scan(text)
            fields[field_key] = _field_value(field_key, raw, 0)
    except LineError:
        return _scan(text)  # for the error's column
    timestamp = None
    if len(tokens) == 3:
        if not _TIMESTAMP.fullmatch(tokens[2]):
            return _scan(text)
        timestamp = int(tokens[2])
        if not TIMESTAMP_MIN <= timestamp <= TIMESTAMP_MAX:
            return _scan(text)
    return Point(key[0], key[1], fields, 0, timestamp)


def scan_line(text: str) -> Point | None:
    """``parse_line`` by scanning the line element by element (the general path)."""
    return _scan(text[:-1] if text and text[-1] == "\r" else text)


def _scan(text: str) -> Point | None:
    n = len(text)
    pos = 0
    while pos < n and text[pos] in " \t":
        pos += 1
    if pos == n or text[pos] == "#":
        return None
    if "\x00" in text:
        raise LineError(text.index("\x00") + 1, "NUL characters are not allowed")
    m = _MEASUREMENT.match(text, pos, n)
    if m is None:
        raise LineError(pos + 1, "missing measurement name")
    measurement = m.group()
    if "\\" in measurement:
        measurement = _MEASUREMENT_ESCAPE.sub(r"\1", measurement)
    pos = m.end()

    tags: dict[str, str] = {}
    while pos < n and text[pos] == ",":
        k = _KEY.match(text, pos + 1, n)
        if k is None:
            raise LineError(pos + 2, "missing tag key after ','")
        key = _unescape_key(k.group())
        pos = k.end()
        if pos >= n or text[pos] != "=":
            raise LineError(pos + 1, f"tag key {_shown(key)} is not followed by '=value'")
        v = _KEY.match(text, pos + 1, n)
        if v is None:
            raise LineError(pos + 2, f"tag {_shown(key)} has an empty value (omit the tag "
                                     "instead)")
        if key in tags:
            raise LineError(k.start() + 1, f"tag key {_shown(key)} appears twice")
        tags[key] = _unescape_key(v.group())
        pos = v.end()
    if pos >= n:
        raise LineError(pos + 1, "missing field set (a space, then key=value pairs)")
    if text[pos] != " ":
        raise LineError(pos + 1, f"unexpected {text[pos]!r} in the measurement or tag set "
                                 "(escape it with a backslash)")
    while pos < n and text[pos] == " ":
        pos += 1

    fields: dict[str, float] = {}
    strings = 0
    while True:
        k = _KEY.match(text, pos, n)
        if k is None:
            raise LineError(pos + 1, "missing field key")
        key = _unescape_key(k.group())
        pos = k.end()
        if pos >= n or text[pos] != "=":
            raise LineError(pos + 1, f"field key {_shown(key)} is not followed by '=value'")
        pos += 1
        if pos < n and text[pos] == '"':
            s = _STRING.match(text, pos, n)
            if s is None:
                raise LineError(pos + 1, f"field {_shown(key)}: string value has no closing "
                                         "double quote")
            strings += 1
            fields.pop(key, None)  # the last value of a repeated key wins, even a string
            pos = s.end()
        else:
            u = _UNQUOTED.match(text, pos, n)
            if u is None:
                raise LineError(pos + 1, f"field {_shown(key)} has no value")
            fields[key] = _field_value(key, u.group(), pos + 1)
            pos = u.end()
        if pos < n and text[pos] == ",":
            pos += 1
            continue
        break
    if pos < n and text[pos] != " ":
        raise LineError(pos + 1, f"unexpected {text[pos]!r} after a field value")
    while pos < n and text[pos] == " ":
        pos += 1

    timestamp = None
    if pos < n:
        t = _TIMESTAMP.match(text, pos, n)
        end = t.end() if t else pos
        while end < n and text[end] == " ":
            end += 1
        if t is None or end != n:
            raise LineError(pos + 1, f"invalid timestamp {_shown(text[pos:n].strip())} "
                                     "(expected an integer)")
        timestamp = int(t.group())
        if not TIMESTAMP_MIN <= timestamp <= TIMESTAMP_MAX:
            raise LineError(pos + 1, f"timestamp {timestamp} is outside the 64-bit range")
    return Point(measurement, tuple(tags.items()), fields, strings, timestamp)


class InfluxMapper:
    """Series keys for (measurement, tags, field): names sanitised and validated once
    per raw form, then looked up."""

    def __init__(self, limit: int = 100_000) -> None:
        self._keys: dict[tuple[str, tuple[tuple[str, str], ...], str], SeriesKey] = {}
        self._limit = limit

    def series(self, measurement: str, tags: tuple[tuple[str, str], ...],
               field: str) -> SeriesKey:
        raw = (measurement, tags, field)
        key = self._keys.get(raw)
        if key is None:
            key = self._map(measurement, tags, field)
            if len(self._keys) >= self._limit:
                self._keys.clear()
            self._keys[raw] = key
        return key

    @staticmethod
    def _map(measurement: str, tags: tuple[tuple[str, str], ...], field: str) -> SeriesKey:
        labels: dict[str, str] = {}
        for tag, value in tags:
            name = _INVALID_LABEL_CHARS.sub("_", tag)
            if name in labels:
                other = next(t for t, _ in tags if _INVALID_LABEL_CHARS.sub("_", t) == name)
                raise RuleBroken(f"tags.{tag}", f"tag keys {other!r} and {tag!r} both become "
                                                f"label {name!r}")
            labels[name] = value
        metric = metric_name(measurement, field)
        try:
            return series_key(metric, labels, "tags")
        except RuleBroken as exc:
            if exc.field == "name":
                raise RuleBroken("name", f"{exc.message} (made of measurement "
                                         f"{measurement!r} and field {field!r})") from None
            raise


def metric_name(measurement: str, field: str) -> str:
    return _INVALID_METRIC_CHARS.sub("_", f"{measurement}_{field}")


_mapper = InfluxMapper()


def parse_line_protocol(body: bytes, *, precision: str, now_ms: int) -> InfluxWrite:
    """Parse a write request's body; raise ValidationFailed naming the lines at fault
    (nothing of the request is accepted then)."""
    if precision not in _TO_MS:
        raise ValueError(f"unknown precision {precision!r}")
    to_ms = _TO_MS[precision]
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        bad = body.count(b"\n", 0, exc.start) + 1
        raise ValidationFailed(
            f"line {bad}: not valid UTF-8 (byte {exc.start}); nothing in this request was "
            "accepted", line=bad, errors=[{"line": bad, "message": "not valid UTF-8"}],
        ) from None

    positions: dict[SeriesKey, int] = {}
    index_column: list[int] = []
    time_column: list[int] = []
    value_column: list[float] = []
    problems: list[dict[str, Any]] = []
    points = skipped_strings = skipped_lines = 0
    for lineno, line in enumerate(text.split("\n"), start=1):
        try:
            point = parse_line(line)
            if point is None:
                continue
            skipped_strings += point.string_fields
            if not point.fields:
                skipped_lines += 1
                continue
            if point.timestamp is None:
                ts_ms = now_ms
            else:
                ts_ms = check_timestamp_window(to_ms(point.timestamp), now_ms)
            keys = [(_mapper.series(point.measurement, point.tags, field), value)
                    for field, value in point.fields.items()]
            if len(keys) > 1 and len({k for k, _ in keys}) < len(keys):
                _raise_field_collision(point)
        except LineError as exc:
            problems.append({"line": lineno, "column": exc.column, "message": exc.message})
        except RuleBroken as exc:
            problems.append({"line": lineno, "field": exc.field, "message": exc.message})
        else:
            points += 1
            for key, value in keys:
                index_column.append(positions.setdefault(key, len(positions)))
                time_column.append(ts_ms)
                value_column.append(value)
            continue
        if len(problems) >= MAX_REPORTED_ERRORS:
            break
    if problems:
        first = problems[0]
        where = f"line {first['line']}" + (f", column {first['column']}"
                                            if "column" in first else "")
        raise ValidationFailed(
            f"{where}: {first['message']}"
            + (f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else "")
            + "; nothing in this request was accepted",
            line=first["line"],
            errors=problems,
        )
    batch = SampleBatch(
        list(positions),
        np.array(index_column, dtype=np.int32),
        np.array(time_column, dtype=np.int64),
        np.array(value_column, dtype=np.float64),
    )
    return InfluxWrite(batch, points, skipped_strings, skipped_lines)


def _raise_field_collision(point: Point) -> None:
    seen: dict[str, str] = {}
    for field in point.fields:
        metric = metric_name(point.measurement, field)
        if metric in seen:
            raise RuleBroken(f"fields.{field}", f"field keys {seen[metric]!r} and {field!r} "
                                                f"both become metric {metric!r}")
        seen[metric] = field
