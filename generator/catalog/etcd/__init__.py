"""etcd: the cluster's store. Members and leadership, raft proposals, disk and peer latency, database size, gRPC.

`names` holds the recorded series and constants, `rules` the recording rules and their tests, `alerts` the alerts
(after etcd's own mixin), `panels` the signals and panels. Metric names follow etcd 3.5–3.6.
"""

from __future__ import annotations

from generator.catalog.etcd import alerts, panels, rules
from generator.context import Context
from generator.model import Component


def build(ctx: Context) -> Component:
    return Component(
        key="etcd",
        jobs=("etcd",),
        title="etcd",
        description="The Kubernetes datastore: member health and leadership, raft proposals, backend commit and "
                    "WAL fsync latency, peer round trips, database size against its quota, gRPC errors.",
        signals=panels.signals(ctx),
        rules=rules.rules(ctx),
        slow_rules=rules.slow_rules(ctx),
        rule_tests=rules.rule_tests(ctx),
        alerts=alerts.alerts(ctx),
        panels=panels.panels(),
        control_plane=True,
    )
