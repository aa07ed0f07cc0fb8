"""A real `stereo serve` process for tests: on a free 127.0.0.1 port, waited for until /healthz answers, stopped by
pid (generator.process.stop) whatever the test did. Its stderr goes to a log file the test can read."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from generator.process import stop
from generator.simulate.prometheus import free_port

UP_WITHIN = 180.0  # seconds: generous, the machine may be busy


@dataclass(frozen=True)
class Served:
    url: str
    port: int
    log: Path

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def up(url: str) -> bool:
    try:
        return requests.get(f"{url}/healthz", timeout=2).ok
    except requests.RequestException:
        return False


@contextmanager
def serving(prometheus: str, workdir: Path, *flags: str) -> Iterator[Served]:
    """`stereo serve --prometheus PROMETHEUS FLAGS…` run in `workdir`; yields once it answers."""
    port = free_port()
    served = Served(f"http://127.0.0.1:{port}", port, workdir / f"serve-{port}.log")
    with served.log.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "generator", "serve", "--prometheus", prometheus,
                                 "--listen", f"127.0.0.1:{port}", "--log-level", "warning", *flags],
                                cwd=workdir, stdout=subprocess.DEVNULL, stderr=log, stdin=subprocess.DEVNULL)
    try:
        limit = time.monotonic() + UP_WITHIN
        while not up(served.url):
            assert proc.poll() is None and time.monotonic() < limit, \
                f"stereo serve did not come up: {served.log_text()[-2000:]}"
            time.sleep(0.1)
        yield served
    finally:
        stop(proc)
