"""kube-controller-manager and kube-scheduler: the signals other wings rely on, internal consistency, and promtool
cases that follow a site's thresholds, cluster label and selectors."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from promtool_run import TreeRun

from generator import catalog, pipeline
from generator.catalog import kube_controller_manager, kube_scheduler
from generator.config import ConfigError, load
from generator.context import Context
from generator.model import Component

MODULES = ("kube_controller_manager", "kube_scheduler")
# signals the dashboards issue pairs by name
REQUIRED = {
    "kube-controller-manager": ("controller_manager_workqueue_depth", "controller_manager_workqueue_latency_p99",
                                "controller_manager_cpu", "controller_manager_memory"),
    "kube-scheduler": ("scheduler_pending_pods", "scheduler_scheduling_latency_p99", "scheduler_cpu",
                       "scheduler_memory"),
}
SITE = """
cluster_label: k8s_cluster
evaluation_interval: 30s
selectors:
  kube-scheduler: 'job=~"kube-scheduler|scheduler"'
thresholds:
  KubeControllerManagerWorkqueueDepthHigh: 40
  KubeControllerManagerWorkqueueWaitHigh: 0.3
  KubeControllerManagerWorkqueueStuck: 900
  KubeSchedulerPendingPodsHigh: 20
  KubeSchedulerUnschedulablePods: 3
  KubeSchedulerLatencyHigh: 0.1
  KubeSchedulerErrors: 0.1
patch:
  KubeSchedulerDown: {for: 30m, severity: warning}
"""


def _components(ctx: Context | None = None) -> list[Component]:
    ctx = ctx or Context()
    return [kube_controller_manager.build(ctx), kube_scheduler.build(ctx)]


def _records(comp: Component) -> set[str]:
    return {r.record for r in (*comp.rules, *comp.slow_rules)}


@pytest.mark.parametrize("comp", _components(), ids=lambda c: c.key)
def test_required_signals_and_references(comp: Component) -> None:
    signals = {s.name: s for s in comp.signals}
    assert len(signals) == len(comp.signals), "signal names must be unique"
    for name in REQUIRED[comp.key]:
        assert name in signals, name
    prefix = "controller_manager_" if comp.key == "kube-controller-manager" else "scheduler_"
    alerts = {a.name for a in comp.alerts}
    records = _records(comp)
    for sig in comp.signals:
        assert sig.name.startswith(prefix), sig.name
        assert sig.alert is None or sig.alert in alerts, sig.alert
        assert '{cluster="$cluster"' in sig.expr, sig.name
        # signals read recorded series only
        assert any(r in sig.expr for r in records), sig.name
    for panel in comp.panels:
        for name in panel.signals:
            assert name in signals, name
    assert comp.control_plane


@pytest.mark.parametrize("comp", _components(), ids=lambda c: c.key)
def test_alerts_and_rules_use_only_recorded_series_they_define(comp: Component) -> None:
    records = _records(comp)
    exprs = [a.expr for a in comp.alerts] + [r.expr for r in comp.rules] + [t.expr for t in comp.rule_tests]
    for expr in exprs:
        for used in re.findall(r"[a-z_]+:[a-z0-9_]+:[a-z0-9_]+", expr):
            assert used in records, f"{used} in {expr}"
    for rule in comp.rules:
        for agg in re.findall(r"\b(?:sum|max) (by \([^)]*\))", rule.expr):
            assert agg.startswith("by (cluster"), rule.record


def test_counts_and_no_shared_record_names() -> None:
    kcm, sched = _components()
    assert not _records(kcm) & _records(sched)
    assert len(kcm.alerts) + len(sched.alerts) >= 12
    assert len(kcm.rules) + len(sched.rules) >= 14


def test_managed_profile_drops_both(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(catalog, "MODULES", (*MODULES, "coredns"))
    cfg = tmp_path / "stereo.yaml"
    cfg.write_text("profile: managed\n")
    files = pipeline.generate(load(cfg))
    assert not [p for p in files if "kube-scheduler" in p or "kube-controller-manager" in p]


def test_threshold_beyond_the_buckets_is_a_config_error(tmp_path: Path) -> None:
    cfg = tmp_path / "stereo.yaml"
    cfg.write_text("thresholds:\n  KubeSchedulerLatencyHigh: 20\n")
    with pytest.raises(ConfigError, match=r"stereo.yaml:2: thresholds.KubeSchedulerLatencyHigh: 20 is at or above"):
        kube_scheduler.build(Context(load(cfg)))


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool is not installed")
@pytest.mark.promtool_site(SITE, only=("kube-controller-manager", "kube-scheduler"))  # defaults: test_promtool.py
def test_promtool_cases_follow_the_settings(tree_promtool: TreeRun) -> None:
    """The site's cases, run in the background over a site tree shared with compatible settings (conftest.py)."""
    out = tree_promtool.tree
    assert "> 0.3" in (out / "alerts/kube-controller-manager.yaml").read_text()
    assert 'job=~"kube-scheduler|scheduler"' in (out / "rules/kube-scheduler.yaml").read_text()
    tree_promtool.result().assert_passed()
