"""The generated rule files pass `promtool check rules`, and every alert's firing and quiet cases pass
`promtool test rules` — for the committed output and for a site whose settings change thresholds, the
cluster label, severities, `for` and the evaluation interval (the cases must follow the settings)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from generator import pipeline, writer
from generator.config import load

PROMTOOL = shutil.which("promtool")


def _promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL, "promtool is missing: .ci/run installs Debian's prometheus package"
    return subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=600)


def _check_and_test(tree: Path, only: tuple[str, ...] = ()) -> None:
    found = [*tree.glob("rules/*.yaml"), *tree.glob("alerts/*.yaml")]
    rule_files = sorted(p.relative_to(tree).as_posix() for p in found)
    assert rule_files
    checked = _promtool("check", "rules", *rule_files, cwd=tree)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    tests = sorted(p.relative_to(tree).as_posix() for p in tree.glob("tests/rules/*.yaml")
                   if not only or p.stem in only)
    assert tests
    ran = _promtool("test", "rules", *tests, cwd=tree)
    assert ran.returncode == 0, ran.stdout[-4000:] + ran.stderr[-4000:]


def test_committed_output(root: Path) -> None:
    _check_and_test(root)


SITE = """
cluster_label: k8s_cluster
evaluation_interval: 30s
thresholds:
  CoreDNSLatencyHigh: 0.2
  CoreDNSServfailRatioHigh: 0.1
patch:
  CoreDNSDown:
    for: 30m
    severity: warning
    labels: {team: dns}
runbook_url: https://wiki.example.com/runbooks
grafana_url: https://grafana.example.com
"""


def test_site_settings_flow_into_rules_and_cases(tmp_path: Path) -> None:
    cfg = tmp_path / "stereo.yaml"
    cfg.write_text(SITE)
    out = tmp_path / "site"
    writer.write(pipeline.generate(load(cfg)), out)
    alerts = yaml.safe_load((out / "alerts/coredns.yaml").read_text())["groups"][0]
    assert alerts["interval"] == "30s"
    by_name = {r["alert"]: r for r in alerts["rules"]}
    assert by_name["CoreDNSLatencyHigh"]["expr"].endswith("> 0.2")
    assert by_name["CoreDNSDown"]["for"] == "30m"
    assert by_name["CoreDNSDown"]["labels"] == {"component": "coredns", "severity": "warning", "team": "dns"}
    assert by_name["CoreDNSDown"]["annotations"]["runbook_url"] == "https://wiki.example.com/runbooks/CoreDNSDown.md"
    assert by_name["CoreDNSDown"]["annotations"]["dashboard_url"].startswith("https://grafana.example.com/d/")
    assert "k8s_cluster" in by_name["CoreDNSDown"]["expr"]
    assert "cluster)" not in (out / "rules/coredns.yaml").read_text().replace("k8s_cluster)", "")
    # the other components run their own site cases in tests/catalog/
    _check_and_test(out, only=("coredns", "services"))


def test_a_broken_rule_fails_its_case(tmp_path: Path) -> None:
    """The harness itself can fail: a threshold changed behind the cases' back makes promtool fail."""
    out = tmp_path / "site"
    writer.write(pipeline.generate(load(None)), out)
    path = out / "alerts/coredns.yaml"
    path.write_text(path.read_text().replace("cluster:coredns_dns_servfail:ratio_rate5m > 0.03",
                                             "cluster:coredns_dns_servfail:ratio_rate5m > 0.5"))
    ran = _promtool("test", "rules", "tests/rules/coredns.yaml", cwd=out)
    assert ran.returncode != 0
    assert "CoreDNSServfailRatioHigh" in ran.stdout + ran.stderr
