"""One dashboard per component: its firing alerts, then the layout's rows (relations first, then the rest)."""

from __future__ import annotations

from typing import Any

from generator.layout import Row, layout
from generator.model import Component, Signal
from generator.render.dashboards import board, extras, variables
from generator.render.dashboards.board import Cell, Section
from generator.render.dashboards.lookup import Lookup
from generator.render.dashboards.panels import Spec, Target

ALERTS_HEIGHT = 6


def shown(lk: Lookup, rows: list[Row]) -> list[Signal]:
    """Every signal the rows show, in order, once."""
    out: dict[str, Signal] = {}
    for row in rows:
        for placed in row.panels:
            for name in placed.panel.signals:
                out.setdefault(name, lk.signals[name])
    return list(out.values())


def alerts_table(lk: Lookup, matchers: str, by: tuple[str, ...], what: str) -> Spec:
    """Firing alerts as a table, one line per alert and label set; `matchers` narrow ALERTS (`,component="x"`)."""
    labels = ", ".join(("alertname", "severity", *by))
    expr = f'sum by ({labels}) (ALERTS{{{lk.cluster}="$cluster",alertstate="firing"{matchers}}})'
    return Spec(
        title="Firing alerts",
        kind="table",
        unit="short",
        description=f"Alerts firing now {what}, with the number of series each one fires for. Each alert's "
                    "runbook_url and dashboard_url annotations lead further; empty means all is quiet.",
        targets=(Target(expr),),
        instant=True,
        transformations=(
            {"id": "organize", "options": {"excludeByName": {"Time": True},
                                           "renameByName": {"Value": "series firing"}}},
            {"id": "sortBy", "options": {"sort": [{"field": "severity"}]}},
        ),
    )


def component_dashboard(lk: Lookup, comp: Component) -> dict[str, Any]:
    rows = layout(comp.key, comp.panels, lk.pairs, lk.index, comp.title)
    scope = variables.scope(shown(lk, rows), lk.cluster, own={s.name for s in comp.signals},
                            pool=list(lk.signals.values()))
    secs: list[Section] = []
    matchers = f',component="{comp.key}"'
    if comp.alerts:
        table = alerts_table(lk, matchers, (), f"for {comp.title}")
        secs.append(Section("Alerts", [Cell(table, board.COLUMNS, ALERTS_HEIGHT)]))
    secs += extras.sections(lk, comp.key)
    secs += board.sections(lk, scope, rows)
    notes = (board.alert_annotation(lk, matchers),) if comp.alerts else ()
    return board.dashboard(lk, comp.key, comp.description, secs, scope.variables(), annotations=notes)
