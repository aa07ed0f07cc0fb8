"""Nodes' signals (what the dashboard and the correlation engine read) and its dashboard panels."""

from __future__ import annotations

from generator.catalog.nodes.names import (
    CONNTRACK,
    CPU_UTIL,
    DISK_IO,
    DISK_IO_W,
    FILEFD,
    FS_AVAIL,
    FS_FILES,
    LOAD1,
    LOAD15,
    MAJFAULT,
    MEM_UTIL,
    NET_DROPS,
    NET_ERRS,
    NOT_READY,
    OOM,
    PRESSURE_SUM,
    RX_BYTES,
    TX_BYTES,
    UNSCHEDULABLE,
)
from generator.context import Context
from generator.model import Panel, Signal


def signals(ctx: Context) -> tuple[Signal, ...]:
    c = ctx.cluster
    f = ctx.dash()
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


def panels() -> tuple[Panel, ...]:
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
