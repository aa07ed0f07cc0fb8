"""Workloads: recording rules over cAdvisor (container_*) and kube-state-metrics (kube_*), their tests, and the
test inputs the alert modules share. The record names are in names."""

from __future__ import annotations

from generator.catalog.helpers import counter
from generator.catalog.workloads.names import (
    ACTIVE,
    ALLOC_MAX,
    ALLOC_SUM,
    CADV,
    CPU_LIM_RATIO,
    CPU_REQ_RATIO,
    CPU_USAGE,
    CTR,
    GIB,
    IMAGE,
    KSM,
    LIM,
    MEM_LIM_RATIO,
    MEM_WS,
    NET_DROP_RATIO,
    NET_DROPS,
    NET_PACKETS,
    NET_RX,
    NET_TX,
    NODE,
    NS_CPU,
    NS_MEM,
    NS_REQ,
    OWNER,
    PHASE,
    POD,
    POD_CPU,
    POD_MEM,
    REQ,
    RESTARTS,
    THROTTLE,
    UID,
    WL_CPU,
    WL_MEM,
)
from generator.context import Context
from generator.model import RecordingRule, RuleTest
from generator.promql import by


def on(ctx: Context, *labels: str) -> str:
    """`on (cluster, ...)`: vector matching that keeps the cluster label in the match."""
    return by(ctx.cluster, *labels).replace("by", "on", 1)


def ksm(ctx: Context, metric: str, **labels: str) -> str:
    return ctx.series(KSM, metric, **labels)


def pod_ksm(ctx: Context, metric: str, **labels: str) -> str:
    """A kube-state-metrics series of the fixture pod."""
    ns = ctx.test_namespace
    return ctx.series(KSM, metric, **{"namespace": ns, "pod": POD, "uid": UID, **labels})


def ctr_ksm(ctx: Context, metric: str, **labels: str) -> str:
    return pod_ksm(ctx, metric, **{"container": CTR, **labels})


def ctr_cadv(ctx: Context, metric: str, **labels: str) -> str:
    """A cAdvisor series of the fixture container (the cgroup `id`/`name` labels are left out)."""
    ns = ctx.test_namespace
    return ctx.series(CADV, metric, **{"namespace": ns, "pod": POD, "container": CTR, "image": IMAGE, **labels})


def running(ctx: Context, pod: str = POD, uid: str = UID) -> dict[str, float | str]:
    """Phase series of a Running pod: what the `:active` request/limit rules join on."""
    ns = ctx.test_namespace
    return {ksm(ctx, "kube_pod_status_phase", namespace=ns, pod=pod, uid=uid, phase=p): float(p == "Running")
            for p in ("Pending", "Running", "Succeeded")}


def resource(ctx: Context, kind: str, name: str, value: float, pod: str = POD, uid: str = UID,
             container: str = CTR) -> dict[str, float | str]:
    """`kube_pod_container_resource_<kind>` (requests|limits) for cpu (cores) or memory (bytes)."""
    ns = ctx.test_namespace
    unit = "core" if name == "cpu" else "byte"
    series = ksm(ctx, f"kube_pod_container_resource_{kind}", namespace=ns, pod=pod, uid=uid, container=container,
                 node=NODE, resource=name, unit=unit)
    return {series: value}


def cpu_usage(ctx: Context, cores: float, pod: str = POD, container: str = CTR) -> dict[str, float | str]:
    return {ctr_cadv(ctx, "container_cpu_usage_seconds_total", pod=pod, container=container, cpu="total"):
            counter(cores)}


def allocatable(ctx: Context, name: str, per_node: float, nodes: int = 2) -> dict[str, float | str]:
    unit = "core" if name == "cpu" else "byte"
    return {ksm(ctx, "kube_node_status_allocatable", node=f"worker-{i + 1}", resource=name, unit=unit): per_node
            for i in range(nodes)}


