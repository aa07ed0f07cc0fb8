"""Dashboard panel queries over a day of a simulated 500-pod cluster: recorded series against raw expressions.

1. simulate the cluster (`generator.simulate.run.Simulation`) over the last day at 60s and backfill it;
2. start Prometheus 2.42 on 127.0.0.1 over it and backfill the recording rules the panels read with
   `promtool tsdb create-blocks-from rules` (level by level, restarting in between), so recorded series cover
   the whole day just like the raw ones;
3. for each panel query — `promql.bind(signal.expr, {...})`, the recorded form — and its raw form (the rules'
   expressions substituted, `bench/rawexpr.py`), time `query_range` over the day at a 60s step: one warm-up
   each (also used to check both forms return the same series and values), then rounds alternating the two
   so a burst of load hits both alike. The figure is the ratio of the summed medians of the HTTP round trip
   (answers uncompressed); `recorded_vs_raw_engine_speedup` is the same ratio of Prometheus's own
   execTotalTime (evaluation only, without encoding the answer).

Usage: python bench/bench_queries.py [--pods 500] [--repeats 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from bench.rawexpr import expand, recorded_in, rules_from, static_labels  # noqa: E402
from generator import pipeline, promql  # noqa: E402
from generator.config import load  # noqa: E402
from generator.simulate import run as simrun  # noqa: E402
from generator.simulate.prometheus import Prometheus, backfill_rules, backfill_simulation  # noqa: E402

CLUSTER, NAMESPACE = "sim", "shop"
PODS, NODES, NAMESPACES, SEED = 500, 4, 4, 1
DAY, STEP = 86400, 60
REPEATS = 5
_EXEC = re.compile(rb'"execTotalTime":([0-9.eE+-]+)')
# (signal, dashboard variables besides the cluster): the namespace dashboard's pod panels for one namespace,
# the cluster overview's per-namespace and per-node panels, control-plane latency panels
PANELS: tuple[tuple[str, dict[str, str]], ...] = (
    ("container_cpu_usage", {"namespace": NAMESPACE}),
    ("container_memory_working_set", {"namespace": NAMESPACE}),
    ("pod_network_receive_bytes", {"namespace": NAMESPACE}),
    ("namespace_cpu_usage", {}),
    ("namespace_memory_usage", {}),
    ("node_cpu_utilisation", {}),
    ("apiserver_request_latency_p99", {}),
    ("etcd_backend_commit_p99", {}),
    ("coredns_latency_p99", {}),
)


@dataclass(frozen=True)
class Query:
    signal: str
    recorded: str
    raw: str
    static: frozenset[str]  # labels only the recorded form carries (rule `labels:`)


@dataclass
class Built:
    prom: Prometheus
    start: int
    end: int
    records: set[str]
    queries: list[Query]
    timings: dict[str, float] = field(default_factory=dict)


def panel_queries(files: dict[str, str]) -> list[Query]:
    groups = [g for p, t in sorted(files.items()) if p.startswith("rules/") for g in yaml.safe_load(t)["groups"]]
    rules = rules_from(groups)
    components, _ = pipeline.build(load(None))
    signals = {s.name: s for c in components for s in c.signals}
    out = []
    for name, variables in PANELS:
        recorded = promql.bind(signals[name].expr, {"cluster": CLUSTER, **variables})
        out.append(Query(name, recorded, expand(recorded, rules), frozenset(static_labels(recorded, rules))))
    return out


def build(workdir: Path, pods: int = PODS, nodes: int = NODES, namespaces: int = NAMESPACES, seed: int = SEED,
          duration: int = DAY, step: int = STEP, progress: Callable[[str], None] = print) -> Built:
    """The simulated cluster in a started Prometheus with the panels' recording rules backfilled; the caller
    stops `built.prom`."""
    timings: dict[str, float] = {}
    files = {p: t for p, t in pipeline.generate(load(None)).items() if p.startswith("rules/")}
    queries = panel_queries(files)
    groups = [g for t in files.values() for g in yaml.safe_load(t)["groups"]]
    records = set().union(*(recorded_in(q.recorded, rules_from(groups)) for q in queries))
    end = simrun.now() // step * step
    window = simrun.Window(end=end, duration=duration, step=step)
    sim = simrun.Simulation([simrun.ClusterSpec(CLUSTER, nodes, namespaces, pods)], seed, window)
    began = time.monotonic()
    samples = backfill_simulation(sim, workdir / "data", workdir / "scratch")
    timings["simulate_and_backfill_seconds"] = round(time.monotonic() - began, 1)
    progress(f"simulated and backfilled {samples:,} samples ({nodes} nodes, {namespaces} namespaces, {pods} pods, "
             f"{duration // 3600}h at {step}s) in {timings['simulate_and_backfill_seconds']}s")
    prom = Prometheus(workdir, [], workdir / "data")
    try:
        prom.start()
        began = time.monotonic()
        start = end - duration
        backfill_rules(prom, files.values(), start, end, keep=lambda r: r["record"] in records, progress=progress)
        timings["rule_backfill_seconds"] = round(time.monotonic() - began, 1)
        _check_recorded(prom, records, start, end)
    except BaseException:
        prom.stop()
        raise
    return Built(prom, start, end, records, queries, timings)


def _check_recorded(prom: Prometheus, records: set[str], start: int, end: int) -> None:
    """Every recorded series the panels read has samples from the first hour to the last one of the day."""
    for name in sorted(records):
        for at in (start + 3600, end):
            if not prom.query(f"count(last_over_time({name}[10m]))", at=at):
                raise RuntimeError(f"recorded series {name} has no samples near {at} after the rule backfill")


def _post(session: requests.Session, url: str, expr: str, start: int, end: int, step: int) -> bytes:
    """One panel refresh; `stats=all` adds the engine's own timings. Uncompressed: on loopback gzip only adds
    the same per-byte cost to both forms (about 0.45 s for a 6 MB answer here), which is not what is compared."""
    resp = session.post(f"{url}/api/v1/query_range", timeout=300, headers={"Accept-Encoding": "identity"},
                        data={"query": expr, "start": start, "end": end, "step": step, "stats": "all"})
    resp.raise_for_status()
    return resp.content


def _engine_seconds(body: bytes) -> float:
    found = _EXEC.search(body)
    return float(found.group(1)) if found else float("nan")


def _series(body: bytes, drop: frozenset[str]) -> dict[tuple, list[float]]:
    out = {}
    for s in json.loads(body)["data"]["result"]:
        key = tuple(sorted((k, v) for k, v in s["metric"].items() if k != "__name__" and k not in drop))
        out[key] = [float(v) for _, v in s["values"]]
    return out


def _compare(recorded: bytes, raw: bytes, drop: frozenset[str]) -> dict[str, Any]:
    """Same series? Per series, how far apart the medians over the day are (recorded samples lag < 1 interval)."""
    a, b = _series(recorded, drop), _series(raw, drop)
    diff = 0.0
    for key in a.keys() & b.keys():
        ma, mb = statistics.median(a[key]), statistics.median(b[key])
        if max(abs(ma), abs(mb)) > 0:
            diff = max(diff, abs(ma - mb) / max(abs(ma), abs(mb)))
    return {"series": len(a), "same_series": a.keys() == b.keys(), "max_rel_diff_of_medians": round(diff, 4),
            "points": sum(len(v) for v in a.values())}


def measure(built: Built, repeats: int = REPEATS, step: int = STEP) -> dict[str, Any]:
    """Median seconds of each form per query (round trip, and the engine's execTotalTime); ratios of the sums."""
    url, start, end = built.prom.url, built.start, built.end
    forms = ("recorded", "raw")
    per: dict[str, dict[str, Any]] = {}
    wall: dict[str, dict[str, list[float]]] = {q.signal: {f: [] for f in forms} for q in built.queries}
    engine: dict[str, dict[str, list[float]]] = {q.signal: {f: [] for f in forms} for q in built.queries}
    with requests.Session() as session:
        for q in built.queries:  # warm-up: caches, and the equivalence check
            per[q.signal] = _compare(_post(session, url, q.recorded, start, end, step),
                                     _post(session, url, q.raw, start, end, step), q.static)
        for i in range(repeats):
            for q in built.queries:
                for form in forms if i % 2 == 0 else forms[::-1]:
                    t0 = time.perf_counter()
                    body = _post(session, url, getattr(q, form), start, end, step)
                    wall[q.signal][form].append(time.perf_counter() - t0)
                    engine[q.signal][form].append(_engine_seconds(body))
    total = {f"{kind}_{form}": 0.0 for kind in ("wall", "engine") for form in forms}
    speedups: dict[str, float] = {}
    for q in built.queries:
        med = {f"{kind}_{form}": statistics.median(src[q.signal][form])
               for kind, src in (("wall", wall), ("engine", engine)) for form in forms}
        for k, v in med.items():
            total[k] += v
        per[q.signal].update({
            "recorded_ms": round(med["wall_recorded"] * 1000, 2), "raw_ms": round(med["wall_raw"] * 1000, 2),
            "speedup": round(med["wall_raw"] / med["wall_recorded"], 2),
            "engine_recorded_ms": round(med["engine_recorded"] * 1000, 2),
            "engine_raw_ms": round(med["engine_raw"] * 1000, 2),
            "recorded": q.recorded, "raw": q.raw})
        speedups[q.signal] = med["wall_raw"] / med["wall_recorded"]
    slowest = min(speedups, key=speedups.__getitem__)
    return {
        "recorded_vs_raw_query_speedup": round(total["wall_raw"] / total["wall_recorded"], 2),
        "recorded_vs_raw_engine_speedup": round(total["engine_raw"] / total["engine_recorded"], 2),
        # the sum is led by the heaviest panels; the least-helped panel is what a reader of one dashboard may see
        "recorded_vs_raw_min_panel_speedup": round(speedups[slowest], 2),
        "recorded_vs_raw_min_panel": slowest,
        "recorded_queries_seconds": round(total["wall_recorded"], 3),
        "raw_queries_seconds": round(total["wall_raw"], 3),
        "queries": per,
    }


def run(pods: int = PODS, repeats: int = REPEATS, workdir: Path | None = None,
        progress: Callable[[str], None] = print) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="stereo-bench-queries-", dir=workdir) as tmp:
        built = build(Path(tmp), pods=pods, progress=progress)
        try:
            out = measure(built, repeats)
        finally:
            built.prom.stop()
    out.update(built.timings)
    out["query_setup"] = {"cluster": CLUSTER, "pods": pods, "nodes": NODES, "namespaces": NAMESPACES,
                          "window_seconds": DAY, "step_seconds": STEP, "repeats": repeats,
                          "recording_rules_backfilled": sorted(built.records)}
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pods", type=int, default=PODS)
    p.add_argument("--repeats", type=int, default=REPEATS)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    out = run(args.pods, args.repeats, progress=lambda m: print(m, file=sys.stderr, flush=True))
    if args.json:
        print(json.dumps(out, sort_keys=True, indent=1))
        return 0
    for name, q in out["queries"].items():
        print(f"{name:30} recorded {q['recorded_ms']:8.1f} ms  raw {q['raw_ms']:8.1f} ms  {q['speedup']:6.1f}x  "
              f"(engine {q['engine_recorded_ms']:7.1f} / {q['engine_raw_ms']:7.1f} ms)  "
              f"({q['series']} series, same: {q['same_series']}, Δmedian {q['max_rel_diff_of_medians']:.1%})")
    print(f"recorded_vs_raw_query_speedup {out['recorded_vs_raw_query_speedup']} (sum of round trips), "
          f"{out['recorded_vs_raw_engine_speedup']} (engine only), per-panel minimum "
          f"{out['recorded_vs_raw_min_panel_speedup']} ({out['recorded_vs_raw_min_panel']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
