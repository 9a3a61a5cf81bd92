"""Query results as JSON text, in Prometheus's HTTP API shape and in Lookout's own.

Pure functions of the engine's result values. Prometheus's API writes sample values as
strings and timestamps as unix seconds with millisecond decimals; both are reproduced
exactly here (``format_value``, ``format_time``), so a client comparing bytes sees what
Prometheus 2.42 would send.

A range result is encoded once into ``SeriesPoints`` — per series its labels' JSON, the
points' timestamps and their JSON text with the offset where each point starts — so the
query cache can store it and later serve any run of its points by slicing text, with no
number formatted twice.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
import orjson

from .promql.model import Labels, Matrix, Scalar, String, Value, Vector

# -- numbers and times ---------------------------------------------------------------------


def format_value(value: float) -> str:
    """A sample value as Prometheus writes it: Go's shortest ``'f'`` formatting, or
    ``'e'`` below 1e-6 and from 1e21 on; ``+Inf``, ``-Inf``, ``NaN``."""
    if value != value:
        return "NaN"
    if value in (math.inf, -math.inf):
        return "+Inf" if value > 0 else "-Inf"
    text = repr(value)  # the shortest digits that read back as the same float
    magnitude = abs(value)
    if magnitude != 0 and (magnitude < 1e-6 or magnitude >= 1e21):
        return text  # Python's exponent form is Go's: 1e+21, 1.5e-07
    if "e" in text:
        return format(Decimal(text), "f")
    return text[:-2] if text.endswith(".0") else text


def format_time(t_ms: int) -> str:
    """Unix milliseconds as Prometheus writes a timestamp: seconds, and when there
    is a remainder a dot and three digits (``1.5`` s is ``1.500``)."""
    sign = "-" if t_ms < 0 else ""
    seconds, millis = divmod(abs(t_ms), 1000)
    if millis:
        return f"{sign}{seconds}.{millis:03d}"
    return f"{sign}{seconds}"


def json_number(value: float) -> str:
    """A value for Lookout's JSON: a number, or ``"NaN"``/``"+Inf"``/``"-Inf"`` (JSON
    has no literal for those), as the ingest API accepts them."""
    if math.isfinite(value):
        return repr(value)
    return f'"{format_value(value)}"'


_GO_HTML_ESCAPES = {"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
                    "\u2029": "\\u2029"}


def json_string(text: str) -> str:
    """A JSON string as Go's encoding/json writes it (HTML characters escaped)."""
    out = json.dumps(text, ensure_ascii=False)
    if any(c in out for c in _GO_HTML_ESCAPES):
        out = "".join(_GO_HTML_ESCAPES.get(c, c) for c in out)
    return out


def labels_json(labels: Labels) -> str:
    """A label set as a JSON object, names in sorted order (as Go writes a map)."""
    return "{" + ",".join(f"{json_string(n)}:{json_string(v)}" for n, v in sorted(labels)) + "}"


def prometheus_value_texts(values: np.ndarray) -> list[str]:
    """``format_value`` of every element, the bulk formatted by orjson (the same
    shortest digits as ``repr``, in C) and only the rare forms fixed up one by one."""
    floats = values.tolist()
    texts = orjson.dumps(floats).decode()[1:-1].split(",") if floats else []
    magnitude = np.abs(values)
    exact = ~np.isfinite(values) | (magnitude >= 1e21) | ((magnitude < 1e-6) & (values != 0))
    for i in np.flatnonzero(exact).tolist():
        texts[i] = format_value(floats[i])
    for i, text in enumerate(texts):
        if "e" in text:  # orjson's exponent form inside Go's 'f' range
            if not exact[i]:
                texts[i] = format_value(floats[i])
        elif text.endswith(".0"):
            texts[i] = text[:-2]
    return texts


def lookout_value_texts(values: np.ndarray) -> list[str]:
    """``json_number`` of every element: orjson's JSON numbers, non-finite ones quoted."""
    floats = values.tolist()
    texts = orjson.dumps(floats).decode()[1:-1].split(",") if floats else []
    for i in np.flatnonzero(~np.isfinite(values)).tolist():
        texts[i] = json_number(floats[i])
    return texts


