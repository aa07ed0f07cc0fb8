"""`stereo generate` as a user runs it: the whole process (interpreter start, imports, catalog, render, write).

Each run is a fresh process writing every file into a fresh, empty temporary directory; it runs from an empty
working directory, so no ./stereo.yaml or ./correlations.yaml is picked up. The figure is the median wall time;
`generate_cpu_seconds` is the median CPU time (user + system) the process used, from the children's rusage, so
a busy machine shows up as wall time above CPU time.

Usage: python bench/bench_generate.py [--runs 5] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
RUNS = 5


def command() -> list[str]:
    """The installed `stereo` script next to this interpreter, else `python -m generator` from this checkout."""
    script = Path(sys.executable).parent / "stereo"
    return [str(script)] if script.exists() else [sys.executable, "-m", "generator"]


def run(runs: int = RUNS) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    times, cpu, files = [], [], ""
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="stereo-bench-generate-") as tmp:
            argv = [*command(), "generate", "--out", str(Path(tmp) / "out")]
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            done = subprocess.run(argv, cwd=tmp, env=env, capture_output=True, text=True, check=False)
            times.append(time.perf_counter() - t0)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
            if done.returncode != 0:
                raise RuntimeError(f"stereo generate failed: {done.stderr[-1000:]}")
            files = done.stdout.strip()
    name = "stereo" if command()[0].endswith("stereo") else "python -m generator"
    return {
        "generate_seconds": round(statistics.median(times), 3),
        "generate_runs_seconds": [round(t, 3) for t in times],
        "generate_cpu_seconds": round(statistics.median(cpu), 3),
        "generate_runs_cpu_seconds": [round(c, 3) for c in cpu],
        "generate_output": files.replace(str(Path(tmp) / "out"), "<tmp>/out"),
        "command": f"{name} generate --out <empty temp dir>  # {runs} fresh processes, median wall time "
                   "and CPU time (children's rusage)",
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=RUNS)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    out = run(args.runs)
    print(json.dumps(out, sort_keys=True) if args.json else
          f"generate_seconds {out['generate_seconds']} wall, {out['generate_cpu_seconds']} CPU "
          f"(runs wall: {out['generate_runs_seconds']}, CPU: {out['generate_runs_cpu_seconds']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
