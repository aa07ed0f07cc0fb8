"""Node health: node-exporter's own scrape (all down or vanished, one down), hardware and OS faults node-exporter
reports only where the collector runs (systemd units, software RAID, bonding, flapping links) and the Kubernetes
node conditions kube-state-metrics reports. The hardware alerts read metrics that are absent on hosts without
md arrays, bonds or the systemd collector: there they have no series and stay quiet."""

from __future__ import annotations

from generator.catalog import targets
from generator.catalog.nodes import names as n
from generator.catalog.nodes.names import INST, UNREACHABLE_IGNORE
from generator.context import Context
from generator.model import Alert, Case
from generator.promql import escape_regex, fmt_number

# virtual interfaces of pods come and go with the pods: their link changes are no fault
VIRTUAL = "veth.+|lxc.+|cali.+|cilium.+|flannel.+|cni.+|docker.+|br-.+|tun.+|vxlan.+"
PHYSICAL = f'device!~"{VIRTUAL}"'
FAILED, ACTIVE = 'state="failed"', 'state="active"'


def exporter_alerts(ctx: Context) -> tuple[Alert, ...]:
    c = ctx.cluster
    s = ctx.sel(n.SRC)
    up = lambda i, v: {ctx.series(n.SRC, "up", instance=f"10.0.0.{i}:9100"): v}  # noqa: E731
    return (
        Alert(
            name="NodeExporterDown",
            down=True,
            expr=targets.down_expr(ctx, n.SRC),
            for_="15m",
            severity="critical",
            summary="No node-exporter target is up, or node-exporter has disappeared from target discovery.",
            description="No node-exporter is up or discovered in cluster {{ $labels." + c + " }}: every node "
                        "alert there is blind.",
            cases=(Case({**up(1, 0), **up(2, 0)}, fires=True, note="every node-exporter down"),
                   Case({**up(1, 0), **up(2, 1)}, fires=False, note="one down is NodeExporterInstanceDown's"),
                   *targets.vanished_cases(ctx, n.SRC, up(1, 1))),
            meaning="Prometheus scrapes no node-exporter that answers." + targets.VANISHED_MEANING,
            impact="CPU, memory, disk, filesystem and network alerts of every node are blind.",
            diagnosis=(f"up{s}", 'kube_daemonset_status_number_ready{daemonset=~".*node-exporter.*"}'),
            mitigation=("Check the node-exporter DaemonSet and its pods.", targets.VANISHED_MITIGATION),
        ),
        Alert(
            name="NodeExporterInstanceDown",
            down=True,
            expr=f"max {ctx.by('instance')} (up{s}) == 0",
            for_="15m",
            severity="warning",
            summary="node-exporter is down on a node.",
            description="node-exporter on {{ $labels.instance }} in cluster {{ $labels." + c + " }} cannot be "
                        "scraped: this node's metrics are missing.",
            cases=(Case(up(1, 0), fires=True, labels={"instance": "10.0.0.1:9100"}), Case(up(1, 1), fires=False)),
            meaning="Prometheus fails to scrape the node-exporter on this host." + targets.INHIBITED_MEANING,
            impact="Every node alert for this host is blind; resource exhaustion there goes unnoticed.",
            diagnosis=(f"up{s} == 0", f"scrape_duration_seconds{s}"),
            mitigation=("Check the node-exporter DaemonSet pod on that node (`kubectl -n monitoring get pods -o wide "
                        "-l app.kubernetes.io/name=node-exporter`) and whether the node itself is up.",
                        "Check that port 9100 is reachable from Prometheus (host firewall, NetworkPolicy)."),
        ),
    )


