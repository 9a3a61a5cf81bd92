"""The 1-minute and 1-hour rollups: min, max, sum, count, first, last and the counter
correction (migration 0008) per series and bucket, over real samples only (staleness
markers are left out; an ordinary NaN stays in).

TimescaleDB keeps them as hierarchical continuous aggregates refreshed by policies.
Plain PostgreSQL has tables of the same shape that ``PlainRollups.catch_up``
recomputes from raw samples for every time range the worker logged in
``rollup_invalidations`` — late samples included, since a range is logged whenever
a batch touches it. Recomputing (instead of adding increments) keeps the rollup
exact however often a range is touched.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

import psycopg2.errors
import psycopg2.extensions

from lookout_common.db.rollup_rebuild import REAL_SAMPLE

log = logging.getLogger(__name__)

TAKE_INVALIDATIONS_SQL = "DELETE FROM rollup_invalidations RETURNING lo, hi"

RECOMPUTE_1M_SQL = f"""
INSERT INTO samples_1m (bucket, series_id, min, max, sum, count, first, first_time,
                        last, last_time, correction)
SELECT date_bin(interval '1 minute', time, timestamptz 'epoch') AS bucket,
       series_id, min(value), max(value), sum(value), count(*),
       (array_agg(value ORDER BY time ASC))[1], min(time),
       (array_agg(value ORDER BY time DESC))[1], max(time),
       lookout_counter_correction(value ORDER BY time)
FROM samples
WHERE time >= %(lo)s AND time < %(hi)s AND {REAL_SAMPLE}
GROUP BY 1, 2
ON CONFLICT (series_id, bucket) DO UPDATE SET
    min = EXCLUDED.min, max = EXCLUDED.max, sum = EXCLUDED.sum, count = EXCLUDED.count,
    first = EXCLUDED.first, first_time = EXCLUDED.first_time,
    last = EXCLUDED.last, last_time = EXCLUDED.last_time, correction = EXCLUDED.correction
"""

# A minute rolled up before migration 0004 and past raw retention has no first (NULL):
# the hour's first is then the earliest one known, as TimescaleDB's first() gives.
RECOMPUTE_1H_SQL = """
INSERT INTO samples_1h (bucket, series_id, min, max, sum, count, first, first_time,
                        last, last_time, correction)
SELECT date_bin(interval '1 hour', bucket, timestamptz 'epoch') AS bucket,
       series_id, min(min), max(max), sum(sum), sum(count)::bigint,
       (array_agg(first ORDER BY first_time ASC))[1], min(first_time),
       (array_agg(last ORDER BY last_time DESC))[1], max(last_time),
       lookout_counter_correction_merge(first, last, correction ORDER BY bucket)
FROM samples_1m
WHERE bucket >= %(lo)s AND bucket < %(hi)s
GROUP BY 1, 2
ON CONFLICT (series_id, bucket) DO UPDATE SET
    min = EXCLUDED.min, max = EXCLUDED.max, sum = EXCLUDED.sum, count = EXCLUDED.count,
    first = EXCLUDED.first, first_time = EXCLUDED.first_time,
    last = EXCLUDED.last, last_time = EXCLUDED.last_time, correction = EXCLUDED.correction
"""

REFRESH_SQL = "CALL refresh_continuous_aggregate(%s, %s, %s)"
ROLLUP_VIEWS = (("samples_1m", timedelta(minutes=1)), ("samples_1h", timedelta(hours=1)))
# The minute and the hour holding the oldest raw sample.
RAW_START_SQL = """
SELECT time_bucket(interval '1 minute', min(time)), time_bucket(interval '1 hour', min(time))
FROM samples
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
    the policies' background jobs cannot run.

    The window never starts before the oldest raw sample: refreshing where raw chunks
    were dropped would empty the rollups there. TimescaleDB refuses a refresh whose
    window overlaps one in progress (a policy's, typically) with SQLSTATE 55P03; this
    waits for that one to end and refreshes again, for at most ``wait_s``, since the
    other window may not cover this one.
    """

    def __init__(self, wait_s: float = 300.0) -> None:
        self.wait_s = wait_s

    def refresh(
        self,
        conn: psycopg2.extensions.connection,
        start: datetime | None = None,
        end: datetime | None = None,
    ) -> None:
        previous = conn.autocommit
        conn.autocommit = True  # refresh_continuous_aggregate cannot run in a transaction
        deadline = time.monotonic() + self.wait_s
        try:
            with conn.cursor() as cur:
                cur.execute(RAW_START_SQL)
                raw_starts = cur.fetchone()
                if raw_starts is None or raw_starts[0] is None:
                    return  # no raw samples: nothing to materialize
                # The hour is built on the minute, so the minute goes first.
                for (view, bucket), raw_start in zip(ROLLUP_VIEWS, raw_starts, strict=True):
                    window_start = raw_start if start is None else max(start, raw_start)
                    if end is None or window_start + bucket <= end:  # else no whole bucket
                        self._refresh_one(cur, view, window_start, end, deadline)
        finally:
            conn.autocommit = previous

    @staticmethod
    def _refresh_one(cur: psycopg2.extensions.cursor, view: str, start: datetime,
                     end: datetime | None, deadline: float) -> None:
        pause = 0.05
        while True:
            try:
                cur.execute(REFRESH_SQL, (view, start, end))
                return
            except psycopg2.errors.LockNotAvailable:
                if time.monotonic() + pause > deadline:
                    raise
                log.debug("waiting for a concurrent refresh", extra={"view": view})
                time.sleep(pause)
                pause = min(pause * 2, 1.0)
