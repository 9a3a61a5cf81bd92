"""The Redis query cache: hits give the very bytes a fresh evaluation gives, rounding
never changes an answer, TTLs follow the range, big results are not kept, and a Redis
that is down or silent costs queries nothing but the cache."""

import socket
import threading
import time
import uuid

import numpy as np
import psycopg2
import pytest
import redis
from prometheus_client import REGISTRY

from lookout_common.codec import SampleBatch
from lookout_common.db.schema import migrate
from lookout_common.series import Sample, SeriesKey
from lookout_common.settings import StorageMode
from lookout_query.app import create_app
from lookout_query.cache import (
    COMPRESS_OVER_BYTES,
    COMPRESSED,
    LARGEST_COMPRESSION,
    CachedRange,
    CachePolicy,
    depends_on_range,
    query_identity,
)
from lookout_query.encoding import PROMETHEUS, SeriesPoints
from lookout_query.params import RangeQuery
from lookout_query.promql import ast
from lookout_query.settings import QuerySettings
from lookout_worker.maintenance import Maintenance
from lookout_worker.settings import WorkerSettings
from lookout_worker.store import InboundMessage, SampleStore

API = "/prometheus/api/v1"
NOW_MS = int(time.time() * 1000)
# Old data: three hours ending an hour ago, at 5 s. Recent data: the last 10 minutes.
OLD = (NOW_MS // 3_600_000 - 4) * 3_600_000
OLD_S = OLD // 1000
SERIES = [SeriesKey("temperature", (("room", room),)) for room in ("hall", "lab", "attic")]


def counter(name):
    return REGISTRY.get_sample_value(name) or 0.0


def load(database_url):
    settings = WorkerSettings(database_url=database_url, storage_mode=StorageMode.POSTGRES)
    migrate(settings)
    rng = np.random.default_rng(3)
    samples = []
    for i, key in enumerate(SERIES):
        for t in range(OLD, OLD + 3 * 3_600_000, 5000):
            if rng.random() > 0.1:  # gaps, so series come and go between steps
                samples.append(Sample(key, t, float(rng.integers(-40, 40)) / 4 + i))
        for t in range(NOW_MS - 600_000, NOW_MS, 5000):
            samples.append(Sample(key, t, float(i)))
    store = SampleStore(settings, StorageMode.POSTGRES)
    try:
        store.write([InboundMessage(1, str(uuid.uuid4()), SampleBatch.from_samples(samples))])
    finally:
        store.close()
    roll_up(settings)


def roll_up(settings):
    """What the worker's maintenance loop does next: bring the rollups up to date."""
    conn = psycopg2.connect(settings.database_url)
    try:
        assert Maintenance(settings, StorageMode.POSTGRES).run_once(conn)
    finally:
        conn.close()


@pytest.fixture
def database(fresh_database_url):
    load(fresh_database_url)
    return fresh_database_url


@pytest.fixture
def make_client(database, servers, redis_key_prefix):
    def make(**overrides):
        values = {"database_url": database, "storage_mode": StorageMode.POSTGRES,
                  "redis_url": servers.redis_url + "/0", "redis_key_prefix": redis_key_prefix,
                  **overrides}
        return create_app(QuerySettings(**values)).test_client()

    return make


@pytest.fixture
def redis_client(servers):
    client = redis.Redis.from_url(servers.redis_url + "/0")
    yield client
    client.close()


def query_range(client, query, start, end, step):
    r = client.get(API + "/query_range", query_string={
        "query": query, "start": str(start), "end": str(end), "step": str(step)})
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.get_data()


def keys(redis_client, prefix):
    return sorted(k.decode() for k in redis_client.scan_iter(match=prefix + "*"))


QUERY = "avg_over_time(temperature[1m]) * 2"


def test_second_identical_query_is_a_hit_with_the_same_body(make_client, redis_client,
                                                            redis_key_prefix):
    client = make_client()
    hits, misses = counter("query_cache_hits_total"), counter("query_cache_misses_total")
    first = query_range(client, QUERY, OLD_S + 600, OLD_S + 4200, 60)
    assert counter("query_cache_misses_total") == misses + 1
    assert len(keys(redis_client, redis_key_prefix)) == 1
    second = query_range(client, QUERY, OLD_S + 600, OLD_S + 4200, 60)
    assert counter("query_cache_hits_total") == hits + 1
    assert second == first
    assert b'"resultType":"matrix"' in first and first.count(b'"metric"') == 3
    # The same query written differently is the same entry.
    third = query_range(client, "avg_over_time(temperature{}[60s])*2", OLD_S + 600,
                        OLD_S + 4200, 60)
    assert third == first and counter("query_cache_hits_total") == hits + 2


def test_rounding_never_changes_an_answer(make_client):
    """Requests that share a key (same step and phase, start and end in the same 10 s)
    are answered from the cache only when it holds exactly their points; either way the
    answer is what the uncached service says."""
    cached, uncached = make_client(), make_client(query_cache_enabled=False)
    base = OLD_S + 1000  # a multiple of 10 s
    requests = [
        (base, base + 302, 2),        # fills the entry: points base .. base+302
        (base + 2, base + 302, 2),    # same phase, later start: cut from the entry
        (base + 4, base + 301, 2),    # last point base+300: cut from the entry
        (base + 6, base + 306, 2),    # last point base+306 is not in the entry: a miss
        (base + 8, base + 305, 2),    # cut from the new entry (base+6 .. base+306)
        (base, base + 302, 2),        # starts before the new entry: a miss
        (base + 1, base + 301, 2),    # another phase: another key
        (base, base + 302, 3),        # another step: another key
    ]
    hits = counter("query_cache_hits_total")
    served = []
    for start, end, step in requests:
        before = counter("query_cache_hits_total")
        body = query_range(cached, QUERY, start, end, step)
        served.append(counter("query_cache_hits_total") > before)
        assert body == query_range(uncached, QUERY, start, end, step), (start, end, step)
    assert served == [False, True, True, False, True, False, False, False]
    assert counter("query_cache_hits_total") == hits + 3


def test_a_shifted_phase_is_a_miss(make_client):
    client = make_client()
    query_range(client, QUERY, OLD_S + 600, OLD_S + 1200, 15)
    misses = counter("query_cache_misses_total")
    query_range(client, QUERY, OLD_S + 601, OLD_S + 1201, 15)
    assert counter("query_cache_misses_total") == misses + 1


def test_start_and_end_dependent_queries_need_the_same_range(make_client):
    cached, uncached = make_client(), make_client(query_cache_enabled=False)
    query = "temperature @ start()"
    base = OLD_S + 2000
    query_range(cached, query, base, base + 100, 2)
    hits = counter("query_cache_hits_total")
    shifted = query_range(cached, query, base + 2, base + 100, 2)
    assert counter("query_cache_hits_total") == hits
    assert shifted == query_range(uncached, query, base + 2, base + 100, 2)
    query_range(cached, query, base + 2, base + 100, 2)
    assert counter("query_cache_hits_total") == hits + 1


def test_ttl_follows_the_range(make_client, redis_client, redis_key_prefix):
    client = make_client()
    query_range(client, "temperature", OLD_S, OLD_S + 3600, 60)
    (old_key,) = keys(redis_client, redis_key_prefix)
    assert 290 <= redis_client.ttl(old_key) <= 300
    now = NOW_MS // 1000
    query_range(client, "temperature", now - 1800, now, 60)
    (recent_key,) = set(keys(redis_client, redis_key_prefix)) - {old_key}
    assert 1 <= redis_client.ttl(recent_key) <= 10


def test_instant_queries_are_cached_at_their_exact_time(make_client, redis_client,
                                                        redis_key_prefix):
    client = make_client()
    t = OLD_S + 3000
    first = client.get(API + "/query", query_string={"query": "temperature", "time": str(t)})
    hits = counter("query_cache_hits_total")
    again = client.get(API + "/query", query_string={"query": "temperature", "time": str(t)})
    assert again.get_data() == first.get_data() and counter("query_cache_hits_total") == hits + 1
    client.get(API + "/query", query_string={"query": "temperature", "time": str(t + 0.001)})
    assert counter("query_cache_hits_total") == hits + 1
    assert len(keys(redis_client, redis_key_prefix)) == 2


def test_the_two_apis_keep_their_own_entries(make_client):
    client = make_client()
    body = {"query": QUERY, "start": OLD_S, "end": OLD_S + 600, "step": 60}
    first = client.post("/api/v1/query", json=body)
    prom = query_range(client, QUERY, OLD_S, OLD_S + 600, 60)
    assert first.json["type"] == "matrix" and b'"status":"success"' in prom
    hits = counter("query_cache_hits_total")
    assert client.post("/api/v1/query", json=body).get_data() == first.get_data()
    assert counter("query_cache_hits_total") == hits + 1


def test_results_over_the_size_cap_are_not_cached(make_client, redis_client, redis_key_prefix):
    client = make_client(query_cache_max_bytes=600)
    oversized = counter("query_cache_oversized_total")
    big = query_range(client, "temperature", OLD_S, OLD_S + 3600, 10)
    assert len(big) > 600 * LARGEST_COMPRESSION  # not even packed
    assert counter("query_cache_oversized_total") == oversized + 1
    # Packed and compressed, then still over the cap.
    query_range(client, "temperature", OLD_S, OLD_S + 600, 10)
    assert counter("query_cache_oversized_total") == oversized + 2
    assert keys(redis_client, redis_key_prefix) == []
    query_range(client, "temperature", OLD_S, OLD_S + 60, 30)  # small: kept
    assert len(keys(redis_client, redis_key_prefix)) == 1


def test_large_answers_are_stored_compressed_and_served_alike(make_client, redis_client,
                                                             redis_key_prefix):
    client = make_client()
    fresh = query_range(client, "temperature", OLD_S, OLD_S + 3 * 3600, 5)
    (key,) = keys(redis_client, redis_key_prefix)
    stored = redis_client.get(key)
    assert len(fresh) > COMPRESS_OVER_BYTES
    assert stored[:1] == COMPRESSED and len(stored) < 0.75 * len(fresh)
    hits = counter("query_cache_hits_total")
    assert query_range(client, "temperature", OLD_S, OLD_S + 3 * 3600, 5) == fresh
    assert counter("query_cache_hits_total") == hits + 1


def test_redis_down_answers_uncached_and_quickly(make_client):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    client = make_client(redis_url=f"redis://127.0.0.1:{closed_port}/0")
    uncached = make_client(query_cache_enabled=False)
    errors = counter("query_cache_errors_total")
    expected = query_range(uncached, QUERY, OLD_S, OLD_S + 600, 60)
    started = time.perf_counter()
    for _ in range(5):
        assert query_range(client, QUERY, OLD_S, OLD_S + 600, 60) == expected
    assert time.perf_counter() - started < 5
    # Redis was asked once; the failure kept the next queries from asking again.
    assert counter("query_cache_errors_total") == errors + 1


class SilentServer:
    """Accepts connections and never answers (a Redis that hangs)."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self):
        self.sock.close()
        for conn in self.accepted:
            conn.close()


def test_a_silent_redis_costs_one_short_timeout(make_client):
    server = SilentServer()
    try:
        client = make_client(redis_url=f"redis://127.0.0.1:{server.port}/0",
                             query_cache_timeout_s=0.3, query_cache_retry_s=60)
        uncached = make_client(query_cache_enabled=False)
        expected = query_range(uncached, QUERY, OLD_S, OLD_S + 600, 60)
        started = time.perf_counter()
        assert query_range(client, QUERY, OLD_S, OLD_S + 600, 60) == expected
        first = time.perf_counter() - started
        assert 0.3 <= first < 3
        started = time.perf_counter()
        for _ in range(3):
            assert query_range(client, QUERY, OLD_S, OLD_S + 600, 60) == expected
        # Every later query skips Redis: no timeout waited for again.
        assert time.perf_counter() - started < first * 3
        assert len(server.accepted) == 1
    finally:
        server.close()


# -- the rule itself, without servers ---------------------------------------------------------


def entry(start, end, step):
    return CachedRange(start, end, step, [])


@pytest.mark.parametrize(("cached", "request_range", "serves"), [
    ((0, 100, 10), (0, 100, 10), True),
    ((0, 100, 10), (10, 100, 10), True),
    ((0, 100, 10), (20, 85, 10), True),      # last point 80 is in the entry
    ((0, 105, 10), (0, 109, 10), True),      # both last points are 100
    ((0, 100, 10), (0, 110, 10), False),     # 110 is not in the entry
    ((0, 100, 10), (5, 95, 10), False),      # another phase
    ((10, 100, 10), (0, 100, 10), False),    # starts earlier
    ((0, 100, 10), (0, 100, 5), False),      # another step
])
def test_an_entry_serves_only_requests_whose_points_it_holds(cached, request_range, serves):
    assert entry(*cached).serves(RangeQuery("x", *request_range)) is serves


def test_entries_survive_packing():
    series = [SeriesPoints(b'{"a":"1"}', np.array([0, 10], dtype=np.int64), b'[0,"1"],[1,"2"]',
                           np.array([0, 8, 16], dtype=np.int64))]
    back = CachedRange.unpack(CachedRange(0, 10, 10, series).pack())
    assert (back.start_ms, back.end_ms, back.step_ms) == (0, 10, 10)
    assert back.series[0].labels == b'{"a":"1"}' and back.series[0].t.tolist() == [0, 10]
    assert back.series[0].between(10, 10) == b'[1,"2"]'


def test_ttl_choice():
    policy = CachePolicy(prefix="p:", ttl_s=300, recent_ttl_s=10, recent_window_s=300,
                         max_bytes=1, lookback_ms=300_000)
    now = 10_000_000
    assert policy.ttl_for(now, now) == 10
    assert policy.ttl_for(now - 300_000, now) == 10
    assert policy.ttl_for(now - 300_001, now) == 300
    assert policy.ttl_for(now + 3_600_000, now) == 10


def test_keys():
    policy = CachePolicy(prefix="p:", ttl_s=300, recent_ttl_s=10, recent_window_s=300,
                         max_bytes=1, lookback_ms=300_000)
    key = policy.range_key(PROMETHEUS, RangeQuery("rate(x[5m])", 1_234_567, 1_299_999, 15_000))
    assert key.startswith("p:query:prometheus:300000:")
    assert key.endswith(":range:15000:4567:123:129")
    same_bucket = policy.range_key(PROMETHEUS, RangeQuery("rate(x[300s])", 1_234_567 - 15_000 * 0,
                                                          1_290_000, 15_000))
    assert same_bucket == key
    exact = policy.range_key(PROMETHEUS, RangeQuery("x @ end()", 1_234_567, 1_299_999, 15_000))
    assert exact.endswith(":range:15000:exact:1234567:1299999")


def test_query_identity_tells_apart_what_a_printer_would_confuse():
    # One matcher whose value holds a quote, and two matchers: printed PromQL can make
    # them look alike, the parsed trees differ.
    one, two = r'x{a="1\",b=\"2"}', 'x{a="1",b="2"}'
    assert query_identity(one) != query_identity(two)
    assert query_identity("sum(rate(x[5m]))") == query_identity("sum ( rate(x[300s]) )")
    assert query_identity('x{b="1", a="2"}') == query_identity('x{a="2",b="1"}')


def test_depends_on_range():
    assert depends_on_range(ast.parse("rate(x[5m] @ start())"))
    assert depends_on_range(ast.parse("sum(x) / on() group_left y @ end()"))
    assert depends_on_range(ast.parse("max_over_time((x @ end())[10m:1m])"))
    assert not depends_on_range(ast.parse("x @ 100 + y offset 5m"))
    assert not depends_on_range(ast.parse("1"))
