"""Nodes' recording rules and their promtool tests."""

from __future__ import annotations

from generator.catalog.helpers import counter
from generator.catalog.nodes.names import (
    CONNTRACK,
    CPU_UTIL,
    DISK_IO,
    DISK_IO_W,
    FILEFD,
    FS_AVAIL,
    FS_FILES,
    IDLE,
    INSTANCE,
    KSM,
    LOAD1,
    LOAD15,
    MAJFAULT,
    MEM_UTIL,
    NET,
    NET_DROPS,
    NET_ERRS,
    NOT_READY,
    NOT_TRUE,
    NUM_CPU,
    OOM,
    PRESSURE,
    PRESSURE_SUM,
    READY,
    RX_BYTES,
    RX_ERR_RATIO,
    SRC,
    TRUE,
    TX_BYTES,
    TX_ERR_RATIO,
    UNSCHEDULABLE,
)
from generator.context import Context
from generator.model import RecordingRule, RuleTest


def rules(ctx: Context) -> tuple[RecordingRule, ...]:
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


def rule_tests(ctx: Context) -> tuple[RuleTest, ...]:
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
