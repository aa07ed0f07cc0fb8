"""Sections of panels → a dashboard: rows on a 24-column grid, the common settings, normalised JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import attr
import grafanalib.core as G

from generator.layout import Placed, Row
from generator.render.dashboards import links, panels
from generator.render.dashboards import variables as variables_
from generator.render.dashboards.lookup import Lookup
from generator.render.dashboards.normalise import PROMETHEUS, normalise, to_json
from generator.render.dashboards.panels import Spec
from generator.render.dashboards.variables import Scope

COLUMNS = 24


@dataclass(frozen=True)
class Cell:
    spec: Spec
    width: int
    height: int = panels.HEIGHT


@dataclass
class Section:
    """One row of the dashboard: a title and its panels, which wrap onto more lines when wider than 24."""

    title: str
    cells: list[Cell] = field(default_factory=list)


def placed_spec(lk: Lookup, scope: Scope, placed: Placed) -> Spec:
    """A laid-out catalog panel as a Spec: scoped expressions, partners in the description and as links."""
    sigs = [lk.signals[name] for name in placed.panel.signals]
    notes = [links.partner_note(lk, p) for p in placed.partners]
    data_links = [links.partner_link(lk, p) for p in placed.partners]
    if lk.has_board(links.NODE_PODS_KEY) and any("node" in s.labels for s in sigs):
        data_links.append(links.node_pods_link(lk))
    return panels.signal_spec(placed.panel, sigs, [scope.expr(s) for s in sigs], lk.cluster, lk.alerts, notes,
                              data_links)


def _height(spec: Spec) -> int:
    return panels.STAT_HEIGHT if spec.kind in ("stat", "gauge", "bargauge") else panels.HEIGHT


def sections(lk: Lookup, scope: Scope, rows: list[Row]) -> list[Section]:
    """Layout rows as sections: a relation row shares the width among its 2–4 panels; the rest keep theirs.
    Single-number panels (stat, gauge, bar gauge) are shorter than graphs."""
    out = []
    for row in rows:
        specs = [placed_spec(lk, scope, p) for p in row.panels]
        if row.relation and len(row.panels) > 1:
            width = COLUMNS // len(row.panels)
            cells = [Cell(s, width, _height(s)) for s in specs]
        else:
            cells = [Cell(s, p.panel.width, _height(s)) for s, p in zip(specs, row.panels, strict=True)]
        out.append(Section(row.title, cells))
    return out


# a dashboard taller than LONG grid units keeps the sections that start above FOLD open and collapses the rest
LONG, FOLD = 60, 24


def lines(cells: list[Cell]) -> list[list[tuple[Cell, int]]]:
    """Cells wrapped onto lines of 24 columns, each line's widths stretched to fill all 24 (no holes)."""
    out: list[list[Cell]] = [[]]
    used = 0
    for cell in cells:
        width = min(cell.width, COLUMNS)
        if out[-1] and used + width > COLUMNS:
            out.append([])
            used = 0
        out[-1].append(cell)
        used += width
    return [_stretch(line) for line in out if line]


def _stretch(line: list[Cell]) -> list[tuple[Cell, int]]:
    total = sum(min(c.width, COLUMNS) for c in line)
    widths = [min(c.width, COLUMNS) * COLUMNS // total for c in line]
    for i in range(COLUMNS - sum(widths)):  # what the rounding left, a column each from the left
        widths[i % len(widths)] += 1
    return list(zip(line, widths, strict=True))


def place(secs: list[Section]) -> list[G.Panel]:
    """Rows and their panels with grid positions: left to right, wrapping at 24 columns, each line filled and
    of one height.
    On a long dashboard the sections below the fold are collapsed rows holding their panels."""
    placed: list[tuple[Section, int, list[G.Panel]]] = []
    y = 0
    for sec in secs:
        if not sec.cells:
            continue
        start, y = y, y + 1
        inner: list[G.Panel] = []
        for line in lines(sec.cells):
            x, height = 0, max(cell.height for cell, _ in line)  # one height a line: no hole under a short panel
            for cell, width in line:
                inner.append(attr.evolve(panels.build(cell.spec), gridPos=G.GridPos(h=height, w=width, x=x, y=y)))
                x += width
            y += height
        placed.append((sec, start, inner))
    long = y > LONG
    out: list[G.Panel] = []
    lift = 0  # grid units the collapsed rows above no longer take
    for i, (sec, start, inner) in enumerate(placed):
        fold = long and i > 0 and start >= FOLD
        row_y = start - lift
        if fold:
            moved = [attr.evolve(p, gridPos=attr.evolve(p.gridPos, y=p.gridPos.y - lift)) for p in inner]
            out.append(G.RowPanel(title=sec.title, gridPos=G.GridPos(h=1, w=COLUMNS, x=0, y=row_y), collapsed=True,
                                  panels=moved))
            lift += max(p.gridPos.y + p.gridPos.h for p in inner) - start - 1
        else:
            out.append(G.RowPanel(title=sec.title, gridPos=G.GridPos(h=1, w=COLUMNS, x=0, y=row_y)))
            out += [attr.evolve(p, gridPos=attr.evolve(p.gridPos, y=p.gridPos.y - lift)) for p in inner]
    return out


def alert_annotation(lk: Lookup, matchers: str, name: str = "Firing alerts") -> dict[str, Any]:
    """Marks on every graph where an alert of this dashboard fired."""
    expr = f'ALERTS{{{lk.cluster}="$cluster",alertstate="firing"{matchers}}}'
    # the query sits in `target` (what Grafana 10+ saves); the formats stay beside it, where Prometheus reads them
    return {"datasource": PROMETHEUS, "enable": True, "iconColor": "red", "name": name,
            "target": {"expr": expr, "interval": "1m", "refId": "Anno"},
            "tagKeys": "severity,component", "titleFormat": "{{alertname}}", "textFormat": "{{summary}}",
            "useValueForTime": False}


def dashboard(lk: Lookup, key: str, description: str, secs: list[Section], variables: list[dict[str, Any]],
              tags: tuple[str, ...] = (), extra_links: tuple[G.DashboardLink, ...] = (),
              annotations: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    """The normalised JSON of one Stereo dashboard."""
    builtin = {"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True,
               "hide": True, "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts", "type": "dashboard"}
    dash = G.Dashboard(
        title=lk.title(key),
        uid=lk.uid(key),
        description=description,
        tags=[links.TAG, key, *tags],
        editable=False,
        graphTooltip=G.GRAPH_TOOLTIP_MODE_SHARED_CROSSHAIR,
        time=G.Time("now-6h", "now"),
        timePicker=G.TimePicker(refreshIntervals=["30s", "1m", "5m", "15m", "30m", "1h"], timeOptions=[]),
        refresh="1m",
        timezone="browser",
        links=[links.dropdown(), *extra_links],
        templating=G.Templating(list=variables_.for_site(variables, lk.single_cluster)),
        annotations=G.Annotations(list=[builtin, *annotations]),
        panels=place(secs),
    )
    return normalise(to_json(dash))
