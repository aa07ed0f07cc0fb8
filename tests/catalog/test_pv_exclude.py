"""`filters.pv_exclude`: the PersistentVolumeClaims the volume alerts leave out (kubernetes-mixin's
pvExcludedSelector), as matchers on kube_persistentvolumeclaim_labels. The default is today's opt-out label; a
site's selector reaches the four volume alerts and their promtool cases; '' turns the opt-out off; a selector
that would leave out every claim, a bad regular expression or a matcher on the cluster label is refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from generator import cli
from generator.config import FILTER_DEFAULTS, ConfigError, load
from generator.pipeline import generate
from tests.promtool_run import TreeRun, promtool

VOLUME_ALERTS = ("KubePersistentVolumeAlmostFull", "KubePersistentVolumeFillingUp",
                 "KubePersistentVolumeInodesAlmostFull", "KubePersistentVolumeInodesFillingUp")
LABELS = "kube_persistentvolumeclaim_labels"


def _site(tmp_path: Path, value: str) -> Path:
    """Generate with `filters.pv_exclude: value` into tmp_path/out; return it."""
    config = tmp_path / "stereo.yaml"
    config.write_text(yaml.safe_dump({"filters": {"pv_exclude": value}}))
    assert cli.main(["generate", "--config", str(config), "--out", str(tmp_path / "out")]) == 0
    return tmp_path / "out"


def _volume_alerts(out: Path) -> dict[str, str]:
    rules = [r for g in yaml.safe_load((out / "alerts/kubelet.yaml").read_text())["groups"] for r in g["rules"]]
    return {r["alert"]: r["expr"] for r in rules if r.get("alert") in VOLUME_ALERTS}


def test_the_default_is_the_opt_out_label(root: Path) -> None:
    assert FILTER_DEFAULTS["pv_exclude"] == 'label_excluded_from_alerts="true"'
    exprs = _volume_alerts(root)
    assert len(exprs) == 4
    for name, expr in exprs.items():
        assert f'{LABELS}{{label_excluded_from_alerts="true"}}) == 1' in expr, name


def _run(tmp_path: Path, out: Path, claim_labels: str, fires: bool) -> None:
    """A real promtool case on the generated rules: KubePersistentVolumeAlmostFull's expression over a nearly full
    claim with the given PVC labels."""
    expr = _volume_alerts(out)["KubePersistentVolumeAlmostFull"]
    claim = 'cluster="c",namespace="ns",persistentvolumeclaim="p"'
    vol = f'{claim},job="kubelet",metrics_path="/metrics"'
    ratio = "cluster_namespace_persistentvolumeclaim:kubelet_volume_stats_available_bytes:ratio"
    samples = [{"labels": f"{ratio}{{{claim}}}", "value": 0.01}] if fires else []
    test = {"rule_files": [str(out / "rules/kubelet.yaml")], "evaluation_interval": "1m",
            "tests": [{"interval": "1m", "input_series": [
                {"series": f"kubelet_volume_stats_available_bytes{{{vol}}}", "values": "1+0x10"},
                {"series": f"kubelet_volume_stats_capacity_bytes{{{vol}}}", "values": "100+0x10"},
                {"series": f"kubelet_volume_stats_used_bytes{{{vol}}}", "values": "99+0x10"},
                {"series": f"{LABELS}{{{claim},{claim_labels}}}", "values": "1+0x10"}],
                "promql_expr_test": [{"expr": expr, "eval_time": "5m", "exp_samples": samples}]}]}
    path = tmp_path / f"case-{abs(hash(claim_labels))}.yaml"
    path.write_text(yaml.safe_dump(test))
    done = promtool("test", "rules", str(path), cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr


TIER = 'label_tier=~"scratch|tmp"'


def _tier_site(where: Path) -> Path:
    return _site(where, TIER)


def _namespace_site(where: Path) -> Path:
    return _site(where, 'namespace="scratch"')


@pytest.mark.promtool_tree(_tier_site, only=("kubelet",))  # generated and run from collection end (conftest.py)
def test_a_site_selector_reaches_the_alerts_and_their_cases(tmp_path: Path, tree_promtool: TreeRun) -> None:
    selector = TIER
    out = tree_promtool.tree
    for name, expr in _volume_alerts(out).items():
        assert f"{LABELS}{{{selector}}}) == 1" in expr, name
        assert "label_excluded_from_alerts" not in expr, name
    # the generated cases carry a claim the selector selects, and pass
    tests = (out / "tests/rules/kubelet.yaml").read_text()
    assert 'label_tier="scratch"' in tests and "opts out (filters.pv_exclude)" in tests
    tree_promtool.result().assert_passed()
    # a labelled claim the selector does not pick still alerts; the old opt-out label no longer silences
    _run(tmp_path, out, 'label_tier="tmp"', fires=False)
    _run(tmp_path, out, 'label_tier="prod"', fires=True)
    _run(tmp_path, out, 'label_excluded_from_alerts="true"', fires=True)


@pytest.mark.promtool_tree(_namespace_site, only=("kubelet",))  # generated and run from collection end
def test_an_opt_out_by_namespace_gets_a_case_in_that_namespace(tree_promtool: TreeRun) -> None:
    out = tree_promtool.tree
    tests = (out / "tests/rules/kubelet.yaml").read_text()
    # the case may share its group with others, in a cluster of its own (test-cluster.2, …)
    assert re.search(rf'{LABELS}{{cluster="test-cluster[.0-9]*",job="ksm",namespace="scratch"', tests)
    assert re.search(r'kubelet_volume_stats_available_bytes\{cluster="test-cluster[.0-9]*",instance="10.0.0.1:10250",'
                     r'job="kubelet",metrics_path="/metrics",namespace="scratch"', tests)
    tree_promtool.result().assert_passed()


def test_an_empty_selector_turns_the_opt_out_off(tmp_path: Path) -> None:
    out = _site(tmp_path, "")
    for name, expr in _volume_alerts(out).items():
        assert LABELS not in expr, name
        assert 'access_mode="ReadOnlyMany"' in expr, name  # read-only claims stay left out
    assert "opts out" not in (out / "tests/rules/kubelet.yaml").read_text()
    _run(tmp_path, out, 'label_excluded_from_alerts="true"', fires=True)


@pytest.mark.parametrize(("value", "message"), [
    ('label_team!="db"', "expected matchers that select labelled claims only"),
    ('label_a=~".*"', "expected matchers that select labelled claims only"),
    ('label_tier=~"(scratch"', "expected label matchers such as"),
    ('cluster="dev",label_a="b"', "expected matchers on the claims' labels, not on cluster"),
    ("label_a=b", "expected label matchers such as"),
    (["label_a=\"b\""], "expected label matchers such as"),
])
def test_bad_selectors_are_refused_at_their_line(tmp_path: Path, value: object, message: str) -> None:
    path = tmp_path / "stereo.yaml"
    path.write_text(yaml.safe_dump({"filters": {"pv_exclude": value}}))
    with pytest.raises(ConfigError) as caught:
        generate(load(path))
    text = str(caught.value)
    assert text.startswith(f"{path}:2: filters.pv_exclude: "), text
    assert message in text and "\n" not in text
