"""tools/setup-test-deps.sh: what `make test` runs first on a fresh machine. Run with a PATH holding only the
programs a test chooses (fakes named as such), so the missing-program paths are exercised without removing
anything from this machine; the fake apt-get only records how it was called."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "tools" / "setup-test-deps.sh"
SH = shutil.which("sh") or "/bin/sh"
PROGRAMS = ("promtool", "prometheus", "amtool", "victoria-metrics", "vmalert", "chromium", "chromedriver", "node",
            "npm")
ALL_PACKAGES = ("prometheus prometheus-alertmanager victoria-metrics chromium chromium-driver nodejs npm")


def _fake(bin_dir: Path, name: str, body: str = "exit 0") -> None:
    path = bin_dir / name
    path.write_text(f"#!{SH}\n{body}\n")
    path.chmod(0o755)


def _run(bin_dir: Path, *args: str, uid: int = 0, apt: bool = True) -> subprocess.CompletedProcess[str]:
    """The script with PATH = only `bin_dir` (+ a fake `id` answering `uid`, a fake apt-get logging its calls)."""
    _fake(bin_dir, "id", f"echo {uid}")
    if apt:
        _fake(bin_dir, "apt-get", f'echo "DEBIAN_FRONTEND=$DEBIAN_FRONTEND $*" >> {bin_dir / "apt.log"}')
    env = {"PATH": str(bin_dir), "HOME": os.environ.get("HOME", "/tmp")}
    return subprocess.run([SH, str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=60, check=False)


@pytest.fixture
def bin_dir(tmp_path: Path) -> Path:
    path = tmp_path / "bin"
    path.mkdir()
    return path


def test_nothing_missing_installs_nothing(bin_dir: Path) -> None:
    for name in PROGRAMS:
        _fake(bin_dir, name)
    dry = _run(bin_dir, "--dry-run")
    assert (dry.returncode, dry.stdout.strip()) == (0, "setup: nothing to install")
    real = _run(bin_dir)
    assert (real.returncode, real.stdout, real.stderr) == (0, "", "")
    assert not (bin_dir / "apt.log").exists()


def test_dry_run_names_every_missing_package_once(bin_dir: Path) -> None:
    dry = _run(bin_dir, "--dry-run")
    assert dry.returncode == 0
    assert dry.stdout.strip() == ("setup: would run: apt-get update -qq && apt-get install -y -qq "
                                  f"--no-install-recommends {ALL_PACKAGES}")
    assert not (bin_dir / "apt.log").exists()


def test_only_the_missing_packages(bin_dir: Path) -> None:
    for name in PROGRAMS:
        if name not in ("amtool", "chromedriver"):
            _fake(bin_dir, name)
    dry = _run(bin_dir, "--dry-run")
    assert dry.stdout.strip().endswith("--no-install-recommends prometheus-alertmanager chromium-driver")


def test_as_root_it_installs_with_apt_get(bin_dir: Path) -> None:
    _fake(bin_dir, "amtool")
    done = _run(bin_dir, uid=0)
    assert done.returncode == 0, done.stderr
    calls = (bin_dir / "apt.log").read_text().splitlines()
    assert calls == ["DEBIAN_FRONTEND=noninteractive update -qq",
                     "DEBIAN_FRONTEND=noninteractive install -y -qq --no-install-recommends prometheus "
                     "victoria-metrics chromium chromium-driver nodejs npm"]


@pytest.mark.parametrize("uid, apt", [(1000, True), (0, False)], ids=["not-root", "no-apt-get"])
def test_cannot_install_says_what_to_install_in_one_line(bin_dir: Path, uid: int, apt: bool) -> None:
    for name in PROGRAMS:
        if name != "promtool":
            _fake(bin_dir, name)
    done = _run(bin_dir, uid=uid, apt=apt)
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.splitlines() == ["setup: make test needs the Debian packages: prometheus — run: "
                                        "sudo apt-get install --no-install-recommends prometheus"]
    assert not (bin_dir / "apt.log").exists()


def test_a_bad_argument_is_refused(bin_dir: Path) -> None:
    done = _run(bin_dir, "--yes")
    assert done.returncode == 2 and "usage:" in done.stderr
