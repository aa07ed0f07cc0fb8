"""The correlation service: suggestion latency against a Prometheus, and cached requests per second on uvicorn.

* suggest_p50_ms / suggest_p95_ms: the whole suggestion pipeline for one target (fetch the target and its
  candidates, correlate, short windows) in-process, without any cache, after one warm-up run;
* service_rps_cached: `stereo serve` (uvicorn) in its own process on 127.0.0.1 answering the same suggestions URL
  (its answer cached), hit by a thread pool of clients for a bounded number of requests; loopback only;
* healthz_ms_p50/p99/max under regex-heavy load: `stereo serve` in its own process in front of a fake upstream
  (named so: it answers 50 series with 3,000-character pod values), 4 clients sending `pod=~".*.*...="`
  suggestions uncached while /healthz is polled (issue 11: ≤ 100 ms), beside an idle twin process polled
  alternately (healthz_idle_twin_ms_*: what the loaded machine alone costs); healthz_wide_ms_* the same under
  an analysis-heavy load (suggestions over 200 random walks per signal, 6 h; the fake's mode "wide");
* decode_6k_seconds: CPU seconds to put a range query's 6,000 series × 361 points (as the client hands them
  over, parsed JSON) on the grid, numpy per column; decode_6k_seconds_float_loop: the same with a Python float()
  per point, as before.

Usage: python bench/bench_service.py [--prometheus URL] [--json] [--only healthz,healthz_wide,decode]
                                     [--analysis-workers N]
Without --prometheus a throwaway Prometheus 2.42 holding the test suite's planted data is started on 127.0.0.1
(needs `prometheus` and `promtool`) and stopped by pid afterwards.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
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
HEAVY = 'pod=~".*.*.*.*.*.*.*.*.*.*.*.*.*.*.*="'  # exponential for a backtracking engine on a long value


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


@contextlib.contextmanager
def _serve(upstream: str, *options: str) -> Iterator[str]:
    """`stereo serve` in its own process (so the clients do not share its interpreter) in front of `upstream`,
    in an empty directory (no ./stereo.yaml), up when this yields its base URL, stopped by pid afterwards."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="stereo-serve-") as cwd:
        proc = subprocess.Popen([sys.executable, "-m", "generator", "serve", "--prometheus", upstream, "--listen",
                                 f"127.0.0.1:{port}", "--log-level", "warning", *options],
                                cwd=cwd, env={**os.environ, "PYTHONPATH": str(ROOT)},
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        base = f"http://127.0.0.1:{port}"
        try:
            limit = time.monotonic() + 60
            while not _up(base):
                if proc.poll() is not None or time.monotonic() > limit:
                    raise RuntimeError("stereo serve did not start")
                time.sleep(0.1)
            yield base
        finally:
            stop_process(proc)


def _up(base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=1).ok
    except requests.RequestException:
        return False


def _rps_cached(prometheus_url: str, total: int, clients: int) -> float:
    with _serve(prometheus_url) as base:
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


def _ms(values: list[float]) -> dict[str, float]:
    a = np.array(values)
    return {"p50": round(float(np.percentile(a, 50)), 2), "p99": round(float(np.percentile(a, 99)), 2),
            "max": round(float(a.max()), 2)}


def healthz_under_regex_load(polls: int = 300, clients: int = 4, workers: int | None = None,
                             load: str = "regex") -> dict[str, float]:
    """/healthz latency of a `stereo serve` process while regex-heavy requests keep it busy (bounded counts),
    polled alternately with an idle twin process on the same machine at the same time: the twin's latency is
    the machine's own share (scheduling on a loaded host), the difference is the service's. `workers`: the
    service's --analysis-workers (None: its default; 0: analysis in the request threads, as before issue 11).
    `load` "wide": instead, suggestions over a fake upstream answering 200 random walks per signal over 6 h
    (an analysis-heavy load; figures named healthz_wide_*)."""
    # the fake upstream in a process of its own, so that its JSON work does not slow this process's polls
    code = ("import sys, time; sys.path.insert(0, sys.argv[1]); import promlab; "
            "f = promlab.FakePrometheus('http://127.0.0.1:1', mode=sys.argv[2]); print(f.url, flush=True); "
            "sys.stdin.read()")
    mode, params = {"regex": ("long_labels", {"target": TARGET, "selector": HEAVY, "window": "1h"}),
                    "wide": ("wide", {"target": TARGET, "window": "6h"})}[load]
    fake = subprocess.Popen([sys.executable, "-c", code, str(ROOT / "tests" / "correlate"), mode],
                            stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True)
    assert fake.stdout is not None and fake.stdin is not None
    fake_url = fake.stdout.readline().strip()
    options = ("--cache-size", "0", "--timeout", "120s",
               *(("--analysis-workers", str(workers)) if workers is not None else ()))
    stop = [False]
    served = [0]

    def heavy() -> None:
        with requests.Session() as s:
            while not stop[0]:
                s.get(f"{base}/api/v1/suggestions", params=params, timeout=120).raise_for_status()
                served[0] += 1

    busy_ms: list[float] = []
    twin_ms: list[float] = []
    try:
        with _serve(fake_url, *options) as base, _serve(fake_url, *options) as twin_base, \
                ThreadPoolExecutor(clients) as pool, requests.Session() as s:
            running = [pool.submit(heavy) for _ in range(clients)]
            while served[0] < clients:  # every client has had an answer: the load is running
                for f in running:
                    if f.done():
                        f.result()  # a client failed: its error, not an endless wait
                time.sleep(0.05)
            for _ in range(polls):
                for url, out in ((base, busy_ms), (twin_base, twin_ms)):
                    t0 = time.perf_counter()
                    s.get(f"{url}/healthz", timeout=5).raise_for_status()
                    out.append((time.perf_counter() - t0) * 1000)
                time.sleep(0.01)
            stop[0] = True
            for f in running:
                f.result()
    finally:
        stop[0] = True
        fake.stdin.close()  # the fake exits at the end of its input
        fake.wait(timeout=10)
    busy, idle = _ms(busy_ms), _ms(twin_ms)
    name = "healthz" if load == "regex" else f"healthz_{load}"
    return {**{f"{name}_ms_{k}": v for k, v in busy.items()}, **{f"{name}_idle_twin_ms_{k}": v for k, v in
                                                                  idle.items()},
            f"healthz_{load}_requests_served": served[0], "load_average_1m": round(os.getloadavg()[0], 1),
            "healthz_analysis_workers": "default" if workers is None else workers}


def decode_6k(series: int = 6000, points: int = 361) -> dict[str, float]:
    """CPU seconds to decode one range answer of `series` × `points`: numpy per column vs float() per point."""
    from generator.correlate.source import _merge

    rng = np.random.default_rng(1)
    result = [{"metric": {"namespace": f"ns{i % 20}", "pod": f"pod-{i}"},
               "values": [[1_700_000_000 + 60 * j, repr(float(v))] for j, v in enumerate(rng.random(points))]}
              for i in range(series)]

    def float_loop() -> None:  # the decoding before numpy columns, otherwise the same work as _merge
        rows: dict[tuple[tuple[str, str], ...], np.ndarray] = {}
        for item in result:
            key = tuple(sorted(item["metric"].items()))
            pairs = item["values"]
            ts = np.array([float(p[0]) for p in pairs], dtype=np.float64)
            vals = np.array([float(p[1]) for p in pairs], dtype=np.float64)
            row = rows[key] = np.full(points, np.nan)
            idx = np.rint((ts - 1_700_000_000) / 60).astype(np.int64)
            ok = (idx >= 0) & (idx < points)
            row[idx[ok]] = vals[ok]

    def numpy_columns() -> None:
        _merge(result, {}, 1_700_000_000, 60, points, series, "bench", "bench")

    out = {}
    for name, fn in (("decode_6k_seconds_float_loop", float_loop), ("decode_6k_seconds", numpy_columns)):
        best = []
        for _ in range(3):
            t0 = time.process_time()
            fn()
            best.append(time.process_time() - t0)
        out[name] = round(min(best), 3)
    return out


def run(prometheus_url: str, repeats: int = REPEATS, total: int = REQUESTS, clients: int = CLIENTS) -> dict[str, Any]:
    """Measure against `prometheus_url` (which must hold the planted series for TARGET, or any data)."""
    lat = np.array(_suggest_latency(prometheus_url, repeats))
    rps = _rps_cached(prometheus_url, total, clients)
    return {**healthz_under_regex_load(), **healthz_under_regex_load(load="wide"), **decode_6k(),
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
    p.add_argument("--only", help="comma-separated healthz, healthz_wide, decode: those measurements only (no "
                                  "Prometheus needed)")
    p.add_argument("--analysis-workers", type=int, help="healthz: the service's --analysis-workers (0: analysis in "
                                                        "the request threads, as before issue 11)")
    args = p.parse_args(argv)
    if args.only:
        out = {}
        only = set(args.only.split(","))
        if "healthz" in only:
            out.update(healthz_under_regex_load(workers=args.analysis_workers))
        if "healthz_wide" in only:
            out.update(healthz_under_regex_load(workers=args.analysis_workers, load="wide"))
        if "decode" in only:
            out.update(decode_6k())
        print(json.dumps(out, sort_keys=True))
        return 0
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
