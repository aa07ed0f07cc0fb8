"""How `make test` spreads the suite over pytest-xdist workers: each test's group (tests/conftest.py `_groups`)
goes from the workers to the scheduler in a file, and the scheduler sends a whole group to one worker.

Why not xdist's own `--dist loadgroup`: it passes a test's group by appending `@group` to the test's node id,
which pytest 9.2 no longer lets a plugin change (pytest-dev/pytest-xdist#1386): every test is then scheduled
on its own and each worker builds the labs and promtool runs again. Here the ids stay as they are: each worker
writes {node id: group} to the path the controller gives it (`workerinput`, an xdist hook), identical on every
worker since they collect the same tests, before it reports its collection; the scheduler reads it once all
workers have reported."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from xdist.scheduler import LoadScopeScheduling

KEY = "stereo_groups"  # in workerinput: the path of the groups file


class GroupScheduling(LoadScopeScheduling):
    """LoadScopeScheduling with our groups as scopes (a test of no group is a scope of its own), handed out in
    collection order: the workers order the tests by group, the groups whose work must start early first."""

    def __init__(self, config: pytest.Config, path: Path, log: object = None) -> None:
        super().__init__(config, log)  # type: ignore[arg-type]
        config.option.loadscopereorder = False  # the order is the workers' (see above), not by group size
        self.path = path
        self._groups: dict[str, str] | None = None

    def _split_scope(self, nodeid: str) -> str:
        if self._groups is None:  # read when the first scope is asked for: every worker has reported by then
            if not self.path.exists():
                raise RuntimeError(f"{self.path}: no worker wrote the tests' groups (tests/conftest.py)")
            self._groups = json.loads(self.path.read_text(encoding="utf-8"))
        group = self._groups.get(nodeid)
        return f"group:{group}" if group else nodeid


class Controller:
    """The controller's side: the groups file's place, and the scheduler."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="stereo-xdist-"))
        self.path = self.dir / "groups.json"

    def scheduler(self, config: pytest.Config, log: object) -> GroupScheduling | None:
        if config.getvalue("dist") not in ("load", "loadgroup"):
            return None  # another --dist asked for by hand: xdist's own
        return GroupScheduling(config, self.path, log)

    def cleanup(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)


def write(config: pytest.Config, groups: dict[str, str]) -> None:
    """On a worker: the groups of its collection, written whole (a temporary file renamed into place)."""
    path = Path(config.workerinput[KEY])  # type: ignore[attr-defined]
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        json.dump(groups, out, sort_keys=True)
    os.replace(tmp, path)
