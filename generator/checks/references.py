"""Every name a dashboard or an alert refers to exists somewhere in the catalog.

- a recorded series (a name with colons, level:metric:operations) that an alert, a signal (what a panel draws),
  a recording rule or a rule test reads is recorded by some rule; when the reader stays on a managed cluster,
  the rule must too (a control-plane component's rules are left out there);
- a panel shows signals that exist; a signal's threshold alert exists.

The names come from the project's PromQL scanner (generator.promql_tokens): strings, label lists and function
names are not series.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from generator.checks.base import Entry, Problem
from generator.promql_tokens import find_selectors


def recorded_names(expr: str) -> set[str]:
    """The recorded series an expression reads."""
    return {f.metric for f in find_selectors(expr) if ":" in f.metric}


def _readers(e: Entry) -> Iterator[tuple[str, str]]:
    comp = e.component
    for alert in comp.alerts:
        yield f"alert {alert.name}", alert.expr
    for sig in comp.signals:
        yield f"signal {sig.name}", sig.expr
    for rule in (*comp.rules, *comp.slow_rules):
        yield f"recording rule {rule.record}", rule.expr
    for test in comp.rule_tests:
        yield f"rule test of {test.expr}", test.expr


def check(entries: Sequence[Entry]) -> list[Problem]:
    recorded = {r.record for e in entries for r in e.records()}
    managed = {r.record for e in entries if not e.component.control_plane for r in e.records()}
    signals = {s.name for e in entries for s in e.component.signals}
    alerts = {a.name for e in entries for a in e.alerts()}
    out = []
    for e in entries:
        for what, expr in _readers(e):
            for name in sorted(recorded_names(expr)):
                if name not in recorded:
                    out.append(Problem(e.module, what, f"reads {name}, which no recording rule records"))
                elif not e.component.control_plane and name not in managed:
                    out.append(Problem(e.module, what, f"reads {name}, which only control-plane components record "
                                                       "(left out on a managed cluster)"))
        for panel in e.component.panels:
            for name in panel.signals:
                if name not in signals:
                    out.append(Problem(e.module, f"panel {panel.title!r}", f"shows signal {name}, which no "
                                                                           "component defines"))
        for sig in e.component.signals:
            if sig.alert is not None and sig.alert not in alerts:
                out.append(Problem(e.module, f"signal {sig.name}", f"draws the threshold of alert {sig.alert}, "
                                                                   "which no component defines"))
    return out
