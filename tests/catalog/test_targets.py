"""Vanished targets and the general alerts: every component's Down alert also fires when its job leaves discovery
(per cluster, absent() when nothing is scraped), components a profile drops get none, and the promtool cases
hold on a site with another cluster label and regex selectors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from promtool_run import TreeRun

from generator import pipeline
from generator.config import load

PROMTOOL = shutil.which("promtool")
# Down alert -> the selector source it watches
DOWN = {"KubeAPIServerDown": "kube-apiserver", "KubeSchedulerDown": "kube-scheduler",
        "KubeControllerManagerDown": "kube-controller-manager", "KubeProxyDown": "kube-proxy",
        "KubeletDown": "kubelet", "CoreDNSDown": "coredns", "NodeExporterDown": "node-exporter",
        "KubeStateMetricsDown": "kube-state-metrics", "EtcdMembersDown": "etcd"}
SITE = """
cluster_label: k8s_cluster
selectors:
  kube-scheduler: 'job=~"kube-scheduler|scheduler"'
  coredns: 'job="kube-dns", namespace="kube-system"'
  kube-state-metrics: 'job=~"kube-state-metrics|ksm"'
patch:
  KubeSchedulerDown: {for: 5m}
"""


def _alerts(files: dict[str, str]) -> dict[str, dict]:
    out = {}
    for path, text in files.items():
        if path.startswith("alerts/"):
            for group in yaml.safe_load(text)["groups"]:
                out.update({r["alert"]: r for r in group["rules"]})
    return out


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    root = tmp_path_factory.mktemp("site")
    (root / "stereo.yaml").write_text(SITE)
    files = pipeline.generate(load(root / "stereo.yaml"))
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root, files


def test_every_down_alert_watches_for_vanished_targets(site: tuple[Path, dict[str, str]]) -> None:
    _, files = site
    config = load(site[0] / "stereo.yaml")
    alerts = _alerts(files)
    for name, source in DOWN.items():
        expr = alerts[name]["expr"]
        selector = "{" + config.selectors[source] + "}"
        assert f"group by (k8s_cluster) (up{selector})" in expr, name
        assert "unless on (k8s_cluster)" in expr, name
        if name == "KubeletDown":  # anchored on nodes: no nodes, no kubelet to miss
            assert "kube_node_info" in expr and "absent(" not in expr
        else:
            # no `up` at all: one label-less series, `up` read once (the vanished branch's former absent())
            assert "(group by (k8s_cluster) (up) or on () vector(1)) unless on (k8s_cluster)" in expr, name
            assert expr.count("(up)") == 1 and "absent(" not in expr, name


def test_a_managed_profile_gets_no_absent_alert_for_what_it_drops() -> None:
    config = load(None)
    managed = pipeline.generate(type(config)(**{**config.__dict__, "profile": "managed"}))
    alerts = _alerts(managed)
    for name in ("KubeSchedulerDown", "KubeControllerManagerDown", "EtcdMembersDown", "KubeSchedulerInstanceDown"):
        assert name not in alerts
    # TargetDown and KubeClientErrors name the watched jobs only to leave them out (`unless`)
    exprs = " ".join(a["expr"] for n, a in alerts.items() if n not in ("TargetDown", "KubeClientErrors"))
    assert 'up{job="kube-scheduler"}' not in exprs and 'up{job="kube-etcd"}' not in exprs
    assert 'up{job="apiserver"}' in alerts["KubeAPIServerDown"]["expr"]  # the apiserver stays


def test_general_alerts_and_their_routes(site: tuple[Path, dict[str, str]]) -> None:
    _, files = site
    alerts = _alerts(files)
    for name in ("Watchdog", "InfoInhibitor", "TargetDown", "KubeVersionMismatch", "KubeClientErrors",
                 "KubeStateMetricsListErrors", "KubeStateMetricsWatchErrors", "KubeStateMetricsShardingMismatch",
                 "KubeStateMetricsShardsMissing", "KubePdbNotEnoughHealthyPods", "NodeNetworkInterfaceFlapping",
                 "NodeSystemdServiceFailed", "NodeRAIDDegraded", "NodeBondingDegraded", "EtcdGRPCRequestsSlow",
                 "CoreDNSForwardHealthcheckFailing", "KubeAPIServerAggregatedAPIErrors"):
        assert name in alerts, name
        assert alerts[name]["annotations"]["runbook_url"].endswith(f"/{name}.md")
        assert f"docs/runbooks/{name}.md" in files
    assert alerts["KubeSchedulerDown"]["for"] == "5m"
    # a Down alert under another cluster label keeps it in the label the vanished branch groups by
    assert "group by (k8s_cluster, namespace)" in alerts["InfoInhibitor"]["expr"]
    am = yaml.safe_load(files["alertmanager/alertmanager.yml"])
    assert am["route"]["routes"][0]["receiver"] == "watchdog"
    inhibit = [r for r in am["inhibit_rules"] if r["source_matchers"] == ['alertname="InfoInhibitor"']]
    assert inhibit and inhibit[0]["equal"] == ["k8s_cluster", "namespace"]


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed")
@pytest.mark.promtool_site(SITE, only=("general", "kube-scheduler", "coredns", "kubelet", "nodes", "etcd"))
def test_promtool_cases_pass_on_another_site(site: tuple[Path, dict[str, str]], tree_promtool: TreeRun) -> None:
    """The vanished, absent and per-instance cases are generated from the site's selectors and cluster label (run
    in the background over a site tree shared with compatible settings, tests/conftest.py)."""
    _, files = site
    for path in ("tests/rules/coredns.yaml", "tests/rules/kube-scheduler.yaml"):
        assert (tree_promtool.tree / path).read_text() == files[path], path  # the settings of SITE reached them
    tree_promtool.result().assert_passed()
    absent = yaml.safe_load(files["tests/rules/coredns.yaml"])
    names = [t["name"] for t in absent["tests"]]
    assert "CoreDNSDown fires: no target at all is scraped: absent()" in names
    case = next(t for t in absent["tests"] if t["name"] == "CoreDNSDown fires: no target at all is scraped: absent()")
    labels = case["alert_rule_test"][0]["exp_alerts"][0]["exp_labels"]
    # nothing says which cluster: no cluster label (and the same empty label set as a label-less "all down")
    assert "k8s_cluster" not in labels and "job" not in labels and labels["component"] == "coredns"
