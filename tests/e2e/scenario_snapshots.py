"""The scenario lab's snapshots, built in a process of their own: `python -m e2e.scenario_snapshots WORKDIR OUT`.

One cluster per fault scenario (cluster label = scenario name), each four minutes of healthy history and then the
scenario for as long as it needs (`Scenario.minutes`); `e2e.lab.snapshots_in_batches` settles them a few to a
server, one server after the other, and keeps the alerts firing and the recorded series of each. Most of those
minutes are spent waiting for rule rounds, so tests/e2e/conftest.py starts this process at the end of collection
and the tests collected before the e2e ones run meanwhile; `scenario_lab` waits for it and reads OUT (JSON).

A process rather than a thread: tests patch `subprocess.run`, `open` or the catalog's module list for their own
purposes, and none of that may reach this work (nor this work their assertions). SIGTERM stops it cleanly: its
servers are stopped by pid on the way out.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from types import FrameType

from e2e.lab import Lab, cluster, snapshots_in_batches

from generator.simulate.prometheus import Prometheus
from generator.simulate.scenarios import SCENARIOS


def build(workdir: Path) -> Lab:
    clusters = [replace(cluster(name), duration=(s.minutes + 4) * 60, scenario_window=s.minutes * 60)
                for name, s in SCENARIOS.items()]
    return snapshots_in_batches(workdir, clusters)


def dump(lab: Lab) -> dict[str, object]:
    return {"clusters": [c.name for c in lab.clusters], "end": lab.end, "timings": lab.timings,
            "firing": lab.firing, "recorded": {name: sorted(where) for name, where in lab.recorded.items()}}


def load(doc: dict, workdir: Path) -> Lab:
    """The snapshots as a Lab (its server long stopped: firing and recorded are what the tests read)."""
    clusters = [replace(cluster(name)) for name in doc["clusters"]]
    return Lab(Prometheus(workdir / "batch-0", []), clusters, {}, doc["end"], dict(doc["timings"]),
               list(doc["firing"]), {name: set(where) for name, where in doc["recorded"].items()})


class Pending:
    """The process started now; `lab()` waits for it (a failure raises with the end of its log)."""

    def __init__(self, workdir: Path, tests_dir: Path, timeout: float = 3600) -> None:
        self.workdir, self.timeout = workdir, timeout
        self.out, self.log = workdir / "snapshots.json", workdir / "snapshots.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen([sys.executable, "-m", "e2e.scenario_snapshots", str(workdir),
                                          str(self.out)], cwd=tests_dir, stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        self._lab: Lab | None = None

    def lab(self) -> Lab:
        if self._lab is None:
            try:
                code = self.proc.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                self.stop()
                code = -1
            if code != 0:
                tail = self.log.read_text(encoding="utf-8", errors="replace")[-4000:]
                raise RuntimeError(f"the scenario snapshots failed (exit {code}):\n{tail}")
            self._lab = load(json.loads(self.out.read_text(encoding="utf-8")), self.workdir)
        return self._lab

    def stop(self) -> None:
        """SIGTERM by pid (the child stops its servers on the way out), then SIGKILL if it lingers."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _terminated(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(f"stopped by signal {signum}")


def main(argv: list[str]) -> int:
    workdir, out = Path(argv[0]), Path(argv[1])
    signal.signal(signal.SIGTERM, _terminated)
    began = time.monotonic()
    lab = build(workdir)
    lab.timings["process"] = time.monotonic() - began
    out.write_text(json.dumps(dump(lab)), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
