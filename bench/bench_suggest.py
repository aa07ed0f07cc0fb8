"""`stereo suggest`'s analysis at cluster scale: 500 pods, 6 h at 60 s, every default target, 6,000+ series.

The series are synthetic (random walks, some planted relations; with --missing a share of points missing,
each series on its own, as missed scrapes of different targets; --replaced also times it with a share of the
pods created during the window, NaN before, as after a rollout) but shaped like a real
cluster's: every signal the default targets and their candidates need, with the labels the catalog says it
carries (pods in 20 namespaces, 10 nodes, two values for other labels). What is timed is the analysis
`measure()` runs after the fetch (holes widened by each signal's reach, label join, ranks, ρ, n_eff, p, BH,
object findings, derived pairs, regimes, short windows): CPU and wall seconds, median of 3;
`suggest_seconds_6k` is the CPU time (all threads), which depends less on what else the machine runs than the
wall time (on an idle 2-core machine the wall time is at most that). Also printed: the time at half the pods,
to show the cost grows about linearly, and with --decode the CPU time of decoding the same series from
Prometheus' JSON answers (rangedecode.decode_range; the service does it in its worker processes).

--base COMMIT compares with the analysis at COMMIT (its generator/ from `git archive`) on the same machine in
the same run: each measurement a fresh process, base and this checkout alternating (--cycles times, the first
one of each cycle alternating too), so load bursts from other processes hit both.

Usage: python bench/bench_suggest.py [--pods 500] [--json] [--decode] [--replaced 0.1] [--missing 0.01]
                                     [--base COMMIT [--cycles 3]]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
SRC = os.environ.get("BENCH_SUGGEST_SRC", str(ROOT))  # whose generator/ is measured (--base sets it in a child)
sys.path.insert(0, SRC)

from generator import correlations  # noqa: E402
from generator.config import Config  # noqa: E402
from generator.correlate import gaps, suggest  # noqa: E402
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


def setup(pods: int, seed: int = 1, missing: float = 0.0, replaced: float = 0.0
          ) -> tuple[np.ndarray, dict, dict, suggest.Options, Any, int]:
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
    late = np.random.default_rng(seed + 1)  # pods created during the window (a rollout): NaN before their start
    born = {f"pod-{i}": int(late.integers(30, POINTS - 30)) for i in range(pods) if late.random() < replaced}
    for name in names:
        sig = catalog.signals[name]
        labels = _rows(sig.labels, pods)
        steps = rng.normal(size=(len(labels), POINTS))
        if name in PLANTED and len(labels) == pods:
            steps[: pods // 4] += 2 * shared[: pods // 4]
        values = np.cumsum(steps, axis=1) + 100
        if missing:
            values[rng.random(values.shape) < missing] = np.nan
        for r, lb in enumerate(labels):
            if lb.get("pod") in born:
                values[r, : born[lb["pod"]]] = np.nan
        fetched[name] = suggest.Fetched(sig, values, labels)
        total += len(labels)
    return times, fetched, todo, suggest.Options(), catalog, total


def _widened(fetched: dict, catalog: Any, step: int) -> dict:
    """What suggest.measure does to the fetched series before the analysis: holes widened by each reach."""
    out = {}
    for name, f in fetched.items():
        width = gaps.points((catalog.raw_signal(name) or f.signal).expr, step)
        out[name] = suggest.Fetched(f.signal, gaps.widen(f.values, width), f.labels, f.reason)
    return out


def timed(pods: int, repeats: int = 3, missing: float = 0.0, replaced: float = 0.0
          ) -> tuple[float, float, int, int]:
    times, fetched, todo, options, catalog, total = setup(pods, missing=missing, replaced=replaced)
    cpu, wall = [], []
    found = 0
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        res = analyse(times, _widened(fetched, catalog, options.step), todo, options, catalog.derived)
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
        found = len(res.objects)
    return float(np.median(cpu)), float(np.median(wall)), total, found


def decoded(pods: int) -> float:
    """CPU seconds to decode every series of the bench from Prometheus range answers (one body per signal)."""
    times, fetched, *_ = setup(pods)
    bodies = []
    for name, f in fetched.items():
        result = [{"metric": {"__name__": name, **lb},
                   "values": [[int(t), format(v, ".17g")] for t, v in zip(times.tolist(), row.tolist(), strict=True)
                              if v == v]}
                  for lb, row in zip(f.labels, f.values, strict=True)]
        doc = {"status": "success", "data": {"resultType": "matrix", "result": result}}
        bodies.append(json.dumps(doc, separators=(",", ":")).encode())  # compact, as Prometheus writes it
    from generator.correlate.rangedecode import decode_range

    cpu = []
    for _ in range(3):
        c0 = time.process_time()
        for body in bodies:
            decode_range(body, int(times[0]), 60, times.size, 1 << 20, "q", "bench")
        cpu.append(time.process_time() - c0)
    return float(np.median(cpu))


def run(pods: int = 500, decode: bool = False, missing: float = 0.0, replaced: float = 0.0) -> dict[str, Any]:
    cpu, wall, series, found = timed(pods, missing=missing)
    half_cpu, _, half_series, _ = timed(pods // 2, missing=missing)
    out = {"suggest_seconds_6k": round(cpu, 3), "suggest_wall_seconds_6k": round(wall, 3),
           "suggest_series": series, "suggest_half_series": half_series,
           "suggest_half_seconds": round(half_cpu, 3), "suggest_object_findings": found,
           "command": f"python bench/bench_suggest.py --pods {pods}" + (" --decode" if decode else "")
           + (f" --missing {missing}" if missing else "") + (f" --replaced {replaced}" if replaced else "")}
    if decode:
        out["suggest_decode_seconds_6k"] = round(decoded(pods), 3)
    if replaced:
        out["suggest_replaced_seconds_6k"] = round(timed(pods, replaced=replaced)[0], 3)
        out["suggest_replaced_share"] = replaced
    return out


def compare(base: str, pods: int, cycles: int, missing: float = 0.0, replaced: float = 0.0) -> dict[str, Any]:
    """CPU seconds (median of 3 per process) of this checkout and `base`, alternating, one process each."""
    got: dict[str, list[float]] = {"base": [], "new": []}
    with tempfile.TemporaryDirectory(prefix="stereo-bench-suggest-") as tmp:
        from bench.base_commit import generator_at  # the parent only (a child's path holds the measured source)

        srcs = {"base": str(generator_at(base, Path(tmp))), "new": str(ROOT)}
        for c in range(cycles):
            for name in ("base", "new") if c % 2 == 0 else ("new", "base"):
                child = subprocess.run([sys.executable, __file__, "--pods", str(pods), "--json", "--full-only",
                                        "--missing", str(missing), "--replaced", str(replaced)],
                                       env={**os.environ, "BENCH_SUGGEST_SRC": srcs[name]}, capture_output=True,
                                       text=True, check=True)
                got[name].append(json.loads(child.stdout)["suggest_seconds_6k"])
                print(f"cycle {c + 1} {name}: {got[name][-1]} s CPU (load {os.getloadavg()[0]:.1f})", file=sys.stderr)
    return {"base": base, "base_cpu": got["base"], "new_cpu": got["new"],
            "base_median": float(np.median(got["base"])), "new_median": float(np.median(got["new"])),
            "command": f"python bench/bench_suggest.py --pods {pods} --base {base} --cycles {cycles}"
            + (f" --missing {missing}" if missing else "") + (f" --replaced {replaced}" if replaced else "")}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pods", type=int, default=500)
    p.add_argument("--json", action="store_true")
    p.add_argument("--decode", action="store_true", help="also time decoding the series from JSON answers")
    p.add_argument("--base", help="also measure the analysis at this git commit, alternating with this checkout")
    p.add_argument("--cycles", type=int, default=3)
    p.add_argument("--missing", type=float, default=0.0, help="share of points missing, each series on its own")
    p.add_argument("--replaced", type=float, default=0.0,
                   help="also time it with this share of the pods created during the window (a rollout)")
    p.add_argument("--full-only", action="store_true", help=argparse.SUPPRESS)  # one figure (a --base child)
    args = p.parse_args()
    if args.full_only:
        print(json.dumps({"suggest_seconds_6k": timed(args.pods, missing=args.missing, replaced=args.replaced)[0]}))
        return 0
    if args.base:
        cmp = compare(args.base, args.pods, args.cycles, args.missing, args.replaced)
        print(json.dumps(cmp, sort_keys=True) if args.json else
              f"$ {cmp['command']}\nCPU seconds, median of 3 per process: base {cmp['base']} {cmp['base_cpu']} "
              f"(median {cmp['base_median']:.3f}), this checkout {cmp['new_cpu']} (median {cmp['new_median']:.3f})")
        return 0
    out = run(args.pods, args.decode, args.missing, args.replaced)
    if args.json:
        print(json.dumps(out, sort_keys=True))
    else:
        print(f"$ {out['command']}")
        print(f"{out['suggest_series']} series: analysis {out['suggest_seconds_6k']} s CPU, "
              f"{out['suggest_wall_seconds_6k']} s wall (median of 3); {out['suggest_half_series']} series: "
              f"{out['suggest_half_seconds']} s CPU; {out['suggest_object_findings']} object findings; "
              + (f"decoding {out['suggest_decode_seconds_6k']} s CPU; " if args.decode else "")
              + (f"{args.replaced:.0%} of pods created during the window {out['suggest_replaced_seconds_6k']} s CPU; "
                 if args.replaced else "") +
              f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
