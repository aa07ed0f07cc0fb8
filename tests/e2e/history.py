"""Give a lab's recording rules a history: `promtool tsdb create-blocks-from rules`, one dependency level at a time.

Backfilled raw series have hours of history, recorded series only the minutes since Prometheus started. Signals
(and so `stereo suggest`) read recorded series over hours, so a test of them needs this. promtool evaluates rules
against the running server, so a rule that reads another recorded series needs that one's history loaded first:
rules go in levels (level n reads only raw series and levels below n), and Prometheus restarts after each level
to load the new blocks.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import yaml
from e2e.lab import Lab
from e2e.prometheus import PROMTOOL, Prometheus

RECORD = re.compile(r"(?<![\w:])[a-zA-Z_]\w*:[\w:]+")


def levels(files: dict[str, str]) -> list[list[dict[str, Any]]]:
    """Recording rules grouped so that each level reads only raw series and lower levels."""
    rules = [rule for path, text in sorted(files.items()) if path.startswith("rules/")
             for group in yaml.safe_load(text)["groups"] for rule in group["rules"]]
    names = {r["record"] for r in rules}
    deps = {name: set() for name in names}
    for r in rules:
        deps[r["record"]] |= {n for n in RECORD.findall(r["expr"]) if n in names and n != r["record"]}
    level: dict[str, int] = {}

    def depth(name: str) -> int:
        if name not in level:
            level[name] = 1 + max((depth(d) for d in deps[name]), default=-1)
        return level[name]

    out: list[list[dict[str, Any]]] = []
    for r in rules:
        n = depth(r["record"])
        out.extend([] for _ in range(n + 1 - len(out)))
        out[n].append(r)
    return out


def _record(prom: Prometheus, name: str, rules: list[dict[str, Any]], start: int, end: int, step: str) -> None:
    path, out = prom.workdir / f"{name}.yaml", prom.workdir / f"{name}-blocks"
    path.write_text(yaml.safe_dump({"groups": [{"name": name, "rules": rules}]}), encoding="utf-8")
    run = subprocess.run([PROMTOOL, "tsdb", "create-blocks-from", "rules", f"--url={prom.url}", f"--start={start}",
                          f"--end={end}", f"--output-dir={out}", f"--eval-interval={step}", str(path)],
                         capture_output=True, text=True, timeout=600, check=False)
    if run.returncode != 0:
        raise RuntimeError(f"promtool rule backfill ({name}) failed: {(run.stderr or run.stdout)[-2000:]}")
    for block in out.iterdir():
        if (block / "meta.json").exists():
            shutil.move(str(block), str(prom.data / block.name))
    shutil.rmtree(out, ignore_errors=True)
    path.unlink()


def backfill_recording_rules(lab: Lab, start: int, end: int, step: str = "60s", parallel: int = 4) -> float:
    """Record every rule over [start, end] at `step`; returns the seconds it took. The server restarts.

    promtool queries one rule at a time, so each level is split over `parallel` promtool processes."""
    began = time.monotonic()
    prom = lab.prometheus
    with ThreadPoolExecutor(parallel) as pool:
        for n, rules in enumerate(levels(lab.files)):
            parts = [rules[i::parallel] for i in range(parallel) if rules[i::parallel]]
            jobs = [pool.submit(_record, prom, f"history-{n}-{i}", part, start, end, step)
                    for i, part in enumerate(parts)]
            for job in jobs:
                job.result()
            prom.restart()
    return time.monotonic() - began
