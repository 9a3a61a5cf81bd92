"""The ``ALERTS`` and ``ALERTS_FOR_STATE`` series, written back through ingest as
Prometheus writes them, over remote_write 1.0 (the one ingest protocol that keeps
Prometheus's staleness marker bit for bit).

Per evaluation of a rule, for every pending or firing alert:

- ``ALERTS{alertname, alertstate="pending"|"firing", <alert labels>} 1``;
- ``ALERTS_FOR_STATE{alertname, <alert labels>}`` = the alert's ``active_at`` (unix
  seconds), so its activation time is queryable;

and for every such series written at the rule's previous evaluation but not at this one
(the alert resolved, went from pending to firing, or was dropped) a staleness marker: a
NaN with the bits ``0x7ff0000000000002``, after which a PromQL instant query no longer
returns the series, at once rather than after the 5-minute lookback. The previous
evaluation's series come from the stored state, so this holds across a restart.

The body is a ``prometheus.WriteRequest`` (fields as in Prometheus's remote.proto:
WriteRequest.timeseries = 1; TimeSeries.labels = 1, samples = 2; Label.name = 1,
value = 2; Sample.value = 1 (double), timestamp = 2 (int64 ms)), snappy block-compressed
with cramjam. The handful of fields is encoded here directly rather than through
generated protobuf code, which lives in the ingest service.
"""

from __future__ import annotations

import logging
import struct
from collections.abc import Iterable, Mapping, Sequence

import cramjam
import requests
from prometheus_client import Counter

from .settings import AlertsSettings
from .state import AlertPhase
from .storage import SeriesAlert

log = logging.getLogger(__name__)

STALE_NAN_BITS = 0x7FF0000000000002
WRITES = Counter("alerts_series_writes_total", "ALERTS / ALERTS_FOR_STATE writes to ingest",
                 ["outcome"])
Labels = tuple[tuple[str, str], ...]


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _value_bits(value: float | None) -> bytes:
    """8 little-endian bytes of a double; None is the staleness marker."""
    if value is None:
        return struct.pack("<Q", STALE_NAN_BITS)
    return struct.pack("<d", value)


def encode_write_request(samples: Iterable[tuple[Labels, float | None, int]]) -> bytes:
    """A snappy-compressed ``WriteRequest``: one series per (labels, value, ms); a value of
    None is written as the staleness marker. ``labels`` include ``__name__``."""
    body = bytearray()
    for labels, value, ts_ms in samples:
        series = b"".join(_field(1, _field(1, k.encode()) + _field(2, v.encode()))
                          for k, v in sorted(labels))
        sample = b"\x09" + _value_bits(value) + b"\x10" + _varint(ts_ms)
        body += _field(1, series + _field(2, sample))
    return bytes(cramjam.snappy.compress_raw(bytes(body)))


def _active(alert: SeriesAlert) -> bool:
    return alert.state.phase in (AlertPhase.PENDING, AlertPhase.FIRING)


def alert_series(alerts: Iterable[SeriesAlert]) -> dict[Labels, float]:
    """The ALERTS and ALERTS_FOR_STATE series (and values) of the active alerts."""
    out: dict[Labels, float] = {}
    for a in alerts:
        if not _active(a):
            continue
        base = {k: v for k, v in a.labels.items() if k != "alertstate"}
        alerts_labels = {**base, "__name__": "ALERTS", "alertstate": a.state.phase.value}
        out[tuple(sorted(alerts_labels.items()))] = 1.0
        if a.state.active_at is not None:
            for_state = {**base, "__name__": "ALERTS_FOR_STATE"}
            out[tuple(sorted(for_state.items()))] = float(a.state.active_at)
    return out


def series_samples(previous: Iterable[SeriesAlert], current: Sequence[SeriesAlert],
                   at_ms: int) -> list[tuple[Labels, float | None, int]]:
    """What to write at one evaluation: the current series, and a staleness marker
    (None) for each series of the previous evaluation that is gone."""
    now = alert_series(current)
    gone = alert_series(previous).keys() - now.keys()
    return ([(labels, value, at_ms) for labels, value in sorted(now.items())]
            + [(labels, None, at_ms) for labels in sorted(gone)])


class AlertsSeriesWriter:
    def __init__(self, settings: AlertsSettings) -> None:
        self.url = settings.ingest_url.rstrip("/") + "/api/v1/write"
        self.timeout = settings.alerts_http_timeout_s
        self.headers = {"Content-Encoding": "snappy", "Content-Type": "application/x-protobuf",
                        "X-Prometheus-Remote-Write-Version": "0.1.0"}
        if settings.alerts_ingest_token:
            self.headers["Authorization"] = f"Bearer {settings.alerts_ingest_token}"
        self.session = requests.Session()

    def write(self, previous: Mapping[str, SeriesAlert], current: Sequence[SeriesAlert],
              at: float) -> bool:
        samples = series_samples(previous.values(), current, int(at * 1000))
        if not samples:
            return True
        try:
            r = self.session.post(self.url, data=encode_write_request(samples),
                                  timeout=self.timeout, headers=self.headers)
        except requests.RequestException as exc:
            WRITES.labels("failed").inc()
            log.warning("ALERTS not written", extra={"error": repr(exc)})
            return False
        if r.status_code >= 300:
            WRITES.labels("failed").inc()
            log.warning("ALERTS not written", extra={"status": r.status_code,
                                                     "body": r.text[:200]})
            return False
        WRITES.labels("ok").inc()
        return True
