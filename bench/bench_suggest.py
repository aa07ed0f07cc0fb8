"""`stereo suggest`'s analysis at cluster scale: 500 pods, 6 h at 60 s, every default target, 6,000+ series.

The series are synthetic (random walks, some planted relations) but shaped like a real cluster's: every signal
the default targets and their candidates need, with the labels the catalog says it carries (pods in 20
namespaces, 10 nodes, two values for other labels). What is timed is the analysis `measure()` runs after the
fetch (label join, ranks, ρ, n_eff, p, BH, object findings, derived pairs, regimes, short windows): CPU and
wall seconds, median of 3; `suggest_seconds_6k` is the CPU time (all threads), which does not depend on what
else the machine runs (on an idle 2-core machine the wall time is at most that). Also printed: the time at
half the pods, to show the cost grows about linearly.

Usage: python bench/bench_suggest.py [--pods 500] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from generator import correlations  # noqa: E402
from generator.config import Config  # noqa: E402
from generator.correlate import suggest  # noqa: E402
from generator.correlate.analysis import analyse  # noqa: E402
from generator.correlate.upstream import site_catalog  # noqa: E402

POINTS = 6 * 60 + 1
NAMESPACES, NODES, OTHER = 20, 10, 2
PLANTED = ("container_cpu_usage", "pod_network_receive_bytes", "container_memory_working_set")


def _rows(labels: tuple[str, ...], pods: int) -> list[dict[str, str]]:
    base = [{"cluster": "c1"}]
    if "pod" in labels:
        base = [{"cluster": "c1", "namespace": f"ns-{i % NAMESPACES}", "pod": f"pod-{i}"} for i in range(pods)]
    elif "namespace" in labels:
        base = [{"cluster": "c1", "namespace": f"ns-{i}"} for i in range(NAMESPACES)]
    elif "node" in labels or "instance" in labels:
        key = "node" if "node" in labels else "instance"
        base = [{"cluster": "c1", key: f"node-{i}" + (":9100" if key == "instance" else "")} for i in range(NODES)]
    extra = [k for k in labels if k not in ("cluster", "namespace", "pod", "node", "instance", "container")]
    if "container" in labels:
        base = [{**b, "container": "app"} for b in base]
    for k in extra[:1]:
        base = [{**b, k: f"{k}-{v}"} for b in base for v in range(OTHER)]
    return base


def setup(pods: int, seed: int = 1) -> tuple[np.ndarray, dict, dict, suggest.Options, Any, int]:
    catalog = site_catalog(Config())
    prior = correlations.prior(set(catalog.signals))
    targets = suggest.default_targets(catalog, prior)
    todo = suggest.plan(catalog, targets, suggest.related(prior))
    names = list(dict.fromkeys([*todo, *(c.signal.name for cs in todo.values() for c in cs)]))
    rng = np.random.default_rng(seed)
    times = np.arange(POINTS, dtype=np.float64) * 60 + 1_700_000_000
    fetched = {}
    total = 0
    shared = rng.normal(size=(pods, POINTS))  # a quarter of the pods: CPU, network and memory move together
    for name in names:
        sig = catalog.signals[name]
        labels = _rows(sig.labels, pods)
        steps = rng.normal(size=(len(labels), POINTS))
        if name in PLANTED and len(labels) == pods:
            steps[: pods // 4] += 2 * shared[: pods // 4]
        values = np.cumsum(steps, axis=1) + 100
        fetched[name] = suggest.Fetched(sig, values, labels)
        total += len(labels)
    return times, fetched, todo, suggest.Options(), catalog, total


def timed(pods: int, repeats: int = 3) -> tuple[float, float, int, int]:
    times, fetched, todo, options, catalog, total = setup(pods)
    cpu, wall = [], []
    found = 0
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        res = analyse(times, fetched, todo, options, catalog.derived)
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
        found = len(res.objects)
    return float(np.median(cpu)), float(np.median(wall)), total, found


def run(pods: int = 500) -> dict[str, Any]:
    cpu, wall, series, found = timed(pods)
    half_cpu, _, half_series, _ = timed(pods // 2)
    return {"suggest_seconds_6k": round(cpu, 3), "suggest_wall_seconds_6k": round(wall, 3),
            "suggest_series": series, "suggest_half_series": half_series,
            "suggest_half_seconds": round(half_cpu, 3), "suggest_object_findings": found,
            "command": f"python bench/bench_suggest.py --pods {pods}"}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pods", type=int, default=500)
    p.add_argument("--json", action="store_true")
    args = p.parse_args()
    out = run(args.pods)
    if args.json:
        print(json.dumps(out, sort_keys=True))
    else:
        print(f"$ {out['command']}")
        print(f"{out['suggest_series']} series: analysis {out['suggest_seconds_6k']} s CPU, "
              f"{out['suggest_wall_seconds_6k']} s wall (median of 3); {out['suggest_half_series']} series: "
              f"{out['suggest_half_seconds']} s CPU; {out['suggest_object_findings']} object findings; "
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