def time_texts(times: np.ndarray) -> list[str]:
    return [format_time(t) for t in times.tolist()]


def _distinct_texts(values: np.ndarray, texts_of: Callable[[np.ndarray], list[str]]) -> list[str]:
    """``texts_of`` applied to every element, each distinct value formatted once.
    Floats are told apart by their bits (so -0 is not 0, and every NaN is found)."""
    if not len(values):
        return []
    keys = values.view(np.int64) if values.dtype == np.float64 else values
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    texts = np.array(texts_of(values[first]), dtype=object)
    return texts[inverse.reshape(-1)].tolist()  # type: ignore[no-any-return]


# -- formats ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ResultFormat:
    """How one API writes points, series and whole results."""

    name: str
    # one point's JSON from its timestamp's text and its value's text
    point: Callable[[str, str], str]
    value_texts: Callable[[np.ndarray], list[str]]
    # the opening of a series object given its labels' JSON, before its points
    series_open: str  # with a {labels} placeholder
    series_close: str


PROMETHEUS = ResultFormat(
    name="prometheus",
    point=lambda t, v: f'[{t},"{v}"]',
    value_texts=prometheus_value_texts,
    series_open='{{"metric":{labels},"values":[',
    series_close="]}",
)
LOOKOUT = ResultFormat(
    name="lookout",
    point=lambda t, v: f"[{t},{v}]",
    value_texts=lookout_value_texts,
    series_open='{{"labels":{labels},"points":[',
    series_close="]}",
)


@dataclass
class SeriesPoints:
    """One series of a range result, encoded: ``points`` is its points' JSON joined
    with commas; point ``i`` is ``points[offsets[i]:offsets[i + 1] - 1]`` and has
    timestamp ``t[i]`` (``offsets`` has one entry more than ``t``)."""

    labels: bytes
    t: np.ndarray  # int64 unix ms, ascending
    points: bytes
    offsets: np.ndarray  # int64

    def between(self, lo_ms: int, hi_ms: int) -> bytes:
        """The JSON of the points with ``lo_ms <= t <= hi_ms`` (b"" for none)."""
        i = int(np.searchsorted(self.t, lo_ms, side="left"))
        j = int(np.searchsorted(self.t, hi_ms, side="right"))
        if i >= j:
            return b""
        return self.points[int(self.offsets[i]):int(self.offsets[j]) - 1]

    @property
    def size(self) -> int:
        return len(self.labels) + len(self.points) + 16 * len(self.t)


def encode_series_points(matrix: Matrix, fmt: ResultFormat) -> list[SeriesPoints]:
    """Every series of ``matrix`` with at least one point, sorted by labels (as
    Prometheus sorts a range query's answer)."""
    series = sorted((s for s in matrix.series if len(s.t)), key=lambda s: s.labels)
    if not series:
        return []
    t_all = np.concatenate([np.asarray(s.t, dtype=np.int64) for s in series])
    v_all = np.concatenate([np.asarray(s.v, dtype=np.float64) for s in series])
    times = _distinct_texts(t_all, time_texts)
    values = _distinct_texts(v_all, fmt.value_texts)
    point = fmt.point
    out: list[SeriesPoints] = []
    lo = 0
    for s in series:
        hi = lo + len(s.t)
        texts = [point(t, v) for t, v in zip(times[lo:hi], values[lo:hi], strict=True)]
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)) + 1
        offsets = np.zeros(len(texts) + 1, dtype=np.int64)
        np.cumsum(lengths, out=offsets[1:])
        out.append(SeriesPoints(labels_json(s.labels).encode(), t_all[lo:hi].copy(),
                                ",".join(texts).encode(), offsets))
        lo = hi
    return out


def series_list_json(series: Sequence[SeriesPoints], fmt: ResultFormat, lo_ms: int,
                     hi_ms: int) -> bytes:
    """A JSON array of the series with their points in ``[lo_ms, hi_ms]``; series
    without a point there are left out."""
    parts = []
    for s in series:
        points = s.between(lo_ms, hi_ms)
        if points:
            parts.append(fmt.series_open.format(labels=s.labels.decode()).encode() + points
                         + fmt.series_close.encode())
    return b"[" + b",".join(parts) + b"]"


