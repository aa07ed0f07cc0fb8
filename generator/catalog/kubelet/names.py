"""Kubelet's names: scrape sources, bucket layouts, recorded series (the volume area's too) and test fixtures."""

from __future__ import annotations

from generator import buckets
from generator.catalog.helpers import Quantiles
from generator.promql import record_name

SRC = "kubelet"
KSM = "kube-state-metrics"
DEF_BUCKETS = buckets.KUBELET_PLEG
POD_START_BUCKETS = buckets.KUBELET_POD_START
RUNTIME_BUCKETS = buckets.KUBELET_RUNTIME
# runtime operations whose errors or duration belong to the workload, not the runtime: image pulls (bad names,
# registries), exec probes and `kubectl exec`, graceful stops that wait terminationGracePeriodSeconds
WORKLOAD_OPS = "pull_image|exec|exec_sync|attach|port_forward|stop_container|stop_podsandbox"

UP = record_name("cluster", "kubelet_up", "avg")
PODS = record_name("cluster_node", "kubelet_running_pods", "max")
PODS_RATIO = record_name("cluster_node", "kubelet_running_pods", "ratio_capacity")
CONTAINERS = record_name("cluster_node_container_state", "kubelet_running_containers", "max")
PLEG = Quantiles("kubelet_pleg_relist_duration_seconds", by=("node",))
PLEG_Q = PLEG.name
PLEG_INT = Quantiles("kubelet_pleg_relist_interval_seconds", by=("node",))
PLEG_INT_Q = PLEG_INT.name
PLEG_LAST_SEEN = record_name("cluster_node", "kubelet_pleg_last_seen_seconds", "max")
START = Quantiles("kubelet_pod_start_duration_seconds", by=("node",), quantiles=(0.99, 0.5))
START_Q = START.name
OPS = record_name("cluster_node_operation_type", "kubelet_runtime_operations", "rate5m")
OPS_ERRORS = record_name("cluster_node_operation_type", "kubelet_runtime_operations_errors", "rate5m")
OPS_ERR_RATIO = record_name("cluster_node_operation_type", "kubelet_runtime_operations_errors", "ratio_rate5m")
# duration by operation for the whole cluster: per node × operation × 15 buckets would be too many series
OPS_DURATION = Quantiles("kubelet_runtime_operations_duration_seconds", by=("operation_type",))
OPS_Q = OPS_DURATION.name
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

# volumes (volumes.py)
PVC = ("namespace", "persistentvolumeclaim")
LEVEL = "cluster_namespace_persistentvolumeclaim"

AVAIL_RATIO = record_name(LEVEL, "kubelet_volume_stats_available_bytes", "ratio")
INODES_RATIO = record_name(LEVEL, "kubelet_volume_stats_inodes_free", "ratio")
USED = record_name(LEVEL, "kubelet_volume_stats_used_bytes", "max")
INODES_USED = record_name(LEVEL, "kubelet_volume_stats_inodes_used", "max")
# storage_operation_duration_seconds carries status="success"|"fail-unknown" since 1.19; the older
# storage_operation_errors_total / storage_operation_status_count are deprecated, so the error ratio uses the former.
STORAGE_ERR_RATIO = record_name("cluster_node_operation_name", "storage_operation_errors", "ratio_rate5m")
