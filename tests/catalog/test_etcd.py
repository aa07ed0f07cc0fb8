"""etcd and kube-proxy: the signals other wings pair by name, internal consistency, and promtool cases that follow a
site's thresholds, cluster label, selectors, `for` and evaluation interval."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from promtool_run import TreeRun

from generator import pipeline, writer
from generator.catalog import etcd, kube_proxy
from generator.config import Config, load
from generator.context import Context
from generator.model import Component
from generator.process import go_batch_env
from generator.promql import fmt_number

PROMTOOL = shutil.which("promtool")
MODULES = ("etcd", "kube_proxy")
# signals the dashboards pair by name ("apiserver latency ↔ etcd commit latency" and friends)
REQUIRED = {
    "etcd": ("etcd_backend_commit_p99", "etcd_wal_fsync_p99", "etcd_db_size", "etcd_peer_rtt_p99",
             "etcd_grpc_error_ratio", "etcd_proposals_pending", "etcd_cpu", "etcd_memory"),
    "kube-proxy": ("kube_proxy_sync_rules_p99", "kube_proxy_network_programming_p99", "kube_proxy_cpu",
                   "kube_proxy_memory"),
}
SITE = """
cluster_label: k8s_cluster
evaluation_interval: 30s
selectors:
  etcd: 'job=~"etcd|kube-etcd"'
  kube-proxy: 'job="kube-proxy", namespace="kube-system"'
thresholds:
  EtcdHighNumberOfLeaderChanges: 3
  EtcdProposalsPendingHigh: 37
  EtcdDatabaseQuotaLowSpace: 0.9
  EtcdDatabaseHighFragmentation: 0.3
  EtcdHighFsyncDurations: 0.255
  EtcdPeerRoundTripSlow: 0.05
  EtcdHighGRPCErrorRatio: 0.02
  KubeProxySyncRulesSlow: 10
  KubeProxyNetworkProgrammingSlow: 12.5
  KubeProxyRulesSyncStale: 1800
  KubeProxyIptablesRestoreFailing: 0.1
patch:
  EtcdMembersDown: {for: 30m, severity: warning}
  KubeProxyRulesSyncStale: {for: 20m}
"""


def _components(ctx: Context | None = None) -> list[Component]:
    ctx = ctx or Context()
    return [etcd.build(ctx), kube_proxy.build(ctx)]


def test_required_signals_and_sizes() -> None:
    comps = {c.key: c for c in _components()}
    for key, names in REQUIRED.items():
        signals = {s.name for s in comps[key].signals}
        assert set(names) <= signals, set(names) - signals
    assert comps["etcd"].control_plane and not comps["kube-proxy"].control_plane
    assert len(comps["etcd"].alerts) >= 12 and len(comps["etcd"].rules) >= 12
    assert len(comps["kube-proxy"].alerts) >= 4 and len(comps["kube-proxy"].rules) >= 5


@pytest.mark.parametrize("comp", _components(), ids=lambda c: c.key)
def test_internal_consistency(comp: Component) -> None:
    records = {r.record for r in (*comp.rules, *comp.slow_rules)}
    alerts = {a.name for a in comp.alerts}
    prefix = comp.key.replace("-", "_") + "_"
    signals = {s.name for s in comp.signals}
    assert len(signals) == len(comp.signals)
    for signal in comp.signals:
        assert signal.name.startswith(prefix)
        assert signal.alert is None or signal.alert in alerts
        assert '{cluster="$cluster"' in signal.expr
        used = set(re.findall(r"[a-z_]+:[a-z0-9_]+:[a-z0-9_]+", signal.expr))
        assert used and used <= records, signal.name
    for panel in comp.panels:
        assert set(panel.signals) <= signals, panel.title
    for alert in comp.alerts:
        assert alert.name.startswith("Etcd" if comp.key == "etcd" else "KubeProxy")
        assert any(c.fires for c in alert.cases) and not all(c.fires for c in alert.cases)
        if alert.threshold is not None:
            assert fmt_number(alert.threshold) in alert.expr, alert.name
        for record in re.findall(r"[a-z_]+:[a-z0-9_]+:[a-z0-9_]+", alert.expr):
            assert record in records, (alert.name, record)
    for test in comp.rule_tests:
        assert test.expr in records


def test_site_thresholds_reach_the_rules() -> None:
    ctx = Context(Config(thresholds={"EtcdDatabaseQuotaLowSpace": 0.9}))
    by_name = {a.name: a for c in _components(ctx) for a in c.alerts}
    assert by_name["EtcdDatabaseQuotaLowSpace"].expr.endswith("> 0.9")
    assert by_name["EtcdDatabaseQuotaLowSpace"].cases[0].value == pytest.approx(0.95)


def _promtool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL
    return subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True, check=False, timeout=600,
                          env=go_batch_env())


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed")
@pytest.mark.promtool_site(SITE, only=("etcd", "kube-proxy"))  # defaults: tests/test_promtool.py
def test_promtool_cases_pass(tree_promtool: TreeRun) -> None:
    """The site's cases, run in the background over a site tree shared with compatible settings (conftest.py)."""
    tree_promtool.result().assert_passed()
    text = (tree_promtool.tree / "rules/etcd.yaml").read_text()
    assert "k8s_cluster" in text and 'job=~"etcd|kube-etcd"' in text


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed")
def _moved_threshold(where: Path) -> Path:
    """The default output with EtcdDatabaseQuotaLowSpace's threshold moved in its alert file only."""
    out = where / "out"
    writer.write(pipeline.generate(load(None)), out)
    path = out / "alerts/etcd.yaml"
    text = path.read_text()
    assert "etcd_mvcc_db_total_size_quota:ratio > 0.95" in text
    path.write_text(text.replace("etcd_mvcc_db_total_size_quota:ratio > 0.95",
                                 "etcd_mvcc_db_total_size_quota:ratio > 0.99"))
    return out


@pytest.mark.promtool_tree(_moved_threshold, only=("etcd",))  # generated and run from collection end
def test_a_moved_threshold_fails_its_case(tree_promtool: TreeRun) -> None:
    assert "ratio > 0.99" in (tree_promtool.tree / "alerts/etcd.yaml").read_text()
    ran = tree_promtool.result().ran
    assert ran.returncode > 0
    assert "EtcdDatabaseQuotaLowSpace" in ran.stdout + ran.stderr
