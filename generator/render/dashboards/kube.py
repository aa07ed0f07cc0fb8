"""The two kubernetes-mixin boards people open first, rebuilt on Stereo's recorded series: a node and the pods on
it (what each pod uses, requests and is limited to), and networking at cluster, namespace and pod level.

Pod series carry no `node` label (cAdvisor does not have it without relabelling), so the node board joins them
to kube-state-metrics' kube_pod_info on (cluster, namespace, pod). A panel whose recorded series the site does
not record is left out.
"""

from __future__ import annotations

from typing import Any

from generator.catalog.kubelet.names import PODS as KUBELET_PODS
from generator.catalog.workloads import names as W
from generator.render.dashboards import board, links, variables
from generator.render.dashboards.board import Cell, Section
from generator.render.dashboards.lookup import Lookup
from generator.render.dashboards.panels import STAT_HEIGHT, Spec, Target

NODE_PODS, NETWORKING = links.NODE_PODS_KEY, "networking"
TITLES = {NODE_PODS: "Node → pods", NETWORKING: "Networking"}
POD_LEGEND = "{{namespace}}/{{pod}}"
QUIET = ({"color": "green", "value": 0.0},)
ON_NODE = 'node="$node"'


def _series(lk: Lookup, record: str, *matchers: str) -> str:
    inner = ",".join((f'{lk.cluster}="$cluster"', *matchers))
    return f"{record}{{{inner}}}"


def _ts(title: str, unit: str, description: str, *targets: Target, stack: bool = False) -> Spec:
    return Spec(title=title, kind="timeseries", unit=unit, description=description, targets=targets, steps=QUIET,
                stack=stack)


# ------------------------------------------------------------------------------------------------ node → pods
def _ksm(lk: Lookup, *matchers: str) -> str:
    return "{" + ",".join((f'{lk.cluster}="$cluster"', lk.config.selectors["kube-state-metrics"], *matchers)) + "}"


def _on_node(lk: Lookup, expr: str) -> str:
    """`expr` (split by namespace and pod) kept to the pods kube-state-metrics places on $node."""
    c = lk.cluster
    info = f"max by ({c}, namespace, pod) (kube_pod_info{_ksm(lk, ON_NODE)})"
    return f"{expr} * on ({c}, namespace, pod) group_left () {info}"


def _per_pod(lk: Lookup, record: str, *matchers: str) -> str:
    return _on_node(lk, f"sum by ({lk.cluster}, namespace, pod) ({_series(lk, record, *matchers)})")


def _quota(lk: Lookup, what: str, used: str, resource: str, unit: str) -> Spec:
    """Per pod on the node: what it uses, requests and is limited to, and use as a share of each (a line a pod)."""
    in_use = f"sum by (namespace, pod) ({_per_pod(lk, used)})"
    matcher = f'resource="{resource}"'
    targets, names, shares = [Target(in_use)], [f"{what} used"], []
    for label, record in (("requested", W.REQ), ("limit", W.LIM)):
        if lk.record(record):
            held = f"sum by (namespace, pod) ({_per_pod(lk, record, matcher)})"
            targets += [Target(held), Target(f"{in_use} / {held}")]
            names += [label, f"used / {label}"]
            shares.append(f"used / {label}")
    refs = [chr(ord("A") + i) for i in range(len(names))]
    percent = [{"id": "unit", "value": "percentunit"}]
    overrides = tuple({"matcher": {"id": "byName", "options": name}, "properties": percent} for name in shares)
    return Spec(title=f"{what} by pod: used, requested, limit", kind="table", unit=unit, targets=tuple(targets),
                instant=True, overrides=overrides,
                description=f"Each pod on $node: the {what.lower()} its containers use now, what they request (what "
                            "the scheduler reserved), their limit, and use as a share of each; empty where none is "
                            "set. Sort a column to find the pod to look at.",
                transformations=({"id": "merge", "options": {}},
                                 {"id": "organize", "options": {
                                     "excludeByName": {"Time": True},
                                     "renameByName": {f"Value #{r}": n for r, n in zip(refs, names, strict=True)}}}))


