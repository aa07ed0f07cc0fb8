"""Workloads: containers, pods and their controllers, from cAdvisor (kubelet /metrics/cadvisor) and kube-state-metrics.

The resource side of the workload "stereo view": container CPU sits next to pod network traffic, container memory
next to response time (the service module provides that side). `names` holds the recorded series
(the kube dashboards and views import them), `rules` the rules and their tests, `alerts` the capacity alerts
(requests, quotas, overcommit) and the list of all, `alerts_pods` containers and pods, `alerts_apps` controllers,
jobs, HPA and PVC; `panels` the signals and panels.
"""

from __future__ import annotations

from generator.catalog.workloads import alerts, panels, rules
from generator.context import Context
from generator.model import Component


def build(ctx: Context) -> Component:
    return Component(
        key="workloads",
        title="Workloads",
        description="Containers, pods and their controllers: CPU, memory, throttling, network, restarts, OOM kills, "
                    "rollouts, jobs, autoscalers, claims, quotas and requests against capacity.",
        signals=panels.signals(ctx),
        rules=rules.rules(ctx),
        rule_tests=rules.rule_tests(ctx),
        alerts=alerts.alerts(ctx),
        panels=panels.panels(),
        per_pod=True,
    )
