"""Any site's labels (issue 12.1): the cAdvisor container filter is a site setting, '' means any series, and
the rules' promtool cases follow the setting (run by the real promtool)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from generator import pipeline, writer
from generator.config import load
from generator.process import go_batch_env

PROMTOOL = shutil.which("promtool")


def _generate(tmp_path: Path, selectors: dict[str, str]) -> Path:
    cfg = tmp_path / "stereo.yaml"
    cfg.write_text(yaml.safe_dump({"selectors": selectors}))
    out = tmp_path / "out"
    writer.write(pipeline.generate(load(cfg)), out)
    return out


@pytest.mark.parametrize(("containers", "expected"), [
    ("", "container_cpu_usage_seconds_total{}[5m]"),
    ('container!=""', 'container_cpu_usage_seconds_total{container!=""}[5m]'),
])
def test_container_selector_is_a_site_setting(tmp_path: Path, containers: str, expected: str) -> None:
    out = _generate(tmp_path, {"cadvisor": "", "kube-state-metrics": "", "cadvisor_containers": containers})
    rules = (out / "rules/workloads.yaml").read_text()
    assert expected in rules
    assert 'image!=""' not in rules and "job=" not in rules
    assert PROMTOOL, "promtool is missing"
    for args in (["check", "rules", "rules/workloads.yaml"], ["test", "rules", "tests/rules/workloads.yaml"]):
        ran = subprocess.run([PROMTOOL, *args], cwd=out, capture_output=True, text=True, timeout=300, check=False,
                             env=go_batch_env())
        assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]


def test_default_keeps_real_containers_only() -> None:
    cfg = load(None)
    assert cfg.selectors["cadvisor_containers"] == 'container!="",image!=""'
