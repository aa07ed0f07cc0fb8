"""The generated rule files pass `promtool check rules`, and every alert's firing and quiet cases pass
`promtool test rules` — for the committed output and for a site whose settings change thresholds, the
cluster label, severities, `for` and the evaluation interval (the cases must follow the settings)."""

from __future__ import annotations

from pathlib import Path

import yaml
from promtool_run import PromtoolRun, check_and_test, promtool

from generator import pipeline, writer
from generator.config import load


def test_committed_output(committed_promtool: PromtoolRun) -> None:
    committed_promtool.assert_passed()
    # every committed test file took part (the session run is the only full one)
    assert len(committed_promtool.tests) == len(list(Path(__file__).parent.glob("rules/*.yaml")))


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
    check_and_test(out, only=("coredns", "services")).assert_passed()


def test_a_broken_rule_fails_its_case(tmp_path: Path) -> None:
    """The harness itself can fail: a threshold changed behind the cases' back makes promtool fail."""
    out = tmp_path / "site"
    writer.write(pipeline.generate(load(None)), out)
    path = out / "alerts/coredns.yaml"
    path.write_text(path.read_text().replace("cluster:coredns_dns_servfail:ratio_rate5m > 0.03",
                                             "cluster:coredns_dns_servfail:ratio_rate5m > 0.5"))
    ran = promtool("test", "rules", "tests/rules/coredns.yaml", cwd=out)
    assert ran.returncode != 0
    assert "CoreDNSServfailRatioHigh" in ran.stdout + ran.stderr
