"""General: alerts that belong to no single component: the alerting pipeline's heartbeat (Watchdog), the info-alert
inhibitor, any scrape job losing targets, Kubernetes version skew, API client errors of every client, and
kube-state-metrics' own health (every workload alert reads it). No rules or panels of its own: `names` and `alerts`."""

from __future__ import annotations

from generator.catalog.general import alerts
from generator.catalog.general.names import KSM
from generator.context import Context
from generator.model import Component

# built after the other components: TargetDown and KubeClientErrors leave the jobs they watch to them
AFTER_PEERS = True


def build(ctx: Context) -> Component:
    return Component(
        key="general",
        jobs=(KSM,),
        title="General",
        description="Cluster-wide alerts: the alerting heartbeat, info-alert inhibition, scrape targets down in any "
                    "job, Kubernetes version skew, API client errors, kube-state-metrics health.",
        alerts=alerts.alerts(ctx),
    )
