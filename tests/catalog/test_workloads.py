"""Workloads (cAdvisor + kube-state-metrics): the signals the stereo view pairs by name, conventions, and promtool
cases that follow a site's thresholds, cluster label, selectors, `for` and evaluation interval."""

from __future__ import annotations

import shutil

import pytest
from promtool_run import TreeRun

from generator.catalog import workloads
from generator.config import Config
from generator.context import Context
from generator.doctor.exprs import metric_names

PROMTOOL = shutil.which("promtool")
# the resource side of the workload stereo view: CPU ↔ network traffic, memory ↔ response time
REQUIRED = ("container_cpu_usage", "container_memory_working_set", "pod_network_receive_bytes",
            "pod_network_transmit_bytes", "container_cpu_throttling_ratio", "pod_restarts", "pod_network_drops",
            "namespace_cpu_usage", "namespace_memory_usage", "container_cpu_requests_ratio",
            "container_memory_limits_ratio")
SITE = """
cluster_label: k8s_cluster
evaluation_interval: 30s
selectors:
  kube-state-metrics: 'job=~"kube-state-metrics|ksm", service="kube-state-metrics"'
  cadvisor: 'job="kubelet", metrics_path="/metrics/cadvisor", service="kubelet"'
thresholds:
  ContainerCPUThrottlingHigh: 0.6
  ContainerMemoryNearLimit: 0.8
  ContainerCPUNearLimit: 0.75
  PodNetworkDropsHigh: 0.05
  KubeContainerRestartsFrequent: 3
  KubeJobNotCompleted: 3600
  KubeQuotaAlmostFull: 0.75
  KubeCPUQuotaOvercommit: 2
  KubeMemoryQuotaOvercommit: 1.2
patch:
  KubePodCrashLooping: {for: 5m}
  KubeJobNotCompleted: {for: 10m, severity: info}
"""


def test_required_signals_filter_by_cluster_and_namespace() -> None:
    comp = workloads.build(Context(Config(cluster_label="k8s_cluster")))
    signals = {s.name: s for s in comp.signals}
    assert set(REQUIRED) <= set(signals)
    assert len(signals) == len(comp.signals)
    for s in comp.signals:
        assert 'k8s_cluster="$cluster"' in s.expr and 'namespace="$namespace"' in s.expr, s.name
        assert ("pod" in s.labels) == ('pod=~"$pod"' in s.expr), s.name
    alerts = {a.name for a in comp.alerts}
    assert all(s.alert in alerts for s in comp.signals if s.alert)
    assert {sig for p in comp.panels for sig in p.signals} <= set(signals)


def test_counts_and_names() -> None:
    comp = workloads.build(Context())
    assert len(comp.alerts) >= 20 and len(comp.rules) >= 12
    assert not comp.control_plane
    for a in comp.alerts:
        assert len(a.name) <= 40 and a.name.startswith(("Kube", "Container", "Pod")), a.name
        assert any(c.fires for c in a.cases) and any(not c.fires for c in a.cases), a.name
        assert a.meaning and a.impact and a.diagnosis and a.mitigation, a.name
    for r in comp.rules:  # every record keeps the cluster: it aggregates by it, or reads cluster-level records only
        read = metric_names(r.expr)
        assert "by (cluster" in r.expr or (read and all(m.startswith("cluster_") for m in read)), r.record


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed")
@pytest.mark.promtool_site(SITE, only=("workloads",))  # defaults: tests/test_promtool.py
def test_promtool_cases_follow_settings(tree_promtool: TreeRun) -> None:
    """The site's cases, run in the background over a site tree shared with compatible settings (conftest.py)."""
    tree_promtool.result().assert_passed()
