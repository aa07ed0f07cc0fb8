"""Packaging: `stereo --version`, extras by purpose, and one line naming the pip command when an extra is missing."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest

from generator import cli

PYPROJECT = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text())
# import name -> distribution name, where they differ
DISTRIBUTION = {"prometheus_api_client": "prometheus-api-client", "prometheus_client": "prometheus-client"}


def test_version_is_the_package_version() -> None:
    run = subprocess.run([sys.executable, "-m", "generator", "--version"], capture_output=True, text=True,
                         timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"stereo {metadata.version('stereo')}" == f"stereo {PYPROJECT['project']['version']}"


def test_the_base_install_is_the_generator_only() -> None:
    names = sorted(re.split(r"[<>=!~ \[]", d)[0].lower() for d in PYPROJECT["project"]["dependencies"])
    # the generator: grafanalib, Jinja2, PyYAML, and RE2 to check site regexes as Prometheus will (never Python re)
    assert names == ["google-re2", "grafanalib", "jinja2", "pyyaml"]
    heavy = {"numpy", "scipy", "fastapi", "uvicorn", "matplotlib", "requests", "prometheus-api-client"}
    assert not heavy & set(names)


def test_each_guard_names_modules_its_extra_installs() -> None:
    extras = {name: {re.split(r"[<>=!~ \[]", d)[0].lower() for d in deps}
              for name, deps in PYPROJECT["project"]["optional-dependencies"].items()}
    needs = [*cli.EXTRAS.values(), cli.HEATMAP]
    for need in needs:
        for extra, modules in need.items():
            for module in modules:
                assert DISTRIBUTION.get(module, module) in extras[extra], (extra, module)
    assert set(cli.EXTRAS) == set(cli.DELEGATED)


@pytest.mark.parametrize("argv, hidden, extras", [
    (["serve", "--prometheus", "http://127.0.0.1:1"], "fastapi", "service"),
    (["suggest", "--prometheus", "http://127.0.0.1:1"], "prometheus_api_client", "correlate"),
    (["correlate", "x.csv"], "scipy", "correlate"),
    (["correlate", "x.csv", "--heatmap", "m.svg"], "matplotlib", "heatmap"),
])
def test_a_missing_extra_is_one_line_naming_the_install(argv: list[str], hidden: str, extras: str,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, hidden, None)  # find_spec answers None: as if not installed
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1
    assert f"pip install 'stereo[{extras}]'" in err and f"`stereo {argv[0]}" in err


def test_an_installed_extra_runs_the_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["correlate", "/nonexistent/series.csv"]) == 2  # the command's own error, not the guard's
    assert "pip install" not in capsys.readouterr().err
