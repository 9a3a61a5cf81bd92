"""Metrics pushed in the Prometheus text exposition format or in OpenMetrics, to a
``SampleBatch`` (pure: body, content type, grouping labels and the time in).

Parsing is prometheus_client's (``prometheus_client.parser`` for the text format,
``prometheus_client.openmetrics.parser`` when the content type is
``application/openmetrics-text``); this module turns what they yield into Lookout's
series: every sample keeps its name (``_bucket``, ``_sum``, ``_count``, ``_created``
and their ``le``/``quantile`` labels included), a sample without a timestamp is
stamped ``now_ms``, the grouping labels of the push path are added to every series
and win over a label of the same name in the payload (as the Pushgateway does), and
HELP/TYPE/UNIT become ``MetricMetadata``. Exemplars are not stored.

A payload the parser refuses is a ``ValidationFailed`` with the parser's message and
the line it stopped at; a sample that breaks a series rule refuses the whole request.
"""

from __future__ import annotations

import base64
import binascii
import io
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TextIO, cast

import numpy as np
from prometheus_client.metrics_core import Metric
from prometheus_client.openmetrics.parser import (
    text_fd_to_metric_families as openmetrics_families,
)
from prometheus_client.parser import text_fd_to_metric_families as text_families
from prometheus_client.samples import Timestamp

from lookout_common.codec import SampleBatch
from lookout_common.errors import UnsupportedMediaType, ValidationFailed
from lookout_common.series import (
    MAX_HELP_LEN,
    MetricMetadata,
    RuleBroken,
    SeriesKey,
    SeriesKeyCache,
    check_labels,
    check_metadata,
    check_timestamp_window,
    check_value,
)

OPENMETRICS_CONTENT_TYPE = "application/openmetrics-text"
MAX_REPORTED_ERRORS = 20
MAX_QUOTED_LINE = 200
# The text parser renames a counter's samples to <name>_total (OpenMetrics' naming)
# whatever the payload called them; the TYPE lines say what it called them.
_COUNTER_TYPE_RE = re.compile(r"^[ \t]*#[ \t]+TYPE[ \t]+(\S+)[ \t]+counter[ \t\r]*$", re.MULTILINE)
_series = SeriesKeyCache()


def parse_exposition(body: bytes, content_type: str, now_ms: int,
                     grouping: Mapping[str, str] | None = None) -> SampleBatch:
    """The samples and metadata of a pushed payload (see the module's doc)."""
    openmetrics = is_openmetrics(content_type)
    text = _decode_text(body)
    families = _parse(text, openmetrics)
    if not openmetrics:
        families = _restore_counter_names(families, set(_COUNTER_TYPE_RE.findall(text)))
    grouping = dict(grouping or {})
    positions: dict[SeriesKey, int] = {}
    index_column: list[int] = []
    time_column: list[int] = []
    value_column: list[float] = []
    metadata: dict[str, MetricMetadata] = {}
    problems: list[dict[str, Any]] = []
    number = -1
    for family in families:
        try:
            entry = family_metadata(family)
        except RuleBroken as exc:
            problems.append({"sample": None, "metric": family.name, "field": exc.field,
                             "message": exc.message})
        else:
            if entry is not None:
                metadata[entry.metric] = entry
        for sample in family.samples:
            number += 1
            try:
                key = _series.get(sample.name, {**sample.labels, **grouping})
                value = check_value(sample.value)
                ts_ms = now_ms if sample.timestamp is None else check_timestamp_window(
                    timestamp_ms(sample.timestamp), now_ms)
            except RuleBroken as exc:
                problems.append({"sample": number, "metric": sample.name, "field": exc.field,
                                 "message": exc.message})
                continue
            index_column.append(positions.setdefault(key, len(positions)))
            time_column.append(ts_ms)
            value_column.append(value)
        if len(problems) >= MAX_REPORTED_ERRORS:
            break
    if problems:
        raise _refused(problems)
    return SampleBatch(
        list(positions),
        np.array(index_column, dtype=np.int32),
        np.array(time_column, dtype=np.int64),
        np.array(value_column, dtype=np.float64),
        list(metadata.values()),
    )


def is_openmetrics(content_type: str) -> bool:
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/vnd.google.protobuf":
        raise UnsupportedMediaType(
            "the protobuf exposition format is not supported; push the text format "
            f"(text/plain) or OpenMetrics ({OPENMETRICS_CONTENT_TYPE})"
        )
    return media_type == OPENMETRICS_CONTENT_TYPE


def family_metadata(family: Metric) -> MetricMetadata | None:
    """What the payload said about a metric family, if it said anything."""
    kind = "unknown" if family.type == "untyped" else family.type
    if kind == "unknown" and not family.documentation and not family.unit:
        return None
    return check_metadata(family.name, kind, family.documentation[:MAX_HELP_LEN], family.unit)


