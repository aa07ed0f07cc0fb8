"""Workloads' signals (what the dashboards and the correlation engine read) and its dashboard panels."""

from __future__ import annotations

from generator.catalog.workloads.names import (
    CPU_LIM_RATIO,
    CPU_REQ_RATIO,
    MEM_LIM_RATIO,
    NET_DROP_RATIO,
    NET_DROPS,
    NET_RX,
    NET_TX,
    NS_CPU,
    NS_MEM,
    NS_REQ,
    PHASE,
    POD_CPU,
    POD_MEM,
    RESTARTS,
    THROTTLE,
    WL_CPU,
    WL_MEM,
)
from generator.context import Context
from generator.model import Panel, Signal


def signals(ctx: Context) -> tuple[Signal, ...]:
    c = ctx.cluster
    in_ns = 'namespace="$namespace"'
    ns, pods = ctx.dash(in_ns), ctx.dash(in_ns, 'pod=~"$pod"')
    cpu, memory = ctx.dash(in_ns, 'resource="cpu"'), ctx.dash(in_ns, 'resource="memory"')
    per_pod, per_ctr = (c, "namespace", "pod"), (c, "namespace", "pod", "container")
    return (
        Signal("container_cpu_usage", f"{POD_CPU}{pods}", "cores", per_pod, "CPU usage per pod",
               "CPU cores the containers of each pod use (container_cpu_usage_seconds_total).", kind="resource"),
        Signal("container_memory_working_set", f"{POD_MEM}{pods}", "bytes", per_pod,
               "Memory working set per pod", "Working-set memory of each pod's containers: what the OOM killer and "
               "evictions look at.", kind="resource"),
        Signal("pod_network_receive_bytes", f"{NET_RX}{pods}", "Bps", per_pod, "Network received per pod",
               "Bytes per second each pod receives, all interfaces (hostNetwork pods left out).", kind="resource"),
        Signal("pod_network_transmit_bytes", f"{NET_TX}{pods}", "Bps", per_pod, "Network transmitted per pod",
               "Bytes per second each pod sends, all interfaces (hostNetwork pods left out).", kind="resource"),
        Signal("container_cpu_throttling_ratio", f"{THROTTLE}{pods}", "percentunit", per_ctr, "CPU throttling",
               "Share of CFS periods in which the container was throttled by its CPU limit.", kind="resource",
               alert="ContainerCPUThrottlingHigh"),
        Signal("container_cpu_requests_ratio", f"{CPU_REQ_RATIO}{pods}", "percentunit", per_ctr,
               "CPU usage / requests", "CPU a container uses over what it requested; above 100% it lives on "
               "spare capacity.", kind="resource"),
        Signal("container_cpu_limits_ratio", f"{CPU_LIM_RATIO}{pods}", "percentunit", per_ctr, "CPU usage / limits",
               "CPU a container uses over its limit; near 100% it gets throttled.", kind="resource",
               alert="ContainerCPUNearLimit"),
        Signal("container_memory_limits_ratio", f"{MEM_LIM_RATIO}{pods}", "percentunit", per_ctr,
               "Memory / limits", "Working set over memory limit; at 100% the container is OOM killed.",
               kind="resource", alert="ContainerMemoryNearLimit"),
        Signal("pod_network_drops", f"{NET_DROPS}{pods}", "pps", per_pod, "Network drops per pod",
               "Packets per second dropped on the pod's interfaces, received and sent.", kind="resource"),
        Signal("pod_network_drop_ratio", f"{NET_DROP_RATIO}{pods}", "percentunit", per_pod, "Network drop ratio",
               "Share of the pod's packets dropped.", kind="resource", alert="PodNetworkDropsHigh"),
        Signal("pod_restarts", f"{RESTARTS}{pods}", "short", per_pod, "Container restarts per pod",
               "Container restarts in each pod over the last 5 minutes.", kind="state"),
        Signal("namespace_cpu_usage", f"{NS_CPU}{ns}", "cores", (c, "namespace"), "Namespace CPU usage",
               "CPU cores all containers of the namespace use.", kind="resource"),
        Signal("namespace_memory_usage", f"{NS_MEM}{ns}", "bytes", (c, "namespace"), "Namespace memory usage",
               "Working-set memory of all containers of the namespace.", kind="resource"),
        Signal("namespace_cpu_requests", f"{NS_REQ}{cpu}", "cores", (c, "namespace"),
               "Namespace CPU requests", "CPU cores requested by the namespace's Pending and Running pods.",
               kind="resource"),
        Signal("namespace_memory_requests", f"{NS_REQ}{memory}", "bytes", (c, "namespace"),
               "Namespace memory requests", "Memory requested by the namespace's Pending and Running pods.",
               kind="resource"),
        Signal("namespace_pods_by_phase", f"{PHASE}{ns}", "short", (c, "namespace", "phase"), "Pods by phase",
               "Pods of the namespace in each phase (Pending, Running, Succeeded, Failed, Unknown).", kind="state"),
        Signal("workload_cpu_usage", f"{WL_CPU}{ns}", "cores", (c, "namespace", "workload", "workload_type"),
               "CPU usage per workload", "CPU cores each Deployment, StatefulSet, DaemonSet or Job uses.",
               kind="resource"),
        Signal("workload_memory_working_set", f"{WL_MEM}{ns}", "bytes",
               (c, "namespace", "workload", "workload_type"), "Memory per workload",
               "Working-set memory of each Deployment, StatefulSet, DaemonSet or Job.", kind="resource"),
    )


def panels() -> tuple[Panel, ...]:
    # CPU beside network traffic and memory beside its limit: the pairs the stereo prior puts together
    return (
        Panel("CPU usage per pod", ("container_cpu_usage",), legend="{{pod}}"),
        Panel("Network received per pod", ("pod_network_receive_bytes",), legend="{{pod}}"),
        Panel("Memory working set per pod", ("container_memory_working_set",), legend="{{pod}}"),
        Panel("Network transmitted per pod", ("pod_network_transmit_bytes",), legend="{{pod}}"),
        Panel("CPU throttling", ("container_cpu_throttling_ratio",), legend="{{pod}}/{{container}}"),
        Panel("CPU usage / limits", ("container_cpu_limits_ratio",), legend="{{pod}}/{{container}}"),
        Panel("CPU usage / requests", ("container_cpu_requests_ratio",), legend="{{pod}}/{{container}}"),
        Panel("Memory / limits", ("container_memory_limits_ratio",), legend="{{pod}}/{{container}}"),
        Panel("Network drops per pod", ("pod_network_drops",), legend="{{pod}}"),
        Panel("Network drop ratio", ("pod_network_drop_ratio",), legend="{{pod}}"),
        Panel("Container restarts", ("pod_restarts",), kind="bargauge", legend="{{pod}}"),
        Panel("Pods by phase", ("namespace_pods_by_phase",), stack=True, legend="{{phase}}"),
        Panel("Namespace CPU: usage and requests", ("namespace_cpu_usage", "namespace_cpu_requests")),
        Panel("Namespace memory: usage and requests", ("namespace_memory_usage", "namespace_memory_requests")),
        Panel("CPU per workload", ("workload_cpu_usage",), stack=True, legend="{{workload_type}}/{{workload}}"),
        Panel("Memory per workload", ("workload_memory_working_set",), stack=True,
              legend="{{workload_type}}/{{workload}}"),
    )