# ---- rules -----------------------------------------------------------------------------------------------
def rules(ctx: Context) -> tuple[RecordingRule, ...]:
    k = lambda *m: ctx.sel(KSM, *m)  # noqa: E731 - selector shorthands read better inline
    a = lambda *m: ctx.sel(CADV, *m)  # noqa: E731
    by_ctr = ctx.by("namespace", "pod", "container")
    by_pod = ctx.by("namespace", "pod")
    on_pod, on_ctr = on(ctx, "namespace", "pod"), on(ctx, "namespace", "pod", "container")
    # selectors.cadvisor_containers (default container!="", image!=""): the pod cgroup and pause container out
    ctr = ctx.containers()
    cfs = ctx.container_cgroups()  # selectors.cadvisor_container_cgroups (default container!=""): the pod's out
    cpu_mem = 'resource=~"cpu|memory"'
    holding = 'phase=~"Pending|Running"'
    held = lambda metric: (  # noqa: E731
        f"sum {ctx.by('namespace', 'pod', 'container', 'resource')}"
        f" ({metric}{k(cpu_mem)} and {on_pod} {ACTIVE})"
    )
    # hostNetwork pods see the node's interfaces: their counters are node traffic, not the pod's
    host_network = 'host_network="true"'
    host_net = f"kube_pod_info{k(host_network)}"
    in_pod = a('pod!=""')
    net = lambda metric: f"sum {by_pod} (rate({metric}{in_pod}[5m]))"  # noqa: E731
    both = lambda rx, tx: f"({net(rx)} + {net(tx)}) unless {on_pod} {host_net}"  # noqa: E731
    alloc = f"kube_node_status_allocatable{k(cpu_mem)}"
    state, net_group = "state", "network"
    # three groups, evaluated concurrently: kube-state-metrics (first: the others read its requests and owners,
    # at most one interval old), cAdvisor CPU and memory, cAdvisor network
    return (
        # the pods that hold requests, once: both joins below read it instead of each scanning the phases
        RecordingRule(ACTIVE, f"max {by_pod} (kube_pod_status_phase{k(holding)} == 1)", group=state),
        RecordingRule(REQ, held("kube_pod_container_resource_requests"), group=state),
        RecordingRule(LIM, held("kube_pod_container_resource_limits"), group=state),
        RecordingRule(NS_REQ, f"sum {ctx.by('namespace', 'resource')} ({REQ})", group=state),
        RecordingRule(ALLOC_SUM, f"sum {ctx.by('resource')} ({alloc})", group=state),
        RecordingRule(ALLOC_MAX, f"max {ctx.by('resource')} ({alloc})", group=state),
        RecordingRule(RESTARTS, f"sum {by_pod} (increase(kube_pod_container_status_restarts_total{k()}[5m]))",
                      group=state),
        RecordingRule(PHASE, f"sum {ctx.by('namespace', 'phase')} (kube_pod_status_phase{k()})", group=state),
        *_owner_rules(ctx, state),
        RecordingRule(CPU_USAGE, f"sum {by_ctr} (rate(container_cpu_usage_seconds_total{ctr}[5m]))"),
        RecordingRule(MEM_WS, f"max {by_ctr} (container_memory_working_set_bytes{ctr})"),
        # max, not sum: one container's counters scraped twice (extra target labels) must not halve the ratio;
        # the CFS counters exist only for cgroups with a CPU limit, so the image filter is not needed
        RecordingRule(THROTTLE, f"max {by_ctr} (rate(container_cpu_cfs_throttled_periods_total{cfs}[5m]))"
                                f" / max {by_ctr} (rate(container_cpu_cfs_periods_total{cfs}[5m]))"),
        RecordingRule(CPU_REQ_RATIO, f'{CPU_USAGE} / {on_ctr} ({REQ}{{resource="cpu"}} > 0)'),
        RecordingRule(CPU_LIM_RATIO, f'{CPU_USAGE} / {on_ctr} ({LIM}{{resource="cpu"}} > 0)'),
        RecordingRule(MEM_LIM_RATIO, f'{MEM_WS} / {on_ctr} ({LIM}{{resource="memory"}} > 0)'),
        RecordingRule(POD_CPU, f"sum {ctx.by('namespace', 'pod')} ({CPU_USAGE})"),
        RecordingRule(POD_MEM, f"sum {ctx.by('namespace', 'pod')} ({MEM_WS})"),
        # namespaces and workloads add up the per-pod records, not every container again
        RecordingRule(NS_CPU, f"sum {ctx.by('namespace')} ({POD_CPU})"),
        RecordingRule(NS_MEM, f"sum {ctx.by('namespace')} ({POD_MEM})"),
        RecordingRule(WL_CPU, _per_workload(ctx, POD_CPU)),
        RecordingRule(WL_MEM, _per_workload(ctx, POD_MEM)),
        RecordingRule(NET_RX, f"{net('container_network_receive_bytes_total')} unless {on_pod} {host_net}",
                      group=net_group),
        RecordingRule(NET_TX, f"{net('container_network_transmit_bytes_total')} unless {on_pod} {host_net}",
                      group=net_group),
        RecordingRule(NET_DROPS, both("container_network_receive_packets_dropped_total",
                                      "container_network_transmit_packets_dropped_total"), group=net_group),
        RecordingRule(NET_PACKETS, both("container_network_receive_packets_total",
                                        "container_network_transmit_packets_total"), group=net_group),
        # dropped per packet offered (drops are not counted in the packets counters): drops / (packets + drops),
        # written to read each record once — 0 without drops (x/0 = +Inf), NaN with no traffic, as the quotient
        RecordingRule(NET_DROP_RATIO, f"1 / (1 + {NET_PACKETS} / {NET_DROPS})", group=net_group),
    )


