"""Settings for real sites: whole components left out, a runbook URL pattern, annotations in `patch`, and the
filesystem / disk filters — each checked on the generated files with the real promtool and amtool."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from generator import cli, naming, pipeline
from generator.build import build, exclude_components
from generator.config import FILTER_DEFAULTS, Config, ConfigError, load
from generator.config import build as config_build
from generator.model import Alert, Case
from tests.promtool_run import TreeRun

SITE = """\
exclude:
  components: [kube-proxy]
runbook_url: https://wiki.example.com/runbooks/{component}/{alert}?cluster={{$labels.cluster}}
patch:
  CoreDNSServfailRatioHigh:
    annotations:
      summary: 'SERVFAIL at {{ $value | humanizePercentage }} in {{ $labels.cluster }}'
      team: dns
      escalation: 'page the DNS owners of {{ $labels.cluster }}'
  NodeFilesystemSpaceFillingUp:
    annotations:
      description: '{{ $labels.mountpoint }} on {{ $labels.instance }} fills up within a day'
filters:
  fstype: 'fstype=~"ext4|xfs",mountpoint!~"/var/lib/kubelet/.*"'
  disk_device: 'device=~"(/dev/)?(sd.+|nvme.+)"'
"""


def _alerts(tree: Path) -> dict[str, dict]:
    out = {}
    for path in sorted(tree.glob("alerts/*.yaml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            out.update({rule["alert"]: rule for rule in group["rules"]})
    return out


def _generate(root: Path) -> Path:
    """`stereo generate` of SITE into root/out (the fixture below, and the promtool tree started at collection)."""
    (root / "stereo.yaml").write_text(SITE)
    assert cli.main(["generate", "--config", str(root / "stereo.yaml"), "--out", str(root / "out")]) == 0
    return root / "out"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _generate(tmp_path_factory.mktemp("site"))


# ------------------------------------------------------------------------------------------ exclude.components
def test_an_excluded_component_leaves_nothing_behind(site: Path) -> None:
    names = {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}
    assert not [n for n in names if "kube-proxy" in n]
    alerts = _alerts(site)
    assert "CoreDNSDown" in alerts and not [a for a in alerts if a.startswith("KubeProxy")]
    # no rule, test, dashboard, provisioning file or inhibition mentions the component or its alerts
    for rel in sorted(names):
        if rel.startswith(("rules/", "alerts/", "tests/", "dashboards/", "provisioning/", "alertmanager/")):
            text = (site / rel).read_text()
            assert "kube-proxy" not in text and "KubeProxy" not in text and "kubeproxy" not in text, rel
    assert not (site / "docs/runbooks/KubeProxyDown.md").exists()


@pytest.mark.promtool_tree(_generate, only=("coredns", "nodes"))
def test_excluded_output_passes_promtool_and_amtool(site: Path, tree_promtool: TreeRun) -> None:
    """promtool over the same `_generate` as `site`, run in the background from collection end."""
    for path in ("alerts/coredns.yaml", "tests/rules/coredns.yaml", "tests/rules/nodes.yaml"):
        assert (tree_promtool.tree / path).read_text() == (site / path).read_text(), path
    assert not (tree_promtool.tree / "tests/rules/kube-proxy.yaml").exists()
    tree_promtool.result().assert_passed()
    amtool = shutil.which("amtool")
    assert amtool, "amtool is missing: install Debian's prometheus-alertmanager"
    done = subprocess.run([amtool, "check-config", str(site / "alertmanager/alertmanager.yml")],
                          capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_excluding_a_component_another_reads_is_refused() -> None:
    """No catalog component reads another's records today, so a kept one is made to (CoreDNS reading a kube-proxy
    record, drawing a kube-proxy signal): both readers are named on the setting's line."""
    components = build(Config()).components
    proxy = next(c for c in components if c.key == "kube-proxy")
    record, signal = proxy.rules[0].record, proxy.signals[0].name
    reader = Alert("CoreDNSProxyGone", f"{record} == 0", "5m", "warning", "s", "d", (Case({}, fires=False),))
    changed = [dataclasses.replace(c, alerts=(*c.alerts, reader),
                                   panels=(*c.panels, dataclasses.replace(c.panels[0], title="Proxy",
                                                                         signals=(signal,))))
               if c.key == "coredns" else c for c in components]
    config = config_build({"exclude": {"components": ["etcd", "kube-proxy"]}}, "stereo.yaml",
                          {"exclude.components[1]": 3})
    with pytest.raises(ConfigError) as err:
        exclude_components(changed, config)
    assert str(err.value) == ("stereo.yaml:3: exclude.components[1]: kube-proxy is read by coredns alert "
                              "CoreDNSProxyGone, coredns panel 'Proxy'; exclude those components as well")
    # the untouched catalog lets it go
    assert [c.key for c in exclude_components(components, config)] == [
        c.key for c in components if c.key not in {"etcd", "kube-proxy"}]


