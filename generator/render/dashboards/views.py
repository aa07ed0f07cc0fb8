"""Views across components: the cluster overview, one namespace, and the workload "stereo view"."""

from __future__ import annotations

from typing import Any

from generator.catalog.workloads import names as workloads_rules
from generator.layout import layout
from generator.model import Panel, Signal
from generator.render.dashboards import board, links, variables
from generator.render.dashboards.board import Cell, Section
from generator.render.dashboards.component import ALERTS_HEIGHT, alerts_table, shown
from generator.render.dashboards.lookup import Lookup
from generator.render.dashboards.panels import STAT_HEIGHT, Spec, Target

OVERVIEW, NAMESPACE, WORKLOAD = "overview", "namespace", "workload"
TITLES = {OVERVIEW: "Cluster overview", NAMESPACE: "Namespace", WORKLOAD: "Workload (stereo view)"}
# recorded series the overview and the workload view read, named by the workloads catalog (a rename there
# renames them here); a view leaves out what the site excluded
REQUESTS = workloads_rules.NS_REQ
ALLOCATABLE = workloads_rules.ALLOC_SUM
NS_CPU = workloads_rules.NS_CPU
NS_MEMORY = workloads_rules.NS_MEM
OWNER = workloads_rules.OWNER
OWNER_LABELS = ("cluster", "namespace", "workload", "workload_type", "pod")
# catalog signals the overview shows for capacity, when the site has them
CAPACITY_SIGNALS = ("node_cpu_utilisation", "node_memory_utilisation", "kubelet_pods_capacity_ratio")
HEADROOM_STEPS = ({"color": "green", "value": 0.0}, {"color": "orange", "value": 0.8}, {"color": "red", "value": 1.0})


def _panels_of(lk: Lookup, names: list[str]) -> tuple[Panel, ...]:
    """The catalog panels showing `names`, each once, in the order of `names`."""
    out: list[Panel] = []
    for name in names:
        panel = lk.index.panel.get(name)
        if panel is not None and all(p is not panel for p in out):
            out.append(panel)
    return tuple(out)


def _sel(lk: Lookup, record: str, *matchers: str) -> str:
    inner = ",".join((f'{lk.cluster}="$cluster"', *matchers))
    return f"{record}{{{inner}}}"


def _sum(lk: Lookup, record: str, resource: str = "") -> str:
    matchers = [f'resource="{resource}"'] if resource else []
    return f"sum({_sel(lk, record, *matchers)})"


# ------------------------------------------------------------------------------------------------ overview
def _health(lk: Lookup, key: str) -> Spec:
    comp = next(c for c in lk.components if c.key == key)
    down = sorted(a.name for a in comp.alerts if a.down)
    expr = (f'count(ALERTS{{{lk.cluster}="$cluster",alertstate="firing",component="{key}",'
            f'severity=~"critical|warning"}}) or vector(0)')
    text = f"Critical and warning alerts firing for {comp.title} (0: healthy)."
    if down:
        text += f" Includes its availability alerts: {', '.join(down)}."
    return Spec(
        title=comp.title, kind="stat", unit="short", description=text + " Opens its dashboard.",
        targets=(Target(expr),), steps=({"color": "green", "value": 0.0}, {"color": "red", "value": 1.0}),
        mappings=({"type": "value", "options": {"0": {"text": "OK", "color": "green"}}},),
        links=(links.dashboard_link(lk, key, f"{comp.title} dashboard"),),
    )


def _severity_stat(lk: Lookup, severity: str) -> Spec:
    expr = f'count(ALERTS{{{lk.cluster}="$cluster",alertstate="firing",severity="{severity}"}}) or vector(0)'
    color = "red" if severity == "critical" else "orange"
    return Spec(title=f"{severity.capitalize()} alerts", kind="stat", unit="short",
                description=f"Alert series with severity {severity} firing now in the cluster.",
                targets=(Target(expr),), steps=({"color": "green", "value": 0.0}, {"color": color, "value": 1.0}))


