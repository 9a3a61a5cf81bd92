from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

import pytest

from lookout_common.series import check_labels, check_metric_name, check_value
from lookout_producer.services_demo import (
    BASELINES,
    DAILY_PEAK_S,
    METRICS,
    SERVICES,
    THRESHOLDS,
    AnomalyEpisode,
    ServicesDemo,
    Severity,
    daily_cycle,
    normal_ceiling,
    normal_floor,
)

MIDNIGHT_MS = 1_750_032_000_000  # 2025-06-16T00:00:00Z
TICK_MS = 5000
PERCENT_METRICS = {"error_rate_percent", "cpu_percent", "memory_percent"}


@dataclass
class Observation:
    now_ms: int
    service: str
    metric: str
    value: float
    episode: AnomalyEpisode | None  # the service's episode, when it is on this metric


def simulate(hours: float, seed: int) -> tuple[list[Observation], list[AnomalyEpisode]]:
    demo = ServicesDemo(seed)
    observations: list[Observation] = []
    started: list[AnomalyEpisode] = []
    for k in range(int(hours * 3600_000 / TICK_MS)):
        now = MIDNIGHT_MS + k * TICK_MS
        tick = demo.tick(now)
        started += tick.anomalies_started
        active = {e.service: e for e in demo.anomalies}
        for p in tick.points:
            episode = active.get(p.labels["service"])
            observations.append(Observation(
                now, p.labels["service"], p.name, p.value,
                episode if episode is not None and episode.metric == p.name else None))
    return observations, started


@pytest.fixture(scope="module")
def two_days() -> tuple[list[Observation], list[AnomalyEpisode]]:
    return simulate(48, seed=11)


def test_every_service_reports_every_metric_each_tick() -> None:
    points = ServicesDemo(1).tick(MIDNIGHT_MS).points
    assert sorted((p.labels["service"], p.name) for p in points) == sorted(
        (s, m.name) for s in SERVICES for m in METRICS)
    assert {p.name for p in points} == {"latency_ms", "throughput_rps", "error_rate_percent",
                                        "cpu_percent", "memory_percent"}
    assert all(p.timestamp_ms == MIDNIGHT_MS for p in points)


def test_every_point_passes_lookouts_validation() -> None:
    demo = ServicesDemo(2)
    for k in range(100):
        for p in demo.tick(MIDNIGHT_MS + k * TICK_MS).points:
            check_metric_name(p.name)
            assert check_labels(p.labels) == (("service", p.labels["service"]),)
            assert math.isfinite(check_value(p.value))


def test_daily_cycle_has_a_24_hour_period_peaking_at_14_utc() -> None:
    assert daily_cycle(MIDNIGHT_MS + DAILY_PEAK_S * 1000) == pytest.approx(1)
    assert daily_cycle(MIDNIGHT_MS + (DAILY_PEAK_S - 12 * 3600) * 1000) == pytest.approx(-1)
    for hour in (0, 5, 13, 23):
        t = MIDNIGHT_MS + hour * 3600_000
        assert daily_cycle(t + 86_400_000) == pytest.approx(daily_cycle(t))
        assert daily_cycle(t + 43_200_000) == pytest.approx(-daily_cycle(t))


