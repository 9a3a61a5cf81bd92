"""Results are written as Prometheus's HTTP API writes them, byte for byte."""

import json
import math

import numpy as np
import pytest

from lookout_query import encoding
from lookout_query.encoding import LOOKOUT, PROMETHEUS
from lookout_query.promql.model import STALE_NAN, Matrix, Scalar, Series, String, Vector


@pytest.mark.parametrize(("value", "text"), [
    (1.0, "1"), (1.5, "1.5"), (0.1, "0.1"), (0.0, "0"), (-0.0, "-0"), (-3.0, "-3"),
    (1 / 3, "0.3333333333333333"), (123456789.123, "123456789.123"),
    (1e16, "10000000000000000"), (2.0**53, "9007199254740992"),
    (123456789012345678.0, "123456789012345680"),
    (1e20, "100000000000000000000"), (9.99e20, "999000000000000000000"),
    # From 1e21 on and below 1e-6 Prometheus switches to Go's exponent form.
    (1e21, "1e+21"), (1.5e300, "1.5e+300"), (1.7976931348623157e308, "1.7976931348623157e+308"),
    (1e-6, "0.000001"), (1.5e-5, "0.000015"), (-2.5e-5, "-0.000025"), (0.0001, "0.0001"),
    (9.9e-7, "9.9e-07"), (1e-7, "1e-07"), (5e-324, "5e-324"), (-1e-300, "-1e-300"),
    (math.inf, "+Inf"), (-math.inf, "-Inf"), (math.nan, "NaN"), (STALE_NAN, "NaN"),
])
def test_sample_values(value, text):
    assert encoding.format_value(value) == text


@pytest.mark.parametrize(("t_ms", "text"), [
    (0, "0"), (1000, "1"), (1500, "1.500"), (1001, "1.001"), (1010, "1.010"),
    (1_435_781_451_781, "1435781451.781"), (-1500, "-1.500"), (-1, "-0.001"), (999, "0.999"),
])
def test_timestamps(t_ms, text):
    assert encoding.format_time(t_ms) == text
    assert json.loads(text) == t_ms / 1000


def test_labels_are_a_sorted_object_with_gos_escapes():
    text = encoding.labels_json((("z", "<b>&"), ("__name__", "up"), ("a", 'é"\\\n')))
    assert text == '{"__name__":"up","a":"é\\"\\\\\\n","z":"\\u003cb\\u003e\\u0026"}'
    assert json.loads(text) == {"__name__": "up", "a": 'é"\\\n', "z": "<b>&"}
    assert encoding.labels_json(()) == "{}"


def data(value):
    return json.loads(encoding.prometheus_instant_data(value))


def test_instant_results_in_prometheus_shape():
    assert encoding.prometheus_instant_data(Scalar(1500, 2.0)) == \
        b'{"resultType":"scalar","result":[1.500,"2"]}'
    assert encoding.prometheus_instant_data(String(2000, 'a"b')) == \
        b'{"resultType":"string","result":[2,"a\\"b"]}'
    vector = Vector(10_000, [((("__name__", "up"), ("job", "b")), 1.0),
                             ((("job", "a"),), math.inf)])
    # A vector keeps the engine's order (sort() decides it), every sample at the query time.
    assert encoding.prometheus_instant_data(vector) == (
        b'{"resultType":"vector","result":[{"metric":{"__name__":"up","job":"b"},'
        b'"value":[10,"1"]},{"metric":{"job":"a"},"value":[10,"+Inf"]}]}')
    assert data(Vector(5, [])) == {"resultType": "vector", "result": []}


def test_matrix_series_sorted_by_labels_and_empty_ones_left_out():
    matrix = Matrix([
        Series((("job", "b"),), np.array([1000, 2500]), np.array([1.0, -0.0])),
        Series((("job", "a"), ("x", "1")), np.array([1000]), np.array([0.0])),
        Series((("job", "a"),), np.array([500]), np.array([math.nan])),
        Series((("job", "c"),), np.array([], dtype=np.int64), np.array([])),
    ])
    assert encoding.prometheus_instant_data(matrix) == (
        b'{"resultType":"matrix","result":['
        b'{"metric":{"job":"a"},"values":[[0.500,"NaN"]]},'
        b'{"metric":{"job":"a","x":"1"},"values":[[1,"0"]]},'
        b'{"metric":{"job":"b"},"values":[[1,"1"],[2.500,"-0"]]}]}')


