"""`make bench`: every figure of the issue, measured in one run, written to bench/results.json and printed.

    python -m bench [--out bench/results.json] [--only generate,spearman,service,queries,suggest] [--pods 500]

Stages (each starts and stops its own processes, by pid, on 127.0.0.1):
* generate  — `stereo generate` as a whole process, median of 5 (bench/bench_generate.py);
* spearman  — the engine against scipy and the bare rank + matmul bound, 2,000 × 1,440 (bench/bench_spearman.py);
* service   — the demo's Prometheus (generator.demo.build: the demo's cluster, 6h of history, every recording
              rule backfilled, the live simulator scraped), then suggestion latency and cached requests/s
              (bench/bench_service.py);
* queries   — dashboard panel queries over a day of a simulated 500-pod cluster, recorded against raw
              (bench/bench_queries.py);
* suggest   — `stereo suggest`'s analysis over 8,000+ series (500 pods, 6 h at 60 s, every default target), CPU
              seconds as suggest_seconds_6k, at 250 pods as suggest_half_seconds, and decoding the same series
              from Prometheus' JSON answers as suggest_decode_seconds_6k, and with 10 % of the pods created
              during the window as suggest_replaced_seconds_6k (bench/bench_suggest.py --decode --replaced 0.1).
* rules     — per-group rule evaluation cost on a 500-pod cluster, against the rules at a base commit
              (bench/bench_rule_eval.py).
The bench reports; it does not assert. Targets are printed next to the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

STAGES = ("generate", "spearman", "service", "queries", "suggest", "rules")
SERVICE_HISTORY = 6 * 3600  # the suggestion window bench_service asks for
# figure -> (target text, test, unit)
TARGETS: dict[str, tuple[str, Callable[[float], bool], str]] = {
    "generate_seconds": ("< 1 s", lambda v: v < 1.0, "s"),
    "generate_cpu_seconds": ("reported", lambda v: True, "s"),
    "spearman_seconds": ("reported", lambda v: True, "s"),
    # at most a fifth of scipy.stats.spearmanr's time; within 1.1x of argsort ranks + one matmul (issue 12, 7)
    "spearman_speedup_vs_scipy": ("≥ 5", lambda v: v >= 5.0, "×"),
    "spearman_vs_rank_matmul": ("≤ 1.1", lambda v: v <= 1.1, "×"),
    "spearman_vs_rank_matmul_cpu": ("≤ 1.1", lambda v: v <= 1.1, "×"),
    "suggest_p50_ms": ("", lambda v: True, "ms"),
    "suggest_p95_ms": ("", lambda v: True, "ms"),
    "service_rps_cached": ("≥ 200/s", lambda v: v >= 200, "/s"),
    # issue 11: /healthz answers within 100 ms while requests are busy (compare the idle twin's: the machine's share)
    "healthz_ms_p99": ("≤ 100 ms", lambda v: v <= 100, "ms"),
    "healthz_wide_ms_p99": ("≤ 100 ms", lambda v: v <= 100, "ms"),
    "recorded_vs_raw_query_speedup": ("≥ 10", lambda v: v >= 10, "×"),
    "suggest_seconds_6k": ("≤ 3 s", lambda v: v <= 3.0, "s"),  # bench/bench_suggest.py: analysis, 500 pods, 6 h
    "suggest_half_seconds": ("reported", lambda v: True, "s"),  # the same at 250 pods: about linear
    "suggest_decode_seconds_6k": ("reported", lambda v: True, "s"),  # the same series from JSON answers
    "suggest_replaced_seconds_6k": ("reported", lambda v: True, "s"),  # 10 % of the pods created in the window
    "recorded_vs_raw_min_panel_speedup": ("reported", lambda v: True, "×"),
    "rule_eval_total_change": ("≤ -0.3", lambda v: v <= -0.3, "(new/base - 1)"),
    "rule_eval_largest_share": ("≤ 0.35", lambda v: v <= 0.35, "of the total"),
    # the same change in Prometheus' process CPU, each group's share counted at its own interval
    "rule_eval_cpu_change": ("reported", lambda v: True, "(new/base - 1)"),
}


def say(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    from generator.simulate.prometheus import version

    model = ""
    with contextlib.suppress(OSError):
        model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), "")
    import numpy
    import scipy

    return {"cpu_count": os.cpu_count(), "cpus_usable": len(os.sched_getaffinity(0)), "cpu_model": model,
            "python": platform.python_version(), "prometheus": version(), "platform": platform.platform(),
            "numpy": numpy.__version__, "scipy": scipy.__version__,
            "load_average_at_start": [round(x, 2) for x in os.getloadavg()]}


def stage_generate() -> tuple[dict[str, Any], dict[str, str]]:
    from bench import bench_generate

    out = bench_generate.run()
    return out, {"generate_seconds": f"{out.pop('command')}  [bench/bench_generate.py run()]"}


def stage_spearman() -> tuple[dict[str, Any], dict[str, str]]:
    from bench import bench_spearman

    out = bench_spearman.run()
    cmd = "bench/bench_spearman.py run()  (python bench/bench_spearman.py --json)"
    return out, {k: cmd for k in out}


def stage_suggest() -> tuple[dict[str, Any], dict[str, str]]:
    from bench import bench_suggest

    out = bench_suggest.run(decode=True, replaced=0.1)
    cmd = out.pop("command")
    return out, {k: cmd for k in out}


def stage_service() -> tuple[dict[str, Any], dict[str, str]]:
    from bench import bench_service
    from generator import demo
    from generator.simulate.run import ClusterSpec

    d = demo.parser().parse_args([])  # the demo's own defaults
    spec = ClusterSpec(demo.CLUSTER, d.nodes, d.namespaces, d.pods)
    with tempfile.TemporaryDirectory(prefix="stereo-bench-demo-") as tmp:
        began = time.monotonic()
        stack = demo.build(Path(tmp), spec, d.seed, SERVICE_HISTORY, say)
        try:
            setup = round(time.monotonic() - began, 1)
            out = bench_service.run(stack.prometheus.url)
        finally:
            stack.stop()
    out.pop("command")
    out["service_setup"] = {"cluster": f"{spec.nodes} nodes, {spec.namespaces} namespaces, {spec.pods} pods",
                            "history_seconds": SERVICE_HISTORY, "setup_seconds": setup,
                            "target": bench_service.TARGET, "selector": bench_service.SELECTOR,
                            "repeats": bench_service.REPEATS, "requests": bench_service.REQUESTS,
                            "clients": bench_service.CLIENTS}
    cmd = ("bench/bench_service.py run(url) against generator.demo.build(demo defaults, 6h)  "
           "(= python bench/bench_service.py --prometheus URL)")
    return out, {k: cmd for k in ("suggest_p50_ms", "suggest_p95_ms", "service_rps_cached", "healthz_ms_p99",
                                  "healthz_wide_ms_p99")}


def stage_queries(pods: int) -> tuple[dict[str, Any], dict[str, str]]:
    from bench import bench_queries

    out = bench_queries.run(pods=pods, progress=say)
    cmd = (f"bench/bench_queries.py run(pods={pods})  (python bench/bench_queries.py --pods {pods}): "
           "query_range over 1d at 60s, median per query, ratio of the summed medians")
    return out, {k: cmd for k in ("recorded_vs_raw_query_speedup", "recorded_vs_raw_engine_speedup")}


def table(results: dict[str, Any]) -> str:
    rows = [("figure", "value", "target", "meets")]
    for name, (target, ok, unit) in TARGETS.items():
        if name in results:
            value = results[name]
            rows.append((name, f"{value:g} {unit}", target, ("yes" if ok(value) else "no") if target else ""))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    extra = [f"{k} = {results[k]}" for k in ("recorded_vs_raw_engine_speedup", "recorded_vs_raw_min_panel",
                                             "scipy_seconds", "rank_matmul_seconds", "max_abs_diff_vs_scipy")
             if k in results]
    return "\n".join(lines + (["", *extra] if extra else []))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(ROOT / "bench" / "results.json"), help="results file (bench/results.json)")
    p.add_argument("--only", default=",".join(STAGES), help=f"comma-separated stages ({','.join(STAGES)})")
    p.add_argument("--pods", type=int, default=500, help="pods of the simulated cluster for the query stage (500)")
    args = p.parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = sorted(set(chosen) - set(STAGES))
    if unknown:
        p.error(f"--only: unknown stage(s) {', '.join(unknown)}; choose from {', '.join(STAGES)}")
    began = time.monotonic()
    results: dict[str, Any] = {"machine": machine(), "commands": {}, "stage_seconds": {}}
    runners: dict[str, Callable[[], tuple[dict[str, Any], dict[str, str]]]] = {
        "generate": stage_generate, "spearman": stage_spearman, "service": stage_service,
        "queries": lambda: stage_queries(args.pods),
        "suggest": stage_suggest,
        "rules": lambda: __import__("bench.bench_rule_eval").bench_rule_eval.stage(args.pods, say)}
    for stage in (s for s in STAGES if s in chosen):
        say(f"{stage} ...")
        t0 = time.monotonic()
        figures, commands = runners[stage]()
        results.update(figures)
        results["commands"].update(commands)
        results["stage_seconds"][stage] = round(time.monotonic() - t0, 1)
        say(f"{stage} done in {results['stage_seconds'][stage]}s")
    results["total_seconds"] = round(time.monotonic() - began, 1)
    results["machine"]["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
    results["targets"] = {k: v[0] for k, v in TARGETS.items() if v[0]}
    Path(args.out).write_text(json.dumps(results, sort_keys=True, indent=1, ensure_ascii=False) + "\n",
                              encoding="utf-8")
    print(table(results))
    facts = results["machine"]
    print(f"\n{sum(k in results for k in TARGETS)} figures in {results['total_seconds']}s on {facts['cpu_count']} CPUs "
          f"(Python {facts['python']}, Prometheus {facts['prometheus']}); written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
