"""Build a real Prometheus over simulated clusters with Stereo's generated rules: the end-to-end test bench.

`simulated_prometheus(workdir, [cluster("etcd-slow-disk", size=(3, 3, 12))], seed=7)` generates the rule and
alert files for a test site (rules every 5s, every alert's `for` patched to 0s: a test cannot wait out
`for: 15m`), simulates the clusters up to now, backfills them with promtool, starts Prometheus over the blocks
and waits until every rule group has run a few times, snapshots the firing alerts and recorded series, then
stops the rule evaluation (the server stays for queries). One cluster label value per cluster, so one
Prometheus can hold several clusters; `snapshots_in_batches` holds many, PER_SERVER to a server, one server
after the other, so that each server's rounds keep pace with its evaluation interval on two busy cores.

The long-window groups (`*.rules.long`, 5m in the generated files) run every 5s here like the others:
Prometheus places a group's first evaluation at a hash-based offset inside its interval, so a 5m group could stay
silent for five minutes. Their expressions are unchanged.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from generator import pipeline
from generator.config import load
from generator.simulate import run
from generator.simulate.prometheus import Prometheus, backfill, backfill_simulation
from generator.simulate.run import ClusterSpec, Simulation, Window

EVALUATION_INTERVAL = "5s"
# labs of a few small clusters evaluate every 2 s (a round is ~0.1 s of CPU): their rounds come 2.5x sooner; the
# scenario servers of PER_SERVER clusters keep 5 s, so their rounds stay prompt on two busy cores
SMALL_LAB_INTERVAL = "2s"
PER_SERVER = 10  # clusters per Prometheus in `snapshots_in_batches`
FRESH = 240  # seconds: a snapshot later than this after the newest sample would see 5m rates run dry


def cluster(scenario: str | None = None, size: tuple[int, int, int] = (3, 3, 12), name: str = "") -> ClusterSpec:
    """A cluster of (nodes, namespaces, pods), healthy or playing `scenario`, named after it unless `name`."""
    nodes, namespaces, pods = size
    return ClusterSpec(name or scenario or "healthy", nodes, namespaces, pods, (scenario,) if scenario else ())


def catalog_alerts() -> list[str]:
    components, _ = pipeline.build(load(None))
    return sorted(a.name for c in components for a in c.alerts)


def write_site(workdir: Path, thresholds: dict[str, float] | None = None,
               interval: str = EVALUATION_INTERVAL) -> dict[str, str]:
    """Generate the site's files from a test stereo.yaml; write rules/ and alerts/; return them by path.
    Every group is evaluated each `interval` (the 5m groups too: a lab lives minutes, not hours)."""
    workdir.mkdir(parents=True, exist_ok=True)
    config = workdir / "stereo.yaml"
    site: dict[str, Any] = {"evaluation_interval": interval, "pod_evaluation_interval": interval,
                            "patch": {name: {"for": "0s"} for name in catalog_alerts()}}
    if thresholds:
        site["thresholds"] = thresholds
    config.write_text(yaml.safe_dump(site, sort_keys=True), encoding="utf-8")
    files = {p: t for p, t in pipeline.generate(load(config)).items() if p.startswith(("rules/", "alerts/"))}
    for path, text in files.items():
        target = workdir / "site" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text.replace("interval: 5m\n", f"interval: {interval}\n"), encoding="utf-8")
    return files


def rule_globs(workdir: Path) -> list[str]:
    return [str(workdir / "site" / "rules" / "*.yaml"), str(workdir / "site" / "alerts" / "*.yaml")]


_RECORDS: dict[tuple[str, ...], list[str]] = {}  # rule file texts -> their records (each batch's snapshot asks)


def recording_rules(files: dict[str, str]) -> list[str]:
    texts = tuple(text for path, text in sorted(files.items()) if path.startswith("rules/"))
    if texts not in _RECORDS:
        _RECORDS[texts] = sorted({r["record"] for text in texts for group in yaml.safe_load(text)["groups"]
                                  for r in group["rules"]})
    return list(_RECORDS[texts])


@dataclass
class Lab:
    prometheus: Prometheus
    clusters: list[ClusterSpec]
    files: dict[str, str]
    end: int  # the newest sample
    timings: dict[str, float] = field(default_factory=dict)
    firing: list[dict[str, Any]] = field(default_factory=list)  # alerts firing right after the rules settled
    recorded: dict[str, set[str]] = field(default_factory=dict)  # record name -> clusters with a series

    @property
    def url(self) -> str:
        return self.prometheus.url

    def firing_in(self, cluster: str) -> dict[str, list[dict[str, str]]]:
        out: dict[str, list[dict[str, str]]] = {}
        for alert in self.firing:
            if alert["labels"].get("cluster") == cluster:
                out.setdefault(alert["labels"]["alertname"], []).append(alert["labels"])
        return out

    def snapshot(self) -> None:
        self.firing = [a for a in self.prometheus.alerts() if a["state"] == "firing"]
        names = recording_rules(self.files)
        result = self.prometheus.query(f'count by (__name__, cluster) ({{__name__=~"{"|".join(names)}"}})')
        self.recorded = {}
        for row in result:
            self.recorded.setdefault(row["metric"]["__name__"], set()).add(row["metric"].get("cluster", ""))
        self.timings["data_age_at_snapshot"] = time.time() - self.end


def backfill_history(workdir: Path, clusters: Sequence[ClusterSpec], seed: int, window: Window,
                     parts: int = 2) -> tuple[list[Simulation], int]:
    """Simulate up to `window.end` and backfill it into workdir/data; returns the simulations (to be topped up)
    and the number of samples.

    The clusters are split in `parts` simulations, each written in one file per 2h block range that promtool
    reads while Python writes the next (`backfill_simulation`: promtool reads a whole file once per block range
    it covers, so six hours in one file were read five times). Blocks of different files overlap in time;
    Prometheus 2.42 merges overlapping blocks at query time."""
    sims = [Simulation(list(clusters[i::parts]), seed, window) for i in range(parts) if clusters[i::parts]]
    samples = sum(backfill_simulation(sim, workdir / "data", workdir / f"history-{i}") for i, sim in enumerate(sims))
    for i in range(len(sims)):
        shutil.rmtree(workdir / f"history-{i}", ignore_errors=True)
    return sims, samples


def top_up(workdir: Path, sims: list[Simulation]) -> tuple[int, int]:
    """Add the minutes that passed since the history's end and backfill those; returns (samples, newest)."""
    until = run.now()
    paths = []
    samples = 0
    for i, sim in enumerate(sims):
        sim.advance_to(until)
        paths.append(workdir / f"recent-{i}.om")
        samples += sim.write_file(paths[-1])
    with ThreadPoolExecutor(len(paths)) as pool:
        for job in [pool.submit(backfill, path, workdir / "data") for path in paths]:
            job.result()
    for path in paths:
        path.unlink()
    return samples, until


