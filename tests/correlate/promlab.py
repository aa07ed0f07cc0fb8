"""A real Prometheus 2.42 on 127.0.0.1 with data the test writes: OpenMetrics → promtool backfill → server.

`planted()` writes the recorded series behind real catalog signals for one pod (and its node): a planted
correlated pair (container CPU ↔ pod network receive, sharing their increments plus noise) among independent
decoys — random walks, an AR(1) series, a smoothed rate, white noise and a constant. `Prometheus` starts the
server (the project's one runner, `generator.simulate.prometheus`) on a free port over a copy of the backfilled
blocks and always stops it by pid. `FakePrometheus` stands in front of it only to inject faults.
"""

from __future__ import annotations

import http.server
import json
import shutil
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import numpy as np

from generator.simulate import prometheus as runner
from generator.simulate.prometheus import free_port as free_port  # the tests import it from here

CLUSTER, NAMESPACE, POD, INSTANCE = "test", "shop", "web-1", "10.0.0.1:9100"
STEP = 60
POINTS = 7 * 60 + 1  # 7h at 1m: any query over the last 6h sees data even a few minutes after writing
SEED = 20230501

POD_LABELS = {"cluster": CLUSTER, "namespace": NAMESPACE, "pod": POD}
NODE_LABELS = {"cluster": CLUSTER, "instance": INSTANCE}
PLANTED = ("container_cpu_usage", "pod_network_receive_bytes")
# catalog signal → (recorded series it reads, extra labels, how the decoy is made)
SERIES: dict[str, tuple[str, dict[str, str], str]] = {
    "container_cpu_usage": ("cluster_namespace_pod:container_cpu_usage_seconds:rate5m", POD_LABELS, "planted"),
    "pod_network_receive_bytes": ("cluster_namespace_pod:container_network_receive_bytes:rate5m", POD_LABELS,
                                  "planted"),
    "container_memory_working_set": ("cluster_namespace_pod:container_memory_working_set_bytes:sum", POD_LABELS,
                                     "random_walk"),
    "pod_network_transmit_bytes": ("cluster_namespace_pod:container_network_transmit_bytes:rate5m", POD_LABELS,
                                   "random_walk"),
    "service_request_rate": ("namespace_pod:http_requests:rate5m", POD_LABELS, "random_walk"),
    "service_latency_p99": ("namespace_pod_quantile:http_request_duration_seconds:histogram_quantile",
                            {**POD_LABELS, "quantile": "0.99"}, "ar1"),
    "container_cpu_throttling_ratio": ("cluster_namespace_pod_container:container_cpu_cfs_throttled_periods:"
                                       "ratio_rate5m", {**POD_LABELS, "container": "app"}, "white"),
    "node_cpu_utilisation": ("instance:node_cpu_utilisation:rate5m", NODE_LABELS, "random_walk"),
    "node_memory_utilisation": ("instance:node_memory_utilisation:ratio", NODE_LABELS, "smoothed"),
    "pod_restarts": ("cluster_namespace_pod:kube_pod_container_status_restarts:increase5m", POD_LABELS, "constant"),
}
DECOYS = tuple(name for name, (_, _, kind) in SERIES.items() if kind not in ("planted", "constant"))


def planted(points: int = POINTS, seed: int = SEED) -> dict[str, np.ndarray]:
    """Values per catalog signal name (fixed seed): the planted pair and the decoys."""
    rng = np.random.default_rng(seed)
    shared = rng.normal(size=points)
    out: dict[str, np.ndarray] = {}
    for name, (_, _, kind) in SERIES.items():
        if kind == "planted":
            scale, base = (0.02, 1.0) if name == "container_cpu_usage" else (4e3, 2e5)
            out[name] = base + scale * np.cumsum(shared + 0.4 * rng.normal(size=points))
        elif kind == "random_walk":
            out[name] = 100 + np.cumsum(rng.normal(size=points))
        elif kind == "ar1":
            x = np.zeros(points)
            for i in range(1, points):
                x[i] = 0.9 * x[i - 1] + rng.normal()
            out[name] = 0.3 + 0.01 * x
        elif kind == "smoothed":  # a 5-minute average of noise, like a rate5m sampled every minute
            out[name] = 0.5 + 0.01 * np.convolve(rng.normal(size=points + 4), np.ones(5) / 5, mode="valid")
        elif kind == "white":
            out[name] = 0.1 + 0.01 * rng.normal(size=points)
        else:
            out[name] = np.zeros(points)
    return out


def write_openmetrics(path: Path, values: dict[str, np.ndarray], end: int, step: int = STEP) -> None:
    """One gauge family per recorded series, samples in time order, ending at `end` (seconds), then # EOF."""
    lines = []
    for name, (metric, labels, _) in SERIES.items():
        vals = values[name]
        start = end - (vals.size - 1) * step
        lines.append(f"# TYPE {metric} gauge")
        sel = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        lines += [f"{metric}{{{sel}}} {v!r} {start + i * step}" for i, v in enumerate(vals.tolist())]
    lines.append("# EOF")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


class Prometheus(runner.Prometheus):
    """The project's runner (`generator.simulate.prometheus.Prometheus`) over a copy of `blocks`: no rules, no
    scrapes; `stop()` ends it by pid (idempotent) and `start()` after it restarts it on the same port."""

    def __init__(self, blocks: Path, workdir: Path, port: int | None = None) -> None:
        workdir.mkdir(parents=True, exist_ok=True)
        if not (workdir / "data").exists():
            shutil.copytree(blocks, workdir / "data")
        super().__init__(workdir, [], workdir / "data", port=port)
        self.blocks = blocks