def hardware_alerts(ctx: Context) -> tuple[Alert, ...]:
    c = ctx.cluster
    s = lambda *m: ctx.sel(n.SRC, *m)  # noqa: E731
    ne = lambda metric, **lb: ctx.series(n.SRC, metric, instance=n.INSTANCE, **lb)  # noqa: E731
    at = "{{ $labels.instance }} in cluster {{ $labels." + c + " }}"
    flaps = ctx.threshold("NodeNetworkInterfaceFlapping", 4)
    link = lambda values, device="eth0": {ne("node_network_up", device=device): values}  # noqa: E731
    flapping = " ".join("1" if i % 2 == 0 else "0" for i in range(60)) + " 1+0x{n}"
    unit = lambda state_failed: {  # noqa: E731
        ne("node_systemd_unit_state", name="containerd.service", state=st, type="simple"): float(st == state_failed)
        for st in ("active", "failed")}
    md = lambda active, failed=0.0: {  # noqa: E731
        ne("node_md_disks_required", device="md0"): 2,
        ne("node_md_disks", device="md0", state="active"): active,
        ne("node_md_disks", device="md0", state="failed"): failed,
    }
    bond = lambda slaves, active: {ne("node_bonding_slaves", master="bond0"): slaves,  # noqa: E731
                                   ne("node_bonding_active", master="bond0"): active}
    by_dev = ctx.by("instance", "device")
    return (
        Alert(
            name="NodeNetworkInterfaceFlapping",
            expr=f'max {by_dev} (changes(node_network_up{s(PHYSICAL)}[10m]))'
                 f" > {fmt_number(flaps)}",
            for_="2m",
            severity="warning",
            threshold=flaps,
            summary="A network interface keeps going up and down.",
            description="Interface {{ $labels.device }} on " + at + " changed its up/down state "
                        "{{ $value }} times in 10 minutes.",
            cases=(Case(link(flapping), fires=True, labels={**INST, "device": "eth0"}, value=10, lookback="10m",
                        note="down and up every minute: 10 changes in the 10-minute range"),
                   Case(link(1), fires=False),
                   Case(link(flapping, "veth1234"), fires=False, note="pod interfaces come and go")),
            meaning="node_network_up of a physical interface changed more often than the threshold in 10 minutes (a "
                    "window that holds enough samples at a 30-60 s scrape interval).",
            impact="Connections through that interface drop and reconnect; with bonding the bond may degrade.",
            diagnosis=(f"changes(node_network_up{s()}[10m]) > 0",
                       f"rate(node_network_carrier_changes_total{s()}[10m])"),
            mitigation=("Check the cable, the switch port and the NIC (`ethtool`, `dmesg`, switch logs).",),
        ),
        Alert(
            name="NodeSystemdServiceFailed",
            expr=f'max {ctx.by("instance", "name")} (node_systemd_unit_state{s(FAILED)}) == 1',
            for_="5m",
            severity="warning",
            summary="A systemd service has failed.",
            description="systemd unit {{ $labels.name }} on " + at + " is in state failed.",
            cases=(Case(unit("failed"), fires=True, labels={**INST, "name": "containerd.service"}),
                   Case(unit("active"), fires=False),
                   Case({ne("node_load1"): 1}, fires=False, note="no systemd collector: no series, quiet")),
            meaning="node-exporter's systemd collector (off by default) reports a unit in state failed.",
            impact="Whatever the unit runs is not running: containerd or kubelet failing takes the node's pods down.",
            diagnosis=(f'node_systemd_unit_state{s(FAILED)} == 1',),
            mitigation=("On the node: `systemctl status <unit>`, `journalctl -u <unit>`; fix and restart it.",),
        ),
        Alert(
            name="NodeRAIDDegraded",
            expr=f"max {by_dev} (node_md_disks_required{s()}) - max {by_dev} (node_md_disks{s(ACTIVE)}) > 0",
            for_="15m",
            severity="critical",
            summary="A software RAID array is degraded.",
            description="RAID array {{ $labels.device }} on " + at + " misses {{ $value }} active disk(s).",
            cases=(Case(md(1, 1), fires=True, labels={**INST, "device": "md0"}, value=1),
                   Case(md(2), fires=False),
                   Case({ne("node_load1"): 1}, fires=False, note="no md arrays: no series, quiet")),
            meaning="An md array has fewer active disks than it needs (a disk failed or was removed).",
            impact="The array runs without redundancy; one more disk failure loses data.",
            diagnosis=(f"node_md_disks{s()}", f"node_md_state{s()}"),
            mitigation=("Replace the failed disk and add it back (`mdadm --manage /dev/mdX --add`); "
                        "`cat /proc/mdstat` shows the rebuild.",),
        ),
        Alert(
            name="NodeRAIDDiskFailure",
            expr=f'max {by_dev} (node_md_disks{s(FAILED)}) > 0',
            for_="0m",
            severity="warning",
            summary="A disk in a software RAID array has failed.",
            description="{{ $value }} disk(s) of RAID array {{ $labels.device }} on " + at + " failed.",
            cases=(Case(md(1, 1), fires=True, labels={**INST, "device": "md0"}, value=1),
                   Case(md(2), fires=False)),
            meaning="md marks at least one member disk of the array as failed.",
            impact="The array may run degraded (see NodeRAIDDegraded); the failed disk needs replacing.",
            diagnosis=(f"node_md_disks{s()}",),
            mitigation=("Replace the disk: `mdadm --detail /dev/mdX` names it.",),
        ),
        Alert(
            name="NodeBondingDegraded",
            expr=f"max {ctx.by('instance', 'master')} (node_bonding_slaves{s()} - node_bonding_active{s()}) > 0",
            for_="5m",
            severity="warning",
            summary="A bonding interface has lost members.",
            description="Bond {{ $labels.master }} on " + at + " has {{ $value }} inactive member(s).",
            cases=(Case(bond(2, 1), fires=True, labels={**INST, "master": "bond0"}, value=1),
                   Case(bond(2, 2), fires=False),
                   Case({ne("node_load1"): 1}, fires=False, note="no bonds: no series, quiet")),
            meaning="Fewer member links of a bond are active than are configured.",
            impact="The node runs on less bandwidth and without link redundancy.",
            diagnosis=(f"node_bonding_active{s()}", f"node_bonding_slaves{s()}",
                       f"changes(node_network_up{s()}[1h])"),
            mitigation=("Check the member links (cable, switch port, LACP settings): `cat /proc/net/bonding/<bond>`.",),
        ),
    )