def _owner_rules(ctx: Context, group: str) -> list[RecordingRule]:
    """kubernetes-mixin's namespace_workload_pod:kube_pod_owner:relabel: which workload each pod belongs to."""
    kind = lambda k: ctx.sel(KSM, f'owner_kind="{k}"')  # noqa: E731
    keep = ctx.by("namespace", "workload", "pod")
    by_rs = ctx.by("namespace", "replicaset")
    rs_owner = f"max {ctx.by('namespace', 'replicaset', 'owner_name')} (kube_replicaset_owner{kind('Deployment')})"
    as_rs = f'label_replace(kube_pod_owner{kind("ReplicaSet")}, "replicaset", "$1", "owner_name", "(.*)")'
    deployment = (
        f"max {keep} (label_replace({as_rs} * {on(ctx, 'namespace', 'replicaset')} group_left (owner_name)"
        f' topk {by_rs} (1, {rs_owner}), "workload", "$1", "owner_name", "(.*)"))'
    )
    direct = lambda k: (  # noqa: E731
        f'max {keep} (label_replace(kube_pod_owner{kind(k)}, "workload", "$1", "owner_name", "(.*)"))'
    )
    return [
        RecordingRule(OWNER, deployment, {"workload_type": "deployment"}, group),
        RecordingRule(OWNER, direct("DaemonSet"), {"workload_type": "daemonset"}, group),
        RecordingRule(OWNER, direct("StatefulSet"), {"workload_type": "statefulset"}, group),
        RecordingRule(OWNER, direct("Job"), {"workload_type": "job"}, group),
    ]


def _per_workload(ctx: Context, per_pod: str) -> str:
    return (f"sum {ctx.by('namespace', 'workload', 'workload_type')} ({per_pod}"
            f" * {on(ctx, 'namespace', 'pod')} group_left (workload, workload_type) {OWNER})")