def build_blocks(workdir: Path, end: int | None = None) -> tuple[Path, int]:
    """Write the planted data ending at `end` (default: now, rounded down to the step) and backfill it."""
    end = end if end is not None else int(time.time()) // STEP * STEP
    om = workdir / "planted.om"
    write_openmetrics(om, planted(), end)
    blocks = workdir / "blocks"
    runner.backfill(om, blocks)
    return blocks, end


class FakePrometheus:
    """An http.server thread on 127.0.0.1 that exists only to inject upstream faults.

    `mode`: "proxy" forwards to the real Prometheus behind it (no fault), "slow" sleeps `delay` seconds then
    proxies, "error500" answers HTTP 500, "reject400" answers HTTP 400 (a query Prometheus refuses), "garbage"
    answers 200 with invalid JSON, "shape" answers 200 with JSON of the wrong shape, "dribble" sends the headers
    and then one byte of a valid answer a second (to the end, even when `.mode` changes meanwhile, as a slow
    upstream would), "long_labels" answers 50 series whose `pod` values are 3,000 characters long, "wide"
    answers `wide` series (pods wide-0, wide-1, ...) of random walks at every step of the asked range (seeded by
    the query: the same question gets the same answer) — an analysis-heavy load.
    It records the peak number of requests in flight and the headers it saw."""

    def __init__(self, upstream: str, mode: str = "proxy", delay: float = 0.0) -> None:
        self.upstream, self.mode, self.delay = upstream, mode, delay
        self.wide = 200
        self.requests = 0
        self.in_flight = 0
        self.max_in_flight = 0
        self.headers: list[dict[str, str]] = []
        self.paths: list[str] = []  # request paths with their query strings, as received
        self.release = threading.Event()  # set at teardown: sleeping handlers return at once
        self._lock = threading.Lock()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._serve(self)

            def do_POST(self) -> None:
                fake._serve(self)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def _serve(self, h: http.server.BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.requests += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            self.headers.append(dict(h.headers))
            self.paths.append(h.path)
        try:
            mode = self.mode
            if mode == "slow":
                self.release.wait(self.delay)
            if mode == "error500":
                self._send(h, 500, b'{"status":"error","errorType":"internal","error":"injected fault"}')
            elif mode == "reject400":
                self._send(h, 400, b'{"status":"error","errorType":"bad_data","error":"injected: parse error"}')
            elif mode == "long_labels":
                q = urllib.parse.parse_qs(urllib.parse.urlsplit(h.path).query)
                start, step = float(q.get("start", ["0"])[0]), float(q.get("step", ["60"])[0])
                series = [{"metric": {"__name__": "x", "namespace": "shop", "pod": f"{i:03d}" + "a" * 3000},
                           "values": [[start + k * step, str((k * 7 + i) % 11)] for k in range(30)]}
                          for i in range(50)]
                self._send(h, 200, json.dumps({"status": "success", "data": {"resultType": "matrix",
                                                                              "result": series}}).encode())
            elif mode == "wide":
                self._send(h, 200, self._wide(h.path))
            elif mode == "dribble":
                self._dribble(h)
            elif mode == "garbage":
                self._send(h, 200, b'{"status": "success", "data": {"resultType": "matrix", "result": [{"met')
            elif mode == "shape":
                self._send(h, 200, json.dumps({"status": "success", "data": {"result": {"not": "a list"}}}).encode())
            else:
                try:
                    with urllib.request.urlopen(self.upstream + h.path, timeout=10) as resp:
                        self._send(h, resp.status, resp.read())
                except urllib.error.HTTPError as exc:
                    self._send(h, exc.code, exc.read())
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (its timeout): nothing to answer
        finally:
            self._counted_out(h)

    def _counted_out(self, h: http.server.BaseHTTPRequestHandler) -> None:
        """The request leaves `in_flight` (once)."""
        with self._lock:
            if not getattr(h, "counted_out", False):
                h.counted_out = True  # type: ignore[attr-defined]
                self.in_flight -= 1

    def _wide(self, path: str) -> bytes:
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
        start, step = float(q.get("start", ["0"])[0]), float(q.get("step", ["60"])[0])
        points = int((float(q.get("end", [str(start)])[0]) - start) // step) + 1
        rng = np.random.default_rng(sum(q.get("query", [""])[0].encode()))
        walks = np.cumsum(rng.standard_normal((self.wide, points)), axis=1).round(3)
        series = [{"metric": {"namespace": "shop", "pod": f"wide-{i}", "container": "app"},
                   "values": [[start + k * step, str(v)] for k, v in enumerate(row.tolist())]}
                  for i, row in enumerate(walks)]
        return json.dumps({"status": "success", "data": {"resultType": "matrix", "result": series}}).encode()

    def _dribble(self, h: http.server.BaseHTTPRequestHandler) -> None:
        body = b'{"status":"success","data":{"resultType":"matrix","result":[]}}'
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.flush()
        for i in range(len(body)):
            if self.release.wait(1.0):
                break
            h.wfile.write(body[i:i + 1])
            h.wfile.flush()

    def _send(self, h: http.server.BaseHTTPRequestHandler, status: int, body: bytes) -> None:
        # out of `in_flight` before the answer goes: a client holding it may send its next request at once, before
        # this handler thread runs again (seen: a limit of 2 counted as 3 in flight on a loaded machine)
        self._counted_out(h)
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        h.end_headers()
        h.wfile.write(body)

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
