"""StatsD and DogStatsD lines as metric events: a pure parser.

A line is ``<name>:<value>[:<value>...]|<type>[|@<rate>][|#<tags>][|T<unix s>][|c:<id>]``:

- types: ``c`` counter, ``g`` gauge (a leading ``+``/``-`` makes it a delta), ``ms``
  timer, ``h`` and ``d`` (DogStatsD histogram and distribution, aggregated like
  timers), ``s`` set (the value is any member text);
- ``@rate`` (0 < rate <= 1): the sender sampled; a counter's value and a timer's
  count are scaled by 1/rate; ignored for gauges and sets;
- ``#k:v,k2:v2``: DogStatsD tags, which become labels. A tag without a value
  (``#canary``) becomes ``canary="true"``; a value may hold colons (``#url:http://x``
  -> ``url="http://x"``); empty tags are skipped; a key given twice makes the line bad;
- ``T<unix seconds>``: the point carries that time instead of the interval's start;
- ``c:<container id>`` and sections this parser does not know are ignored, so newer
  clients do not lose their metrics; ``name:1:2:3|ms`` packs several values.
- Service checks (``_sc|...``) and events (``_e{...``) are recognised, counted and
  ignored.

Names: ``.`` and every other character outside ``[a-zA-Z0-9_:]`` become ``_``
(``api.requests-total`` -> ``api_requests_total``); ``STATSD_PREFIX`` is prepended
with ``_``. Tag keys become label names the same way (``:`` too). A name that still
breaks Lookout's series rules (starts with a digit, is too long, a label starting with
``__``) makes the line bad. Bad lines raise ``StatsdLineError`` from ``parse_line``;
``parse_datagram`` counts them and goes on.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import NamedTuple

from lookout_common.series import (
    MAX_METRIC_NAME_LEN,
    RuleBroken,
    check_labels,
    check_metric_name,
    check_timestamp_window,
)

COUNTER, GAUGE, TIMER, SET = "c", "g", "ms", "s"
# Wire type -> what it is aggregated as.
TYPES = {"c": COUNTER, "g": GAUGE, "ms": TIMER, "h": TIMER, "d": TIMER, "s": SET}
MAX_REPORTED_ERRORS = 10

_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")
_INVALID_NAME_CHARS = re.compile(r"[^a-zA-Z0-9_:]")
_INVALID_LABEL_CHARS = re.compile(r"[^a-zA-Z0-9_]")

Labels = tuple[tuple[str, str], ...]


class StatsdLineError(ValueError):
    """A line that is not StatsD: counted in bad_lines_seen, never fatal."""


class MetricEvent(NamedTuple):
    kind: str  # COUNTER, GAUGE, TIMER or SET
    name: str  # sanitised, prefixed
    labels: Labels  # sorted, validated
    value: float | str  # str for sets
    rate: float  # sample rate, 1.0 unless given
    delta: bool  # gauge +/- value
    timestamp_ms: int | None  # from |T, else None (the interval's start)


@dataclass
class DatagramResult:
    """What one datagram held."""

    events: list[MetricEvent] = field(default_factory=list)
    lines: int = 0  # non-empty lines
    bad_lines: int = 0
    service_checks: int = 0
    dogstatsd_events: int = 0
    errors: list[str] = field(default_factory=list)  # the first few, for the log


def _number(text: str) -> float:
    if not _NUMBER.fullmatch(text):
        raise StatsdLineError(f"value {text[:40]!r} is not a number")
    value = float(text)
    if not math.isfinite(value):
        raise StatsdLineError(f"value {text[:40]!r} is outside the 64-bit float range")
    return value


class StatsdParser:
    """Parses lines; the only state is memoised name and tag translations."""

    def __init__(self, prefix: str = "", *, name_suffix_room: int = 16,
                 cache_limit: int = 100_000) -> None:
        self._prefix = sanitize_name(prefix) + "_" if prefix else ""
        # Aggregates append suffixes such as _count or _p99_9 to the name.
        self._max_name_len = MAX_METRIC_NAME_LEN - name_suffix_room
        self._names: dict[str, str] = {}
        self._tags: dict[str, Labels] = {}
        self._cache_limit = cache_limit

    # -- names and tags ---------------------------------------------------------------
    def name(self, raw: str) -> str:
        name = self._names.get(raw)
        if name is None:
            if not raw:
                raise StatsdLineError("empty metric name")
            name = self._prefix + sanitize_name(raw)
            try:
                check_metric_name(name)
            except RuleBroken as exc:
                raise StatsdLineError(exc.message) from None
            if len(name) > self._max_name_len:
                raise StatsdLineError(f"metric name is {len(name)} characters long, the limit "
                                      f"for StatsD names is {self._max_name_len}")
            if len(self._names) >= self._cache_limit:
                self._names.clear()
            self._names[raw] = name
        return name

    def labels(self, raw: str) -> Labels:
        labels = self._tags.get(raw)
        if labels is None:
            labels = parse_tags(raw)
            if len(self._tags) >= self._cache_limit:
                self._tags.clear()
            self._tags[raw] = labels
        return labels

    # -- lines ------------------------------------------------------------------------
    def parse_line(self, line: str, now_ms: int) -> list[MetricEvent]:
        """The events of one metric line. Raises StatsdLineError."""
        raw_name, sep, rest = line.partition(":")
        if not sep:
            raise StatsdLineError("no ':' between name and value")
        sections = rest.split("|")
        if len(sections) < 2:
            raise StatsdLineError("no '|' before the type")
        kind = TYPES.get(sections[1])
        if kind is None:
            raise StatsdLineError(f"unknown metric type {sections[1][:10]!r} "
                                  "(c, g, ms, h, d or s)")
        rate = 1.0
        labels: Labels = ()
        timestamp_ms = None
        for section in sections[2:]:
            head = section[:1]
            if head == "@":
                rate = float(section[1:]) if _NUMBER.fullmatch(section, 1) else 0.0
                if not 0.0 < rate <= 1.0:
                    raise StatsdLineError(f"sample rate {section[1:20]!r} is not in (0, 1]")
            elif head == "#":
                labels = self.labels(section[1:])
            elif head == "T":
                digits = section[1:]
                if not digits.isascii() or not digits.isdigit() or len(digits) > 12:
                    raise StatsdLineError(f"timestamp {digits[:20]!r} is not unix seconds")
                try:
                    timestamp_ms = check_timestamp_window(int(digits) * 1000, now_ms)
                except RuleBroken as exc:
                    raise StatsdLineError(exc.message) from None
            elif not head:
                raise StatsdLineError("empty section between '|'")
            # c:<container id>, and sections of later protocol versions: ignored.
        name = self.name(raw_name)
        values = sections[0].split(":")
        events = []
        for text in values:
            if not text:
                raise StatsdLineError("empty value")
            if kind == SET:
                events.append(MetricEvent(kind, name, labels, text, rate, False, timestamp_ms))
            else:
                delta = kind == GAUGE and text[0] in "+-"
                events.append(MetricEvent(kind, name, labels, _number(text), rate, delta,
                                          timestamp_ms))
        return events

    def parse_datagram(self, data: bytes, now_ms: int) -> DatagramResult:
        """Every line of a datagram (lines end with ``\\n``); bad lines are counted."""
        result = DatagramResult()
        try:
            lines: list[str | None] = list(data.decode("utf-8").split("\n"))
        except UnicodeDecodeError:  # only the lines holding broken bytes are bad
            lines = [_decode_or_none(chunk) for chunk in data.split(b"\n")]
        for line in lines:
            if line is None:
                result.lines += 1
                self._bad(result, "not valid UTF-8", "")
                continue
            if line[-1:] == "\r":
                line = line[:-1]
            if not line:
                continue
            result.lines += 1
            if line.startswith("_sc|"):
                result.service_checks += 1
                continue
            if line.startswith("_e{"):
                result.dogstatsd_events += 1
                continue
            try:
                if "\x00" in line:
                    raise StatsdLineError("NUL characters are not allowed")
                result.events.extend(self.parse_line(line, now_ms))
            except StatsdLineError as exc:
                self._bad(result, str(exc), line)
        return result

    @staticmethod
    def _bad(result: DatagramResult, reason: str, line: str) -> None:
        result.bad_lines += 1
        if len(result.errors) < MAX_REPORTED_ERRORS:
            result.errors.append(f"{reason}: {line[:200]!r}")


def _decode_or_none(chunk: bytes) -> str | None:
    try:
        return chunk.decode("utf-8")
    except UnicodeDecodeError:
        return None


def sanitize_name(raw: str) -> str:
    return _INVALID_NAME_CHARS.sub("_", raw)


def parse_tags(raw: str) -> Labels:
    """``k:v,k2,k3:v:w`` -> sorted, validated labels (a bare tag's value is "true")."""
    labels: dict[str, str] = {}
    for tag in raw.split(","):
        if not tag:
            continue
        key, sep, value = tag.partition(":")
        if not key:
            raise StatsdLineError(f"tag {tag[:40]!r} has no name")
        name = _INVALID_LABEL_CHARS.sub("_", key)
        if name in labels:
            raise StatsdLineError(f"tag {key!r} is given twice (or two tags become label "
                                  f"{name!r})")
        labels[name] = value if sep else "true"
    try:
        return check_labels(labels, "tags")
    except RuleBroken as exc:
        raise StatsdLineError(f"{exc.field}: {exc.message}") from None