def timestamp_ms(ts: float | Timestamp) -> int:
    """A parser's timestamp (seconds, float or ``Timestamp``) in milliseconds."""
    if isinstance(ts, Timestamp):
        return ts.sec * 1000 + ts.nsec // 1_000_000
    if not math.isfinite(ts):
        raise RuleBroken("timestamp", f"timestamp {ts!r} is not a finite number")
    return round(ts * 1000)


def parse_grouping_path(path: str) -> dict[str, str]:
    """Pushgateway-style grouping labels: ``job/<job>[/<name>/<value>]...``, where
    ``<name>@base64/<value>`` carries a value in URL-safe base64 (for values holding
    ``/``; a lone ``=`` is the empty value)."""
    segments = path.strip("/").split("/") if path.strip("/") else []
    if len(segments) % 2:
        raise ValidationFailed(
            f"grouping label {segments[-1]!r} has no value in the path "
            "(expected job/<job>[/<label>/<value>]...)", field="path",
        )
    labels: dict[str, str] = {}
    for name, raw in zip(segments[::2], segments[1::2], strict=True):
        value = raw
        if name.endswith("@base64"):
            name = name.removesuffix("@base64")
            value = _base64_value(name, raw)
        if name in labels:
            raise ValidationFailed(f"grouping label {name!r} appears twice in the path",
                                   field="path")
        labels[name] = value
    if next(iter(labels), None) != "job":
        raise ValidationFailed("the grouping path must start with job/<job>", field="path")
    if not labels["job"]:
        raise ValidationFailed("the job in the grouping path must not be empty", field="path")
    try:
        check_labels(labels, "path")
    except RuleBroken as exc:
        raise ValidationFailed(f"grouping labels: {exc.field}: {exc.message}",
                               field=exc.field) from None
    return labels


def _base64_value(name: str, raw: str) -> str:
    stripped = raw.rstrip("=")
    try:
        decoded = base64.b64decode(stripped + "=" * (-len(stripped) % 4), altchars=b"-_",
                                   validate=True)
        return decoded.decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValidationFailed(
            f"grouping label {name!r}: {raw!r} is not URL-safe base64 of UTF-8 text",
            field="path",
        ) from None


def _decode_text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body[: exc.start].count(b"\n") + 1
        raise ValidationFailed(f"line {line}: the payload is not valid UTF-8", line=line) from None


class _NumberedLines:
    """The lines of a text (ending at "\\n" only, as the parsers split them), counting
    how many the parser has taken; the parsers only iterate over the file they get."""

    def __init__(self, text: str) -> None:
        self._lines = iter(io.StringIO(text))
        self.taken = 0
        self.last = ""
        self.finished = False  # the parser has read every line

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        try:
            self.last = next(self._lines)
        except StopIteration:
            self.finished = True
            raise
        self.taken += 1
        return self.last


def _parse(text: str, openmetrics: bool) -> list[Metric]:
    lines = _NumberedLines(text)
    parser = openmetrics_families if openmetrics else text_families
    try:
        return list(parser(cast(TextIO, lines)))
    # The parsers are lenient code for trusted input: besides ValueError they can raise
    # whatever a malformed line trips over. All of it means "cannot parse this".
    except Exception as exc:
        fmt = "OpenMetrics" if openmetrics else "Prometheus text format"
        line = lines.last.rstrip("\n")[:MAX_QUOTED_LINE]
        reason = str(exc)[:MAX_QUOTED_LINE * 2] or "cannot parse this line"
        if line and line not in reason and not lines.finished:
            reason += f" (in {line!r})"
        raise ValidationFailed(f"line {lines.taken}: invalid {fmt}: {reason}",
                               line=lines.taken) from None


def _restore_counter_names(families: Iterable[Metric], declared: set[str]) -> list[Metric]:
    out = []
    for family in families:
        if family.type == "counter" and family.name in declared:
            # Declared without _total: the samples were called <name> in the payload.
            renamed = family.name + "_total"
            family.samples = [s._replace(name=family.name) if s.name == renamed else s
                              for s in family.samples]
        elif family.type == "counter" and family.name + "_total" in declared:
            family.name += "_total"  # the metadata names the metric as the payload did
        out.append(family)
    return out


def _refused(problems: list[dict[str, Any]]) -> ValidationFailed:
    first = problems[0]
    where = (f"sample {first['sample']} ({first['metric']})" if first["sample"] is not None
             else f"metric {first['metric']}")
    return ValidationFailed(
        f"{where}: {first['field']}: {first['message']}"
        + (f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else "")
        + "; nothing in this request was accepted",
        sample=first["sample"], metric=first["metric"], field=first["field"], errors=problems,
    )