def kube_node_alerts(ctx: Context) -> tuple[Alert, ...]:
    c = ctx.cluster
    k = lambda *m: ctx.sel(n.KSM, *m)  # noqa: E731
    ks = lambda metric, **lb: ctx.series(n.KSM, metric, node=n.NODE, **lb)  # noqa: E731
    node, on = ctx.by("node"), f"on ({c}, node)"
    where = "{{ $labels.node }} in cluster {{ $labels." + c + " }}"
    schedulable = f"max {node} (kube_node_spec_unschedulable{k()}) == 0"
    sched = lambda v=0.0: {ks("kube_node_spec_unschedulable"): v}  # noqa: E731
    ready = lambda status: {ks("kube_node_status_condition", condition="Ready", status=s): float(s == status)  # noqa: E731
                            for s in ("true", "false", "unknown")}
    taint = lambda key, effect="NoSchedule", v=1.0: {ks("kube_node_spec_taint", key=key, effect=effect): v}  # noqa: E731
    unreachable = "node.kubernetes.io/unreachable"
    unreachable_sel = k(f'key="{unreachable}"', 'effect="NoSchedule"')
    ignore_sel = k('key=~"' + "|".join(escape_regex(key) for key in UNREACHABLE_IGNORE) + '"')
    # alternating readiness for four hours, then steady: enough for any sensible `for`
    flap = " ".join("1" if i % 2 == 0 else "0" for i in range(240)) + " 1+0x{n}"
    flap_in = lambda values: {ks("kube_node_status_condition", condition="Ready", status="true"): values}  # noqa: E731
    pressure = lambda v: {ks("kube_node_status_condition", condition="MemoryPressure", status="true"): v}  # noqa: E731
    return (
        Alert(
            name="KubeNodeNotReady",
            expr=f"max {node} (kube_node_status_condition{k(n.READY, n.TRUE)}) == 0 and {on} {schedulable}",
            for_="15m",
            severity="warning",
            summary="Node is not ready.",
            description="Node " + where + " has not been Ready for 15 minutes.",
            cases=(Case({**ready("unknown"), **sched()}, fires=True, labels={"node": n.NODE}),
                   Case({**ready("true"), **sched()}, fires=False),
                   Case({**ready("false"), **sched(1)}, fires=False, note="cordoned on purpose")),
            meaning="The node's Ready condition is False (kubelet reports a problem) or Unknown (no heartbeat).",
            impact="No new pods land there; after the eviction timeout its pods are deleted and rescheduled.",
            diagnosis=(f"kube_node_status_condition{k(n.READY)}", f"{n.NOT_READY}", f"{n.PRESSURE_SUM}"),
            mitigation=("`kubectl describe node <node>` (conditions, events); on the node check kubelet and the "
                        "container runtime (`journalctl -u kubelet`).",),
        ),
        Alert(
            name="KubeNodeUnreachable",
            expr=(f"(max {node} (kube_node_spec_taint{unreachable_sel}) unless {on}"
                  f" max {node} (kube_node_spec_taint{ignore_sel})) == 1"),
            for_="15m",
            severity="warning",
            summary="Node is unreachable.",
            description="Node " + where + " is unreachable and some workloads may be rescheduled.",
            cases=(Case(taint(unreachable), fires=True, labels={"node": n.NODE}),
                   Case(taint(unreachable, v=0), fires=False),
                   Case({**taint(unreachable), **taint(UNREACHABLE_IGNORE[0])}, fires=False,
                        note="being removed by the cluster autoscaler")),
            meaning="The node controller tainted the node node.kubernetes.io/unreachable: it lost contact with "
                    "the kubelet.",
            impact="Pods without a toleration are evicted after tolerationSeconds (300s by default).",
            diagnosis=(f"kube_node_spec_taint{k()}", f"kube_node_status_condition{k(n.READY)}"),
            mitigation=("Check the machine (cloud console), its network path to the API server and the kubelet.",),
        ),
        Alert(
            name="KubeNodeReadinessFlapping",
            expr=(f"sum {node} (changes(kube_node_status_condition{k(n.TRUE, n.READY)}[15m])) > 2"
                  f" and {on} {schedulable}"),
            for_="15m",
            severity="warning",
            summary="Node readiness status is flapping.",
            description="The readiness of node " + where + " changed more than twice in 15 minutes.",
            cases=(Case({**flap_in(flap), **sched()}, fires=True, lookback="3m", labels={"node": n.NODE}),
                   Case({**flap_in("1+0x{n}"), **sched()}, fires=False, lookback="3m")),
            meaning="The node goes Ready / NotReady repeatedly.",
            impact="Pods are scheduled onto the node and evicted again; workloads restart.",
            diagnosis=(f"changes(kube_node_status_condition{k(n.TRUE, n.READY)}[1h])",),
            mitigation=("Look for a kubelet restarting, PLEG errors or a saturated node (CPU, memory, disk IO).",),
        ),
        Alert(
            name="KubeNodePressure",
            expr=(f"max {ctx.by('node', 'condition')} (kube_node_status_condition{k(n.PRESSURE, n.TRUE)}) == 1"
                  f" and {on} {schedulable}"),
            for_="10m",
            severity="info",
            summary="Node has an active pressure condition.",
            description="Node " + where + " has {{ $labels.condition }}: resource usage exceeds the kubelet's "
                        "eviction thresholds.",
            cases=(Case({**pressure(1), **sched()}, fires=True, labels={"node": n.NODE, "condition": "MemoryPressure"}),
                   Case({**pressure(0), **sched()}, fires=False)),
            meaning="The kubelet reports MemoryPressure, DiskPressure or PIDPressure.",
            impact="The kubelet evicts pods to reclaim the resource; the scheduler avoids the node.",
            diagnosis=(f"{n.PRESSURE_SUM}", f"{n.MEM_UTIL}", f"1 - {n.FS_AVAIL}"),
            mitigation=("Free the resource (see the node's memory, filesystem and process counts) or move pods.",),
        ),
        Alert(
            name="KubeNodeUnschedulable",
            expr=f"max {node} (kube_node_spec_unschedulable{k()}) == 1",
            for_="1h",
            severity="info",
            summary="Node has been cordoned for an hour.",
            description="Node " + where + " has been unschedulable for more than an hour.",
            cases=(Case(sched(1), fires=True, labels={"node": n.NODE}), Case(sched(0), fires=False)),
            meaning="spec.unschedulable is set (kubectl cordon / drain) and has stayed so.",
            impact="The cluster runs with less capacity than it has; a forgotten cordon after maintenance.",
            diagnosis=(f"kube_node_spec_unschedulable{k()} == 1", f"{n.UNSCHEDULABLE}"),
            mitigation=("`kubectl uncordon <node>` when maintenance is over, or remove the node.",),
        ),
    )
