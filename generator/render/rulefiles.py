"""Prometheus rule files: rules/<component>.yaml (recording) and alerts/<component>.yaml (alerting)."""

from __future__ import annotations

from typing import Any

from generator.model import Alert, Component, RecordingRule
from generator.promql import parse_duration
from generator.yamlio import dump


def _rule(rule: RecordingRule) -> dict[str, Any]:
    out: dict[str, Any] = {"record": rule.record, "expr": rule.expr}
    if rule.labels:
        out["labels"] = dict(sorted(rule.labels.items()))
    return out


def alert_labels(component: Component, alert: Alert) -> dict[str, str]:
    return dict(sorted({**alert.labels, "severity": alert.severity, "component": component.key}.items()))


def _alert(component: Component, alert: Alert, annotations: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {"alert": alert.name, "expr": alert.expr}
    if parse_duration(alert.for_) > 0:
        out["for"] = alert.for_
    out["labels"] = alert_labels(component, alert)
    out["annotations"] = dict(sorted(annotations.items()))
    return out


def annotations(alert: Alert, runbook_url: str, dashboard_url: str) -> dict[str, str]:
    return {
        "summary": alert.summary,
        "description": alert.description,
        "runbook_url": runbook_url,
        "dashboard_url": dashboard_url,
    }


def _split(component: Component) -> dict[str, list[RecordingRule]]:
    """The fast rules by group name, in the order of their first rule: groups evaluate concurrently, a series one
    group reads from another is at most one interval old (promtool cases evaluate them in this order)."""
    out: dict[str, list[RecordingRule]] = {}
    for rule in component.rules:
        out.setdefault(f"{component.key}.rules" + (f".{rule.group}" if rule.group else ""), []).append(rule)
    return out


def recording_groups(component: Component) -> list[str]:
    """Names of the component's recording groups, in the order rules_file writes them."""
    return [name for name, _ in group_records(component)]


def group_records(component: Component) -> list[tuple[str, list[str]]]:
    """(name, records) of the component's recording groups, in the order rules_file writes them."""
    groups = [(name, [r.record for r in rules]) for name, rules in _split(component).items()]
    if component.slow_rules:
        groups.append((f"{component.key}.rules.long", [r.record for r in component.slow_rules]))
    return groups


def alert_group(component: Component) -> str:
    return f"{component.key}.alerts"


def rules_file(component: Component, interval: str) -> str | None:
    groups = []
    for name, rules in _split(component).items():
        groups.append({"name": name, "interval": interval, "rules": [_rule(r) for r in rules]})
    if component.slow_rules:
        # long windows are built from the short recorded ones and need not be evaluated as often
        slow = interval if parse_duration(interval) >= 300 else "5m"
        groups.append({"name": f"{component.key}.rules.long", "interval": slow,
                       "rules": [_rule(r) for r in component.slow_rules]})
    return dump({"groups": groups}) if groups else None


def alerts_file(component: Component, interval: str, notes: dict[str, dict[str, str]]) -> str | None:
    if not component.alerts:
        return None
    rules = [_alert(component, a, notes[a.name]) for a in component.alerts]
    return dump({"groups": [{"name": alert_group(component), "interval": interval, "rules": rules}]})
