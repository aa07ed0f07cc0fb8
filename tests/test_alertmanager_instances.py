"""A component that is down as a whole fires its Down alert and, instance by instance, its *InstanceDown alerts
(as kubernetes-mixin's *InstanceUnreachable do); Alertmanager silences the instance alerts while the Down alert
of the same component and cluster fires, so the outage pages once. One instance down among healthy peers pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator.config import Config, load
from generator.model import Component
from generator.render import alertmanager as am
from tests.test_alertmanager import ALERTMANAGER, _components, _document, _post, _running, _settle, _write

# component -> (its component-wide Down alerts, its per-instance Down alert)
EXPECTED = {
    "kube-apiserver": (["KubeAPIServerDown"], "KubeAPIServerInstanceDown"),
    "kube-scheduler": (["KubeSchedulerDown"], "KubeSchedulerInstanceDown"),
    "kube-controller-manager": (["KubeControllerManagerDown"], "KubeControllerManagerInstanceDown"),
    "kube-proxy": (["KubeProxyDown"], "KubeProxyInstanceDown"),
    "kubelet": (["KubeletDown", "KubeletManyDown"], "KubeletInstanceDown"),
    "nodes": (["NodeExporterDown"], "NodeExporterInstanceDown"),
}


@pytest.fixture(scope="module")
def default() -> tuple[list[Component], Config]:
    config = load(None)
    return _components(config), config


def test_component_down_silences_its_instance_alerts(default) -> None:
    rules = _document(*default)["inhibit_rules"]
    found = {}
    for rule in rules:
        targets = [m for m in rule["target_matchers"] if m.startswith("alertname=")]
        if targets and rule["target_matchers"][0].startswith("component="):
            component = rule["target_matchers"][0].split("=", 1)[1].strip('"')
            sources = rule["source_matchers"][0].split("=", 1)[1].lstrip("~").strip('"').split("|")
            assert rule["source_matchers"][1] == f'component="{component}"'
            assert rule["equal"] == ["cluster"], "the whole component is down in that cluster only"
            found[component] = (sources, targets[0].split("=", 1)[1].strip('"'))
    assert found == EXPECTED


def test_no_rule_without_an_instance_alert(default) -> None:
    components, config = default
    # a component with a Down alert but no per-instance one (CoreDNS) gets no such rule
    names = {a.name for c in components if c.key == "coredns" for a in c.alerts}
    assert "CoreDNSDown" in names and not any(n.endswith("InstanceDown") for n in names)
    text = next(iter(am.alertmanager(components, config).values()))
    assert "CoreDNSInstanceDown" not in text


@pytest.mark.skipif(ALERTMANAGER is None, reason="prometheus-alertmanager is not installed")
def test_a_whole_outage_pages_once_in_a_real_alertmanager(default, tmp_path: Path) -> None:
    path = _write(tmp_path, *default)
    alert = lambda name, cluster, instance="", severity="warning": {  # noqa: E731
        "alertname": name, "cluster": cluster, "severity": severity, "component": "kube-scheduler",
        **({"instance": instance, "job": "kube-scheduler"} if instance else {})}
    with _running(path, tmp_path / "data") as url:
        _post(url, [
            # c1: the only scheduler is down: Down and InstanceDown both fire
            alert("KubeSchedulerDown", "c1", severity="critical"), alert("KubeSchedulerInstanceDown", "c1", "a:10259"),
            # c2: one of three is down, the component is not
            alert("KubeSchedulerInstanceDown", "c2", "b:10259"),
            # c3: the apiserver is down there; it does not silence the scheduler's instance alert
            {**alert("KubeAPIServerDown", "c3", severity="critical"), "component": "kube-apiserver"},
            alert("KubeSchedulerInstanceDown", "c3", "c:10259"),
        ])
        expected = {
            ("KubeSchedulerDown", "c1", ""): "active",
            ("KubeSchedulerInstanceDown", "c1", "a:10259"): "suppressed",
            ("KubeSchedulerInstanceDown", "c2", "b:10259"): "active",
            ("KubeAPIServerDown", "c3", ""): "active",
            ("KubeSchedulerInstanceDown", "c3", "c:10259"): "active",
        }
        assert _settle(url, expected, "alertname", "cluster", "instance") == expected
