"""Alerts of the nodes component: node-exporter resources (node-mixin semantics, vendor-seed thresholds) and the
Kubernetes node conditions kube-state-metrics reports (kubernetes-mixin semantics; those, the exporter's own
health and the hardware alerts live in nodes_health.py).

Every node-exporter alert aggregates `by (cluster, instance[, device, mountpoint])`, so alerts carry the same
clean label set whatever extra target labels the scrape adds (job, pod, namespace...).
"""

from __future__ import annotations

from generator.catalog import nodes as n
from generator.catalog.helpers import counter, gauge_ramp
from generator.context import Context
from generator.model import Alert, Case
from generator.promql import fmt_number, parse_duration, selector

# taints that mark a node as going away on purpose, not as unreachable (kubernetes-mixin's ignore list)
UNREACHABLE_IGNORE = ("ToBeDeletedByClusterAutoscaler", "cloud.google.com/impending-node-termination",
                      "aws-node-termination-handler/spot-itn")
FS_LOOKBACK = "1h"  # falling history for the filling-up cases: predict_linear fits a line to what it has of its 6h
DISK_SIZE, INODES = 100e9, 6.5e6
ROOT = {"device": "/dev/sda1", "fstype": "ext4", "mountpoint": "/"}
FS_LABELS = {"instance": n.INSTANCE, "device": "/dev/sda1", "mountpoint": "/"}
INST = {"instance": n.INSTANCE}


def hi(t: float) -> float:
    """A ratio above threshold t (0 < t < 1): halfway to 1."""
    return (1 + t) / 2


def lo(t: float) -> float:
    """A ratio below threshold t: half of it."""
    return t / 2


def pct(t: float) -> str:
    return f"{t * 100:g}%"


def alerts(ctx: Context) -> tuple[Alert, ...]:
    from generator.catalog import nodes_health

    return (*nodes_health.exporter_alerts(ctx), *_resource_alerts(ctx), *_filesystem_alerts(ctx),
            *_network_and_system_alerts(ctx), *nodes_health.hardware_alerts(ctx), *nodes_health.kube_node_alerts(ctx))


