"""`python -m generator.demo`: the whole product on a small simulated cluster, on 127.0.0.1, then nothing left.

A real Prometheus 2.42, promtool, `stereo simulate --serve`, `stereo serve`, `stereo suggest` and
`stereo generate`; one run stopped with SIGTERM carries the checks of what the demo did, one `--once` run that it
ends clean.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
SMALL = ["--nodes", "2", "--namespaces", "2", "--pods", "6", "--duration", "2h", "--seed", "3"]
PLANTED = {"container_cpu_usage", "pod_network_receive_bytes"}

needs_prometheus = pytest.mark.skipif(not (shutil.which("prometheus") and shutil.which("promtool")),
                                      reason="needs prometheus and promtool (apt-get install prometheus)")


def _demo(workdir: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "generator.demo", "--workdir", str(workdir), *SMALL, *extra]


def _started(out: str) -> dict[str, int]:
    line = next(line for line in out.splitlines() if line.startswith("Processes: "))
    found = re.findall(r"([\w ]+?) pid (\d+)", line.removeprefix("Processes: "))
    return {name.strip(): int(pid) for name, pid in found}


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().rsplit(")", 1)[-1].split()[0] == "Z")


def _running_under(workdir: Path) -> list[str]:
    """Command lines of live processes that mention the demo's working directory."""
    out = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit() and int(proc.name) != os.getpid():
            try:
                cmd = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if str(workdir) in cmd and _alive(int(proc.name)):
                out.append(f"{proc.name}: {cmd}")
    return out


def _assert_all_stopped(pids: dict[str, int], workdir: Path) -> None:
    assert set(pids) == {"prometheus", "stereo serve", "stereo simulate"}, pids
    deadline = time.monotonic() + 180  # generous: a busy machine
    while any(_alive(p) for p in pids.values()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [n for n, p in pids.items() if _alive(p)], pids
    assert _running_under(workdir) == []


def _check_what_it_did(out: str, workdir: Path) -> None:
    """The summary names every URL and file; the files are there; suggest found the planted pair."""
    prometheus = re.search(r"^  Prometheus\s+(http://127\.0\.0\.1:\d+)", out, re.M)
    service = re.search(r"^  suggestions example\s+(http://127\.0\.0\.1:\d+)/api/v1/suggestions\?target=\w+", out,
                        re.M)
    assert prometheus and service, out
    for path in ("/docs", "/metrics", "/api/v1/correlations.yaml"):
        assert f"{service.group(1)}{path}" in out
    assert re.search(r"\(answers \d+ suggestions now\)", out), out
    assert re.search(r"^  a\s+b\s+ρ\s+n\s+stability$", out, re.M), out
    assert re.search(r"^  \S+\s+\S+\s+[+-]\d\.\d\d\s+\d+\s+\d+%$", out, re.M), out

    # files: everything under the working directory, dashboards laid out from what was measured
    dashboards = sorted((workdir / "out" / "dashboards").glob("*.json"))
    assert len(dashboards) >= 10
    for sub in ("rules", "alerts", "provisioning/dashboards", "provisioning/datasources"):
        assert any((workdir / "out" / sub).iterdir()), sub
    for path in (str(workdir / "out" / "dashboards") + "/*.json", str(workdir / "correlations.yaml")):
        assert path in out
    datasources = "".join(p.read_text() for p in (workdir / "out" / "provisioning" / "datasources").iterdir())
    assert prometheus.group(1) in datasources and service.group(1) in datasources

    doc = yaml.safe_load((workdir / "correlations.yaml").read_text(encoding="utf-8"))
    assert doc["generated_by"] == "stereo suggest" and doc["pairs"]
    found = {frozenset((p["a"], p["b"])): p for p in doc["pairs"]}
    assert frozenset(PLANTED) in found, sorted(tuple(sorted(k)) for k in found)
    pair = found[frozenset(PLANTED)]
    assert pair["source"] == "measured" and pair["rho"] > 0.5
    assert "container_cpu_usage ↔ pod_network_receive_bytes: found" in out
    layout = "".join(p.read_text(encoding="utf-8") for p in dashboards)
    assert f"ρ = {pair['rho']:+.2f}" in layout  # a panel description cites the measurement


@needs_prometheus
def test_demo_does_everything_runs_until_sigterm_then_stops_everything(tmp_path: Path) -> None:
    """One run of the whole demo (a minute of CPU on a busy machine, so not two): while it runs, everything it
    printed is checked against what it left in its working directory and every process it named is alive; then
    SIGTERM stops them all. `--once` takes the same path up to the summary; its run below checks only its end."""
    workdir = tmp_path / "demo"
    proc = subprocess.Popen(_demo(workdir), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = b""
    try:
        deadline = time.monotonic() + 900  # the demo backfills its history: minutes on a busy machine
        while b"Ctrl-C stops everything" not in out and time.monotonic() < deadline and proc.poll() is None:
            ready, _, _ = select.select([proc.stdout], [], [], 1)
            if ready:
                out += os.read(proc.stdout.fileno(), 65536)  # type: ignore[union-attr]
        assert b"Ctrl-C stops everything" in out, out.decode(errors="replace")
        pids = _started(out.decode())
        assert all(_alive(p) for p in pids.values())
        _check_what_it_did(out.decode(), workdir)
        assert all(_alive(p) for p in pids.values())  # still running after being looked at
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = (out + rest).decode(errors="replace")
    assert proc.returncode == 0, text
    assert "SIGTERM: stopping" in text and "stopped prometheus (pid" in text
    _assert_all_stopped(pids, workdir)


@needs_prometheus
def test_once_prints_the_summary_then_stops_every_process_and_exits(tmp_path: Path) -> None:
    """`--once`, for real: the same stack as above, the summary printed, then everything stopped and exit 0 — never
    the Ctrl-C loop. What the summary and files say is checked in the run above; here, that it ends clean."""
    workdir = tmp_path / "demo"
    run = subprocess.run(_demo(workdir, "--once"), cwd=tmp_path, capture_output=True, text=True, timeout=900,
                         check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Ctrl-C stops everything" not in run.stdout
    pids = _started(run.stdout)
    assert set(pids) >= {"prometheus", "stereo serve", "stereo simulate"}, pids
    _assert_all_stopped(pids, workdir)


def test_demo_refuses_a_directory_it_did_not_make(tmp_path: Path) -> None:
    (tmp_path / "correlations.yaml").write_text("keep me\n")
    run = subprocess.run(_demo(tmp_path, "--once"), capture_output=True, text=True, timeout=60, check=False)
    assert run.returncode == 2 and "not a demo directory" in run.stdout
    assert (tmp_path / "correlations.yaml").read_text() == "keep me\n"


def test_prometheus_is_installed_with_apt_get_when_root(monkeypatch: pytest.MonkeyPatch) -> None:
    from generator import demo

    calls: list[list[str]] = []
    installed = iter([False, True])
    monkeypatch.setattr(demo, "_have_prometheus", lambda: next(installed))
    monkeypatch.setattr(demo.os, "geteuid", lambda: 0)
    monkeypatch.setattr(demo.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.setattr(demo.subprocess, "run",
                        lambda cmd, **_: calls.append(cmd) or subprocess.CompletedProcess(cmd, 0))
    assert demo.ensure_prometheus(lambda _: None)
    assert calls == [["apt-get", "install", "-y", "--no-install-recommends", "prometheus"]]


def test_without_root_the_demo_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    from generator import demo

    said: list[str] = []
    monkeypatch.setattr(demo, "_have_prometheus", lambda: False)
    monkeypatch.setattr(demo.os, "geteuid", lambda: 1000)
    monkeypatch.setattr(demo.subprocess, "run", lambda *a, **k: pytest.fail("must not run anything"))
    assert not demo.ensure_prometheus(said.append)
    assert "apt-get install --no-install-recommends prometheus" in said[-1]