def settle(prom: Prometheus, lab: Lab, rounds: int) -> None:
    """Start `prom`, wait until every rule group ran `rounds` times, snapshot, stop evaluating rules."""
    mark = time.monotonic()
    prom.start()
    lab.timings["start"] = time.monotonic() - mark
    lab.timings["rules"] = prom.wait_for_rounds(rounds)
    lab.snapshot()
    if lab.timings["data_age_at_snapshot"] > FRESH:
        raise RuntimeError(f"the rules took so long to settle that the newest samples are "
                           f"{lab.timings['data_age_at_snapshot']:.0f}s old: rates over 5m would read nothing "
                           f"({lab.timings})")
    prom.quiesce()  # the snapshot is taken: keep the server for queries, stop spending CPU on its rules


@contextmanager
def simulated_prometheus(workdir: Path, clusters: Sequence[ClusterSpec], *, seed: int = 1, duration: int = 6 * 3600,
                         step: int = 60, scenario_window: int = 1200, rounds: int = 3, parts: int = 2,
                         thresholds: dict[str, float] | None = None,
                         interval: str = EVALUATION_INTERVAL) -> Iterator[Lab]:
    """A Prometheus over the simulated `clusters`, its rules settled (`rounds` rounds of `interval`, then no more
    evaluation); stopped (by pid) on exit, always."""
    timings: dict[str, float] = {}
    began = time.monotonic()
    files = write_site(workdir, thresholds, interval)
    timings["generate"] = time.monotonic() - began
    mark = time.monotonic()
    window = Window(end=run.now(), duration=duration, step=step, scenario_window=scenario_window)
    sims, samples = backfill_history(workdir, clusters, seed, window, parts)
    recent, newest = top_up(workdir, sims)
    timings["samples"] = samples + recent
    timings["simulate_and_backfill"] = time.monotonic() - mark
    prom = Prometheus(workdir, rule_globs(workdir), workdir / "data", interval)
    try:
        lab = Lab(prom, list(clusters), files, newest, timings)
        settle(prom, lab, rounds)
        timings["total"] = time.monotonic() - began
        yield lab
    finally:
        prom.stop()


