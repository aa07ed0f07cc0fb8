"""promtool runs the tests share: `check_and_test(tree)` checks a tree's rule files and runs its tests/rules.
The session fixture `committed_promtool` (tests/conftest.py) runs it once over the committed output, started at
the end of collection as `PendingRun` so that promtool works beside the tests that come first."""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from generator.process import go_batch_env

PROMTOOL = shutil.which("promtool")


def promtool(*args: str, cwd: Path, timeout: float = 1200) -> subprocess.CompletedProcess[str]:
    """promtool with its output captured; a missing promtool is a failure (`make test` installs it)."""
    assert PROMTOOL, "promtool is missing: tools/setup-test-deps.sh (run by `make test`) installs it"
    return subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=timeout,
                          env=go_batch_env())


@dataclass(frozen=True)
class PromtoolRun:
    """`promtool check rules` over rule files and `promtool test rules` over their tests, in one tree."""

    rule_files: list[str]
    tests: list[str]
    checked: subprocess.CompletedProcess[str]
    ran: subprocess.CompletedProcess[str]

    def assert_passed(self) -> None:
        assert self.rule_files and self.tests
        assert self.checked.returncode == 0, self.checked.stdout + self.checked.stderr
        assert self.ran.returncode == 0, self.ran.stdout[-4000:] + self.ran.stderr[-4000:]


def _files(tree: Path, only: tuple[str, ...]) -> tuple[list[str], list[str]]:
    found = [*tree.glob("rules/*.yaml"), *tree.glob("alerts/*.yaml")]
    rule_files = sorted(p.relative_to(tree).as_posix() for p in found)
    tests = sorted(p.relative_to(tree).as_posix() for p in tree.glob("tests/rules/*.yaml")
                   if not only or p.stem in only)
    return rule_files, tests


def check_and_test(tree: Path, only: tuple[str, ...] = ()) -> PromtoolRun:
    """Check every rule file of `tree` and run its tests/rules (those named in `only`, when given)."""
    rule_files, tests = _files(tree, only)
    return PromtoolRun(rule_files, tests, promtool("check", "rules", *rule_files, cwd=tree),
                       promtool("test", "rules", *tests, cwd=tree))


class PendingRun:
    """`check_and_test(tree)` started now as two promtool processes, their output going to files and nothing read
    until `result()`: the caller goes on with other work. No Python thread runs beside the tests, so a test that
    patches `subprocess.run` or `open` for its own purposes cannot reach this run, nor this run that test."""

    def __init__(self, tree: Path, timeout: float = 1200) -> None:
        assert PROMTOOL, "promtool is missing: tools/setup-test-deps.sh (run by `make test`) installs it"
        self.rule_files, self.tests = _files(tree, ())
        self.timeout = timeout
        self._dir = tempfile.TemporaryDirectory(prefix="stereo-promtool-")
        self._procs = [self._spawn("check", tree, ["check", "rules", *self.rule_files]),
                       self._spawn("test", tree, ["test", "rules", *self.tests])]
        self._done: PromtoolRun | None = None

    def _spawn(self, name: str, tree: Path, args: list[str]) -> tuple[list[str], subprocess.Popen[bytes], Path]:
        out = Path(self._dir.name) / f"{name}.out"
        command = [str(PROMTOOL), *args]
        with out.open("wb") as sink:  # the child keeps its own copy of the descriptor
            proc = subprocess.Popen(command, cwd=tree, stdout=sink, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, env=go_batch_env())
        return command, proc, out

    def result(self) -> PromtoolRun:
        """Wait for both (a timeout kills the process: a failure, with what it printed so far)."""
        if self._done is None:
            done = []
            for command, proc, out in self._procs:
                try:
                    code = proc.wait(timeout=self.timeout)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    code = proc.wait()
                text = out.read_text(encoding="utf-8", errors="replace")
                done.append(subprocess.CompletedProcess(command, code, text, ""))
            self._dir.cleanup()
            self._done = PromtoolRun(self.rule_files, self.tests, done[0], done[1])
        return self._done

    def stop(self) -> None:
        """Stop what still runs, by pid (the session ended without asking for the result)."""
        for _, proc, _ in self._procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self._dir.cleanup()


