"""Run simulated clusters over a time grid, into a registry; write the result as OpenMetrics.

Several clusters (different `cluster` label values) can share one file: the end-to-end tests put one fault
scenario per cluster into a single Prometheus. A cluster may cover only the last part of the window.

A `Simulation` can go on past its window (`advance_to`) and be written out in chunks: the end-to-end tests
backfill the bulk of the history, then add the minutes that passed meanwhile, so the newest samples are "now"
when Prometheus starts however long the backfill took.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from generator.simulate import topology
from generator.simulate.openmetrics import write_openmetrics
from generator.simulate.series import Registry
from generator.simulate.world import Settings, World

# the default end of the window: fixed, so the same options always give the same bytes (2026-01-01T00:00:00Z)
DEFAULT_END = 1767225600


@dataclass(frozen=True)
class ClusterSpec:
    name: str = "sim"
    nodes: int = 3
    namespaces: int = 3
    pods: int = 12
    scenarios: tuple[str, ...] = ()
    duration: int | None = None  # seconds before the end this cluster starts (default: the whole window)
    scenario_window: int | None = None  # seconds its scenarios play (default: the window's)
    label: str = "cluster"  # the site's cluster_label


@dataclass(frozen=True)
class Window:
    end: int = DEFAULT_END
    duration: int = 86400
    step: int = 60
    congested_from: float = 0.75  # fraction of each cluster's window
    scenario_window: int = 1800  # scenarios run over this last part of each cluster's window

    @property
    def ticks(self) -> int:
        return self.duration // self.step + 1

    def timestamps(self) -> list[int]:
        start = self.end - (self.ticks - 1) * self.step
        return [start + i * self.step for i in range(self.ticks)]


def now() -> int:
    return int(time.time())


def build_world(spec: ClusterSpec, registry: Registry, seed: int, window: Window, live: bool = False) -> World:
    duration = min(spec.duration or window.duration, window.duration)
    start = window.end - duration // window.step * window.step
    playing = spec.scenario_window or window.scenario_window
    scenario_start = start if live else max(start, window.end - playing)
    settings = Settings(start=start, step=window.step, end=window.end,
                        congested_from=start + window.congested_from * duration,
                        scenario_start=scenario_start, scenario_window=float(playing),
                        anchor=float(window.end if not live else scenario_start + 10 * 86400))
    topo = topology.build(spec.name, spec.nodes, spec.namespaces, spec.pods, seed)
    return World(topo, registry, seed, settings, spec.scenarios, spec.label)


class Simulation:
    """Clusters ticking together; samples accumulate until written out."""

    def __init__(self, clusters: Sequence[ClusterSpec], seed: int, window: Window) -> None:
        self.window = window
        self.registry = Registry()
        self.worlds = [build_world(spec, self.registry, seed, window) for spec in clusters]
        self.stamps: list[int] = []  # timestamps of the samples not yet written
        self.last: int | None = None

    def tick(self, t: int) -> None:
        self.registry.tick = len(self.stamps)
        for world in self.worlds:
            if t >= world.settings.start:
                world.tick(float(t))
        self.stamps.append(t)
        self.last = t

    def run(self) -> Simulation:
        for t in self.window.timestamps():
            self.tick(t)
        return self

    def advance_to(self, until: int) -> None:
        """Carry on past the window on the same step, then one last (shorter) step to `until` itself."""
        assert self.last is not None, "run() first"
        while self.last + self.window.step <= until:
            self.tick(self.last + self.window.step)
        if self.last < until:
            self.tick(until)

    def write(self, out: TextIO) -> int:
        """Write the samples since the last write; returns how many."""
        written = write_openmetrics(self.registry, self.stamps, out)
        self.registry.clear()
        self.stamps = []
        return written

    def write_file(self, path: Path | str) -> int:
        with open(path, "w", encoding="utf-8", newline="\n") as out:
            return self.write(out)


def simulate(clusters: Sequence[ClusterSpec], seed: int, window: Window) -> tuple[Registry, list[int]]:
    sim = Simulation(clusters, seed, window).run()
    return sim.registry, sim.stamps


def write(path: Path | str, clusters: Sequence[ClusterSpec], seed: int, window: Window) -> int:
    """Simulate and write OpenMetrics to `path`; returns the number of samples."""
    return Simulation(clusters, seed, window).run().write_file(path)
