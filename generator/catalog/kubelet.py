"""Kubelet: the node agent. Scrape health, pods per node, PLEG, pod start latency, container runtime operations,
certificates, evictions, its own CPU and memory; PersistentVolume alerts live in kubelet_volumes.py.

Node readiness is the nodes module's business and is not repeated here. The only real kubelet /metrics capture is
from 1.21; names were checked against the 1.3x source and use the current ones: `kubelet_running_pods` (not the
removed `kubelet_running_pod_count`), `kubelet_runtime_operations_*` (not the dockershim `kubelet_docker_*`), and
`kubelet_pod_start_duration_seconds` with the 1.27+ buckets (0.5 s … 1 h) for pod start latency:
kubernetes-mixin's `kubelet_pod_worker_duration_seconds` has DefBuckets, so its p99 can never exceed 10 s.

Per-node series get their `node` label from `kubelet_node_name` joined on instance, as kubernetes-mixin does, so the
rules work whether or not the scrape config adds a `node` target label (prometheus-operator does, plain configs
do not).
"""

from __future__ import annotations

from collections.abc import Sequence

from generator.catalog import kubelet_health as health
from generator.catalog import kubelet_volumes as vol
from generator.catalog.helpers import counter, fire_obs, gauge_ramp, histogram, quiet_obs
from generator.context import Context
from generator.model import Alert, Case, Component, Panel, RecordingRule, RuleTest, Signal
from generator.promql import fmt_number, format_duration, record_name

SRC = "kubelet"
KSM = "kube-state-metrics"
# metrics.DefBuckets: PLEG relist duration and interval
DEF_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
# podStartupDurationBuckets (Kubernetes 1.27+)
POD_START_BUCKETS = (0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 180, 240, 300, 360, 480, 600, 900, 1200,
                     1800, 2700, 3600)
# ExponentialBuckets(.005, 2.5, 14), rounded as the test inputs write them
RUNTIME_BUCKETS = tuple(float(fmt_number(0.005 * 2.5**i)) for i in range(14))
# runtime operations whose errors or duration belong to the workload, not the runtime: image pulls (bad names,
# registries), exec probes and `kubectl exec`, graceful stops that wait terminationGracePeriodSeconds
WORKLOAD_OPS = "pull_image|exec|exec_sync|attach|port_forward|stop_container|stop_podsandbox"

UP = record_name("cluster", "kubelet_up", "avg")
PODS = record_name("cluster_node", "kubelet_running_pods", "max")
PODS_RATIO = record_name("cluster_node", "kubelet_running_pods", "ratio_capacity")
CONTAINERS = record_name("cluster_node_container_state", "kubelet_running_containers", "max")
PLEG_BUCKETS = record_name("cluster_node_le", "kubelet_pleg_relist_duration_seconds_bucket", "rate5m")
PLEG_Q = record_name("cluster_node_quantile", "kubelet_pleg_relist_duration_seconds", "histogram_quantile")
PLEG_INT_BUCKETS = record_name("cluster_node_le", "kubelet_pleg_relist_interval_seconds_bucket", "rate5m")
PLEG_INT_Q = record_name("cluster_node_quantile", "kubelet_pleg_relist_interval_seconds", "histogram_quantile")
PLEG_LAST_SEEN = record_name("cluster_node", "kubelet_pleg_last_seen_seconds", "max")
START_BUCKETS = record_name("cluster_node_le", "kubelet_pod_start_duration_seconds_bucket", "rate5m")
START_Q = record_name("cluster_node_quantile", "kubelet_pod_start_duration_seconds", "histogram_quantile")
OPS = record_name("cluster_node_operation_type", "kubelet_runtime_operations", "rate5m")
OPS_ERRORS = record_name("cluster_node_operation_type", "kubelet_runtime_operations_errors", "rate5m")
OPS_ERR_RATIO = record_name("cluster_node_operation_type", "kubelet_runtime_operations_errors", "ratio_rate5m")
# duration by operation for the whole cluster: per node × operation × 15 buckets would be too many series
OPS_BUCKETS = record_name("cluster_operation_type_le", "kubelet_runtime_operations_duration_seconds_bucket", "rate5m")
OPS_Q = record_name("cluster_operation_type_quantile", "kubelet_runtime_operations_duration_seconds",
                    "histogram_quantile")
