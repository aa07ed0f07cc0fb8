"""Shared fixtures: the repository root, a generated tree built once per session, and one promtool run over the
committed rules and their tests per session (`committed_promtool`), which every test about them reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from promtool_run import PromtoolRun, check_and_test

ROOT = Path(__file__).resolve().parent.parent


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
    """The whole committed tests/rules set, run once per session."""
    return check_and_test(ROOT)
