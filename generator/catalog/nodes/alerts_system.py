"""Nodes' network and system alerts from node-exporter (node-mixin semantics, vendor-seed thresholds)."""

from __future__ import annotations

from generator.catalog.helpers import counter
from generator.catalog.nodes import names as n
from generator.catalog.nodes.names import INST, hi, lo, pct
from generator.context import Context
from generator.model import Alert, Case
from generator.promql import fmt_number


def alerts(ctx: Context) -> tuple[Alert, ...]:
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
