"""The generator package at another commit, for benches that compare this checkout with it on one machine."""

from __future__ import annotations

import io
import subprocess
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def generator_at(commit: str, dest: Path) -> Path:
    """`generator/` as it was at `commit` (`git archive`), extracted under `dest`; returns `dest` (a PYTHONPATH)."""
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit, "generator"], capture_output=True,
                             check=True).stdout
    dest.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(dest, filter="data")
    return dest
