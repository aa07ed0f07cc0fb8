"""promtool unit tests: for every alert a firing case and a quiet case, for recording rules expression tests.

The evaluation time is the case's lookback (by when its expression holds) plus the alert's (possibly patched)
`for`, with no slack after it, so a recorded series read one interval late fails the case. Recording groups are
evaluated before alerting ones (`group_eval_order`): promtool's order is unspecified otherwise. `{n}` in input
values becomes the number of one-minute samples needed to reach the evaluation time, `{t-K}` the evaluation time in
minutes less K (a series that ends K minutes before it, whatever `for` a site patches in). Cases share test groups
where they cannot reach each other (promtool_groups.py), the i-th case of a group in cluster `test-cluster.<i>`.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from generator import gotemplate
from generator.context import TEST_CLUSTER
from generator.model import Alert, Case, Component, RuleTest
from generator.naming import alert_file, rule_file
from generator.promql import fmt_number, format_duration, parse_duration
from generator.render.promtool_groups import Entry, Rename, combine, keep, pack, reader, renamer, series_metric
from generator.render.rulefiles import alert_group, alert_labels, recording_groups
from generator.yamlio import dump

# the input series' sample interval: series_inputs writes one-minute samples (`{n}` is a count of them)
SERIES_INTERVAL = "1m"
_BARE_METRIC = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
_BEFORE_EVAL = re.compile(r"\{t-(\d+)\}")


@functools.lru_cache(maxsize=64)
def _matcher(cluster: str) -> re.Pattern[str]:
    """The `cluster="..."` matcher of a series text (its value in group 2)."""
    return re.compile(rf'([{{,]\s*){re.escape(cluster)}="((?:[^"\\]|\\.)*)"')


def _values(value: float | str, samples: int, minutes: int) -> str:
    if isinstance(value, str):
        return _BEFORE_EVAL.sub(lambda m: str(minutes - int(m.group(1))), value.replace("{n}", str(samples)))
    return f"{fmt_number(value)}+0x{samples}"


def _inputs(inputs: dict[str, float | str], seconds: float, cluster: str, rename: Rename) -> list[dict[str, str]]:
    samples, minutes = int(seconds // 60) + 5, int(seconds // 60)
    if rename is not keep:
        pattern = _matcher(cluster)
        inputs = {pattern.sub(lambda m: f'{m.group(1)}{cluster}="{rename(m.group(2))}"', s): v
                  for s, v in inputs.items()}
    return [{"series": s, "values": _values(v, samples, minutes)} for s, v in sorted(inputs.items())]


def _label_text(labels: dict[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def eval_seconds(alert: Alert, case: Case) -> float:
    return parse_duration(case.lookback) + parse_duration(alert.for_)


def _alert_labels(component: Component, alert: Alert, case: Case, cluster: str) -> dict[str, str]:
    labels = {cluster: TEST_CLUSTER, **alert_labels(component, alert), **case.labels}
    return {k: v for k, v in labels.items() if v != ""}


def _alert_test(component: Component, alert: Alert, case: Case, cluster: str, notes: dict[str, str],
                rename: Rename = keep) -> dict[str, Any]:
    seconds = eval_seconds(alert, case)
    expected: list[dict[str, Any]] = []
    if case.fires:
        labels = _alert_labels(component, alert, case, cluster)
        if cluster in labels:
            labels[cluster] = rename(labels[cluster])
        rendered = {k: gotemplate.render(v, labels, case.value) for k, v in notes.items()}
        expected.append({"exp_labels": dict(sorted(labels.items())), "exp_annotations": dict(sorted(rendered.items()))})
    verb = "fires" if case.fires else "stays quiet"
    name = f"{alert.name} {verb}" + (f": {case.note}" if case.note else "")
    checks = [{"eval_time": format_duration(seconds), "alertname": alert.name, "exp_alerts": expected}]
    return {
        "name": name,
        "interval": SERIES_INTERVAL,
        "input_series": _inputs(case.inputs, seconds, cluster, rename),
        "alert_rule_test": checks,
    }


def _rule_test(test: RuleTest, cluster: str, rename: Rename = keep) -> dict[str, Any]:
    base = {"__name__": test.expr} if _BARE_METRIC.match(test.expr) else {}
    rows = []
    for labels, value in test.expected:
        merged = {**base, cluster: TEST_CLUSTER, **labels}
        rows.append({"labels": _label_text({**merged, cluster: rename(merged[cluster])}), "value": value})
    return {
        "name": f"{test.expr}" + (f": {test.note}" if test.note else ""),
        "interval": SERIES_INTERVAL,
        "input_series": _inputs(test.inputs, parse_duration(test.eval_time), cluster, rename),
        "promql_expr_test": [{"expr": test.expr, "eval_time": test.eval_time, "exp_samples": rows}],
    }


def _per_cluster(inputs: dict[str, float | str], cluster: str) -> bool:
    """Every input series names exactly one cluster (so a renamed copy cannot meet another case's series)."""
    pattern = _matcher(cluster)
    return bool(inputs) and all(len(pattern.findall(s)) == 1 for s in inputs)


def _alert_check(component: Component, alert: Alert, case: Case, cluster: str) -> tuple[str, ...] | None:
    """What the case checks, when it can share a group; None when it needs one of its own."""
    if not _per_cluster(case.inputs, cluster):
        return None
    if case.fires and cluster not in _alert_labels(component, alert, case, cluster):
        return None
    return ("alert", alert.name, format_duration(eval_seconds(alert, case)))


def _rule_check(test: RuleTest, cluster: str) -> tuple[str, ...] | None:
    if not _BARE_METRIC.match(test.expr) or not _per_cluster(test.inputs, cluster):
        return None
    if any(labels.get(cluster, TEST_CLUSTER) == "" for labels, _ in test.expected):
        return None
    return ("expr", test.expr, test.eval_time)


def _entries(component: Component, cluster: str, notes: dict[str, dict[str, str]]) -> list[Entry]:
    reads = reader(component)
    out = [Entry(_rule_check(t, cluster), parse_duration(t.eval_time), frozenset(map(series_metric, t.inputs)),
                 reads(t.expr), lambda rename, t=t: _rule_test(t, cluster, rename)) for t in component.rule_tests]
    for alert in component.alerts:
        alert_reads = reads(alert.expr)
        out += [Entry(_alert_check(component, alert, c, cluster), eval_seconds(alert, c),
                      frozenset(map(series_metric, c.inputs)), alert_reads,
                      lambda rename, a=alert, c=c: _alert_test(component, a, c, cluster, notes[a.name], rename))
                for c in alert.cases]
    return out


def _tests(component: Component, cluster: str, notes: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    """The component's test groups, each case of a group rendered in a cluster of its own."""
    return [combine([e.render(renamer(i)) for i, e in enumerate(group)])
            for group in pack(_entries(component, cluster, notes))]


def test_file(component: Component, interval: str, cluster: str, notes: dict[str, dict[str, str]]) -> str | None:
    tests = _tests(component, cluster, notes)
    if not tests:
        return None
    files = []
    if component.rules or component.slow_rules:
        files.append(f"../../{rule_file(component.key)}")
    if component.alerts:
        files.append(f"../../{alert_file(component.key)}")
    order = [*recording_groups(component), *([alert_group(component)] if component.alerts else [])]
    return dump({"rule_files": files, "evaluation_interval": interval, "group_eval_order": order, "tests": tests})
