"""The Prometheus HTTP API and Lookout's POST /api/v1/query on a real database (data
written through the worker's own write path) and a real Redis."""

import json
import math
import time
import uuid

import psycopg2
import pytest

from lookout_common.codec import SampleBatch
from lookout_common.db.schema import migrate
from lookout_common.series import MetricMetadata, Sample, SeriesKey
from lookout_common.settings import StorageMode
from lookout_query.app import create_app
from lookout_query.settings import QuerySettings
from lookout_worker.maintenance import Maintenance
from lookout_worker.rollups import TimescaleRollups
from lookout_worker.settings import WorkerSettings
from lookout_worker.store import InboundMessage, SampleStore

# Two hours of data, hour-aligned, ending an hour before now (outside the recent window).
T0 = (int(time.time()) // 3600 - 3) * 3_600_000
T0_S = T0 // 1000
API = "/prometheus/api/v1"

UP_A = SeriesKey("up", (("instance", "a"), ("job", "api")))
UP_B = SeriesKey("up", (("instance", "b"), ("job", "db")))
REQUESTS = SeriesKey("http_requests_total", (("instance", "a"), ("job", "api")))
WEIRD = {kind: SeriesKey("weird", (("kind", kind),))
         for kind in ("big", "small", "inf", "nan", "negzero")}
WEIRD_VALUES = {"big": 1e21, "small": 1e-7, "inf": math.inf, "nan": math.nan, "negzero": -0.0}


def samples() -> list[Sample]:
    out = []
    for k in range(0, 721):  # every 10 s for 2 h
        t = T0 + k * 10_000
        out += [Sample(UP_A, t, 1.0), Sample(UP_B, t, 0.0), Sample(REQUESTS, t, 5.0 * k)]
        out += [Sample(WEIRD[kind], t, value) for kind, value in WEIRD_VALUES.items()]
    return out


def load(database_url: str, mode: StorageMode = StorageMode.POSTGRES) -> None:
    settings = WorkerSettings(database_url=database_url, storage_mode=mode)
    migrate(settings)
    store = SampleStore(settings, mode)
    batch = SampleBatch.from_samples(samples())
    batch.metadata.extend([
        MetricMetadata("up", "gauge", "1 if the target answered its last scrape", ""),
        MetricMetadata("http_requests_total", "counter", "Requests served", ""),
    ])
    try:
        outcome = store.write([InboundMessage(1, str(uuid.uuid4()), batch)])
        assert outcome.samples_written == len(batch)
    finally:
        store.close()
    conn = psycopg2.connect(database_url)  # rollups up to date, as the worker keeps them
    try:
        if mode is StorageMode.POSTGRES:
            assert Maintenance(settings, mode).run_once(conn)
        else:
            TimescaleRollups().refresh(conn)
    finally:
        conn.close()


@pytest.fixture
def database(fresh_database_url, storage_mode):
    """The API tests run in each storage mode (TimescaleDB where installed)."""
    load(fresh_database_url, storage_mode)
    return fresh_database_url


@pytest.fixture
def make_client(database, servers, redis_key_prefix, storage_mode):
    def make(**overrides):
        settings = QuerySettings(database_url=database, storage_mode=storage_mode,
                                 redis_url=servers.redis_url + "/0",
                                 redis_key_prefix=redis_key_prefix, **overrides)
        return create_app(settings).test_client()

    return make


@pytest.fixture
def client(make_client):
    return make_client()


def get_or_post(client, method, path, **values):
    if method == "GET":
        return client.get(API + path, query_string=values)
    return client.post(API + path, data=values)


BOTH = pytest.mark.parametrize("method", ["GET", "POST"])
T = T0_S + 600  # ten minutes into the data


def ok(response):
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type == "application/json"
    body = response.json
    assert body["status"] == "success"
    return body["data"]


def error(response, status, error_type):
    assert response.status_code == status, response.get_data(as_text=True)
    body = response.json
    assert set(body) == {"status", "errorType", "error"}
    assert body["status"] == "error" and body["errorType"] == error_type
    return body["error"]


# -- queries ----------------------------------------------------------------------------


@BOTH
def test_instant_vector(client, method):
    r = get_or_post(client, method, "/query", query="up", time=str(T))
    assert r.get_data() == (
        b'{"status":"success","data":{"resultType":"vector","result":['
        b'{"metric":{"__name__":"up","instance":"a","job":"api"},"value":[%d,"1"]},'
        b'{"metric":{"__name__":"up","instance":"b","job":"db"},"value":[%d,"0"]}]}}' % (T, T))


@BOTH
def test_range_query_matrix(client, method):
    data = ok(get_or_post(client, method, "/query_range", query="sum by (job) (up)",
                          start=str(T), end=str(T + 60), step="20s"))
    assert data == {"resultType": "matrix", "result": [
        {"metric": {"job": "api"}, "values": [[T + i * 20, "1"] for i in range(4)]},
        {"metric": {"job": "db"}, "values": [[T + i * 20, "0"] for i in range(4)]},
    ]}


def test_range_query_with_rfc3339_and_fractional_times(client):
    start = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(T)) + ".500Z"
    data = ok(client.get(API + "/query_range", query_string={
        "query": 'up{job="api"}', "start": start, "end": str(T + 2.5), "step": "1"}))
    (series,) = data["result"]
    assert series["values"] == [[T + 0.5, "1"], [T + 1.5, "1"], [T + 2.5, "1"]]
    assert b"[%d.500," % T in client.get(API + "/query_range", query_string={
        "query": 'up{job="api"}', "start": start, "end": str(T + 2.5), "step": "1"}).get_data()