def grid_matrix():
    t = np.arange(0, 100_000, 10_000, dtype=np.int64)  # 0, 10 s, ..., 90 s
    return Matrix([
        Series((("s", "even"),), t[::2], np.arange(5, dtype=np.float64)),
        Series((("s", "all"),), t, np.arange(10, dtype=np.float64) / 4),
    ])


def test_range_points_can_be_cut_to_any_run_of_steps():
    series = encoding.encode_series_points(grid_matrix(), PROMETHEUS)
    full = json.loads(encoding.prometheus_range_data(series, 0, 90_000))["result"]
    assert [s["metric"] for s in full] == [{"s": "all"}, {"s": "even"}]
    assert full[0]["values"][:3] == [[0, "0"], [10, "0.25"], [20, "0.5"]]
    assert len(full[0]["values"]) == 10 and len(full[1]["values"]) == 5
    cut = json.loads(encoding.prometheus_range_data(series, 30_000, 50_000))["result"]
    assert cut == [{"metric": {"s": "all"}, "values": [[30, "0.75"], [40, "1"], [50, "1.25"]]},
                   {"metric": {"s": "even"}, "values": [[40, "2"]]}]
    # A run where one series has no point leaves that series out.
    only = json.loads(encoding.prometheus_range_data(series, 30_000, 30_000))["result"]
    assert only == [{"metric": {"s": "all"}, "values": [[30, "0.75"]]}]
    assert encoding.prometheus_range_data(series, 91_000, 99_000) == \
        b'{"resultType":"matrix","result":[]}'


def test_equal_values_by_bits_not_by_equality():
    matrix = Matrix([Series((), np.array([0, 1, 2, 3]),
                            np.array([0.0, -0.0, STALE_NAN, math.nan]))])
    (s,) = encoding.encode_series_points(matrix, PROMETHEUS)
    assert s.points == b'[0,"0"],[0.001,"-0"],[0.002,"NaN"],[0.003,"NaN"]'


def test_lookout_shape():
    series = encoding.encode_series_points(grid_matrix(), LOOKOUT)
    body = json.loads(encoding.lookout_range_body(series, 80_000, 90_000, 10_000))
    assert body == {"type": "matrix", "start": 80, "end": 90, "step": 10, "series": [
        {"labels": {"s": "all"}, "points": [[80, 2.0], [90, 2.25]]},
        {"labels": {"s": "even"}, "points": [[80, 4.0]]}]}
    vector = Vector(1500, [((("a", "1"),), math.nan), ((("a", "2"),), -math.inf)])
    assert json.loads(encoding.lookout_instant_body(vector, 1500)) == {
        "type": "vector", "time": 1.5, "series": [
            {"labels": {"a": "1"}, "points": [[1.5, "NaN"]]},
            {"labels": {"a": "2"}, "points": [[1.5, "-Inf"]]}]}
    assert json.loads(encoding.lookout_instant_body(Scalar(0, 1e21), 0)) == {
        "type": "scalar", "time": 0, "value": [0, 1e21]}
    assert json.loads(encoding.lookout_instant_body(String(0, "x"), 0)) == {
        "type": "string", "time": 0, "value": [0, "x"]}


def test_envelopes():
    assert encoding.prometheus_success(b"[]") == b'{"status":"success","data":[]}'
    assert json.loads(encoding.prometheus_error("bad_data", 'bad "x"')) == {
        "status": "error", "errorType": "bad_data", "error": 'bad "x"'}


def test_bulk_formatting_equals_one_by_one():
    rng = np.random.default_rng(11)
    values = np.concatenate([
        rng.integers(0, 2**64, 20_000, dtype=np.uint64).view(np.float64),  # any bits at all
        rng.normal(0, 1e6, 5000), rng.integers(-1000, 1000, 2000).astype(np.float64),
        np.array([0.0, -0.0, 1e15, 1e16, 1e20, 1e21, 9.99e20, 1e-6, 9.99e-7, 1.5e-5, 1e-4,
                  5e-324, math.inf, -math.inf, math.nan, STALE_NAN, 2.0**53 + 2]),
    ])
    assert encoding.prometheus_value_texts(values) == [encoding.format_value(v)
                                                       for v in values.tolist()]
    for text, v in zip(encoding.lookout_value_texts(values), values.tolist(), strict=True):
        back = json.loads(text)
        if math.isfinite(v):
            assert back == v and math.copysign(1, back) == math.copysign(1, v)
        else:
            assert back == encoding.format_value(v)
