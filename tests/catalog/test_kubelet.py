"""Kubelet: the signals other wings pair by name, internal consistency, and promtool cases that follow a site's
thresholds, cluster label, selectors, `for` and evaluation interval."""

from __future__ import annotations

import re
import shutil

import pytest
from promtool_run import TreeRun

from generator.catalog import kubelet
from generator.config import Config
from generator.context import Context

PROMTOOL = shutil.which("promtool")
REQUIRED = ("kubelet_pleg_relist_p99", "kubelet_pod_start_p99", "kubelet_running_pods", "kubelet_runtime_error_ratio",
            "kubelet_volume_usage_ratio", "kubelet_cpu", "kubelet_memory")
SITE = """
cluster_label: k8s_cluster
evaluation_interval: 30s
selectors:
  kubelet: 'job=~"kubelet|node-agent", metrics_path="/metrics"'
thresholds:
  KubeletManyDown: 0.25
  KubeletTooManyPods: 0.8
  KubeletPlegDurationHigh: 0.24
  KubeletPlegNotHealthy: 600
  KubeletPodStartUpLatencyHigh: 100
  KubeletRuntimeErrorsHigh: 0.2
  KubeletRuntimeLatencyHigh: 2
  KubeletClientCertExpiring: 1209600
  KubeletServerCertExpiringCritical: 172800
  KubePersistentVolumeAlmostFull: 0.05
  KubePersistentVolumeFillingUp: 0.3
  KubePersistentVolumeInodesFillingUp: 0.1
patch:
  KubePersistentVolumeFillingUp: {for: 2h}
  KubeletPlegNotHealthy: {for: 10m}
  KubeletDown: {for: 30m, severity: critical}
"""


def test_sizes_and_names() -> None:
    comp = kubelet.build(Context())
    names = {s.name for s in comp.signals}
    assert set(REQUIRED) <= names
    assert len(names) == len(comp.signals)
    assert len(comp.alerts) >= 12 and len(comp.rules) >= 10 and comp.rule_tests
    assert not comp.control_plane
    records = {r.record for r in comp.rules}
    alerts = {a.name for a in comp.alerts}
    for sig in comp.signals:
        assert sig.name.startswith("kubelet_")
        assert sig.alert is None or sig.alert in alerts, sig.name
        used = set(re.findall(r"[a-z_]+:[a-z0-9_]+:[a-z0-9_]+", sig.expr))
        assert used and used <= records, sig.name
    for alert in comp.alerts:
        assert alert.name.startswith(("Kubelet", "KubePersistentVolume"))
        assert alert.meaning and alert.impact and alert.diagnosis and alert.mitigation, alert.name
    for panel in comp.panels:
        assert set(panel.signals) <= names, panel.title


def test_thresholds_reach_the_expressions() -> None:
    ctx = Context(Config(thresholds={"KubeletTooManyPods": 0.8, "KubePersistentVolumeFillingUp": 0.3}))
    comp = kubelet.build(ctx)
    by_name = {a.name: a for a in comp.alerts}
    assert by_name["KubeletTooManyPods"].expr.endswith("> 0.8")
    assert "< 0.3\n" in by_name["KubePersistentVolumeFillingUp"].expr


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed")
@pytest.mark.promtool_site(SITE, only=("kubelet",))  # defaults: tests/test_promtool.py
def test_promtool_cases(tree_promtool: TreeRun) -> None:
    """The site's cases, run in the background over a site tree shared with compatible settings (conftest.py)."""
    tree_promtool.result().assert_passed()
    out = tree_promtool.tree
    text = (out / "alerts/kubelet.yaml").read_text()
    assert "k8s_cluster" in text and "node-agent" in (out / "rules/kubelet.yaml").read_text()
