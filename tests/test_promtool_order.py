"""Generated promtool cases are deterministic: recording groups are evaluated first (`group_eval_order`) and every
alert case is evaluated at the exact moment its `for` is met, so a recorded series read one interval late fails."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from generator import pipeline
from generator.config import load
from generator.process import go_batch_env
from generator.promql import parse_duration
from generator.render import promtool_tests

PROMTOOL = shutil.which("promtool")


def test_every_test_file_lists_all_groups_recording_first(root: Path) -> None:
    checked = 0
    for test_path in sorted((root / "tests" / "rules").glob("*.yaml")):
        doc = yaml.safe_load(test_path.read_text())
        kinds: dict[str, bool] = {}  # group name -> has recording rules
        for rel in doc["rule_files"]:
            for group in yaml.safe_load((test_path.parent / rel).read_text())["groups"]:
                kinds[group["name"]] = any("record" in r for r in group["rules"])
        order = doc["group_eval_order"]
        assert sorted(order) == sorted(kinds), test_path.name
        flags = [kinds[g] for g in order]
        assert flags == sorted(flags, reverse=True), f"{test_path.name}: an alert group precedes a recording group"
        checked += 1
    assert checked >= 9


def test_alert_cases_evaluate_at_lookback_plus_for() -> None:
    components, _ = pipeline.build(load(None))
    seen = 0
    for comp in components:
        for alert in comp.alerts:
            for case in alert.cases:
                want = parse_duration(case.lookback) + parse_duration(alert.for_)
                assert promtool_tests.eval_seconds(alert, case) == want, alert.name
                seen += 1
    assert seen > 200


RULES = """
groups:
- name: alerts
  rules:
  - alert: QueueDeep
    expr: job:queue_depth:max > 10
    for: 5m
- name: records
  rules:
  - record: job:queue_depth:max
    expr: max by (job) (queue_depth)
"""


def _case(order: list[str]) -> str:
    return yaml.safe_dump({
        "rule_files": ["rules.yaml"],
        "evaluation_interval": "1m",
        "group_eval_order": order,
        "tests": [{
            "interval": "1m",
            "input_series": [{"series": 'queue_depth{job="q"}', "values": "20+0x20"}],
            # the recorded series holds from 0m, so `for: 5m` is met exactly at 5m
            "alert_rule_test": [{"eval_time": "5m", "alertname": "QueueDeep",
                                 "exp_alerts": [{"exp_labels": {"job": "q"}}]}],
        }],
    })


def test_exact_boundary_catches_a_one_interval_lag(tmp_path: Path) -> None:
    assert PROMTOOL, "promtool is missing: .ci/run installs Debian's prometheus package"
    (tmp_path / "rules.yaml").write_text(RULES)
    results = {}
    for name, order in (("recording_first", ["records", "alerts"]), ("alerts_first", ["alerts", "records"])):
        (tmp_path / f"{name}.yaml").write_text(_case(order))
        ran = subprocess.run([PROMTOOL, "test", "rules", f"{name}.yaml"], cwd=tmp_path, capture_output=True,
                             text=True, timeout=120, check=False, env=go_batch_env())
        results[name] = (ran.returncode, ran.stdout + ran.stderr)
    assert results["recording_first"][0] == 0, results["recording_first"][1]
    # read one interval late, the alert is still pending at the boundary: the case must fail, not pass with slack
    assert results["alerts_first"][0] == 1, results["alerts_first"][1]
    assert "QueueDeep" in results["alerts_first"][1]