def test_scalar_string_and_range_vector(client):
    assert ok(client.get(API + "/query", query_string={"query": "1 + 1", "time": "100.25"})) \
        == {"resultType": "scalar", "result": [100.25, "2"]}
    assert ok(client.get(API + "/query", query_string={"query": '"lookout"', "time": "7"})) \
        == {"resultType": "string", "result": [7, "lookout"]}
    data = ok(client.get(API + "/query", query_string={"query": 'up{job="db"}[30s]',
                                                         "time": str(T)}))
    assert data == {"resultType": "matrix", "result": [
        {"metric": {"__name__": "up", "instance": "b", "job": "db"},
         "values": [[T - 30 + i * 10, "0"] for i in range(4)]}]}


def test_values_are_written_as_prometheus_writes_them(client):
    r = client.get(API + "/query", query_string={"query": "weird", "time": str(T)})
    values = {s["metric"]["kind"]: s["value"][1] for s in ok(r)["result"]}
    assert values == {"big": "1e+21", "small": "1e-07", "inf": "+Inf", "nan": "NaN",
                      "negzero": "-0"}
    assert ok(client.get(API + "/query", query_string={
        "query": "1e20", "time": "1"}))["result"] == [1, "100000000000000000000"]


def test_time_defaults_to_now(client):
    before = time.time()
    data = ok(client.get(API + "/query", query_string={"query": "time()"}))
    t, value = data["result"]
    assert before - 1 <= t <= time.time() + 1
    assert float(value) == pytest.approx(t, abs=0.001)


def test_counter_rate(client):
    # 5 per 10 s, no resets: rate is 0.5/s at every step.
    data = ok(client.get(API + "/query_range", query_string={
        "query": "rate(http_requests_total[1m])", "start": str(T), "end": str(T + 120),
        "step": "1m"}))
    (series,) = data["result"]
    assert series["metric"] == {"instance": "a", "job": "api"}
    assert [(t, float(v)) for t, v in series["values"]] == [(T, 0.5), (T + 60, 0.5),
                                                           (T + 120, 0.5)]


# -- the catalogue -----------------------------------------------------------------------


@BOTH
def test_series(client, method):
    r = client.get(API + "/series?match[]=up&match[]=" + "http_requests_total") \
        if method == "GET" else client.post(API + "/series", data={
            "match[]": ["up", "http_requests_total"]})
    assert ok(r) == [
        {"__name__": "http_requests_total", "instance": "a", "job": "api"},
        {"__name__": "up", "instance": "a", "job": "api"},
        {"__name__": "up", "instance": "b", "job": "db"},
    ]
    assert ok(get_or_post(client, method, "/series", **{"match[]": 'up{job="db"}'})) == [
        {"__name__": "up", "instance": "b", "job": "db"}]
    # Series without samples in the range are not listed.
    assert ok(get_or_post(client, method, "/series", **{
        "match[]": "up", "start": str(T0_S - 7200), "end": str(T0_S - 3600)})) == []


@BOTH
def test_labels(client, method):
    assert ok(get_or_post(client, method, "/labels")) == ["__name__", "instance", "job", "kind"]
    assert ok(get_or_post(client, method, "/labels", **{"match[]": "weird"})) == [
        "__name__", "kind"]


def test_label_values(client):
    assert ok(client.get(API + "/label/job/values")) == ["api", "db"]
    assert ok(client.get(API + "/label/__name__/values")) == [
        "http_requests_total", "up", "weird"]
    assert ok(client.get(API + "/label/job/values", query_string={"match[]": 'up{job="db"}'})) \
        == ["db"]
    assert ok(client.get(API + "/label/nothing/values")) == []
    message = error(client.get(API + "/label/1bad/values"), 400, "bad_data")
    assert message == 'invalid label name: "1bad"'