def _resource_alerts(ctx: Context) -> tuple[Alert, ...]:
    ne = lambda metric, **lb: ctx.series(n.SRC, metric, instance=n.INSTANCE, **lb)  # noqa: E731
    c = ctx.cluster
    at = "{{ $labels.instance }} in cluster {{ $labels." + c + " }}"
    cpu_t = ctx.threshold("NodeCPUHighUsage", 0.85)
    load_t = ctx.threshold("NodeSystemSaturation", 2)
    mem_t = ctx.threshold("NodeMemoryHighUtilization", 0.85)
    fault_t = ctx.threshold("NodeMemoryMajorPagesFaults", 500)
    cpu = lambda util: {ne("node_cpu_seconds_total", cpu=str(i), mode="idle"): counter(1 - util)  # noqa: E731
                        for i in range(2)}
    load = lambda per_core: {**{ne("node_cpu_seconds_total", cpu=str(i), mode="idle"): counter(0.5)  # noqa: E731
                                for i in range(4)}, ne("node_load1"): 4 * per_core}
    mem = lambda util: {ne("node_memory_MemAvailable_bytes"): 16e9 * (1 - util),  # noqa: E731
                        ne("node_memory_MemTotal_bytes"): 16e9}
    return (
        Alert(
            name="NodeCPUHighUsage",
            expr=f"{n.CPU_UTIL} > {fmt_number(cpu_t)}",
            for_="15m",
            severity="warning",
            threshold=cpu_t,
            summary="Node CPU utilisation is high.",
            description="CPU utilisation on " + at + " is {{ $value | humanizePercentage }}.",
            cases=(Case(cpu(hi(cpu_t)), fires=True, labels=INST, value=hi(cpu_t)),
                   Case(cpu(lo(cpu_t)), fires=False)),
            meaning=f"The node's CPUs have been busy more than {pct(cpu_t)} of the time for 15 minutes.",
            impact="Pods without CPU limits compete for the rest; the kubelet and system daemons may starve, "
                   "latency of everything on the node rises.",
            diagnosis=(f"{n.CPU_UTIL}", f"{n.LOAD1}",
                       "topk(10, sum by (namespace, pod) (rate(container_cpu_usage_seconds_total"
                       f"{selector(ctx.container_filter)}[5m])))"),
            mitigation=("Find the pods using the CPU and check their requests; spread them with anti-affinity or "
                        "move them to bigger nodes.", "Add nodes or let the cluster autoscaler do it."),
        ),
        Alert(
            name="NodeSystemSaturation",
            expr=f"{n.LOAD1} > {fmt_number(load_t)}",
            for_="15m",
            severity="warning",
            threshold=load_t,
            summary="Node load per core is very high.",
            description="Load per core on " + at + " is {{ $value | humanize }}: runnable tasks wait for a CPU.",
            cases=(Case(load(2 * load_t), fires=True, labels=INST, value=2 * load_t),
                   Case(load(lo(load_t)), fires=False)),
            meaning=f"The 1-minute load average exceeds {fmt_number(load_t)} tasks per core.",
            impact="Processes queue for CPU or uninterruptible IO; the node can become unresponsive.",
            diagnosis=(f"{n.LOAD1}", f"{n.CPU_UTIL}", f"{n.DISK_IO_W}"),
            mitigation=("If CPU utilisation is also high the node is CPU-bound: move or throttle workloads.",
                        "If CPU is idle while load is high, tasks are blocked on IO: check the disk queue."),
        ),
        Alert(
            name="NodeMemoryHighUtilization",
            expr=f"{n.MEM_UTIL} > {fmt_number(mem_t)}",
            for_="15m",
            severity="warning",
            threshold=mem_t,
            summary="Node is running out of memory.",
            description="Memory utilisation on " + at + " is {{ $value | humanizePercentage }}.",
            cases=(Case(mem(hi(mem_t)), fires=True, labels=INST, value=hi(mem_t)),
                   Case(mem(lo(mem_t)), fires=False)),
            meaning=f"Less than {pct(1 - mem_t)} of the node's memory is available to new allocations.",
            impact="The kubelet starts evicting pods at its hard eviction threshold; before that, the kernel "
                   "reclaims page cache and may invoke the OOM killer.",
            diagnosis=(f"{n.MEM_UTIL}", f"{n.MAJFAULT}",
                       "topk(10, sum by (namespace, pod) (container_memory_working_set_bytes"
                       f"{selector(ctx.container_filter)}))"),
            mitigation=("Find pods whose working set exceeds their requests and set memory limits.",
                        "Add nodes or move memory-heavy workloads to larger nodes."),
        ),
        Alert(
            name="NodeMemoryMajorPagesFaults",
            expr=f"{n.MAJFAULT} > {fmt_number(fault_t)}",
            for_="15m",
            severity="warning",
            threshold=fault_t,
            summary="Node has a high rate of major page faults.",
            description="{{ $value | humanize }} major page faults per second on " + at + ".",
            cases=(Case({ne("node_vmstat_pgmajfault"): counter(2 * fault_t)}, fires=True, lookback="3m", labels=INST,
                        value=2 * fault_t),
                   Case({ne("node_vmstat_pgmajfault"): counter(lo(fault_t))}, fires=False, lookback="3m")),
            meaning="Pages are read back from disk at a high rate: the working sets do not fit in memory.",
            impact="Memory accesses turn into disk reads; applications slow down sharply (thrashing).",
            diagnosis=(f"{n.MAJFAULT}", f"{n.MEM_UTIL}", f"{n.DISK_IO}"),
            mitigation=("Reduce memory pressure on the node: move pods away or add memory.",),
        ),
        Alert(
            name="NodeOOMKillDetected",
            expr=f"{n.OOM} > 0",
            for_="0m",
            severity="warning",
            summary="The kernel OOM killer terminated processes on a node.",
            description="The OOM killer terminated processes on " + at + " in the last 5 minutes.",
            cases=(Case({ne("node_vmstat_oom_kill"): counter(1 / 300)}, fires=True, labels=INST),
                   Case({ne("node_vmstat_oom_kill"): counter(0)}, fires=False)),
            meaning="node_vmstat_oom_kill increased: a process was killed because a cgroup or the node ran out "
                    "of memory.",
            impact="A container (or a system daemon) was killed and restarted; requests it was serving failed.",
            diagnosis=(f"increase(node_vmstat_oom_kill{ctx.sel(n.SRC)}[1h])",
                       "increase(kube_pod_container_status_restarts_total[1h]) > 0",
                       "kube_pod_container_status_last_terminated_reason{reason=\"OOMKilled\"}"),
            mitigation=("Raise the memory limit of the container that was killed or fix its leak "
                        "(`dmesg | grep -i oom` on the node names the process).",),
        ),
    )


