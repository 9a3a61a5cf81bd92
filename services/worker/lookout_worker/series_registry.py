"""Series ids: an in-memory LRU cache in front of one bulk upsert per batch."""

from __future__ import annotations

import json
from collections.abc import Iterable

import psycopg2.extensions
from cachetools import LRUCache
from prometheus_client import Counter

from lookout_common.series import SeriesKey

SERIES_CREATED = Counter("worker_series_created_total", "Series rows created by this worker")
SERIES_CACHE = Counter("worker_series_cache_total", "Series id lookups", ["result"])

INSERT_SERIES_SQL = """
INSERT INTO series (metric, labels, fingerprint)
SELECT * FROM unnest(%s::text[], %s::jsonb[], %s::bytea[])
ON CONFLICT (fingerprint) DO NOTHING
"""
SELECT_SERIES_SQL = "SELECT fingerprint, id FROM series WHERE fingerprint = ANY(%s::bytea[])"


class SeriesRegistry:
    def __init__(self, cache_size: int) -> None:
        self._ids: LRUCache[bytes, int] = LRUCache(maxsize=cache_size)

    def resolve(
        self, conn: psycopg2.extensions.connection, keys: Iterable[SeriesKey]
    ) -> dict[SeriesKey, int]:
        """Ids for ``keys``, creating missing series in their own short transaction.

        Series rows are committed before the samples that use them: a series without
        samples is harmless, and the batch transaction then holds no series locks.
        """
        found: dict[SeriesKey, int] = {}
        missing: dict[bytes, SeriesKey] = {}
        for key in keys:
            fp = key.fingerprint
            series_id = self._ids.get(fp)
            if series_id is None:
                missing[fp] = key
            else:
                found[key] = series_id
        SERIES_CACHE.labels("hit").inc(len(found))
        if not missing:
            return found
        SERIES_CACHE.labels("miss").inc(len(missing))
        # Sorted by fingerprint so concurrent workers lock index entries in one order.
        ordered = sorted(missing.items())
        with conn.cursor() as cur:
            cur.execute(
                INSERT_SERIES_SQL,
                (
                    [k.metric for _, k in ordered],
                    [json.dumps(dict(k.labels), separators=(",", ":")) for _, k in ordered],
                    [psycopg2.Binary(fp) for fp, _ in ordered],
                ),
            )
            SERIES_CREATED.inc(max(cur.rowcount, 0))
            cur.execute(SELECT_SERIES_SQL, ([psycopg2.Binary(fp) for fp, _ in ordered],))
            rows = cur.fetchall()
        conn.commit()
        for fp, series_id in rows:
            fp = bytes(fp)
            self._ids[fp] = series_id
            found[missing[fp]] = series_id
        return found

    def forget(self) -> None:
        self._ids.clear()
