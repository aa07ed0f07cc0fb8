"""Context is the only door from the catalog to the site settings: no catalog module imports the config or
reads a `.config` attribute, so the same module serves every site and every setting it uses is named on Context."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import generator.catalog
from generator import cli, pipeline
from generator.config import ConfigError, load
from generator.context import Context

CATALOG = Path(generator.catalog.__file__).parent


def doors(source: str) -> list[str]:
    """Every way `source` reaches the site settings other than through Context, as 'line: what'."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module and (
                node.module == "generator.config" or node.module.startswith("generator.config.")):
            found.append(f"{node.lineno}: from {node.module} import")
        elif isinstance(node, ast.ImportFrom) and node.module == "generator" and any(
                a.name == "config" for a in node.names):
            found.append(f"{node.lineno}: from generator import config")
        elif isinstance(node, ast.Import) and any(a.name.startswith("generator.config") for a in node.names):
            found.append(f"{node.lineno}: import generator.config")
        elif isinstance(node, ast.Attribute) and node.attr == "config":
            found.append(f"{node.lineno}: .config")
    return found


@pytest.mark.parametrize(("source", "expected"), [
    ("from generator.config import ConfigError\n", ["1: from generator.config import"]),
    ("from generator import config, promql\n", ["1: from generator import config"]),
    ("import generator.config as c\n", ["1: import generator.config"]),
    ("def f(ctx):\n    return ctx.config.slo_objective\n", ["2: .config"]),
    ("def f(ctx):\n    return getattr(ctx, 'cluster')\n", []),
    ("from generator.context import Context\nx = 'config'\n", []),
])
def test_the_scan_finds_every_door(source: str, expected: list[str]) -> None:
    assert doors(source) == expected


def test_no_catalog_module_reaches_the_config() -> None:
    modules = sorted(CATALOG.rglob("*.py"))
    assert len(modules) > 10
    found = {p.relative_to(CATALOG).as_posix(): doors(p.read_text(encoding="utf-8")) for p in modules}
    assert {name: where for name, where in found.items() if where} == {}


def test_context_carries_the_settings_the_catalog_needs(tmp_path: Path) -> None:
    path = tmp_path / "stereo.yaml"
    path.write_text("slo:\n  objective: 0.995\n  read_latency: 2s\n  write_latency: 500ms\n"
                    "services:\n  - preset: ingress-nginx\n")
    ctx = Context(load(path))
    assert (ctx.slo_objective, ctx.slo_read_latency, ctx.slo_write_latency) == (0.995, "2s", "500ms")
    assert [s["preset"] for s in ctx.services] == ["ingress-nginx"]


def test_a_threshold_error_names_the_setting_line(tmp_path: Path) -> None:
    path = tmp_path / "stereo.yaml"
    path.write_text("thresholds:\n  KubeletPodStartUpLatencyHigh: 1000\n")
    err = Context(load(path)).threshold_error("KubeletPodStartUpLatencyHigh", "above every bucket")
    assert isinstance(err, ConfigError)
    assert str(err) == f"{path}:2: thresholds.KubeletPodStartUpLatencyHigh: above every bucket"


def test_a_threshold_the_buckets_cannot_express_is_a_site_error(tmp_path: Path) -> None:
    """The catalog reports it through Context, at the line of the setting, without importing the config."""
    path = tmp_path / "stereo.yaml"
    path.write_text("cluster_label: cluster\nthresholds:\n  KubeSchedulerLatencyHigh: 100000\n")
    with pytest.raises(ConfigError) as caught:
        pipeline.generate(load(path))
    message = str(caught.value)
    assert message.startswith(f"{path}:3: thresholds.KubeSchedulerLatencyHigh: 100000 is at or above the largest")
    assert cli.main(["generate", "--config", str(path), "--out", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()