def _fs_inputs(ctx: Context, free_metric: str, total_metric: str, total: float, free: float | str,
               readonly: float = 0.0) -> dict[str, float | str]:
    ne = lambda metric: ctx.series(n.SRC, metric, instance=n.INSTANCE, **ROOT)  # noqa: E731
    return {ne(free_metric): free, ne(total_metric): total, ne("node_filesystem_readonly"): readonly}


def _falling(total: float, t: float, horizon_hours: float) -> str:
    """A free-space gauge that, when `for` starts counting (lookback + 2m), is at half the threshold and falling
    fast enough to reach zero in half the prediction horizon; it keeps falling, so a longer `for` still fires."""
    t_c = parse_duration(FS_LOOKBACK) / 60 + 2
    free_c = total * lo(t)
    per_minute = 2 * free_c / (horizon_hours * 60)
    return gauge_ramp(free_c + per_minute * t_c, -per_minute)


def _filesystem_alerts(ctx: Context) -> tuple[Alert, ...]:
    c = ctx.cluster
    at = ("{{ $labels.device }} mounted on {{ $labels.mountpoint }} at {{ $labels.instance }} in cluster "
          "{{ $labels." + c + " }}")
    on = f"on ({c}, instance, device, mountpoint)"
    mnt = ctx.by("instance", "device", "mountpoint")
    space = ("node_filesystem_avail_bytes", "node_filesystem_size_bytes", DISK_SIZE, n.FS_AVAIL, "space")
    files = ("node_filesystem_files_free", "node_filesystem_files", INODES, n.FS_FILES, "inodes")
    out: list[Alert] = []
    for free_m, total_m, total, ratio, what in (space, files):
        # node-mixin names: ...SpaceFillingUp / ...FilesFillingUp; usage alerts say Space / Inodes
        kind, short = ("Space", "Space") if what == "space" else ("Inodes", "Files")
        fs = lambda free, ro=0.0, fm=free_m, tm=total_m, tot=total: _fs_inputs(ctx, fm, tm, tot, free, ro)  # noqa: E731
        usage_name = f"NodeFilesystem{kind}UsageHigh"
        usage_t = ctx.threshold(usage_name, 0.85)  # ACK's default for disk and inodes
        out.append(Alert(
            name=usage_name,
            expr=f"1 - {ratio} > {fmt_number(usage_t)}",
            for_="30m",
            severity="warning",
            threshold=usage_t,
            summary=f"Filesystem {what} usage on a node is high.",
            description=f"Filesystem {at} has used {{{{ $value | humanizePercentage }}}} of its {what}.",
            cases=(Case(fs(total * (1 - hi(usage_t))), fires=True, labels=FS_LABELS, value=hi(usage_t)),
                   Case(fs(total * (1 - lo(usage_t))), fires=False)),
            meaning=f"More than {pct(usage_t)} of the filesystem's {what} is used.",
            impact="The kubelet garbage-collects images and evicts pods when the node's filesystems cross its "
                   "eviction thresholds; writes fail once the filesystem is full.",
            diagnosis=(f"1 - {ratio}", f"predict_linear({free_m}{ctx.sel(n.SRC, ctx.fs_filter)}[6h], 24 * 3600)"),
            mitigation=("Find what grows (`du -xh --max-depth=2 /` or `find / -xdev -type f | cut -d/ -f2 | sort | "
                        "uniq -c` for inodes): container logs, emptyDir volumes, unused images (`crictl rmi "
                        "--prune`).", "Grow the disk or move the workload."),
        ))
        almost_t = ctx.threshold(f"NodeFilesystemAlmostOutOf{short}", 0.03)
        out.append(Alert(
            name=f"NodeFilesystemAlmostOutOf{short}",
            expr=f"{ratio} < {fmt_number(almost_t)}",
            for_="30m" if what == "space" else "1h",
            severity="critical",
            threshold=almost_t,
            summary=f"Filesystem on a node has less than {pct(almost_t)} {what} left.",
            description=f"Filesystem {at} has only {{{{ $value | humanizePercentage }}}} of its {what} left.",
            cases=(Case(fs(total * lo(almost_t)), fires=True, labels=FS_LABELS, value=lo(almost_t)),
                   Case(fs(total * hi(almost_t)), fires=False)),
            meaning=f"Less than {pct(almost_t)} of the filesystem's {what} is free.",
            impact="Writes are about to fail: container runtimes, logs and databases on this filesystem break; "
                   "the kubelet evicts pods.",
            diagnosis=(f"{ratio}",),
            mitigation=("Free space now (images, logs, emptyDir), then find the cause.",),
        ))
        # kube-prometheus lowers the node-mixin's critical 20% to 15% for space: kubelet image GC runs at 85% usage
        fast = 0.15 if what == "space" else 0.2
        for suffix, default, hours, severity in (("", 0.4, 24, "warning"), ("Fast", fast, 4, "critical")):
            name = f"NodeFilesystem{short}FillingUp{suffix}"
            t = ctx.threshold(name, default)
            ramp = _falling(total, t, hours)
            out.append(Alert(
                name=name,
                expr=(f"{ratio} < {fmt_number(t)} and {on} max {mnt} (predict_linear({free_m}"
                      f"{ctx.sel(n.SRC, ctx.fs_filter)}[6h], {hours} * 3600)) < 0"),
                for_="1h",
                severity=severity,
                threshold=t,
                summary=f"Filesystem on a node is predicted to run out of {what} within {hours} hours.",
                description=f"Filesystem {at} has less than {pct(t)} of its {what} left and, at the rate of the "
                            f"last 6 hours, runs out within {hours} hours.",
                cases=(Case(fs(ramp), fires=True, labels=FS_LABELS, lookback=FS_LOOKBACK),
                       # read-only mounts are dropped by the recorded ratio, which its rule test checks
                       Case(fs(total * lo(t)), fires=False, lookback=FS_LOOKBACK, note="low but not falling")),
                meaning=f"Free {what} is below {pct(t)} and the 6-hour linear trend reaches zero within {hours}h.",
                impact="The filesystem fills up: writes fail and the kubelet evicts pods.",
                diagnosis=(f"{ratio}", f"predict_linear({free_m}{ctx.sel(n.SRC, ctx.fs_filter)}[6h], {hours} * 3600)"),
                mitigation=("Find the writer that grows (logs, emptyDir, image pulls) and stop or rotate it.",
                            "Grow the disk before the prediction comes true."),
            ))
    return tuple(out)


