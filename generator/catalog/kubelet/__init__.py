"""Kubelet: the node agent. Scrape health, pods per node, PLEG, pod start latency, container runtime operations,
certificates, evictions, its own CPU and memory; PersistentVolume rules and alerts live in volumes.py.

Node readiness is the nodes package's business and is not repeated here. The only real kubelet /metrics capture is
from 1.21; names were checked against the 1.3x source and use the current ones: `kubelet_running_pods` (not the
removed `kubelet_running_pod_count`), `kubelet_runtime_operations_*` (not the dockershim `kubelet_docker_*`), and
`kubelet_pod_start_duration_seconds` with the 1.27+ buckets (0.5 s … 1 h) for pod start latency:
kubernetes-mixin's `kubelet_pod_worker_duration_seconds` has DefBuckets, so its p99 can never exceed 10 s.

Per-node series get their `node` label from `kubelet_node_name` joined on instance, as kubernetes-mixin does, so the
rules work whether or not the scrape config adds a `node` target label (prometheus-operator does, plain configs
do not).

`names` holds the recorded series and constants, `rules` the recording rules and their tests, `alerts` the alerts,
`panels` the signals and panels, `volumes` the PersistentVolume area.
"""

from __future__ import annotations

from generator.catalog.kubelet import alerts, panels, rules, volumes
from generator.context import Context
from generator.model import Component


def build(ctx: Context) -> Component:
    per_node = rules.PerNode(ctx)
    return Component(
        key="kubelet",
        jobs=("kubelet", "cadvisor"),
        title="Kubelet",
        description="The node agent: scrape health, pods per node, PLEG, pod start latency, container runtime "
                    "operations, certificates, evictions, PersistentVolume space.",
        signals=panels.signals(ctx) + volumes.signals(ctx),
        rules=rules.rules(ctx, per_node) + volumes.rules(ctx, per_node),
        rule_tests=rules.rule_tests(ctx) + volumes.rule_tests(ctx),
        alerts=alerts.alerts(ctx) + volumes.alerts(ctx),
        panels=panels.panels(),
        control_plane=False,
    )
