"""The 1-minute and 1-hour rollups: min, max, sum, count and last per series and bucket.

TimescaleDB keeps them as hierarchical continuous aggregates refreshed by policies.
Plain PostgreSQL has tables of the same shape that ``PlainRollups.catch_up``
recomputes from raw samples for every time range the worker logged in
``rollup_invalidations`` — late samples included, since a range is logged whenever
a batch touches it. Recomputing (instead of adding increments) keeps the rollup
exact however often a range is touched.
"""

from __future__ import annotations

import logging
from datetime import datetime

import psycopg2.extensions

log = logging.getLogger(__name__)

TAKE_INVALIDATIONS_SQL = "DELETE FROM rollup_invalidations RETURNING lo, hi"

RECOMPUTE_1M_SQL = """
INSERT INTO samples_1m (bucket, series_id, min, max, sum, count, last, last_time)
SELECT date_bin(interval '1 minute', time, timestamptz 'epoch') AS bucket,
       series_id, min(value), max(value), sum(value), count(*),
       (array_agg(value ORDER BY time DESC))[1], max(time)
FROM samples
WHERE time >= %(lo)s AND time < %(hi)s
GROUP BY 1, 2
ON CONFLICT (series_id, bucket) DO UPDATE SET
    min = EXCLUDED.min, max = EXCLUDED.max, sum = EXCLUDED.sum, count = EXCLUDED.count,
    last = EXCLUDED.last, last_time = EXCLUDED.last_time
"""

RECOMPUTE_1H_SQL = """
INSERT INTO samples_1h (bucket, series_id, min, max, sum, count, last, last_time)
SELECT date_bin(interval '1 hour', bucket, timestamptz 'epoch') AS bucket,
       series_id, min(min), max(max), sum(sum), sum(count)::bigint,
       (array_agg(last ORDER BY last_time DESC))[1], max(last_time)
FROM samples_1m
WHERE bucket >= %(lo)s AND bucket < %(hi)s
GROUP BY 1, 2
ON CONFLICT (series_id, bucket) DO UPDATE SET
    min = EXCLUDED.min, max = EXCLUDED.max, sum = EXCLUDED.sum, count = EXCLUDED.count,
    last = EXCLUDED.last, last_time = EXCLUDED.last_time
"""

ROUND_TO_HOURS_SQL = """
SELECT date_bin(interval '1 hour', lo, timestamptz 'epoch'),
       date_bin(interval '1 hour', hi - interval '1 microsecond', timestamptz 'epoch')
         + interval '1 hour'
FROM unnest(%s::timestamptz[], %s::timestamptz[]) AS r(lo, hi)
"""


def merge_ranges(ranges: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """Union of half-open ranges, sorted, with touching ranges joined."""
    merged: list[tuple[datetime, datetime]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1]:
            if hi > merged[-1][1]:
                merged[-1] = (merged[-1][0], hi)
        else:
            merged.append((lo, hi))
    return merged


class PlainRollups:
    def catch_up(self, conn: psycopg2.extensions.connection) -> int:
        """Recompute every logged range; returns how many ranges were processed.

        Runs in one transaction: if it fails, the invalidations come back with the
        rollback and the next run does the work.
        """
        with conn.cursor() as cur:
            cur.execute(TAKE_INVALIDATIONS_SQL)
            minute_ranges = merge_ranges([(lo, hi) for lo, hi in cur.fetchall()])
            if not minute_ranges:
                conn.commit()
                return 0
            for lo, hi in minute_ranges:
                cur.execute(RECOMPUTE_1M_SQL, {"lo": lo, "hi": hi})
            cur.execute(
                ROUND_TO_HOURS_SQL,
                ([lo for lo, _ in minute_ranges], [hi for _, hi in minute_ranges]),
            )
            for lo, hi in merge_ranges(cur.fetchall()):
                cur.execute(RECOMPUTE_1H_SQL, {"lo": lo, "hi": hi})
        conn.commit()
        log.debug("rollups caught up", extra={"ranges": len(minute_ranges)})
        return len(minute_ranges)


class TimescaleRollups:
    """Refreshing from a client session: tests, admin tools, and a fallback where
    the policies' background jobs cannot run."""

    def refresh(
        self,
        conn: psycopg2.extensions.connection,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> None:
        previous = conn.autocommit
        conn.autocommit = True  # refresh_continuous_aggregate cannot run in a transaction
        try:
            with conn.cursor() as cur:
                cur.execute("CALL refresh_continuous_aggregate('samples_1m', %s, %s)",
                            (start, end))
                cur.execute("CALL refresh_continuous_aggregate('samples_1h', %s, %s)",
                            (start, end))
        finally:
            conn.autocommit = previous