def _network_and_system_alerts(ctx: Context) -> tuple[Alert, ...]:
    ne = lambda metric, **lb: ctx.series(n.SRC, metric, instance=n.INSTANCE, **lb)  # noqa: E731
    c = ctx.cluster
    at = "{{ $labels.instance }} in cluster {{ $labels." + c + " }}"
    inst, s = ctx.by("instance"), lambda *m: ctx.sel(n.SRC, *m)
    io_t = ctx.threshold("NodeDiskIOSaturation", 10)
    ct_t = ctx.threshold("NodeHighNumberConntrackEntriesUsed", 0.9)  # node-problem-detector's conntrack line
    fd_t = ctx.threshold("NodeFileDescriptorLimit", 0.8)  # NPD FDPressure
    skew_t = ctx.threshold("NodeClockSkewDetected", 0.05)
    net_alerts = []
    for way, ratio in (("receive", n.RX_ERR_RATIO), ("transmit", n.TX_ERR_RATIO)):
        name = f"NodeNetwork{way.capitalize()}Errs"
        t = ctx.threshold(name, 0.01)
        errs = lambda share, w=way: {ne(f"node_network_{w}_packets_total", device="eth0"): counter(1000),  # noqa: E731
                                     ne(f"node_network_{w}_errs_total", device="eth0"): counter(1000 * share)}
        net_alerts.append(Alert(
            name=name,
            expr=f"{ratio} > {fmt_number(t)}",
            for_="1h",
            severity="warning",
            threshold=t,
            summary=f"Network interface is reporting many {way} errors.",
            description="{{ $value | humanizePercentage }} of packets " + ("received" if way == "receive" else "sent")
                        + " on {{ $labels.device }} at " + at + " have errors.",
            cases=(Case(errs(2 * t), fires=True, labels={**INST, "device": "eth0"}, value=2 * t),
                   Case(errs(lo(t)), fires=False)),
            meaning=f"More than {pct(t)} of the packets on a host interface fail with {way} errors.",
            impact="Retransmissions slow every connection through this interface; pods on the node see "
                   "timeouts.",
            diagnosis=(f"{ratio}", f"{n.NET_DROPS}"),
            mitigation=("Check the NIC, cable or virtual NIC (`ethtool -S <device>`, `ip -s link`); "
                        "on clouds, check the instance's network limits.",),
        ))
    offset = lambda v: {ne("node_timex_offset_seconds"): v}  # noqa: E731
    off, deriv = (f"max {inst} (node_timex_offset_seconds{s()})",
                  f"max {inst} (deriv(node_timex_offset_seconds{s()}[5m]))")
    sync = lambda status, maxerr: {ne("node_timex_sync_status"): status,  # noqa: E731
                                   ne("node_timex_maxerror_seconds"): maxerr}
    return (
        Alert(
            name="NodeDiskIOSaturation",
            expr=f"{n.DISK_IO_W} > {fmt_number(io_t)}",
            for_="30m",
            severity="warning",
            threshold=io_t,
            summary="Disk IO queue on a node is high.",
            description="The IO queue of {{ $labels.device }} at " + at + " holds {{ $value | humanize }} "
                        "requests on average.",
            cases=(Case({ne("node_disk_io_time_weighted_seconds_total", device="sda"): counter(2 * io_t)},
                        fires=True, lookback="3m", labels={**INST, "device": "sda"}, value=2 * io_t),
                   Case({ne("node_disk_io_time_weighted_seconds_total", device="sda"): counter(lo(io_t))},
                        fires=False, lookback="3m")),
            meaning=f"The average number of requests in flight on the device (aqu-sz) exceeds {fmt_number(io_t)}.",
            impact="IO latency grows with the queue; pods reading or writing this disk slow down, load rises.",
            diagnosis=(f"{n.DISK_IO_W}", f"{n.DISK_IO}", f"{n.LOAD1}"),
            mitigation=("Find the heavy writer (`iotop`, `pidstat -d`); move it to a faster or dedicated disk.",
                        "On clouds, check the volume's IOPS/throughput limits and burst credits."),
        ),
        *net_alerts,
        Alert(
            name="NodeHighNumberConntrackEntriesUsed",
            expr=f"{n.CONNTRACK} > {fmt_number(ct_t)}",
            for_="5m",
            severity="warning",
            threshold=ct_t,
            summary="The conntrack table on a node is almost full.",
            description="{{ $value | humanizePercentage }} of the conntrack table on " + at + " is in use.",
            cases=(Case({ne("node_nf_conntrack_entries"): 262144 * hi(ct_t),
                         ne("node_nf_conntrack_entries_limit"): 262144}, fires=True, labels=INST, value=hi(ct_t)),
                   Case({ne("node_nf_conntrack_entries"): 262144 * lo(ct_t),
                         ne("node_nf_conntrack_entries_limit"): 262144}, fires=False)),
            meaning=f"More than {pct(ct_t)} of nf_conntrack_max entries are used.",
            impact="When the table is full the kernel drops new connections (`nf_conntrack: table full, dropping "
                   "packet`): Services and DNS fail intermittently.",
            diagnosis=(f"{n.CONNTRACK}", f"{n.NET_DROPS}"),
            mitigation=("Raise net.netfilter.nf_conntrack_max (kube-proxy's --conntrack-max-per-core) or reduce "
                        "short-lived connections (keep-alive, NodeLocal DNSCache).",),
        ),
        Alert(
            name="NodeFileDescriptorLimit",
            expr=f"{n.FILEFD} > {fmt_number(fd_t)}",
            for_="15m",
            severity="warning",
            threshold=fd_t,
            summary="Node is running out of file descriptors.",
            description="{{ $value | humanizePercentage }} of the kernel's file handles on " + at + " are allocated.",
            cases=(Case({ne("node_filefd_allocated"): 1048576 * hi(fd_t), ne("node_filefd_maximum"): 1048576},
                        fires=True, labels=INST, value=hi(fd_t)),
                   Case({ne("node_filefd_allocated"): 1048576 * lo(fd_t), ne("node_filefd_maximum"): 1048576},
                        fires=False)),
            meaning=f"More than {pct(fd_t)} of fs.file-max is allocated.",
            impact="open(), socket() and accept() start failing with ENFILE for every process on the node.",
            diagnosis=(f"{n.FILEFD}", "topk(10, process_open_fds)"),
            mitigation=("Find the process leaking descriptors (`ls /proc/*/fd | wc -l` per pid) and restart or fix "
                        "it; raise fs.file-max if the load is legitimate.",),
        ),
        Alert(
            name="NodeClockSkewDetected",
            expr=(f"({off} > {fmt_number(skew_t)} and {deriv} >= 0)"
                  f" or ({off} < -{fmt_number(skew_t)} and {deriv} <= 0)"),
            for_="10m",
            severity="warning",
            threshold=skew_t,
            summary="Node clock is skewed.",
            description="The clock on " + at + " is off by {{ $value | humanizeDuration }} and not converging.",
            cases=(Case(offset(2 * skew_t), fires=True, labels=INST, value=2 * skew_t),
                   Case(offset(-2 * skew_t), fires=True, labels=INST, value=-2 * skew_t, note="behind"),
                   Case(offset(lo(skew_t)), fires=False)),
            meaning=f"The NTP offset exceeds {fmt_number(skew_t)}s and is not shrinking.",
            impact="TLS validation, leases, token expiry, etcd and log ordering misbehave with skewed clocks.",
            diagnosis=(f"node_timex_offset_seconds{s()}", f"node_timex_sync_status{s()}"),
            mitigation=("Check chronyd/systemd-timesyncd on the node (`chronyc tracking`) and its NTP servers.",),
        ),
        Alert(
            name="NodeClockNotSynchronising",
            expr=(f"max {inst} (min_over_time(node_timex_sync_status{s()}[5m])) == 0"
                  f" and on ({c}, instance) max {inst} (node_timex_maxerror_seconds{s()}) >= 16"),
            for_="10m",
            severity="warning",
            summary="Node clock is not synchronising.",
            description="The clock on " + at + " is not synchronising with NTP.",
            cases=(Case(sync(0, 16), fires=True, labels=INST), Case(sync(1, 0.01), fires=False)),
            meaning="The kernel reports the clock unsynchronised and its maximum error has reached 16 seconds.",
            impact="The clock drifts freely; skew-sensitive components (TLS, etcd, leases) will fail later.",
            diagnosis=(f"node_timex_sync_status{s()}", f"node_timex_maxerror_seconds{s()}"),
            mitigation=("Make sure an NTP client runs on the node and can reach its servers (UDP 123).",),
        ),
        Alert(
            name="NodeTextFileCollectorScrapeError",
            expr=f"max {inst} (node_textfile_scrape_error{s()}) == 1",
            for_="0m",
            severity="warning",
            summary="node-exporter's textfile collector failed.",
            description="node-exporter on " + at + " failed to read a textfile collector file.",
            cases=(Case({ne("node_textfile_scrape_error"): 1}, fires=True, labels=INST),
                   Case({ne("node_textfile_scrape_error"): 0}, fires=False)),
            meaning="A *.prom file in the textfile directory could not be parsed.",
            impact="Metrics written by cron jobs or scripts through the textfile collector are missing.",
            diagnosis=(f"node_textfile_scrape_error{s()}", f"node_textfile_mtime_seconds{s()}"),
            mitigation=("Read node-exporter's log on that node; fix or remove the broken file.",),
        ),
    )
