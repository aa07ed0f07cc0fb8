"""generator.process.stop: terminate, wait, kill — on real child processes."""

from __future__ import annotations

import subprocess
import sys

from generator.process import stop


def test_a_process_that_exits_on_sigterm_is_reaped() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
    assert stop(proc) == -15
    assert proc.poll() == -15


def test_a_process_ignoring_sigterm_is_killed_after_the_grace() -> None:
    code = "import signal, sys, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('ready', flush=True); " \
           "time.sleep(600)"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "ready\n"  # the handler is in place
    assert stop(proc, grace=0.5) == -9
    proc.stdout.close()


def test_stopping_twice_or_nothing_is_harmless() -> None:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    assert stop(proc) == 0 and stop(proc) == 0
    assert stop(None) is None
