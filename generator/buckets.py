"""Histogram bucket layouts the real components expose (Kubernetes 1.35, etcd 3.6, CoreDNS, client libraries).

The one place a layout is written: the catalog's promtool inputs and quantile cases, the simulator's sources and
the realism test (which holds LAYOUTS against real /metrics captures) all read it from here. A new histogram gets
its layout here, taken from a real capture, and its metric in LAYOUTS. Pure data: the generator imports it.

Exponential layouts are built the way Go's prometheus.ExponentialBuckets builds them (repeated multiplication),
so the `le` labels come out exactly as the components print them (e.g. 9.999999999999999e-06).
"""

from __future__ import annotations


def exponential(start: float, factor: float, count: int) -> tuple[float, ...]:
    out = []
    for _ in range(count):
        out.append(start)
        start *= factor
    return tuple(out)


# prometheus.DefBuckets and the Python client's default
DEFAULT = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

# kube-apiserver (request and etcd request: Kubernetes 1.23+; SLI: 1.26+; webhook 10 and 25: 1.26+)
APISERVER_REQUEST = (0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45,
                     60)
APISERVER_SLI = (0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60)
APISERVER_ETCD_REQUEST = APISERVER_REQUEST
WEBHOOK_ADMISSION = (0.005, 0.025, 0.1, 0.5, 1, 2.5, 10, 25)
CERT_EXPIRATION = (0, 1800, 3600, 7200, 21600, 43200, 86400, 172800, 345600, 604800, 2592000, 7776000, 15552000,
                   31104000)
# client-go rest_client_request_duration_seconds
REST_CLIENT = (0.005, 0.025, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60)
WORKQUEUE = exponential(10e-9, 10, 10)

# etcd
ETCD_GRPC = DEFAULT  # grpc_server_handling_seconds (go-grpc-prometheus defaults)
ETCD_DISK = exponential(0.001, 2, 14)
ETCD_PEER_RTT = exponential(0.0001, 2, 16)

# kube-scheduler
SCHEDULER_ATTEMPT = exponential(0.001, 2, 15)
SCHEDULER_SLI = exponential(0.01, 2, 20)
SCHEDULER_EXTENSION_POINT = exponential(0.0001, 2, 12)
SCHEDULER_PREEMPTION_VICTIMS = exponential(1, 2, 7)

# kubelet (pod start: podStartupDurationBuckets, Kubernetes 1.27+)
KUBELET_PLEG = DEFAULT
KUBELET_POD_START = (0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 180, 240, 300, 360, 480, 600, 900, 1200, 1800,
                     2700, 3600)
KUBELET_RUNTIME = exponential(0.005, 2.5, 14)
STORAGE_OPERATION = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 25, 50, 120, 300, 600)

# kube-proxy
PROXY_SYNC = exponential(0.001, 2, 15)
PROXY_NETWORK_PROGRAMMING = (0, 0.25, 0.5, *range(1, 60), *range(60, 120, 5), *range(120, 301, 30))

# CoreDNS (1.8+)
COREDNS = exponential(0.00025, 2, 16)

# application HTTP servers (client library defaults)
HTTP = DEFAULT


# every histogram the catalog or the simulator reads -> its layout
LAYOUTS: dict[str, tuple[float, ...]] = {
    "apiserver_request_duration_seconds": APISERVER_REQUEST,
    "apiserver_request_sli_duration_seconds": APISERVER_SLI,
    "etcd_request_duration_seconds": APISERVER_ETCD_REQUEST,
    "apiserver_admission_webhook_admission_duration_seconds": WEBHOOK_ADMISSION,
    "apiserver_client_certificate_expiration_seconds": CERT_EXPIRATION,
    "rest_client_request_duration_seconds": REST_CLIENT,
    "workqueue_queue_duration_seconds": WORKQUEUE,
    "workqueue_work_duration_seconds": WORKQUEUE,
    "grpc_server_handling_seconds": ETCD_GRPC,
    "etcd_disk_backend_commit_duration_seconds": ETCD_DISK,
    "etcd_disk_wal_fsync_duration_seconds": ETCD_DISK,
    "etcd_network_peer_round_trip_time_seconds": ETCD_PEER_RTT,
    "scheduler_scheduling_attempt_duration_seconds": SCHEDULER_ATTEMPT,
    "scheduler_pod_scheduling_sli_duration_seconds": SCHEDULER_SLI,
    "scheduler_framework_extension_point_duration_seconds": SCHEDULER_EXTENSION_POINT,
    "scheduler_preemption_victims": SCHEDULER_PREEMPTION_VICTIMS,
    "kubelet_pleg_relist_duration_seconds": KUBELET_PLEG,
    "kubelet_pleg_relist_interval_seconds": KUBELET_PLEG,
    "kubelet_pod_start_duration_seconds": KUBELET_POD_START,
    "kubelet_runtime_operations_duration_seconds": KUBELET_RUNTIME,
    "storage_operation_duration_seconds": STORAGE_OPERATION,
    "kubeproxy_sync_proxy_rules_duration_seconds": PROXY_SYNC,
    "kubeproxy_network_programming_duration_seconds": PROXY_NETWORK_PROGRAMMING,
    "coredns_dns_request_duration_seconds": COREDNS,
    "coredns_forward_request_duration_seconds": COREDNS,
    "http_request_duration_seconds": HTTP,
    "nginx_ingress_controller_request_duration_seconds": DEFAULT,  # ingress-nginx: prometheus.DefBuckets
}
