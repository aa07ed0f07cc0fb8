"""VictoriaMetrics and vmalert on 127.0.0.1 (Debian's `victoria-metrics`): the second PromQL engine the e2e tests
run Stereo's rules on. Start, import, query, stop by pid, like generator.simulate.prometheus.Prometheus.

- `VictoriaMetrics.import_openmetrics(path)` sends the simulator's OpenMetrics file (timestamps in seconds) to
  /api/v1/import/prometheus, which reads the Prometheus text format with timestamps in milliseconds.
- VictoriaMetrics hides the newest 30s of data from queries by default (`-search.latencyOffset`) and caches
  responses; both are off here: the rules must see the freshly imported samples and their own recorded series.
- vmalert evaluates from "now", as Prometheus does: the samples must reach the present.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from generator.simulate.prometheus import free_port

VICTORIA_METRICS = shutil.which("victoria-metrics") or "/usr/bin/victoria-metrics"
VMALERT = shutil.which("vmalert") or "/usr/bin/vmalert"
CHUNK = 8 * 1024 * 1024


def _get(url: str, timeout: float = 30) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return bytes(resp.read())


class _Process:
    name = ""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"{self.name}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def args(self) -> list[str]:
        raise NotImplementedError

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def tail(self, chars: int = 2000) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")[-chars:] if self.log.exists() else ""

    def start(self, timeout: float = 60) -> _Process:
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(self.args(), stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}: {self.tail()}")
            try:
                if _get(f"{self.url}/health", timeout=2).strip() == b"OK":
                    return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"{self.name} not ready after {timeout}s: {self.tail()}")

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


class VictoriaMetrics(_Process):
    name = "victoria-metrics"

    def args(self) -> list[str]:
        return [VICTORIA_METRICS, f"-storageDataPath={self.workdir / 'vm-data'}",
                f"-httpListenAddr=127.0.0.1:{self.port}", "-retentionPeriod=1", "-search.latencyOffset=0s",
                "-search.disableCache", "-loggerLevel=ERROR"]

    def import_openmetrics(self, path: Path) -> int:
        """Send the file's samples (seconds → milliseconds); returns the number of samples sent."""
        samples = 0
        for chunk in _chunks(path):
            samples += chunk.count(b"\n")
            req = urllib.request.Request(f"{self.url}/api/v1/import/prometheus", data=chunk, method="POST")
            with urllib.request.urlopen(req, timeout=300) as resp:
                if resp.status != 204:
                    raise RuntimeError(f"import answered {resp.status}: {resp.read()[:500]!r}")
        self.flush()
        return samples

    def import_matrix(self, result: list[dict[str, Any]]) -> int:
        """A Prometheus query_range result (its "result" list) into /api/v1/import (JSON lines); NaN points are
        left out (JSON has no NaN). Returns the number of samples sent."""
        lines, samples = [], 0
        for series in result:
            points = [(int(float(t) * 1000), float(v)) for t, v in series["values"] if v.lower() != "nan"]
            if points:
                samples += len(points)
                lines.append(json.dumps({"metric": series["metric"], "timestamps": [t for t, _ in points],
                                         "values": [v for _, v in points]}))
        req = urllib.request.Request(f"{self.url}/api/v1/import", data="\n".join(lines).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=300) as resp:
            if resp.status != 204:
                raise RuntimeError(f"import answered {resp.status}: {resp.read()[:500]!r}")
        self.flush()
        return samples

    def flush(self) -> None:
        """Make what was written so far searchable now (VictoriaMetrics otherwise does it every few seconds)."""
        _get(f"{self.url}/internal/force_flush")

    def query(self, expr: str) -> list[dict[str, Any]]:
        body = json.loads(_get(f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": expr})))
        return list(body["data"]["result"])


def _chunks(path: Path) -> Iterator[bytes]:
    """The samples of an OpenMetrics file as Prometheus text lines with millisecond timestamps, in chunks."""
    out: list[bytes] = []
    size = 0
    with path.open("rb") as lines:
        for line in lines:
            if line.startswith(b"#"):
                continue
            head, _, stamp = line.rstrip(b"\n").rpartition(b" ")
            out.append(head + b" " + stamp + b"000\n")
            size += len(head) + len(stamp) + 5
            if size >= CHUNK:
                yield b"".join(out)
                out, size = [], 0
    if out:
        yield b"".join(out)


class VMAlert(_Process):
    name = "vmalert"

    def __init__(self, workdir: Path, rule_files: list[Path], vm: VictoriaMetrics, interval: str = "5s") -> None:
        super().__init__(workdir)
        self.rule_files, self.vm, self.interval = rule_files, vm, interval
        self.notifier_port = free_port()  # nothing listens there: notifications fail, alerts are read by API

    def args(self) -> list[str]:
        return [VMALERT, *(f"-rule={p}" for p in self.rule_files), f"-datasource.url={self.vm.url}",
                f"-remoteWrite.url={self.vm.url}", f"-evaluationInterval={self.interval}",
                f"-httpListenAddr=127.0.0.1:{self.port}", f"-notifier.url=http://127.0.0.1:{self.notifier_port}",
                "-remoteWrite.flushInterval=1s", "-loggerLevel=ERROR"]

    def alerts(self) -> list[dict[str, Any]]:
        return list(json.loads(_get(f"{self.url}/api/v1/alerts"))["data"]["alerts"])

    def iterations(self) -> dict[str, float]:
        """Evaluations so far per group, from vmalert's own metrics."""
        out: dict[str, float] = {}
        for line in _get(f"{self.url}/metrics").decode().splitlines():
            m = re.match(r'^vmalert_iteration_total\{.*?group="([^"]+)".*\} (\S+)$', line)
            if m:
                out[m.group(1)] = out.get(m.group(1), 0) + float(m.group(2))
        return out

    def wait_for_rounds(self, groups: int, rounds: int, timeout: float = 180) -> float:
        """Until every one of `groups` rule groups has run `rounds` times; returns the seconds waited."""
        began = time.monotonic()
        seen: dict[str, float] = {}
        while time.monotonic() - began < timeout:
            seen = self.iterations()
            if len(seen) >= groups and min(seen.values()) >= rounds:
                return time.monotonic() - began
            time.sleep(1)
        raise RuntimeError(f"vmalert ran {len(seen)}/{groups} groups, fewest rounds {min(seen.values(), default=0)}"
                           f" after {timeout}s: {self.tail()}")


def dry_run(rule_files: list[Path]) -> subprocess.CompletedProcess[str]:
    """`vmalert -dryRun`: parses every group, expression and annotation template, evaluates nothing."""
    return subprocess.run([VMALERT, "-dryRun", *(f"-rule={p}" for p in rule_files)], capture_output=True,
                          text=True, timeout=120, check=False)
