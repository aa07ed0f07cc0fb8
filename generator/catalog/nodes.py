"""Nodes: node-exporter (CPU, load, memory, filesystems, disks, network, conntrack, file descriptors, clock) and the
Kubernetes node conditions kube-state-metrics reports (Ready, pressure, unschedulable, unreachable).

Semantics follow node-exporter's own mixin (prometheus/node_exporter docs/node-mixin) and kubernetes-mixin; default
thresholds follow the vendor seeds: Alibaba ACK fires at 85% node CPU, memory, disk and inodes, node-problem-detector
at 80% file descriptors and 90% conntrack.

node-exporter series are keyed by `instance` (host:9100), which is what every rule here keeps. To show the
Kubernetes node name next to it, join with `node_uname_info` (`* on (cluster, instance) group_left (nodename)
node_uname_info`), or relabel `__meta_kubernetes_pod_node_name` into a `node` label at scrape time as many
kube-prometheus setups do; kube-state-metrics series carry `node` already.
"""

from __future__ import annotations

from generator.catalog.helpers import counter
from generator.context import Context
from generator.model import Component, Panel, RecordingRule, RuleTest, Signal
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


def build(ctx: Context) -> Component:
    # imported here: the alerts module reads this module's record names and selectors
    from generator.catalog.nodes_alerts import alerts

    return Component(
        key="nodes",
        jobs=("node-exporter",),
        title="Nodes",
        description="Node resources from node-exporter (CPU, load, memory, filesystems, disks, network, conntrack, "
                    "file descriptors, clock) and Kubernetes node conditions from kube-state-metrics.",
        signals=_signals(ctx),
        rules=_rules(ctx),
        rule_tests=_rule_tests(ctx),
        alerts=alerts(ctx),
        panels=_panels(),
        control_plane=False,
    )