def test_a_component_the_profile_already_left_out_may_be_excluded(tmp_path: Path) -> None:
    path = tmp_path / "stereo.yaml"
    path.write_text("profile: managed\nexclude:\n  components: [etcd, kube-proxy]\n")
    files = pipeline.generate(load(path))
    assert "alerts/coredns.yaml" in files
    assert not [p for p in files if "etcd" in p or "kube-proxy" in p]


# ------------------------------------------------------------------------------------------------ runbook URLs
def test_runbook_pattern_fills_alert_and_component(site: Path) -> None:
    alerts = _alerts(site)
    assert alerts["CoreDNSDown"]["annotations"]["runbook_url"] == (
        "https://wiki.example.com/runbooks/coredns/CoreDNSDown?cluster={{$labels.cluster}}")
    assert alerts["NodeExporterDown"]["annotations"]["runbook_url"].startswith(
        "https://wiki.example.com/runbooks/nodes/NodeExporterDown?")


def test_a_base_url_keeps_the_default_layout() -> None:
    assert naming.runbook_url("https://x.example/rb", "CoreDNSDown", "coredns") == "https://x.example/rb/CoreDNSDown.md"
    files = pipeline.generate(Config())
    assert f"runbook_url: {Config().runbook_url}/CoreDNSDown.md" in files["alerts/coredns.yaml"]


# --------------------------------------------------------------------------------------- annotations in patch
def test_patched_annotations_reach_rules_tests_and_runbooks(site: Path) -> None:
    notes = _alerts(site)["CoreDNSServfailRatioHigh"]["annotations"]
    assert notes["summary"] == "SERVFAIL at {{ $value | humanizePercentage }} in {{ $labels.cluster }}"
    assert notes["team"] == "dns" and notes["escalation"] == "page the DNS owners of {{ $labels.cluster }}"
    assert notes["description"]  # not patched: the catalog's
    tests = yaml.safe_load((site / "tests/rules/coredns.yaml").read_text())["tests"]
    expected = [a["exp_annotations"] for t in tests for c in t.get("alert_rule_test", ())
                if c["alertname"] == "CoreDNSServfailRatioHigh" for a in c["exp_alerts"]]
    # the case's cluster: test-cluster, or test-cluster.<i> in a group shared with other cases
    found = re.fullmatch(r"SERVFAIL at 6% in (test-cluster(\.\d+)?)", expected[0]["summary"]) if expected else None
    assert found, expected
    assert expected[0]["escalation"] == f"page the DNS owners of {found.group(1)}"
    runbook = (site / "docs/runbooks/CoreDNSServfailRatioHigh.md").read_text()
    assert "SERVFAIL at" in runbook


# ---------------------------------------------------------------------------------------------------- filters
def test_filters_reach_the_node_rules(site: Path) -> None:
    rules = (site / "rules/nodes.yaml").read_text() + (site / "alerts/nodes.yaml").read_text()
    assert 'fstype=~"ext4|xfs",mountpoint!~"/var/lib/kubelet/.*"' in rules
    assert 'device=~"(/dev/)?(sd.+|nvme.+)"' in rules
    assert "squashfs" not in rules and "mmcblk" not in rules


def test_default_filters_are_the_committed_selectors() -> None:
    root = Path(__file__).parents[1]
    committed = (root / "rules/nodes.yaml").read_text() + (root / "alerts/kubelet.yaml").read_text()
    for matchers in FILTER_DEFAULTS.values():
        assert matchers in committed


@pytest.mark.parametrize(("key", "value", "message"), [
    ("fstype", 'fstype!="ramfs"', "keep ext4 on /dev/sda1 at / and leave out tmpfs at /run"),
    ("fstype", "", "keep ext4 on /dev/sda1 at / and leave out tmpfs at /run"),
    ("disk_device", 'device!="sda"', "keep device sda and leave out loop0"),
])
def test_a_filter_the_promtool_cases_cannot_pass_is_refused(tmp_path: Path, key: str, value: str,
                                                             message: str) -> None:
    path = tmp_path / "stereo.yaml"
    path.write_text(f"filters:\n  {key}: '{value}'\n")
    with pytest.raises(ConfigError, match=rf"^{path}:2: filters.{key}: expected matchers that {message}"):
        pipeline.generate(load(path))
