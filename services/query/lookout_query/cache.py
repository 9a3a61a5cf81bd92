"""Cache-aside for query results in Redis.

The rule that keeps an answer from the cache identical to a fresh one:

* A range query's answer is a set of points at ``start + k·step``; PromQL computes each
  point from the data alone, never from the range it belongs to — except through
  ``@ start()`` / ``@ end()``. So a cached range answer may serve a request only if it
  holds exactly the requested points: the same query (as the engine parses it), the
  same step, the same phase (``start mod step``), a first point at or before the
  requested start and a last point at or after the requested last point. The answer
  served is then cut to the requested points. A query with ``@ start()`` or ``@ end()``
  is served only for the identical start and end.
* Keys are found through the query's canonical form, the step, the phase and start and
  end rounded down to 10 s: requests whose start and end fall into the same 10 s as a
  cached one find it and are then checked by the rule above (a miss if it fails).
* Instant queries are cached under their exact time.

Entries live 10 s when the range reaches into the last 5 minutes (newer samples may
still arrive for it), 5 minutes otherwise. Range entries over 64 KiB are stored
zlib-compressed (level 1: encoded points shrink two- to fivefold, at a few ms per MiB);
entries larger than the size cap once compressed are not stored. Redis being down
makes every query a plain uncached one: the breaker stops asking Redis for a while
after a failure, so queries do not each wait for a timeout.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import time
import zlib
from collections.abc import Callable
from typing import Any

import msgpack
import numpy as np
import redis
from prometheus_client import Counter

from .breaker import BreakerOpen, DependencyBreaker
from .encoding import ResultFormat, SeriesPoints
from .params import InstantQuery, RangeQuery
from .promql import ast

log = logging.getLogger(__name__)

CACHE_HITS = Counter("query_cache_hits_total", "Queries answered from the Redis cache")
CACHE_MISSES = Counter("query_cache_misses_total",
                       "Queries looked up in the Redis cache and not found there")
CACHE_ERRORS = Counter("query_cache_errors_total",
                       "Cache reads or writes that failed (Redis down or slow); answered uncached")
CACHE_OVERSIZED = Counter("query_cache_oversized_total",
                          "Results not cached because they were larger than the size cap")

KEY_ROUNDING_MS = 10_000
_UNAVAILABLE = object()  # what a Redis command gives when Redis is down
ENTRY_VERSION = 1
COMPRESS_OVER_BYTES = 65_536
# An entry's first byte: how the rest is stored.
PLAIN, COMPRESSED = b"m", b"z"
# Answers whose encoded points exceed the cap this many times are not even tried.
LARGEST_COMPRESSION = 8


def query_identity(query: str) -> str:
    """A digest of the query's canonical form (its parsed tree: spacing, parentheses,
    number spelling and matcher order do not count; every value does)."""
    return hashlib.sha256(ast.normalise(query).encode()).hexdigest()[:32]


def depends_on_range(node: object) -> bool:
    """Whether ``node`` uses ``@ start()`` or ``@ end()`` anywhere."""
    if isinstance(node, ast.At):
        return node.kind in ("start", "end")
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        return any(depends_on_range(getattr(node, f.name)) for f in dataclasses.fields(node))
    if isinstance(node, tuple):
        return any(depends_on_range(item) for item in node)
    return False


def last_point_ms(start_ms: int, end_ms: int, step_ms: int) -> int:
    return start_ms + (end_ms - start_ms) // step_ms * step_ms


@dataclasses.dataclass
class CachedRange:
    """A range answer as stored: the range it was computed for, and its series."""

    start_ms: int
    end_ms: int
    step_ms: int
    series: list[SeriesPoints]

    def serves(self, request: RangeQuery) -> bool:
        """Whether this answer holds exactly the points ``request`` asks for."""
        return (self.step_ms == request.step_ms
                and (request.start_ms - self.start_ms) % self.step_ms == 0
                and self.start_ms <= request.start_ms
                and last_point_ms(request.start_ms, request.end_ms, request.step_ms)
                <= last_point_ms(self.start_ms, self.end_ms, self.step_ms))

    def pack(self) -> bytes:
        data = msgpack.packb([
            ENTRY_VERSION, self.start_ms, self.end_ms, self.step_ms,
            [[s.labels, s.t.astype("<i8").tobytes(), s.points,
              s.offsets.astype("<i4").tobytes()] for s in self.series],
        ])
        if len(data) > COMPRESS_OVER_BYTES:
            return COMPRESSED + zlib.compress(data, 1)
        return PLAIN + data

    @classmethod
    def unpack(cls, data: bytes) -> CachedRange | None:
        kind, body = data[:1], data[1:]
        if kind == COMPRESSED:
            body = zlib.decompress(body)
        elif kind != PLAIN:
            return None
        version, start_ms, end_ms, step_ms, series = msgpack.unpackb(body)
        if version != ENTRY_VERSION:
            return None
        return cls(start_ms, end_ms, step_ms, [
            SeriesPoints(labels, np.frombuffer(t, dtype="<i8").astype(np.int64), points,
                         np.frombuffer(offsets, dtype="<i4").astype(np.int64))
            for labels, t, points, offsets in series])


@dataclasses.dataclass(frozen=True)
class CachePolicy:
    prefix: str
    ttl_s: int
    recent_ttl_s: int
    recent_window_s: int
    max_bytes: int
    lookback_ms: int  # part of every key: another lookback gives other answers

    def ttl_for(self, end_ms: int, now_ms: int) -> int:
        """10 s (by default) when the range reaches into the recent window, else 5 min."""
        if end_ms >= now_ms - self.recent_window_s * 1000:
            return self.recent_ttl_s
        return self.ttl_s

    def range_key(self, fmt: ResultFormat, request: RangeQuery) -> str:
        identity = query_identity(request.query)
        base = (f"{self.prefix}query:{fmt.name}:{self.lookback_ms}:{identity}"
                f":range:{request.step_ms}")
        if depends_on_range(ast.parse(request.query)):
            return f"{base}:exact:{request.start_ms}:{request.end_ms}"
        phase = request.start_ms % request.step_ms
        return (f"{base}:{phase}:{request.start_ms // KEY_ROUNDING_MS}"
                f":{request.end_ms // KEY_ROUNDING_MS}")

    def instant_key(self, fmt: ResultFormat, request: InstantQuery) -> str:
        identity = query_identity(request.query)
        return (f"{self.prefix}query:{fmt.name}:{self.lookback_ms}:{identity}"
                f":instant:{request.time_ms}")


class QueryCache:
    """Redis cache-aside for range and instant answers; see the module's docstring."""

    def __init__(self, client: redis.Redis | None, policy: CachePolicy,
                 breaker: DependencyBreaker, clock: Callable[[], float] = time.time) -> None:
        self.client = client  # None: caching is off
        self.policy = policy
        self.breaker = breaker
        self.clock = clock

    # -- range answers --------------------------------------------------------------------
    def get_range(self, fmt: ResultFormat, request: RangeQuery) -> list[SeriesPoints] | None:
        if self.client is None:
            return None
        data = self._redis(self.client.get, self.policy.range_key(fmt, request))
        if data is _UNAVAILABLE:
            return None
        entry = None
        if isinstance(data, bytes):
            try:
                entry = CachedRange.unpack(data)
            except (ValueError, TypeError, msgpack.UnpackException, zlib.error):
                log.warning("unreadable query cache entry ignored")
        if entry is None or not entry.serves(request):
            CACHE_MISSES.inc()
            return None
        CACHE_HITS.inc()
        return entry.series

    def put_range(self, fmt: ResultFormat, request: RangeQuery,
                  series: list[SeriesPoints]) -> None:
        if self.client is None:
            return
        if sum(s.size for s in series) > self.policy.max_bytes * LARGEST_COMPRESSION:
            CACHE_OVERSIZED.inc()
            return
        data = CachedRange(request.start_ms, request.end_ms, request.step_ms, series).pack()
        self._store(self.policy.range_key(fmt, request), data, request.end_ms)

    # -- instant answers ------------------------------------------------------------------
    def get_instant(self, fmt: ResultFormat, request: InstantQuery) -> bytes | None:
        if self.client is None:
            return None
        data = self._redis(self.client.get, self.policy.instant_key(fmt, request))
        if data is _UNAVAILABLE:
            return None
        if not isinstance(data, bytes):
            CACHE_MISSES.inc()
            return None
        CACHE_HITS.inc()
        return data

    def put_instant(self, fmt: ResultFormat, request: InstantQuery, body: bytes) -> None:
        if self.client is None:
            return
        self._store(self.policy.instant_key(fmt, request), body, request.time_ms)

    # -- Redis ------------------------------------------------------------------------------
    def _store(self, key: str, data: bytes, end_ms: int) -> None:
        if len(data) > self.policy.max_bytes:
            CACHE_OVERSIZED.inc()
            return
        ttl = self.policy.ttl_for(end_ms, int(self.clock() * 1000))
        assert self.client is not None
        self._redis(self.client.set, key, data, ex=ttl)

    def _redis(self, command: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run one Redis command; a failure (or Redis known to be down) gives
        ``_UNAVAILABLE``."""
        try:
            return self.breaker.call(command, *args, **kwargs)
        except BreakerOpen:
            return _UNAVAILABLE
        except redis.RedisError as exc:
            CACHE_ERRORS.inc()
            log.warning("query cache unavailable, answering uncached: %s", exc)
            return _UNAVAILABLE
