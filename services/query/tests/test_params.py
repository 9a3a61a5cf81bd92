"""Query API parameters are read as Prometheus 2.42 reads them, refused with its words."""

import pytest
from werkzeug.datastructures import MultiDict

from lookout_query import params
from lookout_query.promql.model import BadQuery, Matcher


def form(**values):
    out = MultiDict()
    for key, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            out.add(key.replace("match", "match[]") if key == "match" else key, item)
    return out


def refused(fn, *args, **kwargs):
    with pytest.raises(BadQuery) as exc:
        fn(*args, **kwargs)
    return str(exc.value)


@pytest.mark.parametrize(("text", "ms"), [
    ("1435781451", 1_435_781_451_000),
    ("1435781451.781", 1_435_781_451_781),
    ("1435781451.7815", 1_435_781_451_782),  # the fraction is rounded to the millisecond
    ("1.5", 1500),
    ("-1.5", -1500),
    ("+10", 10_000),
    (".5", 500),
    ("1e3", 1_000_000),
    ("0", 0),
    ("2015-07-01T20:10:51.781Z", 1_435_781_451_781),
    ("2015-07-01T20:10:51Z", 1_435_781_451_000),
    ("2015-07-01T22:10:51.781+02:00", 1_435_781_451_781),
    ("2015-07-01T18:40:51.781-01:30", 1_435_781_451_781),
    ("2015-07-01T20:10:51.781999999Z", 1_435_781_451_781),  # nanoseconds cut, not rounded
    ("1969-12-31T23:59:59.999Z", -1),
    (params.MIN_TIME_TEXT, params.MIN_TIME_MS),
    (params.MAX_TIME_TEXT, params.MAX_TIME_MS),
])
def test_times(text, ms):
    assert params.parse_time_ms(text) == ms


@pytest.mark.parametrize("text", ["x", "", "2015-07-01", "2015-07-01 20:10:51Z",
                                  "2015-13-01T00:00:00Z", "2015-02-30T00:00:00Z",
                                  "2015-07-01T20:10:51", "2015-07-01T20:10:51+0200", "1e",
                                  "NaN", "inf", "1_000", "0x10"])
def test_unparsable_times(text):
    with pytest.raises(ValueError, match="to a valid timestamp"):
        params.parse_time_ms(text)


@pytest.mark.parametrize(("text", "ns"), [
    ("15s", 15 * 10**9), ("1m", 60 * 10**9), ("1h30m", 5400 * 10**9), ("500ms", 5 * 10**8),
    ("1d", 86_400 * 10**9), ("1w", 7 * 86_400 * 10**9), ("1y", 365 * 86_400 * 10**9),
    ("2h5m10s20ms", (7510 * 1000 + 20) * 10**6), ("0", 0), ("15", 15 * 10**9),
    ("1.5", 15 * 10**8), ("0.001", 10**6), ("-3", -3 * 10**9), ("1e-3", 10**6),
])
def test_durations(text, ns):
    assert params.parse_duration_ns(text) == ns


@pytest.mark.parametrize(("text", "message"), [
    ("x", 'cannot parse "x" to a valid duration'),
    ("", 'cannot parse "" to a valid duration'),
    ("30m1h", 'cannot parse "30m1h" to a valid duration'),
    ("-5m", 'cannot parse "-5m" to a valid duration'),
    ("1.5m", 'cannot parse "1.5m" to a valid duration'),
    ("1e400", 'cannot parse "1e400" to a valid duration'),  # Go's ParseFloat refuses it
    ("1e10", 'cannot parse "1e10" to a valid duration. It overflows int64'),
    ("Inf", 'cannot parse "Inf" to a valid duration. It overflows int64'),
    ("300000y", 'cannot parse "300000y" to a valid duration'),
])
def test_unparsable_durations(text, message):
    with pytest.raises(ValueError) as exc:
        params.parse_duration_ns(text)
    assert str(exc.value) == message


