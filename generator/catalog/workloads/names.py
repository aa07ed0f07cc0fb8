"""Workloads' names: scrape sources, recorded series (the dashboards import these) and test fixtures.

Names follow kubernetes-mixin's rules (`node_namespace_pod_container:container_cpu_usage_seconds_total:sum_rate5m`,
`namespace_workload_pod:kube_pod_owner:relabel`) rewritten as level:metric:operations with the cluster label kept
in every aggregation. cAdvisor series carry no `node` label without scrape relabelling, so levels stop at the pod.
"""

from __future__ import annotations

from generator.promql import record_name

KSM = "kube-state-metrics"
CADV = "cadvisor"

# per container, from cAdvisor
CPU_USAGE = record_name("cluster_namespace_pod_container", "container_cpu_usage_seconds", "rate5m")
MEM_WS = record_name("cluster_namespace_pod_container", "container_memory_working_set_bytes", "max")
THROTTLE = record_name("cluster_namespace_pod_container", "container_cpu_cfs_throttled_periods", "ratio_rate5m")
# requests and limits of pods that hold them (Pending or Running), as kubernetes-mixin's `:active:` rules
ACTIVE = record_name("cluster_namespace_pod", "kube_pod_status_phase", "active")  # 1 per Pending/Running pod
REQ = record_name("cluster_namespace_pod_container_resource", "kube_pod_container_resource_requests", "active")
LIM = record_name("cluster_namespace_pod_container_resource", "kube_pod_container_resource_limits", "active")
CPU_REQ_RATIO = record_name("cluster_namespace_pod_container", "container_cpu_usage_over_requests", "ratio_rate5m")
CPU_LIM_RATIO = record_name("cluster_namespace_pod_container", "container_cpu_usage_over_limits", "ratio_rate5m")
MEM_LIM_RATIO = record_name("cluster_namespace_pod_container", "container_memory_working_set_over_limits", "ratio")
# per namespace and cluster
# per pod: the stereo view's CPU and memory panels read these directly (no query-time sum over containers)
POD_CPU = record_name("cluster_namespace_pod", "container_cpu_usage_seconds", "rate5m")
POD_MEM = record_name("cluster_namespace_pod", "container_memory_working_set_bytes", "sum")
NS_CPU = record_name("cluster_namespace", "container_cpu_usage_seconds", "rate5m")
NS_MEM = record_name("cluster_namespace", "container_memory_working_set_bytes", "sum")
NS_REQ = record_name("cluster_namespace_resource", "kube_pod_container_resource_requests", "sum")
ALLOC_SUM = record_name("cluster_resource", "kube_node_status_allocatable", "sum")
ALLOC_MAX = record_name("cluster_resource", "kube_node_status_allocatable", "max")
# per pod
RESTARTS = record_name("cluster_namespace_pod", "kube_pod_container_status_restarts", "increase5m")
PHASE = record_name("cluster_namespace_phase", "kube_pod_status_phase", "sum")
NET_RX = record_name("cluster_namespace_pod", "container_network_receive_bytes", "rate5m")
NET_TX = record_name("cluster_namespace_pod", "container_network_transmit_bytes", "rate5m")
NET_DROPS = record_name("cluster_namespace_pod", "container_network_packets_dropped", "rate5m")
NET_PACKETS = record_name("cluster_namespace_pod", "container_network_packets", "rate5m")
NET_DROP_RATIO = record_name("cluster_namespace_pod", "container_network_packets_dropped", "ratio_rate5m")
# pod → workload (Deployment through its ReplicaSet, DaemonSet, StatefulSet, Job), one rule per workload_type
OWNER = record_name("cluster_namespace_workload_pod", "kube_pod_owner", "relabel")
WL_CPU = record_name("cluster_namespace_workload", "container_cpu_usage_seconds", "rate5m")
WL_MEM = record_name("cluster_namespace_workload", "container_memory_working_set_bytes", "sum")

# test fixtures shared by the rule tests and the alert modules
POD = "checkout-7d9f8b6c5d-x2k4p"
CTR = "checkout"
UID = "0b6f3c1e-5a2d-4e8b-9c7f-2d1a6e4b8c90"
IMAGE = "registry.example.com/shop/checkout:1.4.2"
NODE = "worker-1"
GIB = 1024**3
