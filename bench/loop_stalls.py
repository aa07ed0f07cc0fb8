"""How much of /healthz's wait is the service's own doing: event-loop stalls of a loaded `stereo serve`, each
split into the part during which the service's own threads used the CPU (its own blocking: a long C call
holding the interpreter lock, a garbage collection) and the rest (the machine did not run it: its share of a
busy host, which the idle twin of bench_service shows too).

The service runs as in bench_service.healthz_under_regex_load (same fake upstream, same load), started through
this file's `--serve` mode: `stereo serve` plus a task on its event loop that sleeps 5 ms again and again and
writes, per wake-up, how late it was and how much CPU the service process (its threads, not its analysis
workers) used meanwhile. The figures: `loop_lag_ms_*` (all of each stall) and `own_cpu_stall_ms_*` (per stall,
the smaller of the lag and the process's CPU time during it). A diagnostic, not a target: the machine decides
the lag, the service only the own-CPU part.

Usage: python bench/loop_stalls.py [--load regex|wide]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))


def _serve_with_ticker(argv: list[str]) -> int:
    """`stereo serve argv`, with the lag ticker writing to $STEREO_LOOP_LOG."""
    from generator.correlate import server

    log = open(os.environ["STEREO_LOOP_LOG"], "w", buffering=1)  # noqa: SIM115 (open for the process' life)
    create = server.create_app

    def create_app(settings: Any) -> Any:
        app = create(settings)
        inner = app.router.lifespan_context

        async def ticker() -> None:
            while True:
                t0, c0 = time.perf_counter(), time.process_time()
                await asyncio.sleep(0.005)
                log.write(f"{(time.perf_counter() - t0 - 0.005) * 1000:.2f} {(time.process_time() - c0) * 1000:.2f}\n")

        @contextlib.asynccontextmanager
        async def lifespan(a: Any) -> AsyncIterator[Any]:
            task = asyncio.get_running_loop().create_task(ticker())
            async with inner(a) as state:
                yield state
            task.cancel()

        app.router.lifespan_context = lifespan
        return app

    server.create_app = create_app
    return server.main(argv)


def measure(load: str) -> dict[str, Any]:
    import bench_service as bs

    from generator.process import stop
    from generator.simulate.prometheus import free_port

    served = [0]
    with tempfile.TemporaryDirectory(prefix="stereo-loop-") as tmp:
        log = Path(tmp) / "lags"

        @contextlib.contextmanager
        def serve(upstream: str, *options: str) -> Iterator[str]:  # the busy side with the ticker, the twin plain
            served[0] += 1
            cmd = [__file__, "--serve"] if served[0] == 1 else ["-m", "generator", "serve"]
            port = free_port()
            proc = subprocess.Popen([sys.executable, *cmd, "--prometheus", upstream, "--listen", f"127.0.0.1:{port}",
                                     "--log-level", "warning", *options], cwd=tmp,
                                    env={**os.environ, "PYTHONPATH": str(ROOT), "STEREO_LOOP_LOG": str(log)},
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            base = f"http://127.0.0.1:{port}"
            try:
                limit = time.monotonic() + 60
                while not bs._up(base):
                    if proc.poll() is not None or time.monotonic() > limit:
                        raise RuntimeError("stereo serve did not start")
                    time.sleep(0.1)
                yield base
            finally:
                stop(proc)

        bs._serve = serve
        out = bs.healthz_under_regex_load(load=load)
        rows = np.loadtxt(log).reshape(-1, 2)
    lag, own = rows[:, 0], np.minimum(rows[:, 0], rows[:, 1])
    for name, v in (("loop_lag_ms", lag), ("own_cpu_stall_ms", own)):
        out.update({f"{name}_p50": round(float(np.percentile(v, 50)), 1),
                    f"{name}_p99": round(float(np.percentile(v, 99)), 1),
                    f"{name}_p999": round(float(np.percentile(v, 99.9)), 1), f"{name}_max": round(float(v.max()), 1)})
    out["loop_ticks"] = int(rows.shape[0])
    return out


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--serve"]:
        return _serve_with_ticker(argv[1:])
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--load", choices=("regex", "wide"), default="wide")
    args = p.parse_args(argv)
    print(json.dumps(measure(args.load), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