EVICTIONS = record_name("cluster_node_eviction_signal", "kubelet_evictions", "rate5m")
CLIENT_TTL = record_name("cluster_node", "kubelet_certificate_manager_client_ttl_seconds", "min")
SERVER_TTL = record_name("cluster_node", "kubelet_certificate_manager_server_ttl_seconds", "min")
CLIENT_RENEW_ERR = record_name("cluster_node", "kubelet_certificate_manager_client_expiration_renew_errors", "rate5m")
SERVER_RENEW_ERR = record_name("cluster_node", "kubelet_server_expiration_renew_errors", "rate5m")
CPU = record_name("cluster_node", "kubelet_process_cpu_seconds", "rate5m")
MEMORY = record_name("cluster_node", "kubelet_process_resident_memory_bytes", "max")

# test fixtures: one kubelet target and the node it reports
INSTANCE = "10.0.0.1:10250"
NODE = "node-1"


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


def build(ctx: Context) -> Component:
    per_node = PerNode(ctx)
    return Component(
        key="kubelet",
        jobs=("kubelet", "cadvisor"),
        title="Kubelet",
        description="The node agent: scrape health, pods per node, PLEG, pod start latency, container runtime "
                    "operations, certificates, evictions, PersistentVolume space.",
        signals=_signals(ctx) + vol.signals(ctx),
        rules=_rules(ctx, per_node) + vol.rules(ctx, per_node),
        rule_tests=_rule_tests(ctx) + vol.rule_tests(ctx),
        alerts=_alerts(ctx) + vol.alerts(ctx),
        panels=_panels(),
        control_plane=False,
    )


def _rules(ctx: Context, per_node: PerNode) -> tuple[RecordingRule, ...]:
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
        RecordingRule(PLEG_BUCKETS, per_node(rate("kubelet_pleg_relist_duration_seconds_bucket"), "le")),
        RecordingRule(PLEG_Q, f"histogram_quantile(0.99, {PLEG_BUCKETS})", {"quantile": "0.99"}),
        RecordingRule(PLEG_INT_BUCKETS, per_node(rate("kubelet_pleg_relist_interval_seconds_bucket"), "le")),
        RecordingRule(PLEG_INT_Q, f"histogram_quantile(0.99, {PLEG_INT_BUCKETS})", {"quantile": "0.99"}),
        RecordingRule(PLEG_LAST_SEEN, per_node(f"kubelet_pleg_last_seen_seconds{s()}", agg="max")),
        RecordingRule(START_BUCKETS, per_node(rate("kubelet_pod_start_duration_seconds_bucket"), "le")),
        RecordingRule(START_Q, f"histogram_quantile(0.99, {START_BUCKETS})", {"quantile": "0.99"}),
        RecordingRule(START_Q, f"histogram_quantile(0.5, {START_BUCKETS})", {"quantile": "0.5"}),
        RecordingRule(OPS, per_node(rate("kubelet_runtime_operations_total"), "operation_type")),
        RecordingRule(OPS_ERRORS, per_node(rate("kubelet_runtime_operations_errors_total"), "operation_type")),
        RecordingRule(OPS_ERR_RATIO, f"{OPS_ERRORS} / {OPS}"),
        RecordingRule(OPS_BUCKETS, f"sum {ctx.by('operation_type', 'le')} "
                                   f"({rate('kubelet_runtime_operations_duration_seconds_bucket')})"),
        RecordingRule(OPS_Q, f"histogram_quantile(0.99, {OPS_BUCKETS})", {"quantile": "0.99"}),
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