def _rules(ctx: Context) -> tuple[RecordingRule, ...]:
    s = lambda *m: ctx.sel(SRC, *m)  # noqa: E731 - a selector shorthand reads better inline
    k = lambda *m: ctx.sel(KSM, *m)  # noqa: E731
    inst, dev, mnt = ctx.by("instance"), ctx.by("instance", "device"), ctx.by("instance", "device", "mountpoint")

    def per_device_ratio(num: str, den: str, sel: str) -> str:
        return f"sum {dev} (rate({num}{sel}[5m])) / sum {dev} (rate({den}{sel}[5m]))"

    def fs_ratio(free: str, total: str) -> str:
        # read-only mounts cannot fill up; dropping them here keeps them out of every alert and panel
        return (f"max {mnt} ({free}{s(ctx.fs_filter)}) / max {mnt} ({total}{s(ctx.fs_filter)})"
                f" and on ({ctx.cluster}, instance, device, mountpoint)"
                f" max {mnt} (node_filesystem_readonly{s(ctx.fs_filter)}) == 0")

    both = lambda metric: (f"sum {inst} (rate(node_network_receive_{metric}_total{s(NET)}[5m]))"  # noqa: E731
                           f" + sum {inst} (rate(node_network_transmit_{metric}_total{s(NET)}[5m]))")
    return (
        # CPUs per node: one idle series per core
        RecordingRule(NUM_CPU, f"count {inst} (node_cpu_seconds_total{s(IDLE)})"),
        # CPU utilisation is the share of time not idle (iowait counts as busy, as in the node-mixin)
        RecordingRule(CPU_UTIL, f"1 - avg {inst} (rate(node_cpu_seconds_total{s(IDLE)}[5m]))"),
        # run-queue length per core: above 1 tasks wait for a CPU
        RecordingRule(LOAD1, f"sum {inst} (node_load1{s()}) / {NUM_CPU}"),
        RecordingRule(LOAD15, f"sum {inst} (node_load15{s()}) / {NUM_CPU}"),
        # MemAvailable is the kernel's estimate of what can be allocated without swapping (Linux 3.14+)
        RecordingRule(MEM_UTIL, f"1 - sum {inst} (node_memory_MemAvailable_bytes{s()})"
                                f" / sum {inst} (node_memory_MemTotal_bytes{s()})"),
        RecordingRule(MAJFAULT, f"sum {inst} (rate(node_vmstat_pgmajfault{s()}[5m]))"),
        RecordingRule(OOM, f"sum {inst} (rate(node_vmstat_oom_kill{s()}[5m]))"),
        RecordingRule(FS_AVAIL, fs_ratio("node_filesystem_avail_bytes", "node_filesystem_size_bytes")),
        RecordingRule(FS_FILES, fs_ratio("node_filesystem_files_free", "node_filesystem_files")),
        # share of wall time the device had IO in flight (utilisation) and the average queue length (saturation)
        RecordingRule(DISK_IO, f"sum {dev} (rate(node_disk_io_time_seconds_total{s(ctx.disk_filter)}[5m]))"),
        RecordingRule(DISK_IO_W, f"sum {dev} (rate(node_disk_io_time_weighted_seconds_total{s(ctx.disk_filter)}[5m]))"),
        RecordingRule(RX_BYTES, f"sum {inst} (rate(node_network_receive_bytes_total{s(NET)}[5m]))"),
        RecordingRule(TX_BYTES, f"sum {inst} (rate(node_network_transmit_bytes_total{s(NET)}[5m]))"),
        RecordingRule(RX_ERR_RATIO, per_device_ratio("node_network_receive_errs_total",
                                                     "node_network_receive_packets_total", s(NET))),
        RecordingRule(TX_ERR_RATIO, per_device_ratio("node_network_transmit_errs_total",
                                                     "node_network_transmit_packets_total", s(NET))),
        RecordingRule(NET_ERRS, both("errs")),
        RecordingRule(NET_DROPS, both("drop")),
        RecordingRule(CONNTRACK, f"max {inst} (node_nf_conntrack_entries{s()})"
                                 f" / max {inst} (node_nf_conntrack_entries_limit{s()})"),
        RecordingRule(FILEFD, f"max {inst} (node_filefd_allocated{s()}) / max {inst} (node_filefd_maximum{s()})"),
        # kube-state-metrics: one series per node and status, the one that holds is 1
        RecordingRule(NOT_READY, f"sum {ctx.by()} (kube_node_status_condition"
                                 f"{k(READY, NOT_TRUE)})"),
        RecordingRule(UNSCHEDULABLE, f"sum {ctx.by()} (kube_node_spec_unschedulable{k()})"),
        RecordingRule(PRESSURE_SUM, f"sum {ctx.by('condition')} (kube_node_status_condition"
                                    f"{k(PRESSURE, TRUE)})"),
    )


