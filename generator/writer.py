"""Write generated files all at once or not at all, and compare them with what is on disk.

Stereo owns whole directories (OWNED): a generation replaces each one it produces, so a file the catalog
no longer makes disappears too. Everything is first written to a temporary directory next to the output;
only when every file is written do the directories move into place.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

OWNED = ("rules", "alerts", "tests/rules", "docs/runbooks", "dashboards", "provisioning", "alertmanager", "manifests")


def _owner(path: str) -> str | None:
    return next((d for d in OWNED if path.startswith(d + "/")), None)


def write(files: dict[str, str], out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".stereo-", dir=out))
    try:
        for rel, text in files.items():
            target = staging / "new" / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(text.encode("utf-8"))
        for owned in sorted({o for rel in files if (o := _owner(rel))}):
            dest = out / owned
            if dest.exists():
                (staging / "old" / owned).parent.mkdir(parents=True, exist_ok=True)
                os.replace(dest, staging / "old" / owned)
            dest.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / "new" / owned, dest)
        for rel in files:
            if _owner(rel) is None:
                (out / rel).parent.mkdir(parents=True, exist_ok=True)
                os.replace(staging / "new" / rel, out / rel)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def has_manifests(out: Path) -> bool:
    """manifests/ exists: it is generated output, so `--check` must compare it even without --manifests."""
    return (out / "manifests").is_dir()


def differences(files: dict[str, str], out: Path) -> list[str]:
    """Paths whose committed content differs from `files`: changed, missing, or stale (no longer generated)."""
    problems = []
    for rel, text in files.items():
        path = out / rel
        if not path.exists():
            problems.append(f"missing: {rel}")
        elif path.read_bytes() != text.encode("utf-8"):
            problems.append(f"differs: {rel}")
    owners = {o for rel in files if (o := _owner(rel))}
    for owned in sorted(owners):
        for path in sorted((out / owned).rglob("*")):
            rel = path.relative_to(out).as_posix()
            if path.is_file() and rel not in files and _owner(rel) == owned:
                problems.append(f"stale: {rel}")
    return problems
