"""amtool and a real Alertmanager, as the Alertmanager tests use them: `amtool(*args)`, `routes(file, **labels)`
(the receivers `amtool config routes test` picks), `running(file, data)` (an Alertmanager on a free local port,
ready, stopped by its pid), `post` alerts to it and `settle` until their states are the expected ones."""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from generator.process import go_batch_env, stop
from generator.simulate.prometheus import free_port

AMTOOL = shutil.which("amtool")
ALERTMANAGER = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
DEADLINE = 120.0  # seconds: generous, the machine is busy


def amtool(*args: str) -> subprocess.CompletedProcess[str]:
    """amtool with its output captured; a missing amtool is a failure (`make test` installs it)."""
    assert AMTOOL, "amtool is missing: install Debian's prometheus-alertmanager"
    return subprocess.run([AMTOOL, *args], capture_output=True, text=True, check=False, timeout=60, env=go_batch_env())


def routes(config_file: Path, **labels: str) -> list[str]:
    """The receivers an alert with `labels` reaches, in amtool's order."""
    done = amtool("config", "routes", "test", f"--config.file={config_file}", *(f"{k}={v}" for k, v in labels.items()))
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.strip().split(",")


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as resp:
            return resp.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def running(config_file: Path, data: Path, *flags: str, log: list[str] | None = None) -> Iterator[str]:
    """A real Alertmanager with `config_file` on a free 127.0.0.1 port, once /-/ready answers: yields its URL.
    `log` collects its stderr lines (always read, so the pipe never fills)."""
    assert ALERTMANAGER, "prometheus-alertmanager is missing: install Debian's prometheus-alertmanager"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    lines = log if log is not None else []
    proc = subprocess.Popen([ALERTMANAGER, f"--config.file={config_file}", f"--storage.path={data}",
                             f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address=", *flags],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    threading.Thread(target=lambda: lines.extend(iter(proc.stderr.readline, "")), daemon=True).start()
    try:
        deadline = time.monotonic() + DEADLINE
        while not _ready(url):
            assert proc.poll() is None and time.monotonic() < deadline, "alertmanager did not start: " + "".join(
                lines[-5:])
            time.sleep(0.1)
        yield url
    finally:
        stop(proc, grace=10)


def post(url: str, alerts: list[dict[str, str]]) -> None:
    """Alerts given by their labels, firing now."""
    body = json.dumps([{"labels": a} for a in alerts]).encode()
    req = urllib.request.Request(f"{url}/api/v2/alerts", body, {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.status == 200


def states(url: str, *keys: str) -> dict[tuple[str, ...], str]:
    """Each alert's state (active, suppressed) by the values of `keys` among its labels ("" when missing)."""
    with urllib.request.urlopen(f"{url}/api/v2/alerts", timeout=5) as resp:
        alerts = json.load(resp)
    return {tuple(a["labels"].get(k, "") for k in keys): a["status"]["state"] for a in alerts}


def settle(url: str, expected: dict[tuple[str, ...], str], *keys: str) -> dict[tuple[str, ...], str]:
    """The states once they equal `expected` (Alertmanager marks inhibited alerts asynchronously), or as they are
    at the deadline."""
    deadline = time.monotonic() + DEADLINE
    while (now := states(url, *keys)) != expected and time.monotonic() < deadline:
        time.sleep(0.2)
    return now