# -- whole answers ------------------------------------------------------------------------


def result_type(value: Value) -> str:
    if isinstance(value, Scalar):
        return "scalar"
    if isinstance(value, String):
        return "string"
    if isinstance(value, Vector):
        return "vector"
    return "matrix"


def prometheus_success(data_json: bytes) -> bytes:
    return b'{"status":"success","data":' + data_json + b"}"


def prometheus_error(error_type: str, message: str) -> bytes:
    body = {"status": "error", "errorType": error_type, "error": message}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def prometheus_instant_data(value: Value) -> bytes:
    """The ``data`` of a Prometheus instant query answer."""
    kind = result_type(value)
    if isinstance(value, Scalar):
        result = f'[{format_time(value.t_ms)},"{format_value(value.value)}"]'
    elif isinstance(value, String):
        result = f"[{format_time(value.t_ms)},{json_string(value.value)}]"
    elif isinstance(value, Vector):
        t = format_time(value.t_ms)
        samples = [f'{{"metric":{labels_json(labels)},"value":[{t},"{format_value(v)}"]}}'
                   for labels, v in value.samples]
        result = "[" + ",".join(samples) + "]"
    else:
        series = encode_series_points(value, PROMETHEUS)
        body = series_list_json(series, PROMETHEUS, -(2**63), 2**63 - 1)
        return b'{"resultType":"matrix","result":' + body + b"}"
    return f'{{"resultType":"{kind}","result":{result}}}'.encode()


def prometheus_range_data(series: Sequence[SeriesPoints], lo_ms: int, hi_ms: int) -> bytes:
    body = series_list_json(series, PROMETHEUS, lo_ms, hi_ms)
    return b'{"resultType":"matrix","result":' + body + b"}"


def lookout_instant_body(value: Value, time_ms: int) -> bytes:
    """Lookout's answer to an instant query: ``type``, ``time`` and the ``series`` (a
    vector's samples as one-point series) or the scalar/string ``value``."""
    kind = result_type(value)
    head = f'{{"type":"{kind}","time":{format_time(time_ms)},'
    if isinstance(value, Scalar):
        tail = f'"value":[{format_time(value.t_ms)},{json_number(value.value)}]}}'
    elif isinstance(value, String):
        tail = f'"value":[{format_time(value.t_ms)},{json_string(value.value)}]}}'
    elif isinstance(value, Vector):
        t = format_time(value.t_ms)
        samples = [f'{{"labels":{labels_json(labels)},"points":[[{t},{json_number(v)}]]}}'
                   for labels, v in value.samples]
        tail = '"series":[' + ",".join(samples) + "]}"
    else:
        series = encode_series_points(value, LOOKOUT)
        listed = series_list_json(series, LOOKOUT, -(2**63), 2**63 - 1)
        return (head + '"series":').encode() + listed + b"}"
    return (head + tail).encode()


def lookout_range_body(series: Sequence[SeriesPoints], start_ms: int, end_ms: int,
                       step_ms: int) -> bytes:
    head = (f'{{"type":"matrix","start":{format_time(start_ms)},"end":{format_time(end_ms)},'
            f'"step":{format_time(step_ms)},"series":')
    return head.encode() + series_list_json(series, LOOKOUT, start_ms, end_ms) + b"}"


def instant_body(fmt: ResultFormat, value: Value, time_ms: int) -> bytes:
    """The whole response body of an instant query in ``fmt``."""
    if fmt is PROMETHEUS:
        return prometheus_success(prometheus_instant_data(value))
    return lookout_instant_body(value, time_ms)


def range_body(fmt: ResultFormat, series: Sequence[SeriesPoints], start_ms: int, end_ms: int,
               step_ms: int) -> bytes:
    """The whole response body of a range query in ``fmt``: the points of ``series``
    in ``[start_ms, end_ms]``."""
    if fmt is PROMETHEUS:
        return prometheus_success(prometheus_range_data(series, start_ms, end_ms))
    return lookout_range_body(series, start_ms, end_ms, step_ms)
