"""A live /metrics page for the simulated cluster: every scrape shows the values at wall-clock time.

The simulation starts `WARMUP` before the server does (so counters already have a history and rates exist on
the first scrape) and moves forward in `--step` ticks as scrapes arrive. Scenarios play from the start. All
targets are on one page: point one Prometheus job at it with `honor_labels: true`.
"""

from __future__ import annotations

import io
import sys
import threading
import time
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from generator.simulate.openmetrics import write_text
from generator.simulate.run import ClusterSpec, Window, build_world
from generator.simulate.series import Registry

WARMUP = 600
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class LiveCluster:
    """A simulation that catches up with the clock when asked for its values."""

    def __init__(self, spec: ClusterSpec, seed: int, window: Window, start: float | None = None) -> None:
        begin = int(time.time() if start is None else start) - WARMUP
        self.step = window.step
        live = replace(window, end=begin + window.duration)
        self.registry = Registry(history=False)
        self.world = build_world(spec, self.registry, seed, live, live=True)  # its clock starts at `begin`
        self.next = float(self.world.settings.start)
        self.lock = threading.Lock()
        self.ticks = 0

    def advance(self, now: float) -> None:
        while self.next <= now:
            self.registry.tick = self.ticks
            self.world.tick(self.next)
            self.ticks += 1
            self.next += self.step

    def render(self, now: float | None = None) -> str:
        with self.lock:
            self.advance(time.time() if now is None else now)
            out = io.StringIO()
            write_text(self.registry, out)
            return out.getvalue()


def make_server(host: str, port: int, cluster: LiveCluster) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # http.server's naming
            if self.path.split("?", 1)[0] not in ("/metrics", "/"):
                self.send_error(404, "only /metrics here")
                return
            body = cluster.render().encode()
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # quiet: scrapes come every few seconds
            pass

    return ThreadingHTTPServer((host, port), Handler)


def main(address: tuple[str, int], spec: ClusterSpec, seed: int, window: Window) -> int:
    host, port = address
    try:
        server = make_server(host, port, LiveCluster(spec, seed, window))
    except OSError as exc:
        print(f"stereo simulate: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"stereo simulate: serving {spec.name} on http://{host}:{server.server_address[1]}/metrics", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
