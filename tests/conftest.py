"""Shared fixtures: the repository root and a generated tree built once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def default_files() -> dict[str, str]:
    from generator import pipeline
    from generator.config import load

    return pipeline.generate(load(None))
