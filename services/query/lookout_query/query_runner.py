"""Answering query requests: the cache first, then the PromQL engine over the database
(behind its circuit breaker), the result encoded once and kept in the cache.

Both query APIs (Prometheus's and Lookout's own) go through ``QueryRunner``; they differ
only in the ``ResultFormat`` they ask for and in how they read their parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine as SqlEngine
from sqlalchemy import text

from .breaker import DependencyBreaker, GuardedQuerier, guard_database
from .cache import QueryCache
from .encoding import ResultFormat, encode_series_points, instant_body, range_body
from .params import InstantQuery, MetadataQuery, RangeQuery, SeriesQuery
from .promql.engine import Engine
from .promql.model import Labels, Matrix, QueryTimeout, QueryTooLarge, Vector
from .promql.storage import PostgresQuerier

METADATA_SQL = text("""
    SELECT metric, type, help, unit FROM metric_metadata
    WHERE CAST(:metric AS text) IS NULL OR metric = :metric
    ORDER BY metric
    LIMIT :limit
""")


@dataclass(frozen=True)
class QueryLimits:
    timeout_s: float
    lookback_ms: int
    max_samples: int
    max_series: int


class QueryRunner:
    def __init__(self, database: SqlEngine, *, limits: QueryLimits, breaker: DependencyBreaker,
                 cache: QueryCache) -> None:
        self.database = database
        self.limits = limits
        self.breaker = breaker
        self.cache = cache

    # -- PromQL ---------------------------------------------------------------------------
    def instant(self, request: InstantQuery, fmt: ResultFormat) -> bytes:
        """The response body of an instant query."""
        cached = self.cache.get_instant(fmt, request)
        if cached is not None:
            return cached
        value = self._engine(request.timeout_s).instant(request.query, request.time_ms)
        if isinstance(value, Vector):
            self._check_series(len(value.samples))
        elif isinstance(value, Matrix):
            self._check_series(len(value.series))
        body = instant_body(fmt, value, request.time_ms)
        self.cache.put_instant(fmt, request, body)
        return body

    def range(self, request: RangeQuery, fmt: ResultFormat, *, fresh: bool = False) -> bytes:
        """The response body of a range query: exactly its points, from the cache
        when an entry holds them all (see cache.py), else freshly evaluated.
        ``fresh``: evaluate even when the cache holds an answer (live push re-evaluates
        because data arrived); the new answer replaces the cached one."""
        series = None if fresh else self.cache.get_range(fmt, request)
        if series is None:
            matrix = self._engine(request.timeout_s).range(
                request.query, request.start_ms, request.end_ms, request.step_ms)
            if not isinstance(matrix, Matrix):  # the engine's contract; never guessed at
                raise TypeError(f"the engine answered a range query with {type(matrix)}")
            self._check_series(len(matrix.series))
            series = encode_series_points(matrix, fmt)
            self.cache.put_range(fmt, request, series)
        return range_body(fmt, series, request.start_ms, request.end_ms, request.step_ms)

    def _check_series(self, count: int) -> None:
        """Selectors are limited in storage; this limits the answer (joins, ``or``)."""
        if count > self.limits.max_series:
            raise QueryTooLarge(f"the answer has {count} series, more than the limit of "
                                f"{self.limits.max_series} series per query")

    def _timeout_s(self, requested_s: float | None) -> float:
        timeout = self.limits.timeout_s if requested_s is None else min(requested_s,
                                                                         self.limits.timeout_s)
        if timeout <= 0:
            raise QueryTimeout("query timed out: the timeout parameter leaves it no time")
        return timeout

    def _querier(self, timeout_s: float) -> GuardedQuerier:
        storage = PostgresQuerier(self.database, max_series=self.limits.max_series,
                                  statement_timeout_ms=max(1, int(timeout_s * 1000)))
        return GuardedQuerier(storage, self.breaker)

    def _engine(self, requested_timeout_s: float | None) -> Engine:
        timeout = self._timeout_s(requested_timeout_s)
        return Engine(self._querier(timeout), lookback_ms=self.limits.lookback_ms,
                      max_samples=self.limits.max_samples, timeout_s=timeout)

    # -- the series catalogue ---------------------------------------------------------------
    def series(self, request: SeriesQuery) -> list[Labels]:
        querier: Any = self._querier(self.limits.timeout_s)
        return querier.series(request.matcher_sets, request.start_ms,  # type: ignore[no-any-return]
                              request.end_ms)

    def label_names(self, request: SeriesQuery) -> list[str]:
        querier: Any = self._querier(self.limits.timeout_s)
        return querier.label_names(  # type: ignore[no-any-return]
            request.matcher_sets, request.start_ms, request.end_ms)

    def label_values(self, name: str, request: SeriesQuery) -> list[str]:
        querier: Any = self._querier(self.limits.timeout_s)
        return querier.label_values(  # type: ignore[no-any-return]
            name, request.matcher_sets, request.start_ms, request.end_ms)

    def metadata(self, request: MetadataQuery) -> dict[str, list[dict[str, str]]]:
        """Prometheus's ``/metadata`` shape: metric → [{type, help, unit}]."""

        def read() -> list[Any]:
            with self.database.connect() as conn:
                return list(conn.execute(METADATA_SQL, {"metric": request.metric,
                                                        "limit": request.limit}))

        rows = guard_database(self.breaker, read)
        return {r.metric: [{"type": r.type, "help": r.help, "unit": r.unit}] for r in rows}
