"""Request bodies for the load generator: ``load_test_value{series="s00042"}`` samples.

Samples go round-robin over the series given, so a batch touches as many series as
it can. A series' timestamps strictly increase: the next one is the later of the
clock and the last one plus 1 ms, never two samples of one series in the same
millisecond (they would be duplicates to the store). With more than 1,000 samples
per second per series the timestamps therefore run ahead of the clock.

Pure: the clock comes in as ``now_ms``, values from ``random.Random(seed)``.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

import orjson

LOAD_METRIC = "load_test_value"


def series_label(index: int) -> str:
    return f"s{index:05d}"


class LoadBatches:
    def __init__(self, series: Sequence[int], seed: int | None = None) -> None:
        if not series:
            raise ValueError("a load batch needs at least one series")
        self._labels = [{"series": series_label(i)} for i in series]
        self._last_ms = [0] * len(series)
        self._cursor = 0
        self._rng = random.Random(seed)

    def items(self, count: int, now_ms: int) -> list[dict[str, Any]]:
        labels, last_ms, random_value = self._labels, self._last_ms, self._rng.random
        n_series = len(labels)
        cursor = self._cursor
        items = []
        for _ in range(count):
            ts = last_ms[cursor] + 1
            if ts < now_ms:
                ts = now_ms
            last_ms[cursor] = ts
            items.append({"name": LOAD_METRIC, "labels": labels[cursor],
                          "value": round(random_value() * 100, 3), "timestamp": ts})
            cursor += 1
            if cursor == n_series:
                cursor = 0
        self._cursor = cursor
        return items

    def body(self, count: int, now_ms: int) -> bytes:
        """The JSON array of ``count`` samples for ``POST /api/v1/metrics``."""
        return orjson.dumps(self.items(count, now_ms))
