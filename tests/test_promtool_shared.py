"""promtool cases share test groups (generator/render/promtool_groups.py): the cases of one check (an alert or a
record at one time) each in a cluster of its own, and cases of different checks when neither's series reach the
other's rule; a case that needs the whole storage (no cluster label on a series or on its alert) keeps a group to
itself. promtool evaluates every rule at every step of every group, so sharing cuts its work; these tests show it
checks no less: a quiet case that fires still fails its group, and the error names the alert's cases."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from generator import validate_tools
from generator.config import load
from generator.model import Alert, Case, Component, RecordingRule, RuleTest
from generator.process import go_batch_env
from generator.render import promtool_groups, promtool_tests, rulefiles

PROMTOOL = shutil.which("promtool")
DEEP = 'queue_depth{cluster="test-cluster",job="q"}'
OTHER = 'queue_depth{cluster="other-cluster",job="q"}'
LAG = 'queue_lag_seconds{cluster="test-cluster",job="q"}'


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
    lag = Alert(  # reads another metric: its cases may share the deep queue's group
        name="QueueLagging", expr='max by (cluster) (queue_lag_seconds{job="q"}) > 60', for_="2m",
        severity="warning", summary="A queue lags.", description="Lag {{ $value }}s.",
        cases=(Case({LAG: 90}, fires=True, value=90), Case({LAG: 30}, fires=False)))
    stuck = Alert(  # reads both: it shares with neither
        name="QueueStuck", expr='max by (cluster) (queue_depth{job="q"}) > 0 and max by (cluster) '
                                '(queue_lag_seconds{job="q"}) > 600', for_="1m", severity="warning",
        summary="A queue is stuck.", description="Stuck.",
        cases=(Case({DEEP: 5, LAG: 900}, fires=True), Case({DEEP: 0, LAG: 900}, fires=False)))
    record = RuleTest(inputs={DEEP: 7}, expr="cluster:queue_depth:max", expected=(({}, 7),), eval_time="5m")
    other = RuleTest(inputs={OTHER: 2}, expr="cluster:queue_depth:max", expected=(({"cluster": "other-cluster"}, 2),),
                     eval_time="5m", note="another cluster")
    rule = RecordingRule(record="cluster:queue_depth:max", expr='max by (cluster) (queue_depth{job="q"})')
    return Component(key="queue", title="Queue", description="", rules=(rule,), rule_tests=(record, other),
                     alerts=(deep, gone, lag, stuck))


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


def test_cases_share_groups_only_where_they_cannot_reach_each_other(tmp_path: Path) -> None:
    doc = _tree(tmp_path, _component())
    names = [t["name"] for t in doc["tests"]]
    assert names == [  # longest first; each group costs its longest case
        "QueueDeep fires: one cluster deep | QueueDeep stays quiet: shallow | QueueLagging fires | "
        "QueueLagging stays quiet",
        "cluster:queue_depth:max | cluster:queue_depth:max: another cluster",  # 5m, reads queue_depth
        "QueueDeep stays quiet: one minute early",  # 5m too, but the same metric as the records' cases
        "QueueGone fires",  # absent(): no cluster on its alert, the storage to itself
        "QueueGone stays quiet",  # reads queue_depth, as every longer group does
        "QueueStuck fires | QueueStuck stays quiet",  # reads both metrics: apart from nothing
    ]
    shared = doc["tests"][0]
    assert [s["series"] for s in shared["input_series"]] == [
        'queue_depth{cluster="other-cluster",job="q"}', 'queue_depth{cluster="test-cluster",job="q"}',
        'queue_depth{cluster="test-cluster.2",job="q"}', 'queue_lag_seconds{cluster="test-cluster.3",job="q"}',
        'queue_lag_seconds{cluster="test-cluster.4",job="q"}']
    deep, lag = shared["alert_rule_test"]
    assert (deep["eval_time"], lag["eval_time"]) == ("6m", "3m")  # each check at its own time
    assert [a["exp_labels"]["cluster"] for a in deep["exp_alerts"]] == ["test-cluster"]
    assert deep["exp_alerts"][0]["exp_annotations"]["description"] == "Queue depth 20 in cluster test-cluster."
    assert [a["exp_labels"]["cluster"] for a in lag["exp_alerts"]] == ["test-cluster.3"]
    records = doc["tests"][1]
    assert [s["series"] for s in records["input_series"]] == [DEEP, 'queue_depth{cluster="other-cluster.2",job="q"}']
    assert [r["labels"] for r in records["promql_expr_test"][0]["exp_samples"]] == [
        '{__name__="cluster:queue_depth:max", cluster="test-cluster"}',
        '{__name__="cluster:queue_depth:max", cluster="other-cluster.2"}']
    ran = _promtool(tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr


def test_a_quiet_case_that_fires_still_fails_its_shared_group(tmp_path: Path) -> None:
    doc = _tree(tmp_path, _component(quiet_value=30))  # "shallow" is now deep: its cluster fires too
    assert doc["tests"][0]["name"].startswith("QueueDeep fires: one cluster deep | QueueDeep stays quiet: shallow")
    ran = _promtool(tmp_path)
    assert ran.returncode == 1, ran.stdout + ran.stderr
    out = ran.stdout + ran.stderr
    assert "alertname: QueueDeep," in out and "alertname: QueueLagging" not in out
    assert 'cluster="test-cluster.2"' in out  # the extra alert, named by the quiet case's cluster
    # `stereo generate` names the alert's own cases of the group (not the other alert's) in its one-line error
    error = str(validate_tools._test_failure(load(None), out))
    assert 'its test "QueueDeep fires: one cluster deep | QueueDeep stays quiet: shallow" fails' in error


def test_reads_follow_every_rule_writing_a_record() -> None:
    """What an expression reads, through records written by more than one rule (one per label set); what cannot be
    listed is None, so its cases are packed with nothing."""
    comp = Component(key="q", title="Q", description="", rules=(
        RecordingRule(record="r:errors", expr='sum by (cluster) (a_total{code="500"})', labels={"kind": "a"}),
        RecordingRule(record="r:errors", expr="sum by (cluster) (b_total)", labels={"kind": "b"}),
        RecordingRule(record="r:ratio", expr="r:errors / on (cluster) group_left c"),
    ))
    reads = promtool_groups.reader(comp)
    assert reads("r:ratio > 1") == {"r:ratio", "r:errors", "a_total", "b_total", "c"}
    assert reads('{__name__="a_total", job="x"}') == {"a_total"}
    assert reads('{job="x"}') is None and reads('ALERTS{severity="info"}') is None
    assert promtool_groups.series_metric('{__name__="a_total",cluster="c"}') == "a_total"
    assert promtool_groups.series_metric('a_total{cluster="c{,}"}') == "a_total"
