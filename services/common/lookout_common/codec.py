"""The wire codec: a batch of samples as one compact msgpack broker message.

Layout (version 1), columnar so the worker decodes it into NumPy arrays without a
Python loop per sample::

    {"v": 1,
     "series":  [[metric, [[label, value], ...]], ...],   # labels sorted by name
     "index":   [series_index, ...],                       # one entry per sample
     "time_ms": [unix_ms, ...],
     "value":   [float, ...],
     "metadata": [[metric, type, help, unit], ...]}         # optional

Series are listed once per message, so a request with many points per series stays
small. ``decode_batch`` checks every field again: a message that breaks the format or
the series rules raises ``WireFormatError`` and the worker dead-letters it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import msgpack
import numpy as np

from .errors import WireFormatError
from .series import MetricMetadata, RuleBroken, Sample, SeriesKey, SeriesKeyCache, check_metadata

WIRE_VERSION = 1
CONTENT_TYPE = "application/x-lookout-batch+msgpack"
# Two days short of year 10000, so the day partition after any sample still exists.
_MAX_TIME_MS = 253_402_128_000_000
_series = SeriesKeyCache()


@dataclass(frozen=True)
class SampleBatch:
    """Samples as columns: ``series[index[i]]`` has value ``value[i]`` at ``time_ms[i]``."""

    series: list[SeriesKey]
    index: np.ndarray  # int32
    time_ms: np.ndarray  # int64
    value: np.ndarray  # float64
    metadata: list[MetricMetadata] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.index)

    @classmethod
    def from_samples(cls, samples: Sequence[Sample]) -> SampleBatch:
        positions: dict[SeriesKey, int] = {}
        index = np.empty(len(samples), dtype=np.int32)
        time_ms = np.empty(len(samples), dtype=np.int64)
        value = np.empty(len(samples), dtype=np.float64)
        for i, sample in enumerate(samples):
            index[i] = positions.setdefault(sample.series, len(positions))
            time_ms[i] = sample.timestamp_ms
            value[i] = sample.value
        return cls(list(positions), index, time_ms, value)

    def samples(self) -> list[Sample]:
        return [
            Sample(self.series[i], int(t), float(v))
            for i, t, v in zip(self.index, self.time_ms, self.value, strict=True)
        ]


def encode_batch(batch: SampleBatch) -> bytes:
    doc = {
        "v": WIRE_VERSION,
        "series": [[key.metric, [list(p) for p in key.labels]] for key in batch.series],
        "index": batch.index.tolist(),
        "time_ms": batch.time_ms.tolist(),
        "value": batch.value.tolist(),
    }
    if batch.metadata:
        doc["metadata"] = [[m.metric, m.type, m.help, m.unit] for m in batch.metadata]
    body: bytes = msgpack.packb(doc, use_bin_type=True)
    return body


def decode_batch(body: bytes) -> SampleBatch:
    try:
        doc = msgpack.unpackb(body, raw=False, strict_map_key=True)
    except Exception as exc:  # msgpack raises several unrelated exception types
        raise WireFormatError(f"not a msgpack document: {exc}") from None
    if not isinstance(doc, dict) or doc.get("v") != WIRE_VERSION:
        version = doc.get("v") if isinstance(doc, dict) else None
        raise WireFormatError(f"unsupported batch version {version!r}, expected {WIRE_VERSION}")
    series = _decode_series(doc.get("series"))
    index = _column(doc, "index", "iu")
    time_ms = _column(doc, "time_ms", "iu")
    value = _column(doc, "value", "iuf")
    if not len(index) == len(time_ms) == len(value):
        raise WireFormatError(
            f"columns differ in length: index {len(index)}, time_ms {len(time_ms)}, "
            f"value {len(value)}"
        )
    if len(index) and (index.min() < 0 or index.max() >= len(series)):
        raise WireFormatError(f"series index out of range 0..{len(series) - 1}")
    if len(time_ms) and (time_ms.min() < 0 or time_ms.max() >= _MAX_TIME_MS):
        raise WireFormatError("a timestamp is outside 1970-01-01 .. 9999-12-29")
    return SampleBatch(
        series, index.astype(np.int32), time_ms.astype(np.int64), value.astype(np.float64),
        _decode_metadata(doc.get("metadata", [])),
    )


def _decode_metadata(raw: Any) -> list[MetricMetadata]:
    if not isinstance(raw, list):
        raise WireFormatError("'metadata' must be a list")
    out = []
    for i, entry in enumerate(raw):
        if not (isinstance(entry, list) and len(entry) == 4):
            raise WireFormatError(f"metadata {i}: expected [metric, type, help, unit]")
        try:
            out.append(check_metadata(*entry))
        except RuleBroken as exc:
            raise WireFormatError(f"metadata {i}: {exc}") from None
    return out


def _decode_series(raw: Any) -> list[SeriesKey]:
    if not isinstance(raw, list):
        raise WireFormatError("batch needs a 'series' list")
    keys: list[SeriesKey] = []
    for i, entry in enumerate(raw):
        if not (isinstance(entry, list) and len(entry) == 2 and isinstance(entry[1], list)):
            raise WireFormatError(f"series {i}: expected [metric, [[name, value], ...]]")
        pairs = entry[1]
        if not all(isinstance(p, list) and len(p) == 2 for p in pairs):
            raise WireFormatError(f"series {i}: label must be a [name, value] pair")
        try:
            keys.append(_series.get(entry[0], dict(pairs)))
        except (RuleBroken, TypeError) as exc:
            raise WireFormatError(f"series {i}: {exc}") from None
    return keys


def _column(doc: dict[str, Any], name: str, kinds: str) -> np.ndarray:
    """``doc[name]`` as an array whose dtype kind is one of ``kinds`` (i, u, f)."""
    raw = doc.get(name)
    if not isinstance(raw, list):
        raise WireFormatError(f"batch needs a '{name}' list")
    try:
        column = np.asarray(raw)
    except (OverflowError, ValueError) as exc:
        raise WireFormatError(f"'{name}': {exc}") from None
    if len(column) and column.dtype.kind not in kinds:
        expected = "integers" if kinds == "iu" else "numbers"
        raise WireFormatError(f"'{name}' must hold only {expected}")
    return column
