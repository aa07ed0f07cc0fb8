"""Nodes (node-exporter + kube-state-metrics node conditions): the signals the dashboards pair by name, internal
consistency, and promtool cases that follow a site's thresholds, cluster label, selectors, `for` and interval."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from promtool_run import TreeRun

from generator.catalog import nodes
from generator.config import Config
from generator.context import Context
from generator.process import go_batch_env
from generator.promql import fmt_number

PROMTOOL = shutil.which("promtool")
RECORD = re.compile(r"[a-z_]+:[a-z0-9_]+:[a-z0-9_]+")
# signals other wings name: the "node CPU ↔ node load" pair and the node resource tier of the correlator
REQUIRED = ("node_cpu_utilisation", "node_load_per_core", "node_memory_utilisation", "node_filesystem_usage",
            "node_disk_io_utilisation", "node_network_receive_bytes", "node_network_transmit_bytes",
            "node_network_errors", "node_conntrack_usage", "node_fd_usage")
SITE = """
cluster_label: k8s_cluster
evaluation_interval: 30s
selectors:
  node-exporter: 'job=~"node-exporter|node", namespace="monitoring"'
  kube-state-metrics: 'job="ksm"'
thresholds:
  NodeCPUHighUsage: 0.7
  NodeSystemSaturation: 1.5
  NodeMemoryHighUtilization: 0.93
  NodeFilesystemSpaceUsageHigh: 0.8
  NodeFilesystemAlmostOutOfSpace: 0.07
  NodeFilesystemSpaceFillingUp: 0.3
  NodeFilesystemFilesFillingUpFast: 0.1
  NodeDiskIOSaturation: 4
  NodeNetworkReceiveErrs: 0.003
  NodeHighNumberConntrackEntriesUsed: 0.75
  NodeFileDescriptorLimit: 0.7
  NodeClockSkewDetected: 0.2
patch:
  NodeFilesystemSpaceFillingUp: {for: 3h}
  KubeNodeReadinessFlapping: {for: 45m}
  KubeNodeNotReady: {for: 30m, severity: critical}
"""


def test_required_signals_and_sizes() -> None:
    comp = nodes.build(Context())
    assert set(REQUIRED) <= {s.name for s in comp.signals}
    assert not comp.control_plane
    assert len(comp.alerts) >= 16 and len(comp.rules) >= 12


def test_internal_consistency() -> None:
    comp = nodes.build(Context())
    records = {r.record for r in comp.rules}
    alerts = {a.name for a in comp.alerts}
    signals = {s.name for s in comp.signals}
    assert len(signals) == len(comp.signals)
    for signal in comp.signals:
        assert signal.name.startswith("node_")
        assert signal.alert is None or signal.alert in alerts, signal.name
        assert '{cluster="$cluster"}' in signal.expr
        used = set(RECORD.findall(signal.expr))
        assert used and used <= records, signal.name
    for panel in comp.panels:
        assert set(panel.signals) <= signals, panel.title
    for alert in comp.alerts:
        assert alert.name.startswith(("Node", "KubeNode")), alert.name
        if alert.threshold is not None:
            assert fmt_number(alert.threshold) in alert.expr, alert.name
        assert set(RECORD.findall(alert.expr)) <= records, alert.name
    for test in comp.rule_tests:
        assert test.expr in records
    # every recorded series an alert reads has a rule test
    tested = {t.expr for t in comp.rule_tests}
    for alert in comp.alerts:
        for record in RECORD.findall(alert.expr):
            assert record in tested, (alert.name, record)


def test_site_thresholds_reach_rules_and_cases() -> None:
    ctx = Context(Config(thresholds={"NodeCPUHighUsage": 0.7, "NodeFilesystemAlmostOutOfSpace": 0.07}))
    by_name = {a.name: a for a in nodes.build(ctx).alerts}
    assert by_name["NodeCPUHighUsage"].expr.endswith("> 0.7")
    assert by_name["NodeCPUHighUsage"].cases[0].value == pytest.approx(0.85)
    assert by_name["NodeFilesystemAlmostOutOfSpace"].cases[0].value == pytest.approx(0.035)


def _promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL
    return subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=900,
                          env=go_batch_env())


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed")
@pytest.mark.promtool_site(SITE, only=("nodes",))  # defaults: tests/test_promtool.py
def test_promtool_cases_pass(tree_promtool: TreeRun) -> None:
    """The site's cases, run in the background over a site tree shared with compatible settings (conftest.py)."""
    tree_promtool.result().assert_passed()
    text = (tree_promtool.tree / "rules/nodes.yaml").read_text()
    assert "k8s_cluster" in text and 'job=~"node-exporter|node"' in text and 'job="ksm"' in text
