"""A real Prometheus 2.42 on 127.0.0.1 for end-to-end tests: backfill, start, wait, query, reload, stop by pid.

Backfilled blocks go straight into the data directory before the server starts. Prometheus 2.42 always accepts
blocks that overlap each other (the `--storage.tsdb.allow-overlapping-blocks` flag is gone since 2.39), so no
flag is needed; the retention is long enough that blocks ending "now" are kept.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def backfill(openmetrics: Path, data_dir: Path, timeout: float = 300) -> None:
    """`promtool tsdb create-blocks-from openmetrics`; raises with promtool's own message on failure."""
    run = subprocess.run([PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", "--quiet", str(openmetrics),
                          str(data_dir)], capture_output=True, text=True, timeout=timeout, check=False)
    if run.returncode != 0:
        raise RuntimeError(f"promtool backfill failed: {(run.stderr or run.stdout)[-2000:]}")


class Prometheus:
    """One server process. `stop()` ends exactly that process (by pid) and is safe to call twice."""

    def __init__(self, workdir: Path, rule_globs: list[str], data_dir: Path | None = None,
                 evaluation_interval: str = "5s") -> None:
        self.workdir = workdir
        self.data = data_dir or workdir / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = workdir / "prometheus.yml"
        self.config.write_text(json.dumps({"global": {"evaluation_interval": evaluation_interval},
                                           "rule_files": rule_globs}, indent=1), encoding="utf-8")
        self.log = workdir / "prometheus.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 60) -> Prometheus:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [PROMETHEUS, f"--config.file={self.config}", f"--storage.tsdb.path={self.data}",
                 "--storage.tsdb.retention.time=30d", f"--web.listen-address=127.0.0.1:{self.port}",
                 "--web.enable-lifecycle", "--log.level=warn"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.proc.returncode}: {self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"prometheus not ready after {timeout}s: {self.tail()}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)

    def restart(self, timeout: float = 60) -> Prometheus:
        """Stop and start again on the same port (to load blocks added to the data directory)."""
        self.stop()
        return self.start(timeout)

    def tail(self, chars: int = 2000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    # ---- HTTP API ----------------------------------------------------------------------------------------
    def api(self, path: str, method: str = "GET", **params: str) -> Any:
        data = urllib.parse.urlencode(params).encode() if method == "POST" else None
        url = f"{self.url}{path}" + (f"?{urllib.parse.urlencode(params)}" if params and method == "GET" else "")
        req = urllib.request.Request(url, data=data, method=method)
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                body = resp.read()
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"{method} {path} {params}: HTTP {exc.code} {exc.read()[:500]!r}") from None
        if not path.startswith("/api/"):
            return body
        payload = json.loads(body)
        if payload.get("status") != "success":
            raise RuntimeError(f"{path} {params}: {payload}")
        return payload["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        params = {"query": expr} if at is None else {"query": expr, "time": f"{at:.3f}"}
        return self.api("/api/v1/query", "POST", **params)["result"]

    def query_range(self, expr: str, start: float, end: float, step: str) -> list[dict[str, Any]]:
        return self.api("/api/v1/query_range", "POST", query=expr, start=f"{start:.3f}", end=f"{end:.3f}",
                        step=step)["result"]

    def alerts(self) -> list[dict[str, Any]]:
        return self.api("/api/v1/alerts")["alerts"]

    def rule_groups(self) -> list[dict[str, Any]]:
        return self.api("/api/v1/rules")["groups"]

    def reload(self) -> None:
        self.api("/-/reload", "POST")

    def wait_for_rounds(self, rounds: int = 3, timeout: float = 120) -> float:
        """Wait until every rule group has been evaluated `rounds` times since now; returns the seconds waited."""
        began = time.monotonic()
        seen: dict[str, set[str]] = {}
        deadline = began + timeout
        while time.monotonic() < deadline:
            groups = self.rule_groups()
            for g in groups:
                stamp = g.get("lastEvaluation", "")
                if stamp and not stamp.startswith("0001-"):
                    seen.setdefault(g["file"] + g["name"], set()).add(stamp)
            if groups and all(len(seen.get(g["file"] + g["name"], ())) >= rounds for g in groups):
                return time.monotonic() - began
            time.sleep(0.5)
        slow = sorted(g["name"] for g in self.rule_groups() if len(seen.get(g["file"] + g["name"], ())) < rounds)
        raise TimeoutError(f"rule groups not evaluated {rounds} times in {timeout}s: {slow}")
