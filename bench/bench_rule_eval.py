"""Rule evaluation cost per group: today's rules against those at a base commit, on one Prometheus, same data.

1. simulate a 500-pod cluster over the last 30 minutes and backfill it; then the live simulator (`stereo simulate
   --serve`) is scraped, so every rule reads fresh samples for as long as the bench runs;
2. render both rule sets (rules/ and alerts/): this checkout's, and `--base`'s (its generator from `git archive`);
   every group's interval is set to EVAL_INTERVAL so rounds come quickly, and the cost is scaled back to the
   group's own interval: per-minute cost = evaluationTime × 60 / interval;
3. load one set, let it settle, then read `evaluationTime` of every group from /api/v1/rules at each new
   `lastEvaluation` (ROUNDS rounds); then the other set; CYCLES times alternating, so load bursts hit both.
   A group's figure is its minimum: on a shared machine the other processes only ever add time. Groups run
   concurrently, so on two busy cores a split group's wall time also grows with its siblings': the process CPU
   (process_cpu_seconds_total over each sampling phase, less the idle rate with no rules loaded, per round of
   evaluations) is the second measure, the one contention does not inflate; per minute, each group's share of a
   round (by its evaluationTime) is counted at its own interval, as evaluationTime is.

Usage: python bench/bench_rule_eval.py [--pods 500] [--base 0648069] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from bench.base_commit import generator_at  # noqa: E402
from generator import pipeline  # noqa: E402
from generator.config import load  # noqa: E402
from generator.demo import Stack  # noqa: E402
from generator.promql import parse_duration  # noqa: E402
from generator.simulate import run as simrun  # noqa: E402
from generator.simulate.prometheus import Prometheus, backfill_simulation, free_port  # noqa: E402

CLUSTER, NODES, NAMESPACES, PODS, SEED = "sim", 4, 4, 500, 1
HISTORY, STEP = 1800, 60
BASE = "0648069"
EVAL_INTERVAL = "15s"
ROUNDS, CYCLES = 4, 3


def _write_set(files: dict[str, str], out: Path) -> dict[str, float]:
    """Write the rule and alert files with every group at EVAL_INTERVAL; returns group -> its own interval (s)."""
    intervals: dict[str, float] = {}
    for rel, text in files.items():
        if not rel.startswith(("rules/", "alerts/")):
            continue
        doc = yaml.safe_load(text)
        for group in doc["groups"]:
            intervals[group["name"]] = parse_duration(group.get("interval", "1m"))
            group["interval"] = EVAL_INTERVAL
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return intervals


def _base_files(commit: str, scratch: Path) -> dict[str, str]:
    """`stereo generate` of the generator at `commit` (default settings), as {relative path: text}."""
    src, out = generator_at(commit, scratch / "src"), scratch / "out"
    subprocess.run([sys.executable, "-m", "generator", "generate", "--out", str(out)], cwd=scratch, check=True,
                   env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"}, capture_output=True)
    return {p.relative_to(out).as_posix(): p.read_text(encoding="utf-8")
            for sub in ("rules", "alerts") for p in sorted((out / sub).glob("*.yaml"))}


def _sample(prom: Prometheus, rounds: int, timeout: float = 600) -> tuple[dict[str, list[float]],
                                                                       dict[str, list[float]]]:
    """evaluationTime of every group, and of every rule, at each of the groups' next `rounds` evaluations."""
    seen: dict[str, dict[str, float]] = {}
    per_rule: dict[str, dict[str, list[float]]] = {}  # group -> stamp -> its rules' times, in order
    groups: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        groups = prom.rule_groups()
        for g in groups:
            stamp = g.get("lastEvaluation", "")
            if stamp and not stamp.startswith("0001-"):
                seen.setdefault(g["name"], {})[stamp] = float(g["evaluationTime"])
                per_rule.setdefault(g["name"], {})[stamp] = [float(r.get("evaluationTime", 0)) for r in g["rules"]]
        if groups and all(len(seen.get(g["name"], {})) > rounds for g in groups):
            break
        time.sleep(1)
    else:
        raise TimeoutError(f"rule groups not evaluated {rounds} times in {timeout}s")
    rules: dict[str, list[float]] = {}
    for g in groups:  # the first stamp seen may predate the reload's settling; drop it
        stamps = [t for _, t in sorted(per_rule.get(g["name"], {}).items())][1:]
        for i, r in enumerate(g["rules"]):
            key = f'{g["name"]}/{r.get("name", "")}#{i}'
            rules[key] = [t[i] for t in stamps if i < len(t)]
    return {name: [v for _, v in sorted(stamps.items())][1:] for name, stamps in seen.items()}, rules