def node_pods(lk: Lookup) -> dict[str, Any]:
    c = lk.cluster
    pods = f"count(kube_pod_info{_ksm(lk, ON_NODE)})"
    stats = [Cell(Spec(title="Pods on the node", kind="stat", unit="short", targets=(Target(pods),), steps=QUIET,
                       description="Pods kube-state-metrics places on $node, whatever their phase."), 6, STAT_HEIGHT)]
    secs: list[Section] = []
    for what, used, resource, unit in (("CPU", W.POD_CPU, "cpu", "cores"), ("Memory", W.POD_MEM, "memory", "bytes")):
        if not lk.record(used):
            continue
        total = f"sum({_per_pod(lk, used)})"
        stats.append(Cell(Spec(title=f"{what} used by its pods", kind="stat", unit=unit, targets=(Target(total),),
                               steps=QUIET, description=f"{what} the containers of every pod on $node use now."),
                          6, STAT_HEIGHT))
        quota = _quota(lk, what, used, resource, unit)
        usage = _ts(f"{what} by pod", unit, f"{what} each pod on $node uses, stacked: the top edge is what the "
                    "node's pods use together.", Target(_per_pod(lk, used), POD_LEGEND), stack=True)
        secs.append(Section(what, [Cell(usage, 24), Cell(quota, 24)]))
    net = [_ts(f"Network {way} by pod", "Bps", f"Bytes per second each pod on $node {way} (hostNetwork pods "
               "excluded: their counters are the node's).", Target(_per_pod(lk, record), POD_LEGEND))
           for way, record in (("received", W.NET_RX), ("transmitted", W.NET_TX)) if lk.record(record)]
    if net:
        secs.append(Section("Network", [Cell(s, 12) for s in net]))
    # the nodes the kubelets report (a recorded series), else the ones kube-state-metrics knows
    nodes = _series(lk, KUBELET_PODS) if lk.record(KUBELET_PODS) else f"kube_pod_info{_ksm(lk)}"
    node_var = variables.query("node", f"label_values({nodes}, node)")
    return board.dashboard(lk, NODE_PODS, "One node and the pods on it: what each uses, requests and is limited "
                           "to, and its traffic (kubernetes-mixin's node board, on Stereo's recorded series).",
                           [Section("Node $node", stats), *secs], [variables.datasource(), variables.cluster(c),
                                                                   node_var])


# ------------------------------------------------------------------------------------------------- networking
def _by(lk: Lookup, labels: str, record: str, *matchers: str) -> str:
    return f"sum by ({lk.cluster}, {labels}) ({_series(lk, record, *matchers)})"


def _drop_ratio(lk: Lookup, labels: str, *matchers: str) -> str:
    drops = _by(lk, labels, W.NET_DROPS, *matchers)
    return f"{drops} / ({_by(lk, labels, W.NET_PACKETS, *matchers)} + {drops})"


def _level(lk: Lookup, labels: str, legend: str, where: str, *matchers: str) -> list[Cell]:
    out = []
    for way, record in (("Received", W.NET_RX), ("Transmitted", W.NET_TX)):
        if lk.record(record):
            out.append(Cell(_ts(f"{way} by {labels.split(',')[0]}", "Bps", f"Bytes per second {way.lower()} "
                                f"{where}, one line per {labels.split(',')[0]}.",
                                Target(_by(lk, labels, record, *matchers), legend)), 12))
    if lk.record(W.NET_PACKETS) and lk.record(W.NET_DROPS):
        out.append(Cell(_ts("Packets", "pps", f"Packets per second sent and received {where}, summed over the "
                            "level.", Target(f"sum({_series(lk, W.NET_PACKETS, *matchers)})", "packets"),
                            Target(f"sum({_series(lk, W.NET_DROPS, *matchers)})", "dropped")), 12))
        out.append(Cell(Spec(title="Packet drop ratio", kind="timeseries", unit="percentunit", min=0.0, steps=QUIET,
                             description=f"Dropped packets over packets offered {where}, per "
                                         f"{labels.split(',')[0]}: drops the interfaces counted on either way.",
                             targets=(Target(_drop_ratio(lk, labels, *matchers), legend),)), 12))
    return out


def networking(lk: Lookup) -> dict[str, Any]:
    c = lk.cluster
    cluster = _level(lk, "namespace", "{{namespace}}", "in the cluster")
    if lk.record(W.NET_RX):
        top = [Cell(Spec(title=f"{way} now, top namespaces", kind="bargauge", unit="Bps", steps=QUIET,
                         min=0.0, instant=True,
                         description=f"Bytes per second {way.lower()} by each namespace now, largest first.",
                         targets=(Target(f"sort_desc(topk(10, {_by(lk, 'namespace', record)}))", "{{namespace}}"),)),
                    12) for way, record in (("Received", W.NET_RX), ("Transmitted", W.NET_TX)) if lk.record(record)]
        cluster = top + cluster
    ns = _level(lk, "pod", "{{pod}}", "by the pods of $namespace", 'namespace="$namespace"')
    pod = _level(lk, "pod", "{{pod}}", "by $pod", 'namespace="$namespace"', 'pod=~"$pod"')
    secs = [Section("Cluster", cluster), Section("Namespace $namespace", ns), Section("Pods $pod", pod)]
    source = W.NET_RX
    vars_ = [variables.datasource(), variables.cluster(c),
             variables.query("namespace", f'label_values({source}{{{c}="$cluster"}}, namespace)'),
             variables.query("pod", f'label_values({source}{{{c}="$cluster",namespace="$namespace"}}, pod)',
                             multi=True)]
    return board.dashboard(lk, NETWORKING, "Network traffic, packets and drops by namespace across the cluster, by "
                           "pod within a namespace, and for chosen pods (kubernetes-mixin's networking boards, on "
                           "Stereo's recorded series).", secs, vars_)


def available(lk: Lookup) -> set[str]:
    """The boards whose recorded series the site has."""
    out = set()
    if lk.record(W.POD_CPU) or lk.record(W.POD_MEM):
        out.add(NODE_PODS)
    if lk.record(W.NET_RX):
        out.add(NETWORKING)
    return out


def boards(lk: Lookup) -> dict[str, dict[str, Any]]:
    build = {NODE_PODS: node_pods, NETWORKING: networking}
    return {key: build[key](lk) for key in sorted(available(lk))}
