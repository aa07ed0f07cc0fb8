"""Shared fixtures: the repository root, a generated tree built once per session, and one promtool run over the
committed rules and their tests per session (`committed_promtool`), which every test about them reads.

The committed promtool run is about a minute of one core and needs nothing from the tests before it: it starts
(as promtool processes, see promtool_run.PendingRun) as soon as collection finds a test that asks for it, and
works on the second core while pytest runs the tests that come first on the other. The fixture waits for it."""

from __future__ import annotations

from pathlib import Path

import pytest
from promtool_run import PROMTOOL, PendingRun, PromtoolRun

ROOT = Path(__file__).resolve().parent.parent
_pending: list[PendingRun] = []


def _committed() -> PendingRun:
    if not _pending:
        _pending.append(PendingRun(ROOT))
    return _pending[0]


def pytest_collection_finish(session: pytest.Session) -> None:
    wanted = any("committed_promtool" in getattr(item, "fixturenames", ()) for item in session.items)
    if PROMTOOL and wanted and not session.config.option.collectonly:
        _committed()


def pytest_sessionfinish(session: pytest.Session) -> None:
    for run in _pending:
        run.stop()


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def default_files() -> dict[str, str]:
    from generator import pipeline
    from generator.config import load

    return pipeline.generate(load(None))


@pytest.fixture(scope="session")
def committed_promtool() -> PromtoolRun:
    """The whole committed tests/rules set, run once per session (started at collection, see above)."""
    return _committed().result()