def _signals(ctx: Context) -> tuple[Signal, ...]:
    c = ctx.cluster
    f = f'{{{c}="$cluster"}}'
    i, d, m = (c, "instance"), (c, "instance", "device"), (c, "instance", "device", "mountpoint")
    return (
        Signal("node_cpu_utilisation", f"{CPU_UTIL}{f}", "percentunit", i, "CPU utilisation",
               "Share of CPU time each node spends outside the idle state.", kind="resource",
               alert="NodeCPUHighUsage"),
        Signal("node_load_per_core", f"{LOAD1}{f}", "short", i, "Load per core (1m)",
               "1-minute load average divided by the number of cores: above 1, runnable tasks wait for a CPU.",
               kind="resource", alert="NodeSystemSaturation"),
        Signal("node_load15_per_core", f"{LOAD15}{f}", "short", i, "Load per core (15m)",
               "15-minute load average divided by the number of cores: the sustained run-queue length.",
               kind="resource"),
        Signal("node_memory_utilisation", f"{MEM_UTIL}{f}", "percentunit", i, "Memory utilisation",
               "Share of memory not available to new allocations without swapping (1 − MemAvailable/MemTotal).",
               kind="resource", alert="NodeMemoryHighUtilization"),
        Signal("node_memory_major_faults", f"{MAJFAULT}{f}", "ops", i, "Major page faults",
               "Page faults per second that had to read from disk: memory pressure evicting the page cache.",
               kind="resource", alert="NodeMemoryMajorPagesFaults"),
        Signal("node_oom_kills", f"{OOM}{f}", "short", i, "OOM kills",
               "Processes the kernel OOM killer terminated per second on each node.", kind="state",
               alert="NodeOOMKillDetected"),
        Signal("node_filesystem_usage", f"1 - {FS_AVAIL}{f}", "percentunit", m, "Filesystem usage",
               "Share of each writable filesystem's space that is used (as seen by unprivileged users).",
               kind="resource", alert="NodeFilesystemSpaceUsageHigh"),
        Signal("node_filesystem_inodes_usage", f"1 - {FS_FILES}{f}", "percentunit", m, "Inode usage",
               "Share of each writable filesystem's inodes that is used.", kind="resource",
               alert="NodeFilesystemInodesUsageHigh"),
        Signal("node_disk_io_utilisation", f"{DISK_IO}{f}", "percentunit", d, "Disk IO utilisation",
               "Share of time each block device had IO in flight.", kind="resource"),
        Signal("node_disk_io_saturation", f"{DISK_IO_W}{f}", "short", d, "Disk IO queue",
               "Average number of IO requests queued or in service on each block device (aqu-sz).",
               kind="resource", alert="NodeDiskIOSaturation"),
        Signal("node_network_receive_bytes", f"{RX_BYTES}{f}", "Bps", i, "Network received",
               "Bytes per second received on each node's host interfaces (loopback and pod veths excluded).",
               kind="resource"),
        Signal("node_network_transmit_bytes", f"{TX_BYTES}{f}", "Bps", i, "Network transmitted",
               "Bytes per second sent on each node's host interfaces (loopback and pod veths excluded).",
               kind="resource"),
        Signal("node_network_errors", f"{NET_ERRS}{f}", "pps", i, "Network errors",
               "Packets per second received or sent with errors on each node's host interfaces."),
        Signal("node_network_drops", f"{NET_DROPS}{f}", "pps", i, "Network drops",
               "Packets per second dropped on receive or transmit on each node's host interfaces."),
        Signal("node_conntrack_usage", f"{CONNTRACK}{f}", "percentunit", i, "Conntrack table usage",
               "Share of the netfilter connection-tracking table in use; when full, new connections are dropped.",
               kind="resource", alert="NodeHighNumberConntrackEntriesUsed"),
        Signal("node_fd_usage", f"{FILEFD}{f}", "percentunit", i, "File descriptor usage",
               "Share of the kernel's file handle limit (fs.file-max) allocated.", kind="resource",
               alert="NodeFileDescriptorLimit"),
        Signal("node_not_ready", f"{NOT_READY}{f}", "short", (c,), "Nodes not ready",
               "Kubernetes nodes whose Ready condition is False or Unknown.", kind="state",
               alert="KubeNodeNotReady"),
        Signal("node_unschedulable", f"{UNSCHEDULABLE}{f}", "short", (c,), "Nodes unschedulable",
               "Kubernetes nodes cordoned (spec.unschedulable), by hand or by a drain.", kind="state",
               alert="KubeNodeUnschedulable"),
        Signal("node_pressure", f"{PRESSURE_SUM}{f}", "short", (c, "condition"), "Nodes under pressure",
               "Kubernetes nodes with an active MemoryPressure, DiskPressure or PIDPressure condition.",
               kind="state", alert="KubeNodePressure"),
    )


