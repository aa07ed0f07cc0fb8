"""Small catalog objects for the check tables: a component per entry, alerts with a firing and a quiet case."""

from __future__ import annotations

from generator.checks import Entry
from generator.model import Alert, Case, Component, Panel, RecordingRule, RuleTest, Signal

FIRES = Case(inputs={"up": 0}, fires=True)
QUIET = Case(inputs={"up": 1}, fires=False)


def alert(name: str = "ToyDown", expr: str = "up == 0", severity: str = "warning", for_: str = "5m",
          cases: tuple[Case, ...] = (FIRES, QUIET)) -> Alert:
    return Alert(name, expr, for_, severity, "summary", "description", cases)


def rule(record: str = "cluster:toy_up:sum", expr: str = "sum by (cluster) (up)", **labels: str) -> RecordingRule:
    return RecordingRule(record, expr, labels)


def signal(name: str = "toy_up", expr: str = "cluster:toy_up:sum", alert: str | None = None) -> Signal:
    return Signal(name, expr, "short", ("cluster",), "Toy up", "Toy targets up.", alert=alert)


def entry(module: str = "toy", *, rules: tuple[RecordingRule, ...] = (), alerts: tuple[Alert, ...] = (),
          signals: tuple[Signal, ...] = (), panels: tuple[Panel, ...] = (), tests: tuple[RuleTest, ...] = (),
          slow: tuple[RecordingRule, ...] = (), control_plane: bool = False) -> Entry:
    comp = Component(key=module.replace("_", "-"), title=module, description="", signals=signals, rules=rules,
                     rule_tests=tests, alerts=alerts, panels=panels, control_plane=control_plane, slow_rules=slow)
    return Entry(module, comp)
