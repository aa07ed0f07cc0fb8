"""Cases that check one alert (or record) at one time share a promtool test group, each case renamed into a
cluster of its own; a case that needs the whole storage (no cluster label on a series or on its alert) keeps a
group to itself. Sharing halves promtool's work; these tests show it checks no less: a quiet case that fires, or a
firing case that does not, still fails its group."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from generator.model import Alert, Case, Component, RecordingRule, RuleTest
from generator.process import go_batch_env
from generator.render import promtool_tests, rulefiles

PROMTOOL = shutil.which("promtool")
DEEP = 'queue_depth{cluster="test-cluster",job="q"}'
OTHER = 'queue_depth{cluster="other-cluster",job="q"}'


def _component(quiet_value: float = 3) -> Component:
    deep = Alert(
        name="QueueDeep", expr='max by (cluster) (queue_depth{job="q"}) > 10', for_="5m", severity="warning",
        summary="A queue is deep.", description="Queue depth {{ $value }} in cluster {{ $labels.cluster }}.",
        cases=(Case({DEEP: 20, OTHER: 1}, fires=True, value=20, note="one cluster deep"),
               Case({DEEP: quiet_value}, fires=False, note="shallow"),
               Case({DEEP: "_ 20+0x{n}"}, fires=False, lookback="0s", note="one minute early")))
    gone = Alert(
        name="QueueGone", expr='absent(queue_depth{job="q"})', for_="1m", severity="warning",
        summary="No queue at all.", description="No queue is scraped.",
        cases=(Case({}, fires=True, labels={"cluster": "", "job": "q"}), Case({DEEP: 1}, fires=False)))
    record = RuleTest(inputs={DEEP: 7}, expr="cluster:queue_depth:max", expected=(({}, 7),), eval_time="5m")
    other = RuleTest(inputs={OTHER: 2}, expr="cluster:queue_depth:max", expected=(({"cluster": "other-cluster"}, 2),),
                     eval_time="5m", note="another cluster")
    rule = RecordingRule(record="cluster:queue_depth:max", expr='max by (cluster) (queue_depth{job="q"})')
    return Component(key="queue", title="Queue", description="", rules=(rule,), rule_tests=(record, other),
                     alerts=(deep, gone))


def _notes(comp: Component) -> dict[str, dict[str, str]]:
    return {a.name: rulefiles.annotations(a, "https://runbooks/x", "http://grafana/d/x") for a in comp.alerts}


def _tree(tmp_path: Path, comp: Component) -> dict:
    notes = _notes(comp)
    for rel, text in (("rules/queue.yaml", rulefiles.rules_file(comp, "1m")),
                      ("alerts/queue.yaml", rulefiles.alerts_file(comp, "1m", notes)),
                      ("tests/rules/queue.yaml", promtool_tests.test_file(comp, "1m", "cluster", notes))):
        assert text is not None
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return yaml.safe_load((tmp_path / "tests/rules/queue.yaml").read_text())


def _promtool(tmp_path: Path) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL, "promtool is missing: tools/setup-test-deps.sh (run by `make test`) installs it"
    return subprocess.run([PROMTOOL, "test", "rules", "tests/rules/queue.yaml"], cwd=tmp_path, capture_output=True,
                          text=True, timeout=300, check=False, env=go_batch_env())


def test_cases_with_one_check_share_a_group_in_clusters_of_their_own(tmp_path: Path) -> None:
    doc = _tree(tmp_path, _component())
    names = [t["name"] for t in doc["tests"]]
    assert names == [
        "cluster:queue_depth:max | cluster:queue_depth:max: another cluster",
        "QueueDeep fires: one cluster deep | QueueDeep stays quiet: shallow",
        "QueueDeep stays quiet: one minute early",  # another evaluation time: a group of its own
        "QueueGone fires",  # absent(): no cluster on its alert, the storage to itself
        "QueueGone stays quiet",  # alone in its check once the absent() case keeps its own group
    ]
    shared = doc["tests"][1]
    assert [s["series"] for s in shared["input_series"]] == [
        'queue_depth{cluster="other-cluster",job="q"}', 'queue_depth{cluster="test-cluster",job="q"}',
        'queue_depth{cluster="test-cluster.2",job="q"}']
    (check,) = shared["alert_rule_test"]
    assert check["eval_time"] == "6m" and [a["exp_labels"]["cluster"] for a in check["exp_alerts"]] == ["test-cluster"]
    assert check["exp_alerts"][0]["exp_annotations"]["description"] == "Queue depth 20 in cluster test-cluster."
    records = doc["tests"][0]
    assert [s["series"] for s in records["input_series"]] == [DEEP, 'queue_depth{cluster="other-cluster.2",job="q"}']
    assert [r["labels"] for r in records["promql_expr_test"][0]["exp_samples"]] == [
        '{__name__="cluster:queue_depth:max", cluster="test-cluster"}',
        '{__name__="cluster:queue_depth:max", cluster="other-cluster.2"}']
    ran = _promtool(tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr


def test_a_quiet_case_that_fires_still_fails_its_shared_group(tmp_path: Path) -> None:
    doc = _tree(tmp_path, _component(quiet_value=30))  # "shallow" is now deep: its cluster fires too
    assert doc["tests"][1]["name"] == "QueueDeep fires: one cluster deep | QueueDeep stays quiet: shallow"
    ran = _promtool(tmp_path)
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "QueueDeep fires: one cluster deep | QueueDeep stays quiet: shallow" in ran.stdout + ran.stderr
    assert 'cluster="test-cluster.2"' in ran.stdout + ran.stderr  # the extra alert, named by the quiet case's cluster