def _panels() -> tuple[Panel, ...]:
    return (
        Panel("Nodes not ready", ("node_not_ready",), kind="stat", width=8),
        Panel("Nodes unschedulable", ("node_unschedulable",), kind="stat", width=8),
        Panel("Nodes under pressure", ("node_pressure",), kind="stat", width=8, legend="{{condition}}"),
        # the dashboards' "node CPU ↔ node load" pair: cause and symptom side by side
        Panel("CPU utilisation", ("node_cpu_utilisation",), legend="{{instance}}"),
        Panel("Load per core", ("node_load_per_core", "node_load15_per_core"), legend="{{instance}}"),
        Panel("Memory utilisation", ("node_memory_utilisation",), legend="{{instance}}"),
        Panel("Major page faults", ("node_memory_major_faults",), legend="{{instance}}"),
        Panel("Filesystem usage", ("node_filesystem_usage",), legend="{{instance}} {{mountpoint}}"),
        Panel("Inode usage", ("node_filesystem_inodes_usage",), legend="{{instance}} {{mountpoint}}"),
        Panel("Disk IO utilisation", ("node_disk_io_utilisation",), legend="{{instance}} {{device}}"),
        Panel("Disk IO queue", ("node_disk_io_saturation",), legend="{{instance}} {{device}}"),
        Panel("Network received", ("node_network_receive_bytes",), legend="{{instance}}"),
        Panel("Network transmitted", ("node_network_transmit_bytes",), legend="{{instance}}"),
        Panel("Network errors", ("node_network_errors",), legend="{{instance}}"),
        Panel("Network drops", ("node_network_drops",), legend="{{instance}}"),
        Panel("Conntrack table usage", ("node_conntrack_usage",), legend="{{instance}}"),
        Panel("File descriptor usage", ("node_fd_usage",), legend="{{instance}}"),
        Panel("OOM kills", ("node_oom_kills",), legend="{{instance}}"),
    )


