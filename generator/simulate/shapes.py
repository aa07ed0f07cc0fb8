"""Building blocks of the simulated signals: the daily load cycle, mean-reverting noise, latency distributions.

The correlation engine measures rank correlation of *changes* (first differences). So a planted relation is a
shared innovation: both signals of a pair take the same random shock each tick (plus their own), while decoys
are independent AR(1) / random-walk-like processes. A shared daily cycle alone would not be a relation.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

DAY = 86400.0
_SQRT2 = math.sqrt(2.0)


def daily(t: float, amplitude: float = 0.35, peak_hour: float = 14.0) -> float:
    """Load factor around 1: highest at `peak_hour` UTC, lowest twelve hours later."""
    phase = 2 * math.pi * ((t / 3600.0 - peak_hour) % 24.0) / 24.0
    return 1.0 + amplitude * math.cos(phase)


class AR1:
    """x ← φ·x + σ·shock; starts from its stationary distribution. φ near 1 wanders like a random walk."""

    __slots__ = ("phi", "sigma", "x")

    def __init__(self, rng: random.Random, phi: float = 0.9, sigma: float = 1.0) -> None:
        self.phi, self.sigma = phi, sigma
        self.x = rng.gauss(0.0, sigma / math.sqrt(1.0 - phi * phi))

    def step(self, shock: float) -> float:
        self.x = self.phi * self.x + self.sigma * shock
        return self.x

    @property
    def z(self) -> float:
        """The current value in stationary standard deviations (about N(0, 1))."""
        return self.x * math.sqrt(1.0 - self.phi * self.phi) / self.sigma


def lognormal_cdf(bounds: Sequence[float], median: float, sigma: float) -> list[float]:
    """Share of lognormal(median, σ) observations at or below each bound."""
    if median <= 0:
        return [1.0] * len(bounds)
    ln_m = math.log(median)
    k = 1.0 / (sigma * _SQRT2)
    return [0.5 * (1.0 + math.erf((math.log(b) - ln_m) * k)) if b > 0 else 0.0 for b in bounds]


def lognormal_mean(median: float, sigma: float) -> float:
    return median * math.exp(sigma * sigma / 2.0)


def mixture_cdf(bounds: Sequence[float], parts: Sequence[tuple[float, float, float]]) -> tuple[list[float], float]:
    """CDF and mean of a mixture of lognormals given as (weight, median, σ); weights sum to 1."""
    cdf = [0.0] * len(bounds)
    mean = 0.0
    for weight, median, sigma in parts:
        if weight <= 0:
            continue
        for i, share in enumerate(lognormal_cdf(bounds, median, sigma)):
            cdf[i] += weight * share
        mean += weight * lognormal_mean(median, sigma)
    return cdf, mean


def point_cdf(bounds: Sequence[float], value: float) -> list[float]:
    """Every observation equal to `value` (certificate lifetimes, counts of victims)."""
    return [1.0 if value <= b else 0.0 for b in bounds]


def jitter(rng: random.Random, value: float, cv: float) -> float:
    """`value` with multiplicative noise of coefficient of variation `cv`, never negative."""
    return max(0.0, value * (1.0 + cv * rng.gauss(0.0, 1.0)))


def due(t: float, dt: float, anchor: float, period: float, offset: float = 0.0) -> bool:
    """Whether an event of the series anchor − offset − k·period (any integer k) falls in (t − dt, t]."""
    phase = (anchor - offset - t) % period  # time from t to the next event at or after t
    return phase == 0.0 or phase > period - dt
