"""Golden cases for remote_write and exposition push: a payload and what it must become.

``golden/<protocol>/<case>.<ext>`` is the payload and, beside it, either
``<case>.expected.jsonl`` — one line per sample in payload order,
``{"metric", "labels", "timestamp_ms", "value"}``, then one per metric's metadata,
``{"metadata": metric, "type", "help", "unit"}`` — or ``<case>.error.txt``, the 400's
whole message. A value is a number, "+Inf", "-Inf", "NaN" (any NaN), or the float64's
bits in hex ("0x7ff0000000000002", compared bit for bit).

Payloads by extension: ``.textproto`` is a remote_write ``WriteRequest`` in protobuf
text format (serialised and snappy-compressed here), ``.snappy`` a remote_write body
byte for byte (``prometheus_2_42_*`` were sent by a real Prometheus 2.42), ``.prom``
the Prometheus text format, ``.om`` OpenMetrics. Every case is parsed at NOW_MS, and
the batch goes through the broker message codec, so what is compared is what the
worker receives. A new case is two files.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable
from pathlib import Path

import cramjam
import orjson
import pytest
from google.protobuf import text_format

from lookout_common.codec import SampleBatch, decode_batch, encode_batch
from lookout_common.errors import ValidationFailed
from lookout_ingest.exposition import OPENMETRICS_CONTENT_TYPE, parse_exposition
from lookout_ingest.proto.remote_pb2 import WriteRequest
from lookout_ingest.remote_write import decode_write_request

GOLDEN = Path(__file__).parent / "golden"
NOW_MS = 1_795_392_000_000  # 2026-11-23T00:00:00Z
MAX_BYTES = 10 * 1024 * 1024


def _textproto(path: Path) -> SampleBatch:
    request = text_format.Parse(path.read_text(), WriteRequest())
    body = bytes(cramjam.snappy.compress_raw(request.SerializeToString()))
    return decode_write_request(body, NOW_MS, MAX_BYTES)


PARSERS: dict[str, Callable[[Path], SampleBatch]] = {
    ".textproto": _textproto,
    ".snappy": lambda path: decode_write_request(path.read_bytes(), NOW_MS, MAX_BYTES),
    ".prom": lambda path: parse_exposition(path.read_bytes(), "text/plain; version=0.0.4",
                                           NOW_MS),
    ".om": lambda path: parse_exposition(
        path.read_bytes(), f"{OPENMETRICS_CONTENT_TYPE}; version=1.0.0; charset=utf-8", NOW_MS),
}

CASES = sorted(p for protocol in ("remote_write", "exposition")
               for p in (GOLDEN / protocol).iterdir() if p.suffix in PARSERS)


def test_every_payload_has_an_expectation():
    assert CASES
    for payload in CASES:
        stem = payload.with_suffix("")
        outcomes = [p for p in (Path(f"{stem}.expected.jsonl"), Path(f"{stem}.error.txt"))
                    if p.exists()]
        assert len(outcomes) == 1, f"{payload}: needs exactly one .expected.jsonl or .error.txt"


@pytest.mark.parametrize("payload", CASES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_golden(payload: Path):
    parse = PARSERS[payload.suffix]
    stem = payload.with_suffix("")
    error = Path(f"{stem}.error.txt")
    if error.exists():
        with pytest.raises(ValidationFailed) as raised:
            parse(payload)
        assert raised.value.message == error.read_text().strip()
        return
    batch = decode_batch(encode_batch(parse(payload)))  # as the worker receives it
    got_samples = [
        {"metric": s.series.metric, "labels": dict(s.series.labels),
         "timestamp_ms": s.timestamp_ms, "value": s.value}
        for s in batch.samples()
    ]
    got_metadata = [{"metadata": m.metric, "type": m.type, "help": m.help, "unit": m.unit}
                    for m in batch.metadata]
    expected = [orjson.loads(line) for line in
                Path(f"{stem}.expected.jsonl").read_text().splitlines() if line.strip()]
    want_samples = [e for e in expected if "metadata" not in e]
    want_metadata = [e for e in expected if "metadata" in e]
    assert len(got_samples) == len(want_samples), got_samples
    for i, (got, want) in enumerate(zip(got_samples, want_samples, strict=True)):
        assert _same_value(got.pop("value"), want.pop("value")), f"sample {i}: {got}"
        assert got == want, f"sample {i}"
    assert sorted(got_metadata, key=str) == sorted(want_metadata, key=str)


def _same_value(got: float, want: float | str) -> bool:
    if isinstance(want, str) and want.startswith("0x"):
        return struct.pack("<d", got) == struct.pack("<Q", int(want, 16))
    if want == "NaN":
        return math.isnan(got)
    return got == {"+Inf": math.inf, "-Inf": -math.inf}.get(want, want)  # type: ignore[arg-type]
