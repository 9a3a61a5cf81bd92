"""Prometheus remote_write 1.0: a snappy-compressed protobuf ``WriteRequest`` in, a
``SampleBatch`` out (pure: bytes and the time in, a batch or a typed error out).

The rules are the specification's: the body is the snappy *block* format (not the
framed one) of a ``prometheus.WriteRequest`` (``proto/remote.proto``); every series
has a ``__name__`` label, which becomes the metric; label names are sorted and
unique within a series; a timestamp is int64 milliseconds; a value is any float64,
NaN included, and Prometheus's stale marker (NaN with bits ``0x7ff0000000000002``)
passes through bit for bit. The other labels follow ``lookout_common.series``.
Prometheus never retries a 4xx and retries a 5xx for ever, so data that can never be
accepted is a ``ValidationFailed`` (400) naming the series and the rule; the whole
request is refused, as for every Lookout protocol.

Metadata (``WriteRequest.metadata``, which Prometheus sends on its own every minute)
becomes ``MetricMetadata``; a help text longer than the series rules allow is cut.
Exemplars and native histograms are not part of 1.0 and are skipped.

Speed: one object per sample is what costs in Python, so the request is read as
``WriteRequestRaw`` — the same bytes, with every label and sample left encoded — and
the samples of the whole request are decoded at once with NumPy. The encodings a
protobuf library writes for a current timestamp (value and timestamp, or timestamp
alone when the value is 0) take the vectorised path; any other valid encoding of a
``Sample`` is decoded by the protobuf runtime itself, one at a time. A series' labels
are validated once and then found by their encoded bytes.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import cramjam
import numpy as np
from google.protobuf.message import DecodeError

from lookout_common.codec import SampleBatch
from lookout_common.errors import PayloadTooLarge, ValidationFailed
from lookout_common.series import (
    MAX_FUTURE_MS,
    MAX_HELP_LEN,
    MAX_PAST_MS,
    MetricMetadata,
    RuleBroken,
    SeriesKey,
    check_labels,
    check_metadata,
    check_metric_name,
    check_timestamp_window,
)

from .proto.remote_pb2 import Label, Sample, WriteRequestRaw
from .proto.remote_pb2 import MetricMetadata as MetricMetadataProto

MAX_REPORTED_ERRORS = 20
METRIC_NAME_LABEL = "__name__"
SNAPPY_FRAMED_MAGIC = b"\xff\x06\x00\x00sNaPpY"
# The enum of MetricMetadata.type, by number; a number this list does not know (from
# a newer Prometheus) is read as "unknown" rather than refusing the request.
METRIC_TYPE_NAMES = {
    number: name.lower() for name, number in MetricMetadataProto.MetricType.items()
}


def decompress(body: bytes, max_bytes: int) -> bytes:
    """Snappy block format to the bytes it holds, refusing (413) before decompressing
    when the length the body declares (its leading varint) is over ``max_bytes``."""
    if not body:
        raise ValidationFailed("empty body; expected a snappy-compressed WriteRequest")
    if body.startswith(SNAPPY_FRAMED_MAGIC):
        raise ValidationFailed(
            "body is in the snappy framed format; remote_write uses the block format"
        )
    try:
        declared = cramjam.snappy.decompress_raw_len(body)
    except cramjam.DecompressionError as exc:
        raise ValidationFailed(f"body is not snappy-compressed (block format): {exc}") from None
    if declared > max_bytes:
        raise PayloadTooLarge(
            f"uncompressed body would be {declared} bytes, larger than the limit of "
            f"{max_bytes} bytes"
        )
    try:
        return bytes(cramjam.snappy.decompress_raw(body))
    except cramjam.DecompressionError as exc:
        raise ValidationFailed(f"body is not valid snappy (block format): {exc}") from None


def decode_samples(encoded: Sequence[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Encoded ``Sample`` messages to their values (float64, bits kept) and
    timestamps (int64), as the protobuf runtime would decode them one by one."""
    n = len(encoded)
    values = np.zeros(n, dtype=np.float64)
    if not n:
        return values, np.zeros(0, dtype=np.int64)
    lengths = np.fromiter(map(len, encoded), dtype=np.int64, count=n)
    starts = np.cumsum(lengths) - lengths
    joined = b"".join(encoded) + bytes(16)  # reads past a short sample stay in bounds
    buf = np.frombuffer(joined, dtype=np.uint8)
    # 0x09 <value: 8 bytes little-endian> 0x10 <timestamp: varint>, 16 bytes in all
    # while a timestamp is a 6-byte varint (1971 to 2109); or 0x10 <timestamp> alone,
    # 7 bytes, as proto3 does not write the value 0.
    first = buf[starts]
    with_value = (lengths == 16) & (first == 0x09) & (buf[starts + 9] == 0x10)
    fast = with_value | ((lengths == 7) & (first == 0x10))
    varint = starts + np.where(with_value, 10, 1)
    times = np.zeros(n, dtype=np.int64)
    for i in range(6):
        byte = buf[varint + i]
        fast &= (byte >= 0x80) if i < 5 else (byte < 0x80)
        times |= (byte & 0x7F).astype(np.int64) << (7 * i)
    # Every byte offset of the body as the start of a little-endian float64.
    doubles = np.ndarray((len(buf) - 7,), dtype="<f8", buffer=joined, strides=(1,))
    with_value &= fast
    values[with_value] = doubles[starts[with_value] + 1]
    for i in np.flatnonzero(~fast).tolist():
        sample = Sample.FromString(encoded[i])  # DecodeError for a malformed one
        values[i] = sample.value
        times[i] = sample.timestamp
    return values, times