# ---- rule tests: the rules the alerts and signals depend on ----------------------------------------------
def rule_tests(ctx: Context) -> tuple[RuleTest, ...]:
    ns = ctx.test_namespace
    ctr = {"namespace": ns, "pod": POD, "container": CTR}
    pod = {"namespace": ns, "pod": POD}
    done = "checkout-7d9f8b6c5d-old01"  # a Succeeded pod: its requests no longer hold capacity
    # pod-level cgroup (container="") and the pause container (image set, container="") must not count — when
    # the site's cadvisor_containers selector leaves them out
    noise = [{"namespace": ns, "pod": POD, "container": "", "image": "", "cpu": "total"},
             {"namespace": ns, "pod": POD, "container": "", "image": "registry.k8s.io/pause:3.10", "cpu": "total"}]
    cpu_noise = {ctx.series(CADV, "container_cpu_usage_seconds_total", **lb): counter(v)
                 for lb, v in zip(noise, (0.6, 0.01), strict=True) if not ctx.matches("cadvisor_containers", lb)}
    requests = {
        **running(ctx), **resource(ctx, "requests", "cpu", 0.25), **resource(ctx, "requests", "memory", 0.25 * GIB),
        **{ksm(ctx, "kube_pod_status_phase", namespace=ns, pod=done, uid="u-old", phase="Succeeded"): 1},
        **resource(ctx, "requests", "cpu", 2, pod=done, uid="u-old"),
    }
    limits = {**running(ctx), **resource(ctx, "limits", "memory", 0.5 * GIB), **resource(ctx, "limits", "cpu", 1)}
    net = lambda metric, p, per_second, iface="eth0": {  # noqa: E731
        ctx.series(CADV, metric, namespace=ns, pod=p, container="", image="registry.k8s.io/pause:3.10",
                   interface=iface): counter(per_second)}
    host_pod = "node-agent-7xk2q"
    network = {
        **net("container_network_receive_bytes_total", POD, 1024),
        **net("container_network_receive_bytes_total", POD, 0, "tunl0"),
        **net("container_network_receive_bytes_total", host_pod, 50000),
        ksm(ctx, "kube_pod_info", namespace=ns, pod=host_pod, uid="u-host", node=NODE, host_network="true"): 1,
        ksm(ctx, "kube_pod_info", namespace=ns, pod=POD, uid=UID, node=NODE, host_network="false"): 1,
    }
    drops = {
        **net("container_network_receive_packets_total", POD, 50),
        **net("container_network_transmit_packets_total", POD, 40),
        **net("container_network_receive_packets_dropped_total", POD, 6),
        **net("container_network_transmit_packets_dropped_total", POD, 4),
    }
    rs = f"{POD.rsplit('-', 1)[0]}"
    owners = {
        pod_ksm(ctx, "kube_pod_owner", owner_kind="ReplicaSet", owner_name=rs, owner_is_controller="true"): 1,
        ksm(ctx, "kube_replicaset_owner", namespace=ns, replicaset=rs, owner_kind="Deployment",
            owner_name="checkout", owner_is_controller="true"): 1,
        ksm(ctx, "kube_pod_owner", namespace=ns, pod="redis-0", uid="u-redis", owner_kind="StatefulSet",
            owner_name="redis", owner_is_controller="true"): 1,
    }
    return (
        RuleTest(inputs={**cpu_usage(ctx, 0.5), **cpu_noise}, expr=CPU_USAGE, expected=((ctr, 0.5),),
                 note="only real containers count, not the pod cgroup nor the pause container"),
        RuleTest(inputs=requests, expr=REQ, expected=(({**ctr, "resource": "cpu"}, 0.25),
                                                      ({**ctr, "resource": "memory"}, 0.25 * GIB)),
                 note="requests of pods that are no longer Pending or Running are left out"),
        RuleTest(inputs={**requests, **cpu_usage(ctx, 0.5)}, expr=CPU_REQ_RATIO, expected=((ctr, 2),),
                 note="0.5 cores used for 0.25 requested"),
        RuleTest(inputs={**limits, **cpu_usage(ctx, 0.25)}, expr=CPU_LIM_RATIO, expected=((ctr, 0.25),)),
        RuleTest(inputs={**limits, ctr_cadv(ctx, "container_memory_working_set_bytes"): 0.375 * GIB},
                 expr=MEM_LIM_RATIO, expected=((ctr, 0.75),), note="384Mi of a 512Mi limit"),
        RuleTest(inputs={ctr_cadv(ctx, "container_cpu_cfs_throttled_periods_total"): counter(2.5),
                         ctr_cadv(ctx, "container_cpu_cfs_periods_total"): counter(10)},
                 expr=THROTTLE, expected=((ctr, 0.25),)),
        RuleTest(inputs={**requests, **resource(ctx, "requests", "cpu", 1, pod="checkout-2", uid="u-2"),
                         **running(ctx, "checkout-2", "u-2")},
                 expr=NS_REQ, expected=(({"namespace": ns, "resource": "cpu"}, 1.25),
                                        ({"namespace": ns, "resource": "memory"}, 0.25 * GIB))),
        RuleTest(inputs={**allocatable(ctx, "cpu", 4), **allocatable(ctx, "memory", 16 * GIB)}, expr=ALLOC_SUM,
                 expected=(({"resource": "cpu"}, 8), ({"resource": "memory"}, 32 * GIB))),
        RuleTest(inputs={**allocatable(ctx, "cpu", 4)}, expr=ALLOC_MAX, expected=(({"resource": "cpu"}, 4),)),
        RuleTest(inputs=network, expr=NET_RX, expected=((pod, 1024),),
                 note="interfaces summed per pod, hostNetwork pods left out"),
        RuleTest(inputs=drops, expr=NET_DROP_RATIO, expected=((pod, 0.1),), note="10 dropped of 100 offered"),
        RuleTest(inputs={**drops, **net("container_network_receive_packets_dropped_total", POD, 0),
                         **net("container_network_transmit_packets_dropped_total", POD, 0)},
                 expr=NET_DROP_RATIO, expected=((pod, 0),), note="none dropped"),
        RuleTest(inputs={ctr_ksm(ctx, "kube_pod_container_status_restarts_total"): "0+1x{n}"}, expr=RESTARTS,
                 expected=((pod, 5),), note="one restart a minute"),
        RuleTest(inputs=owners, expr=OWNER,
                 expected=(({"namespace": ns, "pod": POD, "workload": "checkout", "workload_type": "deployment"}, 1),
                           ({"namespace": ns, "pod": "redis-0", "workload": "redis", "workload_type": "statefulset"},
                            1)),
                 note="a Deployment's pod is found through its ReplicaSet"),
        RuleTest(inputs={**owners, **cpu_usage(ctx, 0.5), **cpu_usage(ctx, 0.25, container="istio-proxy")},
                 expr=WL_CPU, expected=(({"namespace": ns, "workload": "checkout", "workload_type": "deployment"},
                                         0.75),)),
    )
