"""Alerts of the nodes component: node-exporter resources (node-mixin semantics, vendor-seed thresholds) and the
Kubernetes node conditions kube-state-metrics reports (kubernetes-mixin semantics; those, the exporter's own
health and the hardware alerts live in alerts_health.py; the network and system alerts in alerts_system.py).

Every node-exporter alert aggregates `by (cluster, instance[, device, mountpoint])`, so alerts carry the same
clean label set whatever extra target labels the scrape adds (job, pod, namespace...).
"""

from __future__ import annotations

from generator.catalog.helpers import counter, gauge_ramp
from generator.catalog.nodes import alerts_health, alerts_system
from generator.catalog.nodes import names as n
from generator.catalog.nodes.names import INST, hi, lo, pct
from generator.context import Context
from generator.model import Alert, Case
from generator.promql import fmt_number, parse_duration, selector

FS_LOOKBACK = "10m"  # falling history for the filling-up cases: predict_linear fits a line to what it has of its 6h
# (a straight ramp: ten points fit the same line as sixty; promtool evaluates every rule each minute of it)
DISK_SIZE, INODES = 100e9, 6.5e6
ROOT = {"device": "/dev/sda1", "fstype": "ext4", "mountpoint": "/"}
FS_LABELS = {"instance": n.INSTANCE, "device": "/dev/sda1", "mountpoint": "/"}


def alerts(ctx: Context) -> tuple[Alert, ...]:
    return (*alerts_health.exporter_alerts(ctx), *_resource_alerts(ctx), *_filesystem_alerts(ctx),
            *alerts_system.alerts(ctx), *alerts_health.hardware_alerts(ctx), *alerts_health.kube_node_alerts(ctx))


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