def _cpu(prom: Prometheus) -> tuple[float, float]:
    """(monotonic time, Prometheus's process_cpu_seconds_total)."""
    text = prom.api("/metrics").decode()
    line = next(x for x in text.splitlines() if x.startswith("process_cpu_seconds_total "))
    return time.monotonic(), float(line.split()[1])


def _summary(times: dict[str, list[float]], intervals: dict[str, float],
             rules: dict[str, list[float]]) -> dict[str, Any]:
    per_min = {g: min(v) * 60 / intervals[g] for g, v in times.items()}
    total = sum(per_min.values())
    groups = {g: {"ms_per_minute": round(1000 * c, 2), "share": round(c / total, 3),
                  "median_ms_per_minute": round(1000 * statistics.median(times[g]) * 60 / intervals[g], 2),
                  "interval_s": intervals[g]} for g, c in sorted(per_min.items(), key=lambda kv: -kv[1])}
    # a rule's figure is its minimum over every sampled round, per minute at its group's own interval
    rule_cost = {name: min(v) * 60 / intervals[name.split("/", 1)[0]] for name, v in rules.items() if v}
    top = sorted(rule_cost.items(), key=lambda kv: -kv[1])[:15]
    return {"total_ms_per_minute": round(1000 * total, 1), "groups": groups,
            "slowest_rules_ms_per_minute": {name: round(1000 * t, 2) for name, t in top},
            "largest_group": max(groups, key=lambda g: groups[g]["share"]),
            "largest_share": max(x["share"] for x in groups.values())}


