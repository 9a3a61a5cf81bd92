import math
import struct

import msgpack
import numpy as np
import pytest

from lookout_common.codec import SampleBatch, decode_batch, encode_batch
from lookout_common.errors import WireFormatError
from lookout_common.series import Sample, SeriesKey

STALE_NAN = struct.unpack("<d", struct.pack("<Q", 0x7FF0000000000002))[0]


def _samples():
    a = SeriesKey("cpu", (("host", "a"),))
    b = SeriesKey("mem", ())
    return [Sample(a, 1_000, 1.5), Sample(b, 1_000, -2.0), Sample(a, 2_000, math.inf),
            Sample(b, 2_000, STALE_NAN)]


def test_round_trip_keeps_series_order_and_values():
    samples = _samples()
    decoded = decode_batch(encode_batch(SampleBatch.from_samples(samples)))
    assert decoded.series == [samples[0].series, samples[1].series]
    assert decoded.index.tolist() == [0, 1, 0, 1]
    assert decoded.time_ms.tolist() == [1_000, 1_000, 2_000, 2_000]
    assert decoded.value[:3].tolist() == [1.5, -2.0, math.inf]
    # The stale-marker NaN keeps its exact bit pattern through the wire.
    assert decoded.value[3:].view(np.uint64)[0] == 0x7FF0000000000002
    assert [s.series for s in decoded.samples()] == [s.series for s in samples]


def _doc(**changes):
    doc = {"v": 1, "series": [["cpu", [["host", "a"]]]], "index": [0], "time_ms": [1000],
           "value": [1.0]}
    doc.update(changes)
    return msgpack.packb(doc)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"\xc1", "not a msgpack document"),
        (msgpack.packb([1, 2]), "unsupported batch version None, expected 1"),
        (_doc(v=2), "unsupported batch version 2, expected 1"),
        (_doc(series="x"), "batch needs a 'series' list"),
        (_doc(series=[["1bad", []]]), "series 0: metric name '1bad' does not match"),
        (_doc(series=[["cpu", [["__x", "a"]]]]), "series 0: label name '__x' is reserved"),
        (_doc(index=[1]), "series index out of range 0..0"),
        (_doc(index=[0, 0]), "columns differ in length: index 2, time_ms 1, value 1"),
        (_doc(time_ms=[1.5]), "'time_ms' must hold only integers"),
        (_doc(time_ms=[-1]), "a timestamp is outside 1970-01-01 .. 9999-12-29"),
        (_doc(value=["x"]), "'value' must hold only numbers"),
        (_doc(value=[True]), "'value' must hold only numbers"),
    ],
)
def test_bad_messages_are_rejected_with_reason(body, message):
    with pytest.raises(WireFormatError) as exc:
        decode_batch(body)
    assert str(exc.value).startswith(message)


def test_metadata_round_trip_and_validation():
    from lookout_common.series import MetricMetadata

    batch = SampleBatch.from_samples(_samples())
    batch.metadata.append(MetricMetadata("cpu", "gauge", "CPU in use.", "ratio"))
    assert decode_batch(encode_batch(batch)).metadata == batch.metadata
    with pytest.raises(WireFormatError, match=r"metadata 0: metric type 'bogus' is not one of"):
        decode_batch(_doc(metadata=[["cpu", "bogus", "", ""]]))
    with pytest.raises(WireFormatError, match=r"metadata 0: expected \[metric, type, help, unit\]"):
        decode_batch(_doc(metadata=[["cpu"]]))
