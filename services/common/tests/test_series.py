import math

import pytest

from lookout_common.series import (
    RuleBroken,
    SeriesKey,
    check_labels,
    check_metric_name,
    check_timestamp_window,
    check_value,
    parse_timestamp_ms,
)

NOW_MS = 1_795_000_000_000  # 2026-11-18T11:06:40Z


def test_fingerprint_depends_on_name_labels_and_order_free():
    a = SeriesKey("cpu", (("host", "a"), ("region", "eu")))
    b = SeriesKey("cpu", check_labels({"region": "eu", "host": "a"}))
    assert a == b and a.fingerprint == b.fingerprint
    assert a.fingerprint != SeriesKey("cpu", (("host", "b"), ("region", "eu"))).fingerprint
    assert a.fingerprint != SeriesKey("mem", a.labels).fingerprint
    # A label boundary cannot be forged by moving characters between name and value.
    assert SeriesKey("m", (("ab", "c"),)).fingerprint != SeriesKey("m", (("a", "bc"),)).fingerprint


@pytest.mark.parametrize("name", ["cpu", "_x", "a:b_c:9", "node_cpu_seconds_total", "x" * 255])
def test_good_metric_names(name):
    assert check_metric_name(name) == name


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("1cpu", "metric name '1cpu' does not match [a-zA-Z_:][a-zA-Z0-9_:]*"),
        ("cpu-usage", "metric name 'cpu-usage' does not match [a-zA-Z_:][a-zA-Z0-9_:]*"),
        ("", "metric name must not be empty"),
        ("x" * 256, "metric name is 256 characters long, the limit is 255"),
        (5, "metric name must be a string"),
    ],
)
def test_bad_metric_names(name, message):
    with pytest.raises(RuleBroken) as exc:
        check_metric_name(name)
    assert exc.value.message == message
    assert exc.value.field == "name"


@pytest.mark.parametrize(
    ("labels", "field", "message"),
    [
        ({"1a": "x"}, "labels.1a", "label name '1a' does not match [a-zA-Z_][a-zA-Z0-9_]*"),
        ({"a:b": "x"}, "labels.a:b", "label name 'a:b' does not match [a-zA-Z_][a-zA-Z0-9_]*"),
        ({"__name__": "x"}, "labels.__name__",
         "label name '__name__' is reserved (names starting with __)"),
        ({"a" * 65: "x"}, "labels." + "a" * 65, "label name is 65 characters long, the limit is 64"),
        ({"host": 5}, "labels.host", "label value must be a string, got int"),
        ({"host": "v" * 257}, "labels.host", "label value is 257 characters long, the limit is 256"),
        ({"host": "\ud800"}, "labels.host", "label value is not valid UTF-8"),
        ({"host": "a\x00b"}, "labels.host", "label value contains a NUL character"),
        (["host"], "labels", "labels must be an object of label name to string value"),
    ],
)
def test_bad_labels(labels, field, message):
    with pytest.raises(RuleBroken) as exc:
        check_labels(labels)
    assert (exc.value.field, exc.value.message) == (field, message)


def test_labels_sorted_and_empty_values_dropped():
    assert check_labels({"b": "2", "a": "1", "c": ""}) == (("a", "1"), ("b", "2"))
    longest = {"a" * 64: "v" * 256}
    assert check_labels(longest) == (("a" * 64, "v" * 256),)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(1, 1.0), (2.5, 2.5), ("NaN", math.nan), ("+Inf", math.inf), ("-Inf", -math.inf),
     ("inf", math.inf)],
)
def test_values(raw, expected):
    got = check_value(raw)
    assert (math.isnan(got) and math.isnan(expected)) or got == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (True, "value must be a number, got True"),
        (None, "value must be a number, got None"),
        ("12", "value must be a number or one of \"NaN\", \"+Inf\", \"-Inf\", got '12'"),
        (10**400, "value is too large for a 64-bit float"),
    ],
)
def test_bad_values(raw, message):
    with pytest.raises(RuleBroken) as exc:
        check_value(raw)
    assert exc.value.message == message


@pytest.mark.parametrize(
    ("raw", "expected_ms"),
    [
        ("2026-11-18T10:00:00Z", 1_794_996_000_000),
        ("2026-11-18T11:00:00.250+01:00", 1_794_996_000_250),
        (1_794_996_000, 1_794_996_000_000),  # unix seconds
        (1_794_996_000.5, 1_794_996_000_500),
        (1_794_996_000_123, 1_794_996_000_123),  # unix milliseconds
    ],
)
def test_timestamps(raw, expected_ms):
    assert parse_timestamp_ms(raw) == expected_ms


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("yesterday", "timestamp 'yesterday' is not RFC 3339"),
        ("2026-11-18", "timestamp '2026-11-18' is not RFC 3339 (date, 'T', time and offset required)"),
        ("2026-11-18T10:00:00", "timestamp '2026-11-18T10:00:00' is not RFC 3339 "
                                "(date, 'T', time and offset required)"),
        (True, "timestamp must be RFC 3339 text or a unix time, got True"),
        ([1], "timestamp must be RFC 3339 text or a unix time, got [1]"),
    ],
)
def test_bad_timestamps(raw, message):
    with pytest.raises(RuleBroken) as exc:
        parse_timestamp_ms(raw)
    assert exc.value.message == message


def test_timestamp_window():
    year = 365 * 24 * 3600 * 1000
    assert check_timestamp_window(NOW_MS - year, NOW_MS) == NOW_MS - year
    assert check_timestamp_window(NOW_MS + 300_000, NOW_MS) == NOW_MS + 300_000
    with pytest.raises(RuleBroken, match="more than 1 year in the past"):
        check_timestamp_window(NOW_MS - year - 1, NOW_MS)
    with pytest.raises(RuleBroken, match="more than 5 minutes in the future"):
        check_timestamp_window(NOW_MS + 300_001, NOW_MS)