def snapshots_in_batches(workdir: Path, clusters: Sequence[ClusterSpec], *, per_server: int = PER_SERVER,
                         seed: int = 1, rounds: int = 3, parts: int = 2) -> Lab:
    """Many clusters, `per_server` to a Prometheus, one server after the other; each stops after its snapshot.
    Returns one Lab holding every batch's snapshot (its server stopped).

    One server evaluates every rule for every cluster it holds each EVALUATION_INTERVAL; with all 50 scenario
    clusters that is more work per round than two cores do in one interval, so on a busy machine three rounds took
    minutes and the newest samples went stale before the snapshot. A batch of PER_SERVER settles in a few rounds of
    its interval. The next batch's history is simulated and backfilled while the current one settles; its
    newest minutes are added just before its server starts, so every snapshot reads fresh samples."""
    began = time.monotonic()
    files = write_site(workdir)
    batches = [list(clusters[i:i + per_server]) for i in range(0, len(clusters), per_server)]
    longest = max(c.duration or 0 for c in clusters)
    merged = Lab(Prometheus(workdir / "batch-0", []), list(clusters), files, 0, {"batches": len(batches)})

    def history(k: int) -> tuple[list[Simulation], int]:
        window = Window(end=run.now(), duration=longest, step=60, scenario_window=1200)
        (workdir / f"batch-{k}").mkdir(parents=True, exist_ok=True)
        return backfill_history(workdir / f"batch-{k}", batches[k], seed, window, parts)

    with ThreadPoolExecutor(1) as pool:
        upcoming = pool.submit(history, 0)
        for k in range(len(batches)):
            sims, samples = upcoming.result()
            if k + 1 < len(batches):
                upcoming = pool.submit(history, k + 1)
            where = workdir / f"batch-{k}"
            recent, newest = top_up(where, sims)
            prom = Prometheus(where, rule_globs(workdir), where / "data", EVALUATION_INTERVAL)
            lab = Lab(prom, batches[k], files, newest, {"samples": samples + recent})
            try:
                settle(prom, lab, rounds)
            finally:
                prom.stop()
            merged.prometheus, merged.end = prom, newest
            merged.firing += lab.firing
            for name, where_found in lab.recorded.items():
                merged.recorded.setdefault(name, set()).update(where_found)
            for key in ("samples", "rules", "data_age_at_snapshot"):
                merged.timings[f"{key}_max"] = max(merged.timings.get(f"{key}_max", 0.0), lab.timings[key])
    merged.timings["total"] = time.monotonic() - began
    return merged
