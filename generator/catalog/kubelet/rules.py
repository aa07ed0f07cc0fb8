"""Kubelet's recording rules, their promtool tests and the test inputs its alerts share.

Per-node series get their `node` label from `kubelet_node_name` joined on instance, as kubernetes-mixin does, so the
rules work whether or not the scrape config adds a `node` target label (prometheus-operator does, plain configs
do not).
"""

from __future__ import annotations

from generator.catalog.helpers import counter
from generator.catalog.kubelet.names import (
    CLIENT_RENEW_ERR,
    CLIENT_TTL,
    CONTAINERS,
    CPU,
    DEF_BUCKETS,
    EVICTIONS,
    INSTANCE,
    KSM,
    MEMORY,
    NODE,
    OPS,
    OPS_DURATION,
    OPS_ERR_RATIO,
    OPS_ERRORS,
    PLEG,
    PLEG_INT,
    PLEG_LAST_SEEN,
    PLEG_Q,
    PODS,
    PODS_RATIO,
    SERVER_RENEW_ERR,
    SERVER_TTL,
    SRC,
    START,
    UP,
)
from generator.context import Context
from generator.model import RecordingRule, RuleTest


class PerNode:
    """Aggregate a kubelet expression per scrape target, then name the node from `kubelet_node_name`."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        on = "on " + ctx.by("instance").removeprefix("by ")
        self.join = f"* {on} group_left (node) max {ctx.by('instance', 'node')} (kubelet_node_name{ctx.sel(SRC)})"

    def __call__(self, expr: str, *labels: str, agg: str = "sum", direct: str = "") -> str:
        """`direct`: the same expression over series that carry a `node` target label themselves, for when
        `kubelet_node_name` is not scraped (a scrape config that labels targets by node and drops the rest)."""
        inner = f"{agg} {self.ctx.by('instance', *labels)} ({expr})"
        joined = f"{agg} {self.ctx.by('node', *labels)} ({inner} {self.join})"
        return f"{joined} or {agg} {self.ctx.by('node', *labels)} ({direct})" if direct else joined


def rules(ctx: Context, per_node: PerNode) -> tuple[RecordingRule, ...]:
    s = lambda *m: ctx.sel(SRC, *m)  # noqa: E731
    pods_capacity = ctx.sel(KSM, 'resource="pods"')
    on_node = "on " + ctx.by("node").removeprefix("by ")
    rate = lambda metric: f"rate({metric}{s()}[5m])"  # noqa: E731
    named = s('node!=""')
    return (
        RecordingRule(UP, f"avg {ctx.by()} (up{s()})"),
        RecordingRule(PODS, per_node(f"kubelet_running_pods{s()}", agg="max")),
        RecordingRule(PODS_RATIO,
                      f"{PODS} / {on_node} max {ctx.by('node')} (kube_node_status_capacity{pods_capacity})"),
        RecordingRule(CONTAINERS, per_node(f"kubelet_running_containers{s()}", "container_state", agg="max")),
        *PLEG.rules(ctx, expr=per_node(rate("kubelet_pleg_relist_duration_seconds_bucket"), "le")),
        *PLEG_INT.rules(ctx, expr=per_node(rate("kubelet_pleg_relist_interval_seconds_bucket"), "le")),
        RecordingRule(PLEG_LAST_SEEN, per_node(f"kubelet_pleg_last_seen_seconds{s()}", agg="max")),
        *START.rules(ctx, expr=per_node(rate("kubelet_pod_start_duration_seconds_bucket"), "le")),
        RecordingRule(OPS, per_node(rate("kubelet_runtime_operations_total"), "operation_type")),
        RecordingRule(OPS_ERRORS, per_node(rate("kubelet_runtime_operations_errors_total"), "operation_type")),
        RecordingRule(OPS_ERR_RATIO, f"{OPS_ERRORS} / {OPS}"),
        *OPS_DURATION.rules(ctx, s()),
        RecordingRule(EVICTIONS, per_node(rate("kubelet_evictions"), "eviction_signal")),
        # present only when client certificate rotation is on (the default with TLS bootstrapping)
        # few series: worth a second reading for scrape configs without kubelet_node_name
        RecordingRule(CLIENT_TTL, per_node(f"kubelet_certificate_manager_client_ttl_seconds{s()}", agg="min",
                                           direct=f"kubelet_certificate_manager_client_ttl_seconds{named}")),
        RecordingRule(SERVER_TTL, per_node(f"kubelet_certificate_manager_server_ttl_seconds{s()}", agg="min",
                                           direct=f"kubelet_certificate_manager_server_ttl_seconds{named}")),
        RecordingRule(CLIENT_RENEW_ERR, per_node(
            rate("kubelet_certificate_manager_client_expiration_renew_errors"),
            direct=f"rate(kubelet_certificate_manager_client_expiration_renew_errors{named}[5m])")),
        RecordingRule(SERVER_RENEW_ERR, per_node(rate("kubelet_server_expiration_renew_errors"),
                                                 direct=f"rate(kubelet_server_expiration_renew_errors{named}[5m])")),
        RecordingRule(CPU, per_node(rate("process_cpu_seconds_total"))),
        RecordingRule(MEMORY, per_node(f"process_resident_memory_bytes{s()}", agg="max")),
    )


# test inputs (rule tests and alert cases)
# ------------------------------------------------------------------------------------------ test helpers
def node_name(ctx: Context) -> dict[str, float | str]:
    """The `kubelet_node_name` series every per-node join needs."""
    return {ctx.series(SRC, "kubelet_node_name", instance=INSTANCE, node=NODE): 1}


def kubelet(ctx: Context, metric: str, value: float | str, **labels: str) -> dict[str, float | str]:
    """One kubelet series on the test node, with the node-name series it is joined to."""
    return {ctx.series(SRC, metric, instance=INSTANCE, **labels): value, **node_name(ctx)}


def rule_tests(ctx: Context) -> tuple[RuleTest, ...]:
    capacity = {ctx.series(KSM, "kube_node_status_capacity", node=NODE, resource="pods", unit="integer"): 110}
    nd = {"node": NODE}
    ops = lambda op, total, errors: {  # noqa: E731
        **kubelet(ctx, "kubelet_runtime_operations_total", counter(total), operation_type=op),
        **kubelet(ctx, "kubelet_runtime_operations_errors_total", counter(errors), operation_type=op),
    }
    return (
        RuleTest(inputs=kubelet(ctx, "kubelet_running_pods", 55), expr=PODS, expected=((nd, 55),),
                 note="node name joined from kubelet_node_name"),
        RuleTest(inputs={**kubelet(ctx, "kubelet_running_pods", 55), **capacity}, expr=PODS_RATIO,
                 expected=((nd, 0.5),), note="running pods over kube-state-metrics pod capacity"),
        RuleTest(inputs=ops("create_container", 10, 1), expr=OPS_ERR_RATIO,
                 expected=(({**nd, "operation_type": "create_container"}, 0.1),), note="failed share of CRI calls"),
        RuleTest(inputs={**ctx.histogram(SRC, "kubelet_pleg_relist_duration_seconds", DEF_BUCKETS, 0.3, 2,
                                         instance=INSTANCE), **node_name(ctx)},
                 expr=PLEG_Q, expected=(({**nd, "quantile": "0.99"}, 0.25 + 0.25 * 0.99),),
                 note="p99 inside the (0.25, 0.5] bucket"),
        RuleTest(inputs=kubelet(ctx, "kubelet_certificate_manager_client_ttl_seconds", 86400), expr=CLIENT_TTL,
                 expected=((nd, 86400),), note="client certificate TTL per node"),
        RuleTest(inputs={ctx.series(SRC, "kubelet_certificate_manager_client_ttl_seconds", node="node-9"): 3600},
                 expr=CLIENT_TTL, expected=(({"node": "node-9"}, 3600),),
                 note="a node target label stands in for a missing kubelet_node_name"),
        RuleTest(inputs=kubelet(ctx, "process_cpu_seconds_total", counter(0.25)), expr=CPU, expected=((nd, 0.25),),
                 note="kubelet CPU per node"),
    )