def test_instant_query_defaults_to_now_and_the_service_timeout():
    req = params.instant_query(form(query="up"), now_ms=1_700_000_000_123)
    assert req == params.InstantQuery("up", 1_700_000_000_123, None)
    req = params.instant_query(form(query="up", time="1700000000.5", timeout="1m"), 0)
    assert req == params.InstantQuery("up", 1_700_000_000_500, 60.0)


@pytest.mark.parametrize(("values", "message"), [
    ({"query": "up", "time": "x"},
     'invalid parameter "time": Invalid time value for \'time\': cannot parse "x" to a valid timestamp'),
    ({"query": "up", "timeout": "soon"},
     'invalid parameter "timeout": cannot parse "soon" to a valid duration'),
    ({"query": "up{"}, 'invalid parameter "query": parse error: unexpected end of input inside braces'),
    ({}, 'invalid parameter "query": empty query'),
])
def test_instant_query_refusals(values, message):
    assert refused(params.instant_query, form(**values), 0) == message


def test_range_query():
    req = params.range_query(form(query="rate(x[5m])", start="2015-07-01T20:10:30.781Z",
                                  end="1435781451.781", step="15s", timeout="2.5"))
    assert req == params.RangeQuery("rate(x[5m])", 1_435_781_430_781, 1_435_781_451_781,
                                    15_000, 2.5)
    assert params.range_query(form(query="1", start="0", end="10", step="0.0015")).step_ms == 1


@pytest.mark.parametrize(("values", "message"), [
    ({"query": "up", "end": "10", "step": "1"},
     'invalid parameter "start": cannot parse "" to a valid timestamp'),
    ({"query": "up", "start": "x", "end": "10", "step": "1"},
     'invalid parameter "start": cannot parse "x" to a valid timestamp'),
    ({"query": "up", "start": "10", "end": "later", "step": "1"},
     'invalid parameter "end": cannot parse "later" to a valid timestamp'),
    ({"query": "up", "start": "10", "end": "9", "step": "1"},
     'invalid parameter "end": end timestamp must not be before start time'),
    ({"query": "up", "start": "0", "end": "10", "step": "x"},
     'invalid parameter "step": cannot parse "x" to a valid duration'),
    ({"query": "up", "start": "0", "end": "10"},
     'invalid parameter "step": cannot parse "" to a valid duration'),
    ({"query": "up", "start": "0", "end": "10", "step": "0"},
     'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer'),
    ({"query": "up", "start": "0", "end": "10", "step": "-15"},
     'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer'),
    # Lookout counts in milliseconds: a step under one is no step at all.
    ({"query": "up", "start": "0", "end": "0.0005", "step": "0.0001"},
     'invalid parameter "step": zero or negative query resolution step widths are not accepted. Try a positive integer'),
    ({"query": "up", "start": "0", "end": "11001", "step": "1"},
     "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)"),
    ({"query": "up", "start": "0", "end": "10", "step": "1", "timeout": "x"},
     'invalid parameter "timeout": cannot parse "x" to a valid duration'),
    ({"query": "sum(", "start": "0", "end": "10", "step": "1"},
     "parse error: unclosed left parenthesis"),
])
def test_range_query_refusals(values, message):
    assert refused(params.range_query, form(**values)).startswith(message)


def test_eleven_thousand_steps_are_the_most():
    # (end - start) / step may be 11,000 (11,001 points), as in Prometheus.
    req = params.range_query(form(query="1", start="0", end="11000", step="1"))
    assert (req.end_ms - req.start_ms) // req.step_ms == 11_000


def test_series_query():
    req = params.series_query(form(match=['up{job="a"}', "node_load1"], start="10"),
                              match_required=True, wrap_match_errors=True)
    assert req.matcher_sets == (
        (Matcher("__name__", "=", "up"), Matcher("job", "=", "a")),
        (Matcher("__name__", "=", "node_load1"),),
    )
    assert (req.start_ms, req.end_ms) == (10_000, params.MAX_TIME_MS)
    everything = params.series_query(form(), match_required=False, wrap_match_errors=False)
    assert everything.matcher_sets == ()
    assert (everything.start_ms, everything.end_ms) == (params.MIN_TIME_MS, params.MAX_TIME_MS)