def _headroom(lk: Lookup) -> list[Cell]:
    """Requests and usage against what the nodes can allocate, cluster-wide."""
    if not lk.record(ALLOCATABLE):
        return []
    alloc = {r: _sum(lk, ALLOCATABLE, r) for r in ("cpu", "memory")}
    gauges: list[tuple[str, str, str]] = []
    series: dict[str, list[Target]] = {"cpu": [], "memory": []}
    if lk.record(REQUESTS):
        for r in ("cpu", "memory"):
            req = _sum(lk, REQUESTS, r)
            gauges.append((f"{r.upper() if r == 'cpu' else 'Memory'} requested / allocatable", f"{req} / {alloc[r]}",
                           f"{r} requests of Pending and Running pods"))
            series[r].append(Target(req, "requested"))
    for r, record in (("cpu", NS_CPU), ("memory", NS_MEMORY)):
        if lk.record(record):
            used = _sum(lk, record)
            gauges.append((f"{r.upper() if r == 'cpu' else 'Memory'} used / allocatable", f"{used} / {alloc[r]}",
                           f"{r} the containers use"))
            series[r].append(Target(used, "used"))
    cells = [Cell(Spec(title=title, kind="gauge", unit="percentunit", targets=(Target(expr),), min=0.0, max=1.0,
                       steps=HEADROOM_STEPS,
                       description=f"The {what} as a share of the allocatable {title.split()[0].lower()} of all "
                                   "nodes; above 100% the cluster cannot hold them if a node goes."),
                  board.COLUMNS // max(len(gauges), 1), 6) for title, expr, what in gauges]
    for r, unit in (("cpu", "cores"), ("memory", "bytes")):
        name = "CPU" if r == "cpu" else "Memory"
        targets = (*series[r], Target(alloc[r], "allocatable"))
        cells.append(Cell(Spec(title=f"{name}: requested, used, allocatable", kind="timeseries", unit=unit,
                               description=f"Cluster {r}: what pods request, what containers use and what the nodes "
                                           "can allocate. The gap to allocatable is the headroom.",
                               targets=targets, steps=({"color": "green", "value": 0.0},)), 12))
    return cells


def overview(lk: Lookup) -> dict[str, Any]:
    rows = layout(OVERVIEW, _panels_of(lk, list(CAPACITY_SIGNALS)), lk.pairs, lk.index, "Nodes and pods")
    scope = variables.scope(shown(lk, rows), lk.cluster, pool=list(lk.signals.values()))
    watched = [c.key for c in lk.components if c.alerts]
    lines = -(-len(watched) // 6)  # at most 6 a line, the lines as even as they can be
    per_line = -(-len(watched) // max(lines, 1))
    widths = [board.COLUMNS // per_line + (i < board.COLUMNS % per_line) for i in range(per_line)]
    health = [Cell(_health(lk, key), widths[i % per_line], STAT_HEIGHT) for i, key in enumerate(watched)]
    alerts = [Cell(alerts_table(lk, "", ("component",), "in the cluster"), 16, 8),
              Cell(_severity_stat(lk, "critical"), 4, 8), Cell(_severity_stat(lk, "warning"), 4, 8)]
    secs = [Section("Health", health), Section("Firing alerts", alerts),
            Section("Capacity and headroom", _headroom(lk)), *board.sections(lk, scope, rows)]
    lk.titles.setdefault(OVERVIEW, TITLES[OVERVIEW])
    return board.dashboard(lk, OVERVIEW, "Every component's health, the alerts firing now, and how much room the "
                           "cluster has left.", secs, scope.variables(), annotations=(board.alert_annotation(lk, ""),))


# ----------------------------------------------------------------------------------------------- namespace
def _namespaced(lk: Lookup, sig: Signal) -> bool:
    return "namespace" in variables.referenced(sig.expr)


def namespace(lk: Lookup) -> dict[str, Any]:
    """A namespace's totals, its workloads and its troubled pods; workload panels link to the stereo view."""
    names = [s.name for s in lk.signals.values() if _namespaced(lk, s)]
    picked = tuple(p for p in _panels_of(lk, names) if all(
        _namespaced(lk, lk.signals[n]) and ("pod" not in lk.signals[n].labels or p.kind != "timeseries")
        for n in p.signals))
    rows = layout(NAMESPACE, picked, lk.pairs, lk.index, "Namespace")
    scope = variables.scope(shown(lk, rows), lk.cluster, pool=list(lk.signals.values()))
    secs = [Section("Alerts", [Cell(alerts_table(lk, ',namespace="$namespace"', ("pod",), "in the namespace"),
                                    board.COLUMNS, ALERTS_HEIGHT)])]
    for sec in board.sections(lk, scope, rows):
        secs.append(Section(sec.title, [_drill_down(lk, cell) for cell in sec.cells]))
    lk.titles.setdefault(NAMESPACE, TITLES[NAMESPACE])
    return board.dashboard(lk, NAMESPACE, "One namespace: usage against requests, pods by phase, its workloads "
                           "and restarts.", secs, scope.variables(),
                           annotations=(board.alert_annotation(lk, ',namespace="$namespace"'),))


def _drill_down(lk: Lookup, cell: Cell) -> Cell:
    """Panels split by workload link to the workload view of the series clicked."""
    if not any("{{workload}}" in t.legend for t in cell.spec.targets):
        return cell
    url = (f"/d/{lk.uid(WORKLOAD)}/{WORKLOAD}?var-namespace=${{namespace}}&var-workload=${{__field.labels.workload}}"
           "&${__url_time_range}&var-cluster=${cluster}&var-datasource=${datasource}")
    link = {"title": "Open ${__field.labels.workload} in the stereo view", "url": url}
    spec = cell.spec
    return Cell(Spec(**{**spec.__dict__, "links": (*spec.links, link)}), cell.width, cell.height)


# ------------------------------------------------------------------------------------------------ workload
def workload(lk: Lookup) -> dict[str, Any]:
    """The stereo view: one workload's pods, resource signals beside the service signals that move with them."""
    names = [s.name for s in lk.signals.values() if "pod" in variables.referenced(s.expr)]
    owners = lk.record(OWNER)
    rows = layout(WORKLOAD, _panels_of(lk, names), lk.pairs, lk.index, "Pods of $workload" if owners else "Pods")
    extra: dict[str, tuple[str, tuple[str, ...]]] = {}
    if owners:
        extra = {name: (OWNER, OWNER_LABELS) for name in ("namespace", "workload", "pod")}
    scope = variables.scope(shown(lk, rows), lk.cluster, extra=extra, pool=list(lk.signals.values()))
    secs = board.sections(lk, scope, rows)
    lk.titles.setdefault(WORKLOAD, TITLES[WORKLOAD])
    return board.dashboard(lk, WORKLOAD, "One workload's pods: each resource signal stands beside the service "
                           "signal that moves with it (CPU with network traffic, memory with response time, restarts "
                           "with latency), laid out from correlations.yaml.", secs, scope.variables(),
                           annotations=(board.alert_annotation(lk, ',namespace="$namespace"'),))
