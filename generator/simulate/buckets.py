"""Histogram bucket layouts the real components expose (Kubernetes 1.35, etcd 3.6, CoreDNS, client libraries).

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

# kube-apiserver
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
ETCD_DISK = exponential(0.001, 2, 14)
ETCD_PEER_RTT = exponential(0.0001, 2, 16)

# kube-scheduler
SCHEDULER_ATTEMPT = exponential(0.001, 2, 15)
SCHEDULER_SLI = exponential(0.01, 2, 20)
SCHEDULER_EXTENSION_POINT = exponential(0.0001, 2, 12)
SCHEDULER_PREEMPTION_VICTIMS = exponential(1, 2, 7)

# kubelet
KUBELET_PLEG = DEFAULT
KUBELET_POD_START = (0.5, 1, 2, 3, 4, 5, 6, 8, 10, 20, 30, 45, 60, 120, 180, 240, 300, 360, 480, 600, 900, 1200, 1800,
                     2700, 3600)
KUBELET_RUNTIME = exponential(0.005, 2.5, 14)
STORAGE_OPERATION = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 25, 50, 120, 300, 600)

# kube-proxy
PROXY_SYNC = exponential(0.001, 2, 15)
PROXY_NETWORK_PROGRAMMING = (0, 0.25, 0.5, *range(1, 60), *range(60, 120, 5), *range(120, 301, 30))

# CoreDNS
COREDNS = exponential(0.00025, 2, 16)

# application HTTP servers (client library defaults)
HTTP = DEFAULT
