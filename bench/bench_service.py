"""The correlation service: suggestion latency against a Prometheus, and cached requests per second on uvicorn.

* suggest_p50_ms / suggest_p95_ms: the whole suggestion pipeline for one target (fetch the target and its
  candidates, correlate, short windows) in-process, without any cache, after one warm-up run;
* service_rps_cached: `stereo serve` (uvicorn) in its own process on 127.0.0.1 answering the same suggestions URL
  (its answer cached), hit by a thread pool of clients for a bounded number of requests; loopback only.

Usage: python bench/bench_service.py [--prometheus URL] [--json]
Without --prometheus a throwaway Prometheus 2.42 holding the test suite's planted data is started on 127.0.0.1
(needs `prometheus` and `promtool`) and stopped by pid afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

from generator.config import Config  # noqa: E402
from generator.correlate import suggest  # noqa: E402
from generator.correlate.source import Source  # noqa: E402
from generator.correlate.upstream import site_catalog  # noqa: E402
from generator.process import stop as stop_process  # noqa: E402
from generator.simulate.prometheus import free_port  # noqa: E402

TARGET = "container_cpu_usage"
SELECTOR = 'namespace="shop"'
REPEATS = 30
REQUESTS = 2000
CLIENTS = 8


def _suggest_latency(prometheus_url: str, repeats: int) -> list[float]:
    catalog = site_catalog(Config())
    todo = suggest.plan(catalog, [TARGET], {TARGET: ["pod_network_receive_bytes"]})
    matchers = [("namespace", "=", "shop")]
    source = Source(prometheus_url)  # no cache: every run fetches
    times = []
    try:
        for i in range(repeats + 1):
            t0 = time.perf_counter()
            suggest.measure(source, catalog, todo, matchers, "cluster", suggest.Options(), time.time())
            if i:  # the first run warms imports, connections and Prometheus's own caches
                times.append((time.perf_counter() - t0) * 1000)
    finally:
        source.close()
    return times


def _rps_cached(prometheus_url: str, total: int, clients: int) -> float:
    """`stereo serve` in its own process (so the clients do not share its interpreter), stopped by pid."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="stereo-serve-") as cwd:  # no ./stereo.yaml, nothing on sys.path
        proc = subprocess.Popen([sys.executable, "-m", "generator", "serve", "--prometheus", prometheus_url,
                                 "--listen", f"127.0.0.1:{port}", "--log-level", "warning"],
                                cwd=cwd, env={**os.environ, "PYTHONPATH": str(ROOT)},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            base = f"http://127.0.0.1:{port}"
            limit = time.monotonic() + 30
            while True:
                try:
                    if requests.get(f"{base}/healthz", timeout=1).ok:
                        break
                except requests.RequestException:
                    pass
                if proc.poll() is not None or time.monotonic() > limit:
                    raise RuntimeError("stereo serve did not start")
                time.sleep(0.1)
            url, params = f"{base}/api/v1/suggestions", {"target": TARGET, "selector": SELECTOR}
            requests.get(url, params=params, timeout=30).raise_for_status()  # fills the cache

            def loop(n: int) -> int:
                with requests.Session() as s:
                    for _ in range(n):
                        s.get(url, params=params, timeout=30).raise_for_status()
                return n

            share = [total // clients + (i < total % clients) for i in range(clients)]
            t0 = time.perf_counter()
            with ThreadPoolExecutor(clients) as pool:
                done = sum(pool.map(loop, share))
            return done / (time.perf_counter() - t0)
        finally:
            stop_process(proc)


def run(prometheus_url: str, repeats: int = REPEATS, total: int = REQUESTS, clients: int = CLIENTS) -> dict[str, Any]:
    """Measure against `prometheus_url` (which must hold the planted series for TARGET, or any data)."""
    lat = np.array(_suggest_latency(prometheus_url, repeats))
    rps = _rps_cached(prometheus_url, total, clients)
    return {
        "suggest_p50_ms": round(float(np.percentile(lat, 50)), 2),
        "suggest_p95_ms": round(float(np.percentile(lat, 95)), 2),
        "service_rps_cached": round(rps, 1),
        "command": f"python bench/bench_service.py --prometheus {prometheus_url}",
    }


def _with_throwaway_prometheus(args: argparse.Namespace) -> dict[str, Any]:
    sys.path.insert(0, str(ROOT / "tests" / "correlate"))
    import promlab  # the test suite's helper: planted data, backfill, a Prometheus stopped by pid

    with tempfile.TemporaryDirectory(prefix="stereo-bench-") as tmp:
        blocks, _ = promlab.build_blocks(Path(tmp))
        prom = promlab.Prometheus(blocks, Path(tmp) / "prometheus")
        try:
            prom.start()
            out = run(prom.url, args.repeats, args.requests, args.clients)
        finally:
            prom.stop()
    out["command"] = "python bench/bench_service.py  # throwaway Prometheus 2.42 with the planted test data"
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--prometheus", metavar="URL", help="measure against this Prometheus instead of a throwaway one")
    p.add_argument("--repeats", type=int, default=REPEATS)
    p.add_argument("--requests", type=int, default=REQUESTS)
    p.add_argument("--clients", type=int, default=CLIENTS)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    args = p.parse_args(argv)
    if args.prometheus:
        out = run(args.prometheus, args.repeats, args.requests, args.clients)
    else:
        out = _with_throwaway_prometheus(args)
    if args.json:
        print(json.dumps(out, sort_keys=True))
    else:
        print(f"$ {out['command']}")
        print(f"suggestion (fetch + correlate, no cache): p50 {out['suggest_p50_ms']} ms, "
              f"p95 {out['suggest_p95_ms']} ms")
        print(f"service, cached answers: {out['service_rps_cached']} requests/s ({args.clients} clients, loopback)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
