"""Stop a child process this program started: SIGTERM, wait, then SIGKILL — by its own pid, never by name."""

from __future__ import annotations

import subprocess


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
