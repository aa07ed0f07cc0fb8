"""Child processes: stop one this program started (SIGTERM, wait, then SIGKILL — by its own pid, never by name),
and the environment for Go batch tools (promtool, amtool)."""

from __future__ import annotations

import os
import subprocess

# one Go thread and a lazier collector for promtool and amtool, which run briefly and exit: the Go runtime's
# parallel collector otherwise takes a second core and a third of the CPU (`promtool test rules` over
# tests/rules/nodes.yaml: 15.5 → 9.5 s CPU, peak RSS 58 → 185 MB). Not for the servers (Prometheus, vmalert),
# which need their threads under load.
GO_BATCH = {"GOMAXPROCS": "1", "GOGC": "400"}


def go_batch_env() -> dict[str, str]:
    """This process's environment with `GO_BATCH` over it, for a Go batch tool's `env=`."""
    return {**os.environ, **GO_BATCH}


def stop(proc: subprocess.Popen[bytes] | subprocess.Popen[str] | None, grace: float = 20.0) -> int | None:
    """End `proc` and reap it; returns its exit code (None when there was no process). Safe to call twice and
    on a process that already exited. `grace` seconds for a clean exit after SIGTERM, then SIGKILL."""
    if proc is None:
        return None
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode
