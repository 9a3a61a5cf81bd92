"""The engine's vectorised paths agree with their one-value-at-a-time definitions."""

from __future__ import annotations

import calendar
import datetime as dt
import math

import numpy as np
import pytest

from lookout_query.promql.functions import CALENDAR, _calendar, bucket_quantile, bucket_quantiles

BOUNDS = np.array([-1, 0, 0.1, 0.5, 1, 2, 5, 10, np.inf])
QUANTILES = np.array([0, 0.1, 0.5, 0.9, 0.99, 1, -0.1, 1.1, np.nan])


def test_histogram_quantile_at_every_step_matches_one_step_at_a_time():
    rng = np.random.default_rng(3)
    for _ in range(2000):
        bounds = np.sort(rng.choice(BOUNDS, rng.integers(1, 9), replace=False))
        counts = rng.integers(0, 20, (len(bounds), 6)).astype(float)  # not always monotonic
        q = rng.choice(QUANTILES, 6)
        with np.errstate(all="ignore"):
            together = bucket_quantiles(q, bounds, counts)
            one_by_one = [bucket_quantile(float(q[i]), bounds, counts[:, i]) for i in range(6)]
        np.testing.assert_allclose(together, one_by_one, rtol=1e-12, equal_nan=True)


def _expected(part: str, t: dt.datetime) -> int:
    return {
        "minute": t.minute, "hour": t.hour, "day_of_week": (t.weekday() + 1) % 7,
        "day_of_month": t.day, "day_of_year": t.timetuple().tm_yday,
        "days_in_month": calendar.monthrange(t.year, t.month)[1], "month": t.month,
        "year": t.year,
    }[part]


@pytest.mark.parametrize("part", sorted(CALENDAR))
def test_calendar_functions_match_the_calendar(part):
    rng = np.random.default_rng(5)
    values = np.concatenate([[np.nan, np.inf, -np.inf, -0.5, 0, 951_782_400, 4_107_542_399.9],
                             rng.uniform(-3e9, 5e9, 3000)])
    got = _calendar(values, part)
    for value, answer in zip(values, got, strict=True):
        if not math.isfinite(value):
            assert math.isnan(answer)
            continue
        moment = dt.datetime(1970, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=int(value))
        assert answer == _expected(part, moment), (part, value)