def test_metadata(client):
    everything = ok(client.get(API + "/metadata"))
    assert everything == {
        "http_requests_total": [{"type": "counter", "help": "Requests served", "unit": ""}],
        "up": [{"type": "gauge", "help": "1 if the target answered its last scrape",
                "unit": ""}],
    }
    assert ok(client.get(API + "/metadata", query_string={"metric": "up"})) == {
        "up": everything["up"]}
    assert ok(client.get(API + "/metadata", query_string={"limit": "1"})) == {
        "http_requests_total": everything["http_requests_total"]}
    assert ok(client.get(API + "/metadata", query_string={"metric": "nope"})) == {}
    assert error(client.get(API + "/metadata", query_string={"limit": "x"}), 400,
                 "bad_data") == "limit must be a number"


def test_buildinfo(client):
    data = ok(client.get(API + "/status/buildinfo"))
    assert set(data) >= {"version", "revision", "branch", "buildUser", "buildDate", "goVersion"}
    # Grafana compares `version` with Prometheus releases to pick API features.
    assert data["version"] == "2.42.0"
    assert data["application"] == "Lookout" and "features" not in data


# -- errors and limits -------------------------------------------------------------------


@BOTH
def test_bad_queries_and_parameters(client, method):
    assert error(get_or_post(client, method, "/query", query="sum(", time=str(T)), 400,
                 "bad_data").startswith('invalid parameter "query": parse error: ')
    assert error(get_or_post(client, method, "/query_range", query="sum(", start="0",
                             end="10", step="1"), 400, "bad_data").startswith("parse error: ")
    assert error(get_or_post(client, method, "/query_range", query="up", start="x", end="1",
                             step="1"), 400, "bad_data") == \
        'invalid parameter "start": cannot parse "x" to a valid timestamp'
    assert error(get_or_post(client, method, "/query_range", query="up", start="10", end="1",
                             step="1"), 400, "bad_data") == \
        'invalid parameter "end": end timestamp must not be before start time'
    assert error(get_or_post(client, method, "/query_range", query="up", start="0", end="1",
                             step="0"), 400, "bad_data") == (
        'invalid parameter "step": zero or negative query resolution step widths are not '
        "accepted. Try a positive integer")
    assert error(get_or_post(client, method, "/query_range", query="up", start="0",
                             end="11001", step="1"), 400, "bad_data") == (
        "exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the "
        "query resolution (?step=XX)")
    assert error(get_or_post(client, method, "/query", query="up", time="soon"), 400,
                 "bad_data") == (
        "invalid parameter \"time\": Invalid time value for 'time': cannot parse \"soon\" "
        "to a valid timestamp")
    assert error(get_or_post(client, method, "/series"), 400, "bad_data") == \
        "no match[] parameter provided"
    assert error(get_or_post(client, method, "/series", **{"match[]": '{job=""}'}), 400,
                 "bad_data") == (
        'invalid parameter "match[]": match[] must contain at least one non-empty matcher')
    assert error(get_or_post(client, method, "/query", query='"x"', time="1", timeout="y"),
                 400, "bad_data") == 'invalid parameter "timeout": cannot parse "y" to a valid duration'


def test_range_query_of_a_range_vector_is_bad_data(client):
    message = error(client.get(API + "/query_range", query_string={
        "query": "up[5m]", "start": "0", "end": "10", "step": "1"}), 400, "bad_data")
    assert "range vector" in message


def test_execution_errors_are_422(client):
    message = error(client.get(API + "/query", query_string={
        "query": "up + on() up", "time": str(T)}), 422, "execution")
    assert message.startswith("found duplicate series for the match group {}")
    message = error(client.get(API + "/query", query_string={"query": "info(up)"}), 422,
                    "execution")
    assert "not supported" in message


def test_series_limit(make_client):
    client = make_client(query_max_series=1)
    message = error(client.get(API + "/query", query_string={"query": "up", "time": str(T)}),
                    422, "execution")
    assert "more than 1 series" in message
    assert len(ok(client.get(API + "/query", query_string={"query": 'up{job="db"}',
                                                           "time": str(T)}))["result"]) == 1
    error(client.get(API + "/series", query_string={"match[]": "up"}), 422, "execution")


