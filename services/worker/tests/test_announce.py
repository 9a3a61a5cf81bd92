"""The worker's "ingested" event: what a committed batch tells the query instances."""

from __future__ import annotations

import math

import numpy as np

from lookout_common.codec import SampleBatch
from lookout_common.series import Sample, SeriesKey
from lookout_worker.announce import ingested_event
from lookout_worker.store import InboundMessage


def message(tag: int, samples: list[Sample]) -> InboundMessage:
    return InboundMessage(tag, f"m{tag}", SampleBatch.from_samples(samples), b"", None)


def test_event_names_metrics_span_and_newest_points():
    cpu = SeriesKey("cpu", (("host", "a"),))
    mem = SeriesKey("mem", ())
    first = message(1, [Sample(cpu, 1_000, 1.0), Sample(cpu, 3_000, 3.0)])
    second = message(2, [Sample(mem, 2_000, float("nan")), Sample(mem, 5_000, 5.0)])
    event = ingested_event([first, second], max_points=3)
    assert event is not None
    assert event["metrics"] == ["cpu", "mem"]
    assert (event["start_ms"], event["end_ms"], event["samples"]) == (1_000, 5_000, 4)
    assert event["points"] == [
        {"name": "mem", "labels": {}, "value": "NaN", "timestamp": 2_000},
        {"name": "cpu", "labels": {"host": "a"}, "value": 3.0, "timestamp": 3_000},
        {"name": "mem", "labels": {}, "value": 5.0, "timestamp": 5_000},
    ]
    assert event["committed_ms"] > 0


def test_no_points_asked_and_empty_batches():
    cpu = SeriesKey("cpu", ())
    event = ingested_event([message(1, [Sample(cpu, 1, math.inf)])], max_points=0)
    assert event is not None and event["points"] == [] and event["samples"] == 1
    empty = InboundMessage(2, "m2", SampleBatch([], np.empty(0, np.int32),
                                                np.empty(0, np.int64), np.empty(0)), b"", None)
    assert ingested_event([empty], max_points=5) is None