def _signals(ctx: Context) -> tuple[Signal, ...]:
    c = ctx.cluster
    f = f'{{{c}="$cluster"}}'
    q99 = f'{{{c}="$cluster",quantile="0.99"}}'
    node = (c, "node")
    return (
        Signal("kubelet_up_ratio", f"{UP}{f}", "percentunit", (c,), "Kubelets up",
               "Share of kubelet scrape targets that answer.", kind="state"),
        Signal("kubelet_running_pods", f"{PODS}{f}", "short", node, "Running pods per node",
               "Pods with a running sandbox on each node.", kind="state"),
        Signal("kubelet_pods_capacity_ratio", f"{PODS_RATIO}{f}", "percentunit", node, "Pods vs node capacity",
               "Running pods as a share of the node's pod capacity (max-pods).", kind="state",
               alert="KubeletTooManyPods"),
        Signal("kubelet_running_containers", f"sum by ({c}, container_state) ({CONTAINERS}{f})", "short",
               (c, "container_state"), "Containers by state", "Containers the kubelets know, by runtime state.",
               kind="state"),
        Signal("kubelet_pod_start_p99", f"{START_Q}{q99}", "s", node, "Pod start p99",
               "99th percentile time from the kubelet seeing a pod to all its containers running (image pulls "
               "included).", alert="KubeletPodStartUpLatencyHigh"),
        Signal("kubelet_pod_start_p50", f'{START_Q}{{{c}="$cluster",quantile="0.5"}}', "s", node, "Pod start p50",
               "Median time from the kubelet seeing a pod to all its containers running."),
        Signal("kubelet_pleg_relist_p99", f"{PLEG_Q}{q99}", "s", node, "PLEG relist duration p99",
               "99th percentile time the pod lifecycle event generator takes to list pods from the runtime.",
               alert="KubeletPlegDurationHigh"),
        Signal("kubelet_pleg_relist_interval_p99", f"{PLEG_INT_Q}{q99}", "s", node, "PLEG relist interval p99",
               "99th percentile time between two PLEG relists (1 s plus the relist itself when healthy)."),
        Signal("kubelet_pleg_last_seen_age", f"time() - {PLEG_LAST_SEEN}{f}", "s", node, "PLEG last active",
               "Seconds since the PLEG last completed a relist; the kubelet reports NotReady past 3 minutes.",
               kind="state", alert="KubeletPlegNotHealthy"),
        Signal("kubelet_runtime_operations", f"sum by ({c}, operation_type) ({OPS}{f})", "ops",
               (c, "operation_type"), "Runtime operations", "CRI calls per second from all kubelets, by operation."),
        Signal("kubelet_runtime_error_ratio", f"{OPS_ERR_RATIO}{f}", "percentunit", (c, "node", "operation_type"),
               "Runtime operation errors", "Share of CRI calls that failed, per node and operation.",
               alert="KubeletRuntimeErrorsHigh"),
        Signal("kubelet_runtime_latency_p99", f"{OPS_Q}{q99}", "s", (c, "operation_type"),
               "Runtime operation latency p99", "99th percentile CRI call duration, by operation.",
               alert="KubeletRuntimeLatencyHigh"),
        Signal("kubelet_evictions", f"sum by ({c}, node, eviction_signal) ({EVICTIONS}{f})", "ops",
               (c, "node", "eviction_signal"), "Evictions", "Pods evicted per second by the kubelet, by signal.",
               kind="state", alert="KubeletEvictions"),
        Signal("kubelet_client_cert_ttl", f"{CLIENT_TTL}{f}", "s", node, "Client certificate TTL",
               "Time until the kubelet's client certificate expires.", kind="state",
               alert="KubeletClientCertExpiring"),
        Signal("kubelet_server_cert_ttl", f"{SERVER_TTL}{f}", "s", node, "Serving certificate TTL",
               "Time until the kubelet's serving certificate expires.", kind="state",
               alert="KubeletServerCertExpiring"),
        Signal("kubelet_cpu", f"{CPU}{f}", "cores", node, "Kubelet CPU",
               "CPU cores the kubelet process uses on each node.", kind="resource"),
        Signal("kubelet_memory", f"{MEMORY}{f}", "bytes", node, "Kubelet memory",
               "Resident memory of the kubelet process on each node.", kind="resource"),
    )