def test_timeouts_are_503(client):
    for timeout in ("0", "1ms", "0.000001"):
        message = error(client.get(API + "/query_range", query_string={
            "query": "sum(rate(http_requests_total[5m]))", "start": str(T0_S),
            "end": str(T0_S + 7200), "step": "1", "timeout": timeout}), 503, "timeout")
        # cut off by the engine's deadline or by the database's statement_timeout
        assert "timed out" in message or "exceeded 1 ms" in message


def test_unexpected_methods(client):
    assert client.post(API + "/label/job/values").status_code == 405
    assert client.delete(API + "/query").status_code == 405


def test_requests_are_counted(client):
    client.get(API + "/query", query_string={"query": "up"})
    text = client.get("/metrics").get_data(as_text=True)
    assert 'query_requests_total{code="200",route="/prometheus/api/v1/query"}' in text


# -- Lookout's own query API ---------------------------------------------------------------


def test_lookout_range_query(client):
    r = client.post("/api/v1/query", json={"query": 'up{job="api"}', "start": T,
                                           "end": T + 60, "step": "30s"})
    assert r.status_code == 200
    assert r.json == {"type": "matrix", "start": T, "end": T + 60, "step": 30, "series": [
        {"labels": {"__name__": "up", "instance": "a", "job": "api"},
         "points": [[T, 1.0], [T + 30, 1.0], [T + 60, 1.0]]}]}


def test_lookout_instant_query(client):
    r = client.post("/api/v1/query", json={"query": "weird", "time": T})
    assert r.status_code == 200
    body = json.loads(r.get_data())
    assert body["type"] == "vector" and body["time"] == T
    points = {s["labels"]["kind"]: s["points"] for s in body["series"]}
    assert points == {"big": [[T, 1e21]], "small": [[T, 1e-7]], "inf": [[T, "+Inf"]],
                      "nan": [[T, "NaN"]], "negzero": [[T, -0.0]]}
    r = client.post("/api/v1/query", json={"query": "2 * 3"})
    assert r.json["type"] == "scalar" and r.json["value"][1] == 6


def test_lookout_errors(client):
    r = client.post("/api/v1/query", json={"query": "sum("})
    assert r.status_code == 400
    assert r.json["error"]["type"] == "bad_data"
    assert r.json["error"]["message"].startswith("parse error:")
    r = client.post("/api/v1/query", data="not json", content_type="text/plain")
    assert r.status_code == 400
    assert r.json == {"error": {"type": "bad_data",
                                "message": "the request body must be a JSON object"}}
    r = client.post("/api/v1/query", json={"query": "up + on() up", "time": T})
    assert r.status_code == 422 and r.json["error"]["type"] == "execution"
    r = client.post("/api/v1/query", json={"query": "up", "start": 0, "end": 20000,
                                           "step": 1})
    assert r.status_code == 400 and "11,000 points" in r.json["error"]["message"]


def test_lookout_and_prometheus_answers_agree(client):
    query = 'sum by (job) (rate(http_requests_total[2m])) * 2'
    prom = ok(client.get(API + "/query_range", query_string={
        "query": query, "start": str(T), "end": str(T + 600), "step": "60"}))["result"]
    mine = client.post("/api/v1/query", json={"query": query, "start": T, "end": T + 600,
                                              "step": 60}).json["series"]
    assert [s["metric"] for s in prom] == [s["labels"] for s in mine]
    for p, m in zip(prom, mine, strict=True):
        assert [(t, float(v)) for t, v in p["values"]] == [tuple(point) for point in m["points"]]


def test_catalogue_endpoints_stay(client):
    assert client.get("/api/v1/metrics").json == {"metrics": [
        {"name": "http_requests_total", "series": 1}, {"name": "up", "series": 2},
        {"name": "weird", "series": 5}]}
    assert client.get("/api/v1/metrics/up/tags").json == {
        "metric": "up", "tags": {"instance": ["a", "b"], "job": ["api", "db"]}}


def test_form_body_wins_over_the_url(client):
    # As Go's FormValue: a POSTed value beats the same name in the query string.
    r = client.post(API + "/query?query=up&time=1", data={"query": "2 * 21", "time": "5"})
    assert ok(r) == {"resultType": "scalar", "result": [5, "42"]}


def test_series_limit_holds_for_the_whole_answer(make_client):
    # Each selector picks one series, the answer has two.
    client = make_client(query_max_series=1)
    query = 'up{job="api"} or up{job="db"}'
    message = error(client.get(API + "/query", query_string={"query": query, "time": str(T)}),
                    422, "execution")
    assert message == "the answer has 2 series, more than the limit of 1 series per query"
    error(client.get(API + "/query_range", query_string={
        "query": query, "start": str(T), "end": str(T + 60), "step": "30"}), 422, "execution")
