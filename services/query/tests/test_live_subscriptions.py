"""Live subscriptions: validation of `subscribe`, which metrics touch a query, the
sliding window on a fixed grid, and the registry's sharing of one entry per query."""

from __future__ import annotations

import pytest

from lookout_query.live.subscriptions import (
    MetricFilter,
    Registry,
    SubscribeRefused,
    SubscriptionKey,
    parse_subscribe,
    window,
)


def test_parse_subscribe_accepts_and_converts_to_ms():
    req = parse_subscribe({"id": "a", "query": "rate(x[1m])", "range": 300, "step": 0.5})
    assert req.id == "a" and req.key == SubscriptionKey("rate(x[1m])", 300_000, 500)


@pytest.mark.parametrize(("payload", "needle"), [
    ("up", "takes an object"),
    ({"query": "up", "range": 60, "step": 1}, "'id'"),
    ({"id": "a", "query": 5, "range": 60, "step": 1}, "'query'"),
    ({"id": "a", "query": "up", "range": "60", "step": 1}, "'range'"),
    ({"id": "a", "query": "up", "range": 60, "step": True}, "'step'"),
    ({"id": "a", "query": "up", "range": 60, "step": float("nan")}, "'step'"),
    ({"id": "a", "query": "up", "range": 60, "step": 0}, "at least 0.001"),
    ({"id": "a", "query": "up", "range": -1, "step": 1}, "negative"),
    ({"id": "a", "query": "up", "range": 20_000, "step": 1}, "11,000"),
    ({"id": "a", "query": "sum(", "range": 60, "step": 1}, "parse error"),
])
def test_parse_subscribe_refusals(payload, needle):
    with pytest.raises(SubscribeRefused) as refused:
        parse_subscribe(payload)
    assert refused.value.kind == "bad_data" and needle in refused.value.message


def test_metric_filter_follows_every_selector():
    f = MetricFilter.of('sum(rate(http_requests_total[5m])) / on() group_left max(up{job="x"})')
    assert f.touched_by(["up"]) and f.touched_by(["http_requests_total"])
    assert not f.touched_by(["other"])
    regex = MetricFilter.of('{__name__=~"node_.*", job="n"}')
    assert regex.touched_by(["node_load1"]) and not regex.touched_by(["up"])
    assert MetricFilter.of('{job="n"}').touched_by(["anything"])  # no name matcher
    assert not MetricFilter.of("1 + 2").touched_by(["up"])


def test_window_ends_on_the_next_step_boundary():
    key = SubscriptionKey("up", 60_000, 15_000)
    assert window(key, 1_000_000) == (945_000, 1_005_000)
    assert window(key, 1_005_000) == (945_000, 1_005_000)


def test_registry_shares_one_entry_per_query_and_forgets_closed_connections():
    reg = Registry()
    same = {"query": "up", "range": 60, "step": 1}
    reg.add("s1", parse_subscribe({"id": "a", **same}))
    reg.add("s2", parse_subscribe({"id": "b", **same}))
    reg.add("s2", parse_subscribe({"id": "c", "query": "down", "range": 60, "step": 1}))
    assert len(reg.entries) == 2 and len(reg) == 3
    key = SubscriptionKey("up", 60_000, 1_000)
    assert reg.watchers(key) == [("s1", "a"), ("s2", "b")]
    assert reg.touched(["up"]) == [key]
    reg.drop_connection("s2")
    assert reg.watchers(key) == [("s1", "a")] and len(reg.entries) == 1
    # The same id again replaces the subscription.
    reg.add("s1", parse_subscribe({"id": "a", "query": "down", "range": 60, "step": 1}))
    assert reg.touched(["up"]) == [] and len(reg) == 1