def _panels() -> tuple[Panel, ...]:
    return (
        Panel("Kubelets up", ("kubelet_up_ratio",), kind="stat", width=6),
        Panel("Running pods per node", ("kubelet_running_pods",), legend="{{node}}", width=9),
        Panel("Pods vs capacity", ("kubelet_pods_capacity_ratio",), legend="{{node}}", width=9),
        Panel("Pod start latency", ("kubelet_pod_start_p99", "kubelet_pod_start_p50"), legend="{{node}}"),
        Panel("Containers by state", ("kubelet_running_containers",), stack=True, legend="{{container_state}}"),
        Panel("PLEG relist duration p99", ("kubelet_pleg_relist_p99",), legend="{{node}}"),
        Panel("PLEG relist interval p99", ("kubelet_pleg_relist_interval_p99",), legend="{{node}}"),
        Panel("PLEG last active", ("kubelet_pleg_last_seen_age",), legend="{{node}}"),
        Panel("Runtime operations", ("kubelet_runtime_operations",), stack=True, legend="{{operation_type}}"),
        Panel("Runtime operation errors", ("kubelet_runtime_error_ratio",), legend="{{node}} {{operation_type}}"),
        Panel("Runtime operation latency p99", ("kubelet_runtime_latency_p99",), legend="{{operation_type}}"),
        Panel("Evictions", ("kubelet_evictions",), legend="{{node}} {{eviction_signal}}"),
        Panel("Kubelet CPU", ("kubelet_cpu",), legend="{{node}}"),
        Panel("Kubelet memory", ("kubelet_memory",), legend="{{node}}"),
        Panel("Certificate TTL", ("kubelet_client_cert_ttl", "kubelet_server_cert_ttl"), legend="{{node}}"),
        Panel("PersistentVolume space used", ("kubelet_volume_usage_ratio",),
              legend="{{namespace}}/{{persistentvolumeclaim}}"),
        Panel("PersistentVolume space free", ("kubelet_volume_available_ratio",),
              legend="{{namespace}}/{{persistentvolumeclaim}}"),
        Panel("PersistentVolume inodes free", ("kubelet_volume_inodes_available_ratio",),
              legend="{{namespace}}/{{persistentvolumeclaim}}"),
        Panel("PersistentVolume bytes used", ("kubelet_volume_used_bytes",),
              legend="{{namespace}}/{{persistentvolumeclaim}}"),
        Panel("Volume operation errors", ("kubelet_storage_operation_error_ratio",),
              legend="{{node}} {{operation_name}}"),
    )


# ------------------------------------------------------------------------------------------ test helpers
def node_name(ctx: Context) -> dict[str, float | str]:
    """The `kubelet_node_name` series every per-node join needs."""
    return {ctx.series(SRC, "kubelet_node_name", instance=INSTANCE, node=NODE): 1}


def kubelet(ctx: Context, metric: str, value: float | str, **labels: str) -> dict[str, float | str]:
    """One kubelet series on the test node, with the node-name series it is joined to."""
    return {ctx.series(SRC, metric, instance=INSTANCE, **labels): value, **node_name(ctx)}


def kubelet_histogram(ctx: Context, metric: str, bounds: Sequence[float], observed: float,
                      **labels: str) -> dict[str, float | str]:
    series = lambda suffix, **lb: ctx.series(SRC, f"{metric}{suffix}", instance=INSTANCE, **lb)  # noqa: E731
    return {**histogram(series, bounds, observed, 2, **labels), **node_name(ctx)}


