"""The "signals" demo: five textbook signals, one series each.

All five are the metric ``signal`` told apart by the label ``signal``:

==============  ===========================================================
``sine``        10 · sin(2π · 0.1 Hz · t)
``cosine``      8 · cos(2π · 0.15 Hz · t)
``noise``       uniform in [-5, 5]
``random_walk`` steps of exactly ±0.5 per sample, starting at 0; at |x| ≥ 50
                the step points back to 0, so the walk stays on screen
``damped``      15 · e^(-0.01·τ) · sin(2π · 0.05 Hz · τ), τ = t mod 460.5 s:
                it restarts once the envelope is below 1 % (ln 100 / 0.01 s)
==============  ===========================================================

``t`` is seconds since the producer started. The signals are sampled every 500 ms
of ``t`` whatever the tick interval: a 0.1 Hz sine sampled every 5 s would read
sin(kπ) = 0 every time. Each tick emits the grid points passed since the last one.

Pure: time comes in; randomness (noise, walk) from ``random.Random(seed)``.
"""

from __future__ import annotations

import math
import random

from .points import MetricPoint

SIGNAL_METRIC = "signal"
SIGNAL_KINDS = ("sine", "cosine", "noise", "random_walk", "damped")
SAMPLE_STEP_MS = 500
# After a long pause (the ingest API down for minutes) emit at most this much history.
MAX_BACKFILL_MS = 10 * 60 * 1000

SINE_HZ, SINE_AMPLITUDE = 0.1, 10.0
COSINE_HZ, COSINE_AMPLITUDE = 0.15, 8.0
NOISE_HALF_WIDTH = 5.0
WALK_STEP, WALK_LIMIT = 0.5, 50.0
DAMPED_HZ, DAMPED_AMPLITUDE, DAMPED_DECAY_PER_S = 0.05, 15.0, 0.01
DAMPED_RESTART_S = math.log(100) / DAMPED_DECAY_PER_S


def sine(t_s: float) -> float:
    return SINE_AMPLITUDE * math.sin(2 * math.pi * SINE_HZ * t_s)


def cosine(t_s: float) -> float:
    return COSINE_AMPLITUDE * math.cos(2 * math.pi * COSINE_HZ * t_s)


def damped(t_s: float) -> float:
    tau = t_s % DAMPED_RESTART_S
    return (DAMPED_AMPLITUDE * math.exp(-DAMPED_DECAY_PER_S * tau)
            * math.sin(2 * math.pi * DAMPED_HZ * tau))


def damped_envelope(t_s: float) -> float:
    return DAMPED_AMPLITUDE * math.exp(-DAMPED_DECAY_PER_S * (t_s % DAMPED_RESTART_S))


class SignalsDemo:
    def __init__(self, started_ms: int, seed: int | None = None) -> None:
        self.started_ms = started_ms
        self._rng = random.Random(seed)
        self._walk = 0.0
        self._next_step = 0  # index of the next grid point to emit
        self._labels = {kind: {"signal": kind} for kind in SIGNAL_KINDS}

    @property
    def walk(self) -> float:
        return self._walk

    def tick(self, now_ms: int) -> list[MetricPoint]:
        """The samples of every grid point up to ``now_ms`` not emitted yet."""
        last_step = (now_ms - self.started_ms) // SAMPLE_STEP_MS
        if last_step < self._next_step:
            return []
        first_step = max(self._next_step, last_step - MAX_BACKFILL_MS // SAMPLE_STEP_MS)
        points: list[MetricPoint] = []
        for step in range(first_step, last_step + 1):
            points.extend(self._sample(step))
        self._next_step = last_step + 1
        return points

    def _sample(self, step: int) -> list[MetricPoint]:
        t_s = step * SAMPLE_STEP_MS / 1000
        ts_ms = self.started_ms + step * SAMPLE_STEP_MS
        values = {
            "sine": sine(t_s),
            "cosine": cosine(t_s),
            "noise": self._rng.uniform(-NOISE_HALF_WIDTH, NOISE_HALF_WIDTH),
            "random_walk": self._step_walk(),
            "damped": damped(t_s),
        }
        return [MetricPoint(SIGNAL_METRIC, self._labels[kind], round(values[kind], 6), ts_ms)
                for kind in SIGNAL_KINDS]

    def _step_walk(self) -> float:
        if self._walk >= WALK_LIMIT:
            step = -WALK_STEP
        elif self._walk <= -WALK_LIMIT:
            step = WALK_STEP
        else:
            step = self._rng.choice((-WALK_STEP, WALK_STEP))
        self._walk += step
        return self._walk
