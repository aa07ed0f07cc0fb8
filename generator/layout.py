"""Correlations → rows: which panels stand side by side, what their descriptions say about partners.

Rules: signals that move together share a row and stand adjacent; the row is titled by the relation; a
partner that lives on another component's dashboard is brought in beside the local panel; panels with no
partner follow in the component's own order. Everything is sorted, so the same input gives the same layout
and a different correlations.yaml gives a different one.
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.correlations import Pair
from generator.model import Component, Panel

MAX_PER_ROW = 4
# a dashboard's remaining panels split into sections by what they measure once there are more than this many,
# so a long dashboard reads as glance → traffic → ratios → latency → resources → counts (and can fold)
SPLIT_REST = 12
FAMILIES = (("at a glance", ()), ("traffic", ("reqps", "ops", "Bps", "binBps", "pps", "cps")),
            ("ratios and errors", ("percentunit", "percent")), ("latency", ("s", "ms")),
            ("resources", ("bytes", "decbytes", "cores")), ("counts", ()))


@dataclass(frozen=True)
class Partner:
    signal: str  # the partner's signal
    own: str  # this panel's signal in the pair
    pair: Pair
    home: str  # component key of the partner's home dashboard


@dataclass(frozen=True)
class Placed:
    panel: Panel
    home: str  # component whose dashboard this panel belongs to
    partners: tuple[Partner, ...] = ()


@dataclass(frozen=True)
class Row:
    title: str
    panels: tuple[Placed, ...]
    relation: bool  # a row made by correlations (as opposed to the component's remaining panels)


class Index:
    """Where each signal lives: its component and the first panel that shows it."""

    def __init__(self, components: list[Component]) -> None:
        self.home: dict[str, str] = {}
        self.panel: dict[str, Panel] = {}
        self.title: dict[str, str] = {}
        self.unit: dict[str, str] = {}
        for comp in components:
            for sig in comp.signals:
                self.home.setdefault(sig.name, comp.key)
                self.title.setdefault(sig.name, sig.title)
                self.unit.setdefault(sig.name, sig.unit)
            for panel in comp.panels:
                for name in panel.signals:
                    self.panel.setdefault(name, panel)

    def signals(self) -> set[str]:
        return set(self.home)


def _partners(panel: Panel, pairs: list[Pair], index: Index) -> tuple[Partner, ...]:
    out = []
    for pair in pairs:
        for own, other in ((pair.a, pair.b), (pair.b, pair.a)):
            if own in panel.signals and other in index.home:
                out.append(Partner(other, own, pair, index.home[other]))
    return tuple(sorted(out, key=lambda p: (-p.pair.strength(), p.signal)))


def _chain(edges: list[tuple[Pair, Panel, Panel]]) -> list[Panel]:
    """Order a connected group so that the strongest pairs stand next to each other.

    Grow a sequence from the strongest edge, adding a panel at whichever end its partner stands; an edge
    that only touches the middle waits until no edge touches an end, then its panel goes at the end.
    """
    seq = [edges[0][1], edges[0][2]]
    pending = list(edges[1:])
    while pending:
        for i, (_, u, v) in enumerate(pending):
            if u in seq and v in seq:
                pending.pop(i)
                break
            if (u in seq) != (v in seq):
                known, new = (u, v) if u in seq else (v, u)
                if known == seq[0]:
                    seq.insert(0, new)
                elif known == seq[-1]:
                    seq.append(new)
                else:
                    continue
                pending.pop(i)
                break
        else:
            _, u, v = pending.pop(0)
            seq.extend(p for p in (u, v) if p not in seq)
    return seq


def _groups(own: list[Panel], pairs: list[Pair], index: Index) -> list[tuple[list[Pair], list[Panel]]]:
    """Connected groups of panels joined by pairs that touch this dashboard, strongest first."""
    own_ids = {id(p) for p in own}
    edges: list[tuple[Pair, Panel, Panel]] = []
    for pair in sorted(pairs, key=lambda p: (-p.strength(), p.a, p.b)):
        pa, pb = index.panel.get(pair.a), index.panel.get(pair.b)
        if pa is None or pb is None or pa is pb:
            continue
        if id(pa) in own_ids or id(pb) in own_ids:
            edges.append((pair, pa, pb))
    groups: list[tuple[list[Pair], list[Panel]]] = []
    placed: dict[int, int] = {}
    for edge in edges:
        _, u, v = edge
        gu, gv = placed.get(id(u)), placed.get(id(v))
        if gu is None and gv is None:
            groups.append(([], []))
            g = len(groups) - 1
        elif gu is not None and gv is not None and gu != gv:
            # join two groups: move the later one into the earlier
            g, other = min(gu, gv), max(gu, gv)
            groups[g][1].extend(groups[other][1])
            for pid, gi in placed.items():
                if gi == other:
                    placed[pid] = g
            groups[other] = ([], [])
        else:
            g = gu if gu is not None else gv  # type: ignore[assignment]
        groups[g][1].append(edge)  # type: ignore[arg-type]
        placed[id(u)] = placed[id(v)] = g
    out = []
    for edges_in_group in (g[1] for g in groups):
        if edges_in_group:
            group_edges: list[tuple[Pair, Panel, Panel]] = edges_in_group  # type: ignore[assignment]
            out.append(([e[0] for e in group_edges], _chain(group_edges)))
    return out


def _title(pairs: list[Pair], index: Index) -> str:
    titles: list[str] = []
    for pair in pairs:
        title = pair.relation or f"{index.title.get(pair.a, pair.a)} ↔ {index.title.get(pair.b, pair.b)}"
        if title not in titles:
            titles.append(title)
    return " · ".join(titles)


def layout(key: str, panels: tuple[Panel, ...], pairs: list[Pair], index: Index, rest_title: str) -> list[Row]:
    """Rows for the dashboard of `key` showing `panels`: relation rows first, then the rest in order."""
    rows: list[Row] = []
    used: set[int] = set()
    for group_pairs, group_panels in _groups(list(panels), pairs, index):
        placed = tuple(
            Placed(p, index.home.get(p.signals[0], key), _partners(p, pairs, index)) for p in group_panels
        )
        title = _title(group_pairs, index)
        for start in range(0, len(placed), MAX_PER_ROW):
            rows.append(Row(title, placed[start:start + MAX_PER_ROW], relation=True))
        used.update(id(p) for p in group_panels)
    rest = tuple(Placed(p, key, _partners(p, pairs, index)) for p in panels if id(p) not in used)
    if len(rest) > SPLIT_REST:
        for family, placed_rest in _families(rest, index):
            rows.append(Row(f"{rest_title}: {family}", placed_rest, relation=False))
    elif rest:
        rows.append(Row(rest_title, rest, relation=False))
    return rows


def _family(panel: Panel, index: Index) -> str:
    if panel.kind in ("stat", "gauge", "bargauge"):
        return FAMILIES[0][0]
    unit = index.unit.get(panel.signals[0], "")
    return next((name for name, units in FAMILIES if unit in units), FAMILIES[-1][0])


def _families(rest: tuple[Placed, ...], index: Index) -> list[tuple[str, tuple[Placed, ...]]]:
    """The remaining panels by family, in the families' order, the catalog's order kept within each."""
    out = []
    for name, _ in FAMILIES:
        group = tuple(p for p in rest if _family(p.panel, index) == name)
        if group:
            out.append((name, group))
    return out