class RemoteWriteDecoder:
    """Decodes remote_write bodies; keeps the series it has validated, by the
    encoded bytes of their labels, so a series seen again is not validated again.
    The cache is emptied when it reaches ``cache_limit`` entries."""

    def __init__(self, cache_limit: int = 100_000) -> None:
        self._keys: dict[tuple[bytes, ...], SeriesKey] = {}
        self._limit = cache_limit

    def decode(self, body: bytes, now_ms: int, max_bytes: int) -> SampleBatch:
        request = WriteRequestRaw()
        try:
            request.ParseFromString(decompress(body, max_bytes))
        except DecodeError as exc:
            raise ValidationFailed(f"body is not a protobuf WriteRequest: {exc}") from None
        positions: dict[SeriesKey, int] = {}
        series_index: list[int] = []  # per series with samples: its position in the batch
        request_index: list[int] = []  # ... and its index in the request
        counts: list[int] = []
        encoded: list[bytes] = []
        problems: list[dict[str, Any]] = []
        for i, ts in enumerate(request.timeseries):
            samples = ts.samples
            if not samples:
                continue
            try:
                key = self.series_key(tuple(ts.labels))
            except RuleBroken as exc:
                problems.append({"series": i, "field": exc.field, "message": exc.message})
                if len(problems) >= MAX_REPORTED_ERRORS:
                    break
                continue
            series_index.append(positions.setdefault(key, len(positions)))
            request_index.append(i)
            counts.append(len(samples))
            encoded += samples
        if problems:
            raise _refused(problems)
        try:
            values, times = decode_samples(encoded)
        except DecodeError as exc:
            raise ValidationFailed(f"body is not a protobuf WriteRequest: {exc}") from None
        _check_window(times, now_ms, counts, request_index)
        return SampleBatch(
            list(positions),
            np.repeat(np.array(series_index, dtype=np.int32), counts),
            times,
            values,
            decode_metadata(request.metadata),
        )

    def series_key(self, encoded_labels: tuple[bytes, ...]) -> SeriesKey:
        key = self._keys.get(encoded_labels)
        if key is None:
            try:
                labels = [Label.FromString(raw) for raw in encoded_labels]
            except DecodeError as exc:
                raise RuleBroken("labels", f"a label is not a protobuf Label: {exc}") from None
            key = series_key_of([(label.name, label.value) for label in labels])
            if len(self._keys) >= self._limit:
                self._keys.clear()
            self._keys[encoded_labels] = key
        return key


def series_key_of(pairs: Sequence[tuple[str, str]]) -> SeriesKey:
    """A series' labels as sent (sorted by name, unique, ``__name__`` among them)."""
    for (previous, _), (name, _) in pairwise(pairs):
        if name == previous:
            raise RuleBroken(f"labels.{name}", f"label {name!r} appears more than once")
        if name < previous:
            raise RuleBroken(
                f"labels.{name}",
                f"labels are not sorted by name: {name!r} comes after {previous!r}",
            )
    labels = dict(pairs)
    if METRIC_NAME_LABEL not in labels:
        raise RuleBroken(
            f"labels.{METRIC_NAME_LABEL}", "the series has no __name__ label (its metric name)"
        )
    metric = check_metric_name(labels.pop(METRIC_NAME_LABEL), f"labels.{METRIC_NAME_LABEL}")
    return SeriesKey(metric, check_labels(labels))


def decode_metadata(entries: Sequence[MetricMetadataProto]) -> list[MetricMetadata]:
    """One ``MetricMetadata`` per metric (the last one sent wins)."""
    out: dict[str, MetricMetadata] = {}
    for i, entry in enumerate(entries):
        try:
            metadata = check_metadata(
                entry.metric_family_name,
                METRIC_TYPE_NAMES.get(entry.type, "unknown"),
                entry.help[:MAX_HELP_LEN],
                entry.unit,
            )
        except RuleBroken as exc:
            raise ValidationFailed(
                f"metadata {i}: {exc.field}: {exc.message}; nothing in this request was accepted",
                metadata=i, field=exc.field,
            ) from None
        out[metadata.metric] = metadata
    return list(out.values())


def _check_window(times: np.ndarray, now_ms: int, counts: list[int],
                  request_index: list[int]) -> None:
    outside = np.flatnonzero((times < now_ms - MAX_PAST_MS) | (times > now_ms + MAX_FUTURE_MS))
    if not len(outside):
        return
    first = int(outside[0])
    ends = np.cumsum(counts)
    k = int(np.searchsorted(ends, first, side="right"))
    series, sample = request_index[k], first - (int(ends[k]) - counts[k])
    message = "timestamp is outside the accepted window"
    try:
        check_timestamp_window(int(times[first]), now_ms)
    except RuleBroken as exc:  # always: it says which end of the window
        message = exc.message
    more = len(outside) - 1
    raise ValidationFailed(
        f"series {series} sample {sample}: timestamp: {message}"
        + (f" (and {more} more samples outside the accepted window)" if more else "")
        + "; nothing in this request was accepted",
        series=series, sample=sample, field="timestamp",
    )


def _refused(problems: list[dict[str, Any]]) -> ValidationFailed:
    first = problems[0]
    return ValidationFailed(
        f"series {first['series']}: {first['field']}: {first['message']}"
        + (f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else "")
        + "; nothing in this request was accepted",
        series=first["series"], field=first["field"], errors=problems,
    )


_decoder = RemoteWriteDecoder()


def decode_write_request(body: bytes, now_ms: int, max_bytes: int) -> SampleBatch:
    """The samples and metadata of a remote_write body (see the module's doc)."""
    return _decoder.decode(body, now_ms, max_bytes)
