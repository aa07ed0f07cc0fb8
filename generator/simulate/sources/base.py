"""What every scrape source shares: its target labels and `up`, process metrics, lazily created series."""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, TypeVar

from generator.simulate import shapes
from generator.simulate.labels import Labels, labels
from generator.simulate.series import CounterHandle, HistogramHandle, Registry, Series

if TYPE_CHECKING:
    from generator.simulate.world import World

T = TypeVar("T")


class Target:
    """One scrape target. A target that is down exports `up 0` and nothing else."""

    def __init__(self, w: World, job: str, instance: str, **extra: str) -> None:
        self.reg: Registry = w.reg
        self.base: Labels = labels(w.cluster, {"job": job, "instance": instance}.items(), **extra)
        self.up = w.reg.gauge("up", self.base)
        self._lazy: dict[object, object] = {}

    def alive(self, down: bool | float) -> bool:
        self.up.set(0 if down else 1)
        return not down

    def labels(self, **extra: str) -> Labels:
        return labels(self.base, **extra)

    # metric and bounds are positional-only: `name` is also a label (workqueues, webhooks, API services)
    def gauge(self, metric: str, /, **extra: str) -> Series:
        return self.reg.gauge(metric, self.labels(**extra))

    def counter(self, metric: str, /, **extra: str) -> CounterHandle:
        return self.reg.counter(metric, self.labels(**extra))

    def histogram(self, metric: str, bounds: Sequence[float], /, **extra: str) -> HistogramHandle:
        return self.reg.histogram(metric, self.labels(**extra), bounds)

    def lazy(self, key: object, make: Callable[[], T]) -> T:
        """A series that only appears once something happens (a new error code, a waiting reason)."""
        found = self._lazy.get(key)
        if found is None:
            found = self._lazy[key] = make()
        return found  # type: ignore[return-value]


class Process:
    """process_cpu_seconds_total and process_resident_memory_bytes of a target's process."""

    def __init__(self, target: Target) -> None:
        self.cpu = target.counter("process_cpu_seconds_total")
        self.mem = target.gauge("process_resident_memory_bytes")

    def tick(self, dt: float, cores: float, rss: float, restarted: bool = False) -> None:
        if restarted:
            self.cpu.reset()
        self.cpu.add(cores * dt)
        self.mem.set(round(rss))


class Latency:
    """A latency histogram fed with lognormal observations: `observe(rate per second, median, σ)`."""

    def __init__(self, hist: HistogramHandle, rng: random.Random) -> None:
        self.hist, self.rng = hist, rng
        self.bounds = hist.bounds[:-1]

    def observe(self, dt: float, rate: float, median: float, sigma: float = 0.5, cv: float = 0.1) -> None:
        n = shapes.jitter(self.rng, rate * dt, cv)
        self.hist.observe(shapes.lognormal_cdf(self.bounds, median, sigma), n, shapes.lognormal_mean(median, sigma))

    def mixture(self, dt: float, rate: float, parts: Sequence[tuple[float, float, float]], cv: float = 0.1) -> None:
        cdf, mean = shapes.mixture_cdf(self.bounds, parts)
        self.hist.observe(cdf, shapes.jitter(self.rng, rate * dt, cv), mean)

    def points(self, dt: float, rate: float, parts: Sequence[tuple[float, float]], cv: float = 0.1) -> None:
        """Observations at exact values (weight, value): certificate lifetimes, victim counts."""
        cdf = [0.0] * len(self.bounds)
        mean = 0.0
        for weight, value in parts:
            for i, share in enumerate(shapes.point_cdf(self.bounds, value)):
                cdf[i] += weight * share
            mean += weight * value
        self.hist.observe(cdf, shapes.jitter(self.rng, rate * dt, cv), mean)


def rate(rng: random.Random, per_second: float, dt: float, cv: float = 0.1) -> float:
    """Events in one tick at `per_second`, with some noise."""
    return shapes.jitter(rng, per_second * dt, cv)
