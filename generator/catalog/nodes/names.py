"""Nodes' names: scrape sources, selectors, recorded series, the taints it ignores and the test values."""

from __future__ import annotations

from generator.promql import record_name

SRC = "node-exporter"
KSM = "kube-state-metrics"

# Filesystems worth alerting on and block devices that are disks: site settings (filters.fstype,
# filters.disk_device), read through ctx.fs_filter and ctx.disk_filter.
# Host-facing interfaces: loopback and the virtual interfaces CNI plugins create per pod or per overlay would
# count pod traffic twice (once on the veth, once on eth0), so they are left out.
NET = ('device!~"lo|veth.*|cali.*|cilium_.*|lxc.*|flannel.*|cni.*|docker.*|br-.*|tunl.*|vxlan.*|kube-ipvs.*'
       '|nodelocaldns|genev_sys_.*|weave.*|eni.+"')
# kube-state-metrics conditions that mean the kubelet is evicting pods
PRESSURE = 'condition=~"MemoryPressure|DiskPressure|PIDPressure"'
READY, TRUE, NOT_TRUE = 'condition="Ready"', 'status="true"', 'status=~"false|unknown"'
IDLE = 'mode="idle"'

NUM_CPU = record_name("instance", "node_num_cpu", "sum")
CPU_UTIL = record_name("instance", "node_cpu_utilisation", "rate5m")
LOAD1 = record_name("instance", "node_load1_per_cpu", "ratio")
LOAD15 = record_name("instance", "node_load15_per_cpu", "ratio")
MEM_UTIL = record_name("instance", "node_memory_utilisation", "ratio")
MAJFAULT = record_name("instance", "node_vmstat_pgmajfault", "rate5m")
OOM = record_name("instance", "node_vmstat_oom_kill", "rate5m")
FS_AVAIL = record_name("instance_device_mountpoint", "node_filesystem_avail", "ratio")
FS_FILES = record_name("instance_device_mountpoint", "node_filesystem_files_free", "ratio")
DISK_IO = record_name("instance_device", "node_disk_io_time_seconds", "rate5m")
DISK_IO_W = record_name("instance_device", "node_disk_io_time_weighted_seconds", "rate5m")
RX_BYTES = record_name("instance", "node_network_receive_bytes_excluding_virtual", "rate5m")
TX_BYTES = record_name("instance", "node_network_transmit_bytes_excluding_virtual", "rate5m")
RX_ERR_RATIO = record_name("instance_device", "node_network_receive_errs", "ratio_rate5m")
TX_ERR_RATIO = record_name("instance_device", "node_network_transmit_errs", "ratio_rate5m")
NET_ERRS = record_name("instance", "node_network_errs_excluding_virtual", "rate5m")
NET_DROPS = record_name("instance", "node_network_drop_excluding_virtual", "rate5m")
CONNTRACK = record_name("instance", "node_nf_conntrack_entries", "ratio")
FILEFD = record_name("instance", "node_filefd_allocated", "ratio")
NOT_READY = record_name("cluster", "kube_node_not_ready", "sum")
UNSCHEDULABLE = record_name("cluster", "kube_node_spec_unschedulable", "sum")
PRESSURE_SUM = record_name("cluster_condition", "kube_node_pressure", "sum")

# promtool test values
INSTANCE = "10.0.0.1:9100"
NODE = "node-1"
INST = {"instance": INSTANCE}

# taints that mark a node as going away on purpose, not as unreachable (kubernetes-mixin's ignore list)
UNREACHABLE_IGNORE = ("ToBeDeletedByClusterAutoscaler", "cloud.google.com/impending-node-termination",
                      "aws-node-termination-handler/spot-itn")


def hi(t: float) -> float:
    """A ratio above threshold t (0 < t < 1): halfway to 1."""
    return (1 + t) / 2


def lo(t: float) -> float:
    """A ratio below threshold t: half of it."""
    return t / 2


def pct(t: float) -> str:
    return f"{t * 100:g}%"
