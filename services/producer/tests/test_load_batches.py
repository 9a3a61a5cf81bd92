from __future__ import annotations

from collections import defaultdict

import orjson
import pytest

from lookout_common.series import check_labels, check_metric_name, check_value
from lookout_producer.load_batches import LOAD_METRIC, LoadBatches, series_label

NOW_MS = 1_750_000_000_000


def test_series_labels_are_zero_padded() -> None:
    assert series_label(42) == "s00042"
    assert series_label(123456) == "s123456"


def test_a_batch_goes_round_robin_over_the_series() -> None:
    items = LoadBatches(range(10), seed=1).items(25, NOW_MS)
    assert [i["labels"]["series"] for i in items[:12]] == [
        *(series_label(k) for k in range(10)), "s00000", "s00001"]
    assert {i["name"] for i in items} == {LOAD_METRIC}


def test_timestamps_strictly_increase_per_series_even_when_the_clock_stands_still() -> None:
    batches = LoadBatches([3, 7, 11], seed=1)
    seen: dict[str, list[int]] = defaultdict(list)
    for _ in range(50):
        for item in batches.items(100, NOW_MS):  # the same millisecond every time
            seen[item["labels"]["series"]].append(item["timestamp"])
    assert set(seen) == {"s00003", "s00007", "s00011"}
    # 5,000 samples round-robin over 3 series, 1 ms apart within each series.
    assert sorted(len(stamps) for stamps in seen.values()) == [1666, 1667, 1667]
    for stamps in seen.values():
        assert stamps == [NOW_MS + k for k in range(len(stamps))]


def test_timestamps_follow_the_clock_when_it_moves_on() -> None:
    batches = LoadBatches(range(100), seed=1)
    batches.items(100, NOW_MS)
    later = batches.items(100, NOW_MS + 1000)
    assert {i["timestamp"] for i in later} == {NOW_MS + 1000}


def test_the_body_is_a_json_array_that_passes_lookouts_validation() -> None:
    body = LoadBatches(range(1000), seed=1).body(2500, NOW_MS)
    items = orjson.loads(body)
    assert isinstance(items, list) and len(items) == 2500
    for item in items:
        assert set(item) == {"name", "labels", "value", "timestamp"}
        check_metric_name(item["name"])
        check_labels(item["labels"])
        assert 0 <= check_value(item["value"]) < 100
        assert isinstance(item["timestamp"], int)


def test_the_ingest_api_accepts_the_body() -> None:
    json_batch = pytest.importorskip("lookout_ingest.json_batch")
    batch = json_batch.parse_json_batch(LoadBatches(range(50), seed=1).body(200, NOW_MS),
                                        now_ms=NOW_MS)
    samples = batch.samples()
    assert len(samples) == 200
    assert len({(s.series, s.timestamp_ms) for s in samples}) == 200


def test_deterministic_by_seed() -> None:
    assert LoadBatches(range(5), 9).body(100, NOW_MS) == LoadBatches(range(5), 9).body(100, NOW_MS)
    assert LoadBatches(range(5), 9).body(100, NOW_MS) != LoadBatches(range(5), 8).body(100, NOW_MS)


def test_needs_a_series() -> None:
    with pytest.raises(ValueError, match="at least one series"):
        LoadBatches([])