def run(pods: int = PODS, base: str = BASE, progress: Callable[[str], None] = print) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="stereo-bench-rule-eval-") as tmp:
        work = Path(tmp)
        (work / "logs").mkdir()
        sets = {"new": pipeline.generate(load(None)), "base": _base_files(base, work / "base-gen")}
        intervals = {name: _write_set(files, work / name) for name, files in sets.items()}
        end = simrun.now() // STEP * STEP
        spec = simrun.ClusterSpec(CLUSTER, NODES, NAMESPACES, pods)
        sim = simrun.Simulation([spec], SEED, simrun.Window(end=end, duration=HISTORY, step=STEP,
                                                           congested_from=1.0))
        began = time.monotonic()
        samples = backfill_simulation(sim, work / "prom" / "data", work / "scratch")
        progress(f"simulated and backfilled {samples:,} samples ({pods} pods) in {time.monotonic() - began:.0f}s")
        prom = Prometheus(work / "prom", [], work / "prom" / "data", evaluation_interval=EVAL_INTERVAL)
        stack = Stack(work, prom, spec)
        try:
            port = free_port()
            stack.spawn("simulate", ["simulate", "--serve", f"127.0.0.1:{port}", "--nodes", str(NODES),
                                     "--namespaces", str(NAMESPACES), "--pods", str(pods), "--seed", str(SEED),
                                     "--step", f"{STEP}s", "--congested-from", "1", "--cluster", CLUSTER],
                        f"http://127.0.0.1:{port}/metrics", timeout=300)
            scrape = [{"job_name": "stereo-simulator", "honor_labels": True, "scrape_interval": "30s",
                       "scrape_timeout": "30s", "static_configs": [{"targets": [f"127.0.0.1:{port}"]}]}]
            prom.configure([], EVAL_INTERVAL, scrape)
            prom.start()
            time.sleep(60)  # scraping only: the idle rate
            t0, c0 = _cpu(prom)
            time.sleep(120)
            t1, c1 = _cpu(prom)
            idle = (c1 - c0) / (t1 - t0)
            rounds_cpu: dict[str, list[float]] = {name: [] for name in sets}
            times: dict[str, dict[str, list[float]]] = {name: {} for name in sets}
            rules: dict[str, dict[str, list[float]]] = {name: {} for name in sets}
            for cycle in range(CYCLES):
                for name in sets:
                    prom.configure([str(work / name / "rules" / "*.yaml"), str(work / name / "alerts" / "*.yaml")],
                                   EVAL_INTERVAL, scrape)
                    prom.reload()
                    prom.wait_for_rounds(2, timeout=600)
                    t0, c0 = _cpu(prom)
                    sampled, by_rule = _sample(prom, ROUNDS)
                    t1, c1 = _cpu(prom)
                    rounds_cpu[name].append((c1 - c0 - idle * (t1 - t0)) / ((t1 - t0) / parse_duration(EVAL_INTERVAL)))
                    for group, values in sampled.items():
                        times[name].setdefault(group, []).extend(values)
                    for rule, values in by_rule.items():
                        rules[name].setdefault(rule, []).extend(values)
                    progress(f"cycle {cycle + 1}/{CYCLES}: {name} rules sampled")
        finally:
            stack.stop()
    out = {name: _summary(times[name], intervals[name], rules[name]) for name in sets}
    for name in sets:
        # CPU seconds per round of every group (all at EVAL_INTERVAL here); per minute, each group's share of the
        # round (its evaluationTime) counted at its own interval: a 2m group's CPU half as often as a 1m group's
        per_round = {g: min(v) for g, v in times[name].items()}
        per_minute = sum(t * 60 / intervals[name][g] for g, t in per_round.items()) / sum(per_round.values())
        out[name]["cpu_ms_per_round"] = round(1000 * statistics.median(rounds_cpu[name]), 1)
        out[name]["cpu_ms_per_round_all"] = [round(1000 * x, 1) for x in rounds_cpu[name]]
        out[name]["cpu_ms_per_minute"] = round(1000 * statistics.median(rounds_cpu[name]) * per_minute, 1)
    out["idle_cpu_per_s"] = round(idle, 4)
    out["cpu_change"] = round(out["new"]["cpu_ms_per_minute"] / out["base"]["cpu_ms_per_minute"] - 1, 3)
    out["total_change"] = round(out["new"]["total_ms_per_minute"] / out["base"]["total_ms_per_minute"] - 1, 3)
    out["setup"] = {"pods": pods, "nodes": NODES, "namespaces": NAMESPACES, "base": base, "history_s": HISTORY,
                    "eval_interval": EVAL_INTERVAL, "rounds": ROUNDS, "cycles": CYCLES}
    return out


def stage(pods: int = PODS, progress: Callable[[str], None] = print) -> tuple[dict[str, Any], dict[str, str]]:
    """`python -m bench --only rules`: the figures, and the command behind them."""
    out = run(pods, progress=progress)
    figures = {"rule_eval": out, "rule_eval_total_change": out["total_change"],
               "rule_eval_largest_share": out["new"]["largest_share"], "rule_eval_cpu_change": out["cpu_change"]}
    cmd = f"bench/bench_rule_eval.py run(pods={pods}, base={BASE})  (python bench/bench_rule_eval.py --pods {pods})"
    return figures, {"rule_eval_total_change": cmd, "rule_eval_largest_share": cmd}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--pods", type=int, default=PODS)
    p.add_argument("--base", default=BASE, help=f"git commit of the rules to compare with ({BASE})")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    out = run(args.pods, args.base, progress=lambda m: print(m, file=sys.stderr, flush=True))
    if args.json:
        print(json.dumps(out, sort_keys=True, indent=1))
        return 0
    for name in ("base", "new"):
        s = out[name]
        print(f"{name}: {s['total_ms_per_minute']} ms of evaluation per minute; largest {s['largest_group']} "
              f"{s['largest_share']:.0%}")
        for group, g in list(s["groups"].items())[:6]:
            print(f"    {group:32} {g['ms_per_minute']:8.1f} ms/min  {g['share']:.0%}")
        print("  slowest rules (min over rounds, ms per minute):")
        for rule, ms in list(s["slowest_rules_ms_per_minute"].items())[:8]:
            print(f"    {rule:70} {ms:8.1f}")
    print(f"total change new vs base: {out['total_change']:+.0%} (evaluationTime), {out['cpu_change']:+.0%} (CPU: "
          f"{out['base']['cpu_ms_per_minute']} -> {out['new']['cpu_ms_per_minute']} ms per minute)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
