"""Kubelet's signals (what the dashboard and the correlation engine read) and its dashboard panels."""

from __future__ import annotations

from generator.catalog.kubelet.names import (
    CLIENT_TTL,
    CONTAINERS,
    CPU,
    EVICTIONS,
    MEMORY,
    OPS,
    OPS_ERR_RATIO,
    OPS_Q,
    PLEG_INT_Q,
    PLEG_LAST_SEEN,
    PLEG_Q,
    PODS,
    PODS_RATIO,
    SERVER_TTL,
    START_Q,
    UP,
)
from generator.context import Context
from generator.model import Panel, Signal


def signals(ctx: Context) -> tuple[Signal, ...]:
    c = ctx.cluster
    f = ctx.dash()
    p99 = ctx.dash(quantile=0.99)
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
        Signal("kubelet_pod_start_p99", f"{START_Q}{p99}", "s", node, "Pod start p99",
               "99th percentile time from the kubelet seeing a pod to all its containers running (image pulls "
               "included).", alert="KubeletPodStartUpLatencyHigh"),
        Signal("kubelet_pod_start_p50", f"{START_Q}{ctx.dash(quantile=0.5)}", "s", node, "Pod start p50",
               "Median time from the kubelet seeing a pod to all its containers running."),
        Signal("kubelet_pleg_relist_p99", f"{PLEG_Q}{p99}", "s", node, "PLEG relist duration p99",
               "99th percentile time the pod lifecycle event generator takes to list pods from the runtime.",
               alert="KubeletPlegDurationHigh"),
        Signal("kubelet_pleg_relist_interval_p99", f"{PLEG_INT_Q}{p99}", "s", node, "PLEG relist interval p99",
               "99th percentile time between two PLEG relists (1 s plus the relist itself when healthy)."),
        Signal("kubelet_pleg_last_seen_age", f"time() - {PLEG_LAST_SEEN}{f}", "s", node, "PLEG last active",
               "Seconds since the PLEG last completed a relist; the kubelet reports NotReady past 3 minutes.",
               kind="state", alert="KubeletPlegNotHealthy"),
        Signal("kubelet_runtime_operations", f"sum by ({c}, operation_type) ({OPS}{f})", "ops",
               (c, "operation_type"), "Runtime operations", "CRI calls per second from all kubelets, by operation."),
        Signal("kubelet_runtime_error_ratio", f"{OPS_ERR_RATIO}{f}", "percentunit", (c, "node", "operation_type"),
               "Runtime operation errors", "Share of CRI calls that failed, per node and operation.",
               alert="KubeletRuntimeErrorsHigh"),
        Signal("kubelet_runtime_latency_p99", f"{OPS_Q}{p99}", "s", (c, "operation_type"),
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


def panels() -> tuple[Panel, ...]:
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
