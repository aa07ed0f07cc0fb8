"""promtool unit tests: for every alert a firing case and a quiet case, for recording rules expression tests.

Each case is its own test group, so the quiet case's series cannot leak into the firing one. The evaluation
time is the case's lookback (by when its expression holds) plus the alert's (possibly patched) `for`, with no
slack after it, so a recorded series read one interval late fails the case. Recording groups are evaluated
before alerting ones (`group_eval_order`): promtool's order is unspecified otherwise. `{n}` in input values
becomes the number of one-minute samples needed to reach the evaluation time, `{t-K}` the evaluation time in minutes
less K (a series that ends K minutes before it, whatever `for` a site patches in).
"""

from __future__ import annotations

import re
from typing import Any

from generator import gotemplate
from generator.context import TEST_CLUSTER
from generator.model import Alert, Case, Component, RuleTest
from generator.naming import alert_file, rule_file
from generator.promql import fmt_number, format_duration, parse_duration
from generator.render.rulefiles import alert_group, alert_labels, recording_groups
from generator.yamlio import dump

_BARE_METRIC = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_BEFORE_EVAL = re.compile(r"\{t-(\d+)\}")


def _values(value: float | str, samples: int, minutes: int) -> str:
    if isinstance(value, str):
        return _BEFORE_EVAL.sub(lambda m: str(minutes - int(m.group(1))), value.replace("{n}", str(samples)))
    return f"{fmt_number(value)}+0x{samples}"


def _inputs(inputs: dict[str, float | str], seconds: float) -> list[dict[str, str]]:
    samples, minutes = int(seconds // 60) + 5, int(seconds // 60)
    return [{"series": s, "values": _values(v, samples, minutes)} for s, v in sorted(inputs.items())]


def _label_text(labels: dict[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def eval_seconds(alert: Alert, case: Case) -> float:
    return parse_duration(case.lookback) + parse_duration(alert.for_)


def _alert_test(component: Component, alert: Alert, case: Case, cluster: str,
                notes: dict[str, str]) -> dict[str, Any]:
    seconds = eval_seconds(alert, case)
    expected: list[dict[str, Any]] = []
    if case.fires:
        labels = {cluster: TEST_CLUSTER, **alert_labels(component, alert), **case.labels}
        labels = {k: v for k, v in labels.items() if v != ""}
        rendered = {k: gotemplate.render(v, labels, case.value) for k, v in notes.items()}
        expected.append({"exp_labels": dict(sorted(labels.items())), "exp_annotations": dict(sorted(rendered.items()))})
    verb = "fires" if case.fires else "stays quiet"
    name = f"{alert.name} {verb}" + (f": {case.note}" if case.note else "")
    checks = [{"eval_time": format_duration(seconds), "alertname": alert.name, "exp_alerts": expected}]
    return {
        "name": name,
        "interval": "1m",
        "input_series": _inputs(case.inputs, seconds),
        "alert_rule_test": checks,
    }


def _rule_test(test: RuleTest, cluster: str) -> dict[str, Any]:
    base = {"__name__": test.expr} if _BARE_METRIC.match(test.expr) else {}
    rows = [
        {"labels": _label_text({**base, cluster: TEST_CLUSTER, **labels}), "value": value}
        for labels, value in test.expected
    ]
    return {
        "name": f"{test.expr}" + (f": {test.note}" if test.note else ""),
        "interval": "1m",
        "input_series": _inputs(test.inputs, parse_duration(test.eval_time)),
        "promql_expr_test": [{"expr": test.expr, "eval_time": test.eval_time, "exp_samples": rows}],
    }


def test_file(component: Component, interval: str, cluster: str, notes: dict[str, dict[str, str]]) -> str | None:
    tests = [_rule_test(t, cluster) for t in component.rule_tests]
    for alert in component.alerts:
        tests.extend(_alert_test(component, alert, case, cluster, notes[alert.name]) for case in alert.cases)
    if not tests:
        return None
    files = []
    if component.rules or component.slow_rules:
        files.append(f"../../{rule_file(component.key)}")
    if component.alerts:
        files.append(f"../../{alert_file(component.key)}")
    order = [*recording_groups(component), *([alert_group(component)] if component.alerts else [])]
    return dump({"rule_files": files, "evaluation_interval": interval, "group_eval_order": order, "tests": tests})
