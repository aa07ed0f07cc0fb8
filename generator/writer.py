"""Write generated files all at once or not at all, and compare them with what is on disk.

Stereo owns whole directories (OWNED): a generation replaces each one it produces, so a file the catalog
no longer makes disappears too. Everything is first written to a staging directory next to the output
(`.stereo-<pid>-*`); an optional check (promtool, amtool) reads the staged files; only when every file is
written and checked do the directories move into place. A run that was killed leaves its staging directory
behind: the next run removes every `.stereo-*` directory whose process is gone.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

OWNED = ("rules", "alerts", "tests/rules", "docs/runbooks", "dashboards", "provisioning", "alertmanager", "manifests")
_STAGING = re.compile(r"^\.stereo-(?:(\d+)-)?")


class WriteError(Exception):
    """The output directory cannot be written; str() is the one line the CLI prints."""


def _owner(path: str) -> str | None:
    return next((d for d in OWNED if path.startswith(d + "/")), None)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def clean_stale(out: Path) -> list[Path]:
    """Remove staging directories of runs that are no longer running (a killed generate)."""
    removed = []
    with contextlib.suppress(OSError):
        for entry in out.iterdir():
            m = _STAGING.match(entry.name)
            if m and entry.is_dir() and not entry.is_symlink():
                pid = int(m.group(1)) if m.group(1) else None
                if pid is None or (pid != os.getpid() and not _alive(pid)):
                    shutil.rmtree(entry, ignore_errors=True)
                    removed.append(entry)
    return removed


def _prepare(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise WriteError(f"--out {out}: not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WriteError(f"--out {out}: cannot create: {exc.strerror or exc}") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise WriteError(f"--out {out}: cannot write: permission denied")


def write(files: dict[str, str], out: Path, check: Callable[[Path], None] | None = None) -> None:
    """Stage `files`, run `check` on the staged tree (it raises to stop), then move them into `out`."""
    _prepare(out)
    clean_stale(out)
    try:
        staging = Path(tempfile.mkdtemp(prefix=f".stereo-{os.getpid()}-", dir=out))
    except OSError as exc:
        raise WriteError(f"--out {out}: cannot write: {exc.strerror or exc}") from None
    try:
        for rel, text in files.items():
            target = staging / "new" / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(text.encode("utf-8"))
        if check is not None:
            check(staging / "new")
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
    except OSError as exc:
        raise WriteError(f"--out {out}: cannot write {exc.filename or ''}: {exc.strerror or exc}") from None
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
        if not path.is_file():
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