@pytest.mark.parametrize(("values", "required", "message"), [
    ({}, True, "no match[] parameter provided"),
    ({"match": '{job=""}'}, True,
     'invalid parameter "match[]": match[] must contain at least one non-empty matcher'),
    ({"match": '{job=""}'}, False, "match[] must contain at least one non-empty matcher"),
    ({"match": "sum(up)"}, False,
     'parse error: "sum(up)" is not a series selector (like up{job="api"})'),
    ({"match": "up[5m]"}, False, 'parse error: "up[5m]" is not a series selector'),
    ({"match": "up", "start": "x"}, False,
     'invalid parameter "start": Invalid time value for \'start\': cannot parse "x" to a valid timestamp'),
    ({"match": "up", "end": "y"}, True,
     'invalid parameter "end": Invalid time value for \'end\': cannot parse "y" to a valid timestamp'),
])
def test_series_query_refusals(values, required, message):
    got = refused(params.series_query, form(**values), match_required=required,
                  wrap_match_errors=required)
    assert got.startswith(message)


def test_label_names_and_metadata_parameters():
    assert params.label_name("__name__") == "__name__"
    assert params.label_name("job_2") == "job_2"
    assert refused(params.label_name, "1job") == 'invalid label name: "1job"'
    assert refused(params.label_name, "a-b") == 'invalid label name: "a-b"'
    assert params.metadata_query(form()) == params.MetadataQuery(None, None)
    assert params.metadata_query(form(metric="up", limit="2")) == params.MetadataQuery("up", 2)
    assert params.metadata_query(form(limit="-1")) == params.MetadataQuery(None, None)
    assert refused(params.metadata_query, form(limit="many")) == "limit must be a number"


def test_lookout_body_range_and_instant():
    assert params.lookout_query({"query": "up", "start": 1000, "end": "1060", "step": "15s"},
                                0) == params.RangeQuery("up", 1_000_000, 1_060_000, 15_000)
    # Without a step: a 250th of the range in whole seconds, at least one.
    assert params.lookout_query({"query": "up", "start": 0, "end": 3600}, 0).step_ms == 14_000
    assert params.lookout_query({"query": "up", "start": 0, "end": 60}, 0).step_ms == 1000
    assert params.lookout_query({"query": "up", "start": 0.5, "end": "1970-01-01T00:01:00Z",
                                 "step": 2.5, "timeout": "10s"}, 0) == params.RangeQuery(
        "up", 500, 60_000, 2500, 10.0)
    assert params.lookout_query({"query": "up"}, 42) == params.InstantQuery("up", 42)
    assert params.lookout_query({"query": "up", "time": 5}, 42) == params.InstantQuery("up", 5000)


@pytest.mark.parametrize(("body", "message"), [
    ([], "the request body must be a JSON object"),
    (None, "the request body must be a JSON object"),
    ({"query": ""}, "'query' must be a non-empty string of PromQL"),
    ({"query": 5}, "'query' must be a non-empty string of PromQL"),
    ({"query": "up", "stpe": 5}, "unknown field 'stpe'"),
    ({"query": "up", "start": 5}, "a range query needs both 'start' and 'end'"),
    ({"query": "up", "step": 5}, "'step' needs 'start' and 'end' (a range query)"),
    ({"query": "up", "start": 0, "end": 5, "time": 1}, "'time' is for instant queries"),
    ({"query": "up", "start": True, "end": 5}, 'invalid parameter "start": must be a number or a string'),
    ({"query": "up", "start": 10, "end": 5}, 'invalid parameter "end": end timestamp must not be before start time'),
    ({"query": "up", "start": 0, "end": 50000, "step": 1}, "exceeded maximum resolution of 11,000 points"),
    ({"query": "up(", "time": 0}, "parse error:"),
])
def test_lookout_body_refusals(body, message):
    assert refused(params.lookout_query, body, 0).startswith(message)


def test_go_quote():
    assert params.go_quote('a"b\\c\n') == '"a\\"b\\\\c\\n"'
    assert params.go_quote("é\x01") == '"é\\x01"'
