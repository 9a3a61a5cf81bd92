"""One evaluation per (query, window) across query instances, through Redis.

Every instance hears every "ingested" event, and clients with the same query may sit on
different instances. The first instance to evaluate a (query, range, step, window)
after an event takes a short Redis lock, evaluates and stores the answer with the
newest commit time (the worker's, carried by the events) it covers; the others find it
there — fresh enough when it covers the batches they were told of — or wait for it
briefly, taking the lock themselves when it is free. Redis unavailable, or
the holder too slow: the instance evaluates by itself (never a stale answer, at worst a
duplicate evaluation).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any

import orjson
import redis
from prometheus_client import Counter

from .subscriptions import SubscriptionKey

log = logging.getLogger(__name__)

SHARED = Counter("live_shared_results_total",
                 "Live evaluations by outcome: evaluated here, taken from another "
                 "instance's answer in Redis (hit), or evaluated after Redis failed",
                 ["outcome"])

LOCK_MS = 5_000
POLL_S = 0.02


class SharedResults:
    def __init__(self, client: redis.Redis, prefix: str, wait_s: float = 1.0) -> None:
        self.client = client
        self.prefix = f"{prefix}live:result:"
        self.wait_s = wait_s

    def _name(self, key: SubscriptionKey, start_ms: int, end_ms: int) -> str:
        digest = hashlib.sha1(f"{key.query}\0{key.range_ms}\0{key.step_ms}\0{start_ms}\0"
                              f"{end_ms}".encode()).hexdigest()
        return self.prefix + digest

    def _fresh(self, name: str, fresh_after_ms: int) -> dict[str, Any] | None:
        raw: bytes | None = self.client.get(name)  # type: ignore[assignment]
        if raw is None:
            return None
        entry = orjson.loads(raw)
        return entry["data"] if entry["through"] >= fresh_after_ms else None  # type: ignore[no-any-return]

    def get(self, key: SubscriptionKey, start_ms: int, end_ms: int, covers_ms: int,
            evaluate: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """The answer for the window, from an evaluation that started after every batch
        committed up to ``covers_ms`` (the worker's commit times, the same on every
        instance, so no two clocks are compared)."""
        name = self._name(key, start_ms, end_ms)
        deadline = time.monotonic() + self.wait_s
        while True:
            try:
                hit = self._fresh(name, covers_ms)
                if hit is not None:
                    SHARED.labels("hit").inc()
                    return hit
                if self.client.set(name + ":lock", b"1", nx=True, px=LOCK_MS):
                    return self._evaluate_and_share(name, key, covers_ms, evaluate)
            except (redis.RedisError, orjson.JSONDecodeError, KeyError) as exc:
                log.debug("shared live results unavailable: %r", exc)
                break
            if time.monotonic() >= deadline:  # the holder is slow: do not wait longer
                break
            time.sleep(POLL_S)
        SHARED.labels("fallback").inc()
        return evaluate()

    def _evaluate_and_share(self, name: str, key: SubscriptionKey, covers_ms: int,
                            evaluate: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        try:
            data = evaluate()
            SHARED.labels("evaluated").inc()
            ttl_ms = min(60_000, max(2_000, 2 * key.step_ms))
            try:
                self.client.set(name, orjson.dumps({"through": covers_ms, "data": data}),
                                px=ttl_ms)
            except redis.RedisError as exc:
                log.debug("live result not shared: %r", exc)
            return data
        finally:
            try:
                self.client.delete(name + ":lock")
            except redis.RedisError:
                pass  # it expires by itself
