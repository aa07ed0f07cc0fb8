"""promtool runs the tests share: `check_and_test(tree)` checks a tree's rule files and runs its tests/rules.
The session fixture `committed_promtool` (tests/conftest.py) runs it once over the committed output."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

PROMTOOL = shutil.which("promtool")


def promtool(*args: str, cwd: Path, timeout: float = 1200) -> subprocess.CompletedProcess[str]:
    """promtool with its output captured; a missing promtool is a failure (`make test` installs it)."""
    assert PROMTOOL, "promtool is missing: tools/setup-test-deps.sh (run by `make test`) installs it"
    return subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=timeout)


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


def check_and_test(tree: Path, only: tuple[str, ...] = ()) -> PromtoolRun:
    """Check every rule file of `tree` and run its tests/rules (those named in `only`, when given)."""
    found = [*tree.glob("rules/*.yaml"), *tree.glob("alerts/*.yaml")]
    rule_files = sorted(p.relative_to(tree).as_posix() for p in found)
    tests = sorted(p.relative_to(tree).as_posix() for p in tree.glob("tests/rules/*.yaml")
                   if not only or p.stem in only)
    return PromtoolRun(rule_files, tests, promtool("check", "rules", *rule_files, cwd=tree),
                       promtool("test", "rules", *tests, cwd=tree))
