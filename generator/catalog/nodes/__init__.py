"""Nodes: node-exporter (CPU, load, memory, filesystems, disks, network, conntrack, file descriptors, clock) and the
Kubernetes node conditions kube-state-metrics reports (Ready, pressure, unschedulable, unreachable).

Semantics follow node-exporter's own mixin (prometheus/node_exporter docs/node-mixin) and kubernetes-mixin; default
thresholds follow the vendor seeds: Alibaba ACK fires at 85% node CPU, memory, disk and inodes, node-problem-detector
at 80% file descriptors and 90% conntrack.

node-exporter series are keyed by `instance` (host:9100), which is what every rule here keeps. To show the
Kubernetes node name next to it, join with `node_uname_info` (`* on (cluster, instance) group_left (nodename)
node_uname_info`), or relabel `__meta_kubernetes_pod_node_name` into a `node` label at scrape time as many
kube-prometheus setups do; kube-state-metrics series carry `node` already.

`names` holds the recorded series and constants, `rules` the recording rules and their tests, `alerts` (with
`alerts_system` and `alerts_health`) the alerts, `panels` the signals and panels.
"""

from __future__ import annotations

from generator.catalog.nodes import alerts, panels, rules
from generator.context import Context
from generator.model import Component


def build(ctx: Context) -> Component:
    return Component(
        key="nodes",
        jobs=("node-exporter",),
        title="Nodes",
        description="Node resources from node-exporter (CPU, load, memory, filesystems, disks, network, conntrack, "
                    "file descriptors, clock) and Kubernetes node conditions from kube-state-metrics.",
        signals=panels.signals(ctx),
        rules=rules.rules(ctx),
        rule_tests=rules.rule_tests(ctx),
        alerts=alerts.alerts(ctx),
        panels=panels.panels(),
        control_plane=False,
    )