def _rule_tests(ctx: Context) -> tuple[RuleTest, ...]:
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
        RuleTest(inputs=kubelet_histogram(ctx, "kubelet_pleg_relist_duration_seconds", DEF_BUCKETS, 0.3),
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

def _alerts(ctx: Context) -> tuple[Alert, ...]:
    c = ctx.cluster
    on_node = " on node {{ $labels.node }} (cluster {{ $labels." + c + " }})"
    nd = {"node": NODE}
    return (
        *health.scrape_alerts(ctx),
        *_pod_alerts(ctx, on_node, nd),
        *health.runtime_alerts(ctx, on_node, nd),
        *health.cert_alerts(ctx, "client", CLIENT_TTL, CLIENT_RENEW_ERR,
                            "kubelet_certificate_manager_client_ttl_seconds",
                            "kubelet_certificate_manager_client_expiration_renew_errors", on_node),
        *health.cert_alerts(ctx, "server", SERVER_TTL, SERVER_RENEW_ERR,
                            "kubelet_certificate_manager_server_ttl_seconds",
                            "kubelet_server_expiration_renew_errors", on_node),
        Alert(
            name="KubeletEvictions",
            expr=f"{EVICTIONS} > 0",
            for_="0m",
            severity="info",
            summary="Kubelet is evicting pods.",
            description="The kubelet" + on_node + " is evicting pods because of {{ $labels.eviction_signal }}.",
            cases=(Case(kubelet(ctx, "kubelet_evictions", counter(1 / 60), eviction_signal="memory.available"),
                        fires=True, labels={**nd, "eviction_signal": "memory.available"}),
                   Case(kubelet(ctx, "kubelet_evictions", 2, eviction_signal="memory.available"), fires=False)),
            meaning="The node crossed an eviction threshold (memory, disk, inodes, PIDs) and the kubelet evicts pods.",
            impact="Evicted pods stop and are rescheduled elsewhere if they have a controller; bare pods are lost.",
            diagnosis=(f"{EVICTIONS} > 0", 'kube_node_status_condition{condition=~".*Pressure",status="true"} == 1'),
            mitigation=("Find what fills the node (`kubectl top pods -A --sort-by=memory`, images, logs) and set "
                        "requests and limits so the scheduler does not overpack it.",),
        ),
    )


def _pod_alerts(ctx: Context, on_node: str, nd: dict[str, str]) -> tuple[Alert, ...]:
    pods = ctx.threshold("KubeletTooManyPods", 0.95)
    pleg = ctx.threshold("KubeletPlegDurationHigh", 10)
    pleg_age = ctx.threshold("KubeletPlegNotHealthy", 180)
    start = ctx.threshold("KubeletPodStartUpLatencyHigh", 60)
    capacity = 1000
    fire_pods = round(capacity * (1 + pods) / 2)
    pods_in = lambda n: {**kubelet(ctx, "kubelet_running_pods", n),  # noqa: E731
                         ctx.series(KSM, "kube_node_status_capacity", node=NODE, resource="pods",
                                    unit="integer"): capacity}
    pleg_obs, pleg_q = fire_obs(DEF_BUCKETS, pleg)
    start_obs, start_q = fire_obs(POD_START_BUCKETS, start)
    pleg_hist = lambda o: kubelet_histogram(ctx, "kubelet_pleg_relist_duration_seconds", DEF_BUCKETS, o)  # noqa: E731
    start_hist = lambda o: kubelet_histogram(ctx, "kubelet_pod_start_duration_seconds", POD_START_BUCKETS, o)  # noqa: E731
    q99 = {**nd, "quantile": "0.99"}
    return (
        Alert(
            name="KubeletTooManyPods",
            expr=f"{PODS_RATIO} > {fmt_number(pods)}",
            for_="15m",
            severity="info",
            threshold=pods,
            summary="Kubelet is running at capacity.",
            description="The kubelet" + on_node + " runs {{ $value | humanizePercentage }} of its pod capacity.",
            cases=(Case(pods_in(fire_pods), fires=True, labels=nd, value=fire_pods / capacity),
                   Case(pods_in(round(capacity * pods / 2)), fires=False)),
            meaning="The node runs nearly as many pods as its max-pods setting allows.",
            impact="New pods cannot be scheduled to this node; a rollout may stall if every node is full.",
            diagnosis=(f"{PODS_RATIO} > 0.9", f"{PODS}"),
            mitigation=("Add nodes or raise `maxPods` in the kubelet configuration (mind the pod CIDR size).",),
        ),
        Alert(
            name="KubeletPlegDurationHigh",
            expr=f'{PLEG_Q}{{quantile="0.99"}} >= {fmt_number(pleg)}',
            for_="5m",
            severity="warning",
            threshold=pleg,
            summary="Kubelet Pod Lifecycle Event Generator is taking too long to relist.",
            description="The kubelet" + on_node + " takes {{ $value | humanizeDuration }} (p99) to relist pods.",
            cases=(Case(pleg_hist(pleg_obs), fires=True, labels=q99, value=pleg_q),
                   Case(pleg_hist(quiet_obs(DEF_BUCKETS, pleg)), fires=False)),
            meaning="Listing pods and containers from the container runtime is slow.",
            impact="Pod state changes reach the API late; past 3 minutes without a relist the node turns NotReady.",
            diagnosis=(f'{PLEG_Q}{{quantile="0.99"}}', f'{OPS_Q}{{quantile="0.99"}}', f"{CONTAINERS}"),
            mitigation=("Check the runtime (containerd/CRI-O) health and logs on the node and its disk I/O.",
                        "Too many (exited) containers slow relisting down: check garbage collection."),
        ),
        Alert(
            name="KubeletPlegNotHealthy",
            expr=f"time() - {PLEG_LAST_SEEN} > {fmt_number(pleg_age)}",
            for_="5m",
            severity="warning",
            threshold=pleg_age,
            summary="Kubelet Pod Lifecycle Event Generator has stopped relisting.",
            # no $value: the age grows with the evaluation time, which depends on `for`
            description="The kubelet" + on_node + " has not completed a PLEG relist for more than "
                        + format_duration(pleg_age) + ".",
            cases=(Case(kubelet(ctx, "kubelet_pleg_last_seen_seconds", 0), fires=True, labels=nd,
                        lookback=format_duration(max(600, 2 * pleg_age)), note="stuck since the start"),
                   # the timestamp keeps up with the clock, one sample ahead so 1-minute sampling shows no age
                   Case(kubelet(ctx, "kubelet_pleg_last_seen_seconds", gauge_ramp(60, 60)), fires=False)),
            meaning="The kubelet's PLEG has not finished a relist of the container runtime for longer than the "
                    "threshold (the kubelet itself reports 'PLEG is not healthy' after 3 minutes).",
            impact="The node goes NotReady; pods are not started, stopped or updated.",
            diagnosis=(f"time() - {PLEG_LAST_SEEN}", f'{OPS_Q}{{quantile="0.99"}}'),
            mitigation=("Check the container runtime on the node (`crictl ps`, runtime logs); restart it, then "
                        "the kubelet, if it hangs.",),
        ),
        Alert(
            name="KubeletPodStartUpLatencyHigh",
            expr=f'{START_Q}{{quantile="0.99"}} > {fmt_number(start)}',
            for_="15m",
            severity="warning",
            threshold=start,
            summary="Kubelet pod startup latency is too high.",
            description="Pods" + on_node + " take {{ $value | humanizeDuration }} (p99) to start.",
            cases=(Case(start_hist(start_obs), fires=True, labels=q99, value=start_q),
                   Case(start_hist(quiet_obs(POD_START_BUCKETS, start)), fires=False)),
            meaning="The 99th percentile time from the kubelet seeing a pod to its containers running is above the "
                    "threshold. Image pulls are included. Stereo reads kubelet_pod_start_duration_seconds (buckets "
                    "up to 1 h) on purpose, not kubernetes-mixin's kubelet_pod_worker_duration_seconds: that "
                    "histogram has the default buckets ending at 10 s, so its p99 can never pass a 60 s threshold "
                    "on a real kubelet.",
            impact="Rollouts and scale-ups are slow on this node.",
            diagnosis=(f'{START_Q}{{quantile="0.99"}}', f'{OPS_Q}{{operation_type=~"pull_image|run_podsandbox"}}'),
            mitigation=("Large images: pre-pull or slim them; slow sandbox creation: check the CNI plugin.",),
        ),
    )
