"""The ALERTS / ALERTS_FOR_STATE samples of an evaluation, and their remote_write body as
ingest's own decoder reads it: the staleness marker arrives bit for bit."""

from __future__ import annotations

import time

import numpy as np

from lookout_alerts.series_writer import STALE_NAN_BITS, encode_write_request, series_samples
from lookout_alerts.state import AlertPhase, AlertState
from lookout_alerts.storage import SeriesAlert
from lookout_ingest.remote_write import decode_write_request

LABELS = {"alertname": "HighLatency", "service": "api", "severity": "critical"}


def alert(phase: AlertPhase, active_at: float = 1000.0) -> SeriesAlert:
    return SeriesAlert(1, "fp", LABELS, {}, AlertState(phase, active_at=active_at))


def test_pending_then_firing_then_resolved():
    pending = series_samples([], [alert(AlertPhase.PENDING)], 1_010_000)
    assert [(dict(labels), value) for labels, value, _ in pending] == [
        ({**LABELS, "__name__": "ALERTS", "alertstate": "pending"}, 1.0),
        ({**LABELS, "__name__": "ALERTS_FOR_STATE"}, 1000.0)]
    # pending -> firing: the pending series ends with a staleness marker
    firing = series_samples([alert(AlertPhase.PENDING)], [alert(AlertPhase.FIRING)], 1_020_000)
    assert [(dict(labels)["__name__"], dict(labels).get("alertstate"), value)
            for labels, value, _ in firing] == [
        ("ALERTS", "firing", 1.0), ("ALERTS_FOR_STATE", None, 1000.0),
        ("ALERTS", "pending", None)]
    # resolved: both remaining series end
    resolved = series_samples([alert(AlertPhase.FIRING)], [alert(AlertPhase.RESOLVED)],
                              1_030_000)
    assert sorted((dict(labels)["__name__"], value) for labels, value, _ in resolved) == [
        ("ALERTS", None), ("ALERTS_FOR_STATE", None)]
    assert series_samples([alert(AlertPhase.RESOLVED)], [], 1_040_000) == []


def test_ingest_decodes_the_body_with_the_stale_bits_kept():
    now_ms = int(time.time() * 1000)
    samples = series_samples([alert(AlertPhase.PENDING)], [alert(AlertPhase.FIRING, 1.5e9)],
                             now_ms)
    batch = decode_write_request(encode_write_request(samples), now_ms, 1 << 20)
    got = {}
    for i, j in enumerate(batch.index):
        s = batch.series[int(j)]
        got[(s.metric, dict(s.labels).get("alertstate"))] = (batch.value[i],
                                                             int(batch.time_ms[i]))
    assert got[("ALERTS", "firing")] == (1.0, now_ms)
    assert got[("ALERTS_FOR_STATE", None)] == (1.5e9, now_ms)
    stale, ts = got[("ALERTS", "pending")]
    assert ts == now_ms
    assert np.array([stale]).view(np.uint64)[0] == STALE_NAN_BITS
    assert {s.metric for s in batch.series} == {"ALERTS", "ALERTS_FOR_STATE"}
    assert dict(batch.series[0].labels)["service"] == "api"
