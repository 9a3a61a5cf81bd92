from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Callable

import pytest

from lookout_common.series import check_labels, check_metric_name, check_value
from lookout_producer.points import MetricPoint
from lookout_producer.signals_demo import (
    DAMPED_RESTART_S,
    SIGNAL_KINDS,
    SignalsDemo,
    cosine,
    damped,
    damped_envelope,
    sine,
)

START_MS = 1_750_000_000_000


def fine_grid(start_s: float, end_s: float, step_s: float = 0.001) -> list[float]:
    return [start_s + k * step_s for k in range(int((end_s - start_s) / step_s) + 1)]


def zero_crossings(f: Callable[[float], float], end_s: float) -> int:
    values = [f(t) for t in fine_grid(0.0005, end_s)]
    return sum(1 for a, b in itertools.pairwise(values) if (a < 0) != (b < 0))


def by_signal(points: list[MetricPoint]) -> dict[str, list[MetricPoint]]:
    series: dict[str, list[MetricPoint]] = defaultdict(list)
    for p in points:
        series[p.labels["signal"]].append(p)
    return series


def run(demo: SignalsDemo, seconds: int, interval_s: int = 5) -> dict[str, list[MetricPoint]]:
    points: list[MetricPoint] = []
    for k in range(0, seconds // interval_s + 1):
        points += demo.tick(START_MS + k * interval_s * 1000)
    return by_signal(points)


def test_sine_has_amplitude_10_and_period_10s() -> None:
    values = [sine(t) for t in fine_grid(0, 10)]
    assert max(values) == pytest.approx(10, abs=1e-3)
    assert min(values) == pytest.approx(-10, abs=1e-3)
    for t in (0.3, 1.7, 4.2, 123.4):
        assert sine(t + 10) == pytest.approx(sine(t), abs=1e-9)
        assert sine(t + 5) == pytest.approx(-sine(t), abs=1e-9)  # not a shorter period
    assert zero_crossings(sine, 101) == 20  # 0.1 Hz: two crossings a period, 5 s ... 100 s


def test_cosine_has_amplitude_8_and_frequency_0_15_hz() -> None:
    assert cosine(0) == pytest.approx(8)
    values = [cosine(t) for t in fine_grid(0, 1 / 0.15)]
    assert min(values) == pytest.approx(-8, abs=1e-3)
    assert cosine(1 / 0.15) == pytest.approx(8)
    assert cosine(0.5 / 0.15) == pytest.approx(-8)
    assert zero_crossings(cosine, 101) == 30  # 0.15 Hz: 1.67 s, 5 s, ... 98.3 s


def test_damped_envelope_decays_at_0_01_per_second() -> None:
    # 0.05 Hz: a crest every 20 s, the first at 5 s.
    for t in (5.0, 25.0, 105.0, 405.0):
        assert damped(t) == pytest.approx(15 * math.exp(-0.01 * t), rel=1e-9)
    assert damped(25.0) / damped(5.0) == pytest.approx(math.exp(-0.2))
    for t in fine_grid(0, DAMPED_RESTART_S - 0.01, 0.01):
        assert abs(damped(t)) <= 15 * math.exp(-0.01 * t) + 1e-9


def test_damped_restarts_once_below_one_percent() -> None:
    assert DAMPED_RESTART_S == pytest.approx(460.517, abs=1e-3)
    assert damped_envelope(DAMPED_RESTART_S - 0.01) == pytest.approx(0.15, rel=1e-3)
    assert damped_envelope(DAMPED_RESTART_S + 0.01) == pytest.approx(15, rel=1e-3)
    assert damped(DAMPED_RESTART_S + 5) == pytest.approx(damped(5))
    peak_after_restart = max(abs(damped(t)) for t in fine_grid(DAMPED_RESTART_S,
                                                               DAMPED_RESTART_S + 20, 0.01))
    assert peak_after_restart > 14


def test_noise_stays_within_plus_minus_5_and_fills_the_band() -> None:
    noise = [p.value for p in run(SignalsDemo(START_MS, seed=3), 3600)["noise"]]
    assert len(noise) == 7201
    assert all(-5 <= v <= 5 for v in noise)
    assert min(noise) < -4.9 and max(noise) > 4.9
    assert abs(sum(noise) / len(noise)) < 0.2


def test_random_walk_steps_are_exactly_half_a_unit() -> None:
    walk = [p.value for p in run(SignalsDemo(START_MS, seed=4), 4 * 3600)["random_walk"]]
    steps = [b - a for a, b in zip([0.0, *walk], walk, strict=False)]
    assert {abs(s) for s in steps} == {0.5}
    assert steps.count(0.5) > 1000 and steps.count(-0.5) > 1000
    assert all(abs(v) <= 50.5 for v in walk)


def test_samples_every_500ms_whatever_the_tick_interval() -> None:
    series = run(SignalsDemo(START_MS, seed=1), 60)
    assert set(series) == set(SIGNAL_KINDS)
    for points in series.values():
        stamps = [p.timestamp_ms for p in points]
        assert stamps == [START_MS + k * 500 for k in range(121)]
    sine_values = [p.value for p in series["sine"]]
    # Sampled only every 5 s a 0.1 Hz sine would read 0 every time.
    assert max(sine_values) == pytest.approx(10, abs=0.01)
    for p in series["sine"]:
        assert p.value == pytest.approx(sine((p.timestamp_ms - START_MS) / 1000), abs=1e-6)
    for p in series["damped"]:
        assert p.value == pytest.approx(damped((p.timestamp_ms - START_MS) / 1000), abs=1e-6)


def test_irregular_ticks_emit_every_grid_point_once() -> None:
    demo = SignalsDemo(START_MS, seed=1)
    points: list[MetricPoint] = []
    for now in (0, 1, 499, 500, 501, 2300, 2300, 2200, 7000):
        points += demo.tick(START_MS + now)
    stamps = [p.timestamp_ms - START_MS for p in by_signal(points)["cosine"]]
    assert stamps == list(range(0, 7001, 500))


def test_a_long_pause_backfills_at_most_ten_minutes() -> None:
    demo = SignalsDemo(START_MS, seed=1)
    demo.tick(START_MS)
    points = by_signal(demo.tick(START_MS + 3600_000))["sine"]
    assert len(points) == 1201
    assert points[-1].timestamp_ms == START_MS + 3600_000


def test_deterministic_by_seed() -> None:
    def values(seed: int) -> list[float]:
        demo = SignalsDemo(START_MS, seed=seed)
        return [p.value for k in range(50) for p in demo.tick(START_MS + k * 5000)]

    assert values(7) == values(7)
    assert values(7) != values(8)


def test_every_point_passes_lookouts_validation() -> None:
    for points in run(SignalsDemo(START_MS, seed=2), 600).values():
        for p in points:
            assert check_metric_name(p.name) == "signal"
            assert check_labels(p.labels) == (("signal", p.labels["signal"]),)
            assert math.isfinite(check_value(p.value))