def _rule_tests(ctx: Context) -> tuple[RuleTest, ...]:
    ne = lambda metric, **lb: ctx.series(SRC, metric, instance=INSTANCE, **lb)  # noqa: E731
    ks = lambda metric, **lb: ctx.series(KSM, metric, **lb)  # noqa: E731
    inst = {"instance": INSTANCE}
    # four cores, two a quarter idle and two three quarters idle: half idle on average; user mode must not count
    cpu = {ne("node_cpu_seconds_total", cpu=str(n), mode="idle"): counter(0.25 if n < 2 else 0.75) for n in range(4)}
    cpu[ne("node_cpu_seconds_total", cpu="0", mode="user")] = counter(0.75)
    cpu[ne("node_load1")] = 6.0
    root = {"device": "/dev/sda1", "fstype": "ext4", "mountpoint": "/"}
    run = {"device": "tmpfs", "fstype": "tmpfs", "mountpoint": "/run"}
    boot = {"device": "/dev/sda2", "fstype": "ext4", "mountpoint": "/boot"}

    def fs(free: str, total: str) -> dict[str, float | str]:
        out: dict[str, float | str] = {}
        for labels, ro in ((root, 0.0), (run, 0.0), (boot, 1.0)):
            out[ne(free, **labels)] = 25e9
            out[ne(total, **labels)] = 100e9
            out[ne("node_filesystem_readonly", **labels)] = ro
        return out

    net = {ne(f"node_network_{d}_{m}_total", device=dev): counter(rate)
           for dev, rate in (("eth0", 1024), ("veth1a2b3c", 512), ("lo", 256))
           for d in ("receive", "transmit") for m in ("bytes", "packets")}
    net.update({ne("node_network_receive_errs_total", device="eth0"): counter(256),
                ne("node_network_transmit_errs_total", device="eth0"): counter(512),
                ne("node_network_receive_errs_total", device="veth1a2b3c"): counter(100),
                ne("node_network_transmit_errs_total", device="veth1a2b3c"): counter(100)})
    disk = {ne(f"node_disk_io_time{w}_seconds_total", device=dev): counter(rate * (8 if w else 1))
            for dev, rate in (("sda", 0.5), ("loop0", 1)) for w in ("", "_weighted")}
    ready = lambda node, status: {ks("kube_node_status_condition", condition="Ready", node=node, status=s):  # noqa: E731
                                  float(s == status) for s in ("true", "false", "unknown")}
    pressure = {ks("kube_node_status_condition", condition=cond, node=node, status=s): float(s == status)
                for node in ("node-1", "node-2")
                for cond, status in (("MemoryPressure", "true"), ("DiskPressure", "false"))
                for s in ("true", "false", "unknown")}
    return (
        RuleTest(cpu, NUM_CPU, ((inst, 4),), note="one idle series per core"),
        RuleTest(cpu, CPU_UTIL, ((inst, 0.5),), note="idle time averaged over cores; user mode ignored"),
        RuleTest(cpu, LOAD1, ((inst, 1.5),), note="load1 divided by the core count"),
        RuleTest({ne("node_memory_MemAvailable_bytes"): 4e9, ne("node_memory_MemTotal_bytes"): 16e9}, MEM_UTIL,
                 ((inst, 0.75),), note="1 - MemAvailable / MemTotal"),
        RuleTest(fs("node_filesystem_avail_bytes", "node_filesystem_size_bytes"), FS_AVAIL,
                 (({**inst, "device": "/dev/sda1", "mountpoint": "/"}, 0.25),),
                 note="tmpfs and read-only mounts left out"),
        RuleTest(fs("node_filesystem_files_free", "node_filesystem_files"), FS_FILES,
                 (({**inst, "device": "/dev/sda1", "mountpoint": "/"}, 0.25),),
                 note="tmpfs and read-only mounts left out"),
        RuleTest(disk, DISK_IO, (({**inst, "device": "sda"}, 0.5),), note="loop devices are not disks"),
        RuleTest(disk, DISK_IO_W, (({**inst, "device": "sda"}, 4),), note="average queue length per disk"),
        RuleTest({ne("node_vmstat_pgmajfault"): counter(64), ne("node_vmstat_oom_kill"): counter(0.25)}, MAJFAULT,
                 ((inst, 64),), note="major faults per second"),
        RuleTest({ne("node_vmstat_oom_kill"): counter(0.25)}, OOM, ((inst, 0.25),), note="OOM kills per second"),
        RuleTest(net, RX_BYTES, ((inst, 1024),), note="loopback and pod veths excluded"),
        RuleTest(net, RX_ERR_RATIO, (({**inst, "device": "eth0"}, 0.25),), note="errors per packet per device"),
        RuleTest(net, TX_ERR_RATIO, (({**inst, "device": "eth0"}, 0.5),), note="errors per packet per device"),
        RuleTest(net, NET_ERRS, ((inst, 768),), note="receive plus transmit errors on host interfaces"),
        RuleTest({ne("node_nf_conntrack_entries"): 65536, ne("node_nf_conntrack_entries_limit"): 262144},
                 CONNTRACK, ((inst, 0.25),), note="entries over the table limit"),
        RuleTest({ne("node_filefd_allocated"): 1024, ne("node_filefd_maximum"): 4096}, FILEFD, ((inst, 0.25),),
                 note="allocated file handles over fs.file-max"),
        RuleTest({**ready("node-1", "true"), **ready("node-2", "unknown"), **ready("node-3", "false")}, NOT_READY,
                 (({}, 2),), note="Ready False or Unknown both count"),
        RuleTest(pressure, PRESSURE_SUM, (({"condition": "DiskPressure"}, 0), ({"condition": "MemoryPressure"}, 2)),
                 note="nodes per active pressure condition"),
        RuleTest({ks("kube_node_spec_unschedulable", node="node-1"): 1, ks("kube_node_spec_unschedulable",
                                                                           node="node-2"): 0},
                 UNSCHEDULABLE, (({}, 1),), note="cordoned nodes"),
    )