def test_throughput_follows_the_daily_cycle(
    two_days: tuple[list[Observation], list[AnomalyEpisode]],
) -> None:
    observations, _ = two_days

    def mean_api_throughput(hour: int) -> float:
        values = [o.value for o in observations if o.service == "api"
                  and o.metric == "throughput_rps" and o.episode is None
                  and (o.now_ms - MIDNIGHT_MS) // 3600_000 % 24 == hour]
        return sum(values) / len(values)

    peak, trough = mean_api_throughput(14), mean_api_throughput(2)
    # Baseline 1200 req/s, ±40 % over the day, ±15 % drift at most.
    assert 1200 * 1.4 * 0.85 < peak < 1200 * 1.4 * 1.15
    assert 1200 * 0.6 * 0.85 < trough < 1200 * 0.6 * 1.15


def test_normal_values_stay_clear_of_every_threshold_by_construction() -> None:
    for service in SERVICES:
        for model in METRICS:
            threshold = THRESHOLDS[model.name]
            if threshold.below:
                assert normal_floor(service, model) > threshold.warning, (service, model.name)
            else:
                assert normal_ceiling(service, model) < threshold.warning, (service, model.name)


def test_values_stay_physically_sensible(
    two_days: tuple[list[Observation], list[AnomalyEpisode]],
) -> None:
    observations, _ = two_days
    for o in observations:
        assert o.value >= 0, o
        if o.metric in PERCENT_METRICS:
            assert o.value <= 100, o


def test_no_alert_outside_an_anomaly_but_spikes_and_drift_show(
    two_days: tuple[list[Observation], list[AnomalyEpisode]],
) -> None:
    observations, _ = two_days
    quiet = [o for o in observations if o.episode is None]
    assert all(THRESHOLDS[o.metric].severity(o.value) is None for o in quiet)
    latency = sorted(o.value for o in quiet if o.service == "api" and o.metric == "latency_ms")
    median = latency[len(latency) // 2]
    assert latency[-1] > 1.6 * median  # spikes
    # Slow drift: the same hour of two days differs, but only by the drift's bounds.
    day_one = [o.value for o in quiet if o.service == "database" and o.metric == "cpu_percent"
               and 10 <= (o.now_ms - MIDNIGHT_MS) / 3600_000 < 11]
    day_two = [o.value for o in quiet if o.service == "database" and o.metric == "cpu_percent"
               and 34 <= (o.now_ms - MIDNIGHT_MS) / 3600_000 < 35]
    ratio = (sum(day_one) / len(day_one)) / (sum(day_two) / len(day_two))
    assert ratio != pytest.approx(1, abs=0.002)
    assert ratio == pytest.approx(1, abs=0.4)


def test_anomalies_occur_occasionally_and_cross_their_thresholds(
    two_days: tuple[list[Observation], list[AnomalyEpisode]],
) -> None:
    observations, started = two_days
    # About one an hour per service.
    assert 5 * 48 * 0.6 < len(started) < 5 * 48 * 1.4
    assert Counter(e.severity for e in started)[Severity.CRITICAL] >= 0.25 * len(started)
    assert {e.metric for e in started} == set(THRESHOLDS)
    assert {e.service for e in started} == set(SERVICES)
    assert all(180 <= e.duration_s <= 420 for e in started)

    held = [o for o in observations if o.episode is not None and o.episode.holds(o.now_ms)]
    assert len(held) > 1000
    for o in held:
        assert o.episode is not None
        assert THRESHOLDS[o.metric].severity(o.value) is o.episode.severity, o

    # Not constantly: most ticks show no anomaly at all.
    ticks_with_anomaly = {o.now_ms for o in observations if o.episode is not None}
    share = len(ticks_with_anomaly) / len({o.now_ms for o in observations})
    assert 0.05 < share < 0.6


def test_an_episode_ramps_in_holds_and_ends() -> None:
    episode = AnomalyEpisode("api", "latency_ms", Severity.CRITICAL, 1500.0,
                             started_ms=1_000_000, duration_s=200, ramp_in_s=30, ramp_out_s=30)
    assert episode.envelope(999_999) == 0
    assert episode.envelope(1_015_000) == pytest.approx(0.5)
    assert episode.envelope(1_030_000) == 1
    assert episode.envelope(1_185_000) == pytest.approx(0.5)
    assert episode.envelope(1_200_000) == 0
    assert episode.ends_ms == 1_200_000


def test_deterministic_by_seed() -> None:
    def values(seed: int) -> list[float]:
        demo = ServicesDemo(seed)
        return [p.value for k in range(2000) for p in demo.tick(MIDNIGHT_MS + k * TICK_MS).points]

    assert values(5) == values(5)
    assert values(5) != values(6)


def test_baselines_cover_every_service_and_metric() -> None:
    assert set(BASELINES) == set(SERVICES)
    for metrics in BASELINES.values():
        assert set(metrics) == {m.name for m in METRICS}
