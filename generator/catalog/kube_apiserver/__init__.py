"""kube-apiserver: traffic, errors, latency, SLOs, API Priority and Fairness, webhooks, etcd as seen by the apiserver.

Managed clusters (ACK, TKE, EKS, GKE) expose the apiserver's /metrics too, so this is not a control-plane-only part.
`names` holds the recorded series and bucket layouts, `rules` the recording rules and their tests, `alerts` and
`alerts_availability` the alerts, `panels` the signals and panels; `slo` is the SLO area (its rules, rule tests
and burn-rate alerts, windows from generator/data/slo_windows.yaml).
"""

from __future__ import annotations

from generator.catalog.kube_apiserver import alerts, alerts_availability, panels, rules, slo
from generator.context import Context
from generator.model import Component


def build(ctx: Context) -> Component:
    windows = slo.load_windows()
    slo_rules, slo_slow = slo.rules(ctx, windows)
    return Component(
        key="kube-apiserver",
        jobs=("kube-apiserver",),
        title="Kubernetes API server",
        description="kube-apiserver: request rate, errors and latency, availability and latency SLOs with "
                    "burn-rate alerts, API Priority and Fairness, admission webhooks, etcd latency, certificates.",
        signals=panels.signals(ctx),
        rules=(*rules.rules(ctx), *slo_rules),
        slow_rules=slo_slow,
        rule_tests=(*rules.rule_tests(ctx), *slo.rule_tests(ctx, windows)),
        alerts=(*alerts_availability.alerts(ctx), *alerts.alerts(ctx), *slo.alerts(ctx, windows)),
        panels=panels.panels(),
        control_plane=False,
    )