class PendingTree:
    """One generated tree's promtool work started now in the background, as one shell loop (one core at most):
    `promtool check rules` over every rule file, then `promtool test rules` file by file, each step's output and
    exit code in its own file. Tests sharing the tree each read the steps of their own test files (`result`)."""

    def __init__(self, tree: Path, stems: set[str], lock: Path, timeout: float = 1200) -> None:
        assert PROMTOOL, "promtool is missing: tools/setup-test-deps.sh (run by `make test`) installs it"
        self.tree = tree
        self.rule_files, self.tests = _files(tree, tuple(sorted(stems)))
        missing = stems - {Path(t).stem for t in self.tests}
        assert not missing, f"{tree}: no tests/rules file for {sorted(missing)}"
        self.timeout = timeout
        self._dir = tempfile.TemporaryDirectory(prefix="stereo-promtool-")
        steps = [["check", "rules", *self.rule_files], *(["test", "rules", t] for t in self.tests)]
        self._steps = [[str(PROMTOOL), *s] for s in steps]
        script = "".join(f'{shlex.join(s)} >"$1/{i}.out" 2>&1; echo $? >"$1/{i}.rc"\n'
                         for i, s in enumerate(self._steps))
        # the trees' loops take turns on `lock` (flock), so they add one busy process beside the tests, not one per
        # tree; not niced: beside CPU hogs a niced promtool gets ~5 % of a core and the tests waiting on it time out
        self._proc = subprocess.Popen(["flock", str(lock), "sh", "-c", script, "sh",
                                       self._dir.name], cwd=tree, env=go_batch_env(),
                                      stdin=subprocess.DEVNULL, start_new_session=True)
        self._waited = False

    def _wait(self) -> None:
        if not self._waited:
            try:
                self._proc.wait(timeout=self.timeout)
            except subprocess.TimeoutExpired:
                self.stop()
            self._waited = True

    def _step(self, i: int) -> subprocess.CompletedProcess[str]:
        out, rc = Path(self._dir.name) / f"{i}.out", Path(self._dir.name) / f"{i}.rc"
        text = out.read_text(encoding="utf-8", errors="replace") if out.exists() else "(did not run: timeout)"
        code = int(rc.read_text()) if rc.exists() else -9
        return subprocess.CompletedProcess(self._steps[i], code, text, "")

    def result(self, only: tuple[str, ...]) -> PromtoolRun:
        """The check of every rule file and the tests/rules files named in `only` (waits for the whole loop)."""
        self._wait()
        chosen = [i for i, t in enumerate(self.tests, start=1) if Path(t).stem in only]
        assert len(chosen) == len(only), (only, self.tests)
        runs = [self._step(i) for i in chosen]
        ran = subprocess.CompletedProcess([str(PROMTOOL), "test", "rules", *(r.args[-1] for r in runs)],
                                          max(r.returncode for r in runs) if all(r.returncode >= 0 for r in runs)
                                          else -9, "".join(r.stdout for r in runs), "")
        return PromtoolRun(self.rule_files, [self.tests[i - 1] for i in chosen], self._step(0), ran)

    def stop(self) -> None:
        """Stop the loop and its promtool by their process group (started as its own session)."""
        if self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGKILL)
            self._proc.wait()

    def cleanup(self) -> None:
        self.stop()
        self._dir.cleanup()


class TreeRun:
    """A test's view of a background tree: the tree itself and the promtool results of its own files."""

    def __init__(self, pending: PendingTree, only: tuple[str, ...]) -> None:
        self.tree, self._pending, self._only = pending.tree, pending, only

    def result(self) -> PromtoolRun:
        return self._pending.result(self._only)
