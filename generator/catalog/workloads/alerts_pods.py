"""Workload alerts on containers and pods: crash loops, restarts, OOM kills, image pulls, readiness, CPU, memory,
network.

Names follow kubernetes-mixin where it has the alert (KubePodCrashLooping, KubePodNotReady, CPUThrottlingHigh here
ContainerCPUThrottlingHigh to carry a prefix); `for` durations too.
"""

from __future__ import annotations

from generator.catalog.helpers import counter
from generator.catalog.workloads.names import (
    ACTIVE,
    CADV,
    CPU_LIM_RATIO,
    CPU_USAGE,
    CTR,
    GIB,
    KSM,
    MEM_LIM_RATIO,
    MEM_WS,
    NET_DROP_RATIO,
    NET_DROPS,
    NET_PACKETS,
    POD,
    RESTARTS,
    THROTTLE,
)
from generator.catalog.workloads.rules import cpu_usage, ctr_cadv, ctr_ksm, on, pod_ksm, resource, running
from generator.context import Context
from generator.model import Alert, Case
from generator.promql import fmt_number, left_open

GATED = 'reason="SchedulingGated"'


def above(t: float) -> float:
    """A ratio past threshold `t` that stays below 1 (twice the threshold when that fits)."""
    return min(2 * t, (1 + t) / 2)


def alerts(ctx: Context) -> tuple[Alert, ...]:
    return (*_lifecycle(ctx), *_resources(ctx))


def _lifecycle(ctx: Context) -> tuple[Alert, ...]:
    ns = ctx.test_namespace
    k = lambda *m: ctx.sel_ns(KSM, *m)  # noqa: E731
    c = ctx.cluster
    by_ctr, by_pod = ctx.by("namespace", "pod", "container"), ctx.by("namespace", "pod")
    on_ctr, on_pod = on(ctx, "namespace", "pod", "container"), on(ctx, "namespace", "pod")
    ctr = {"namespace": ns, "pod": POD, "container": CTR}
    where = ("container {{ $labels.container }} of pod {{ $labels.namespace }}/{{ $labels.pod }} in cluster "
             "{{ $labels." + c + " }}")
    waiting = lambda reason, v: {ctr_ksm(ctx, "kube_pod_container_status_waiting_reason", reason=reason): v}  # noqa: E731
    restarts = lambda values: {ctr_ksm(ctx, "kube_pod_container_status_restarts_total"): values}  # noqa: E731
    in_ctr = ctx.container_cgroups(ctx.ns_filter)  # OOM events: any container's cgroup, whatever its image
    oom_reason = {ctr_ksm(ctx, "kube_pod_container_status_last_terminated_reason", reason="OOMKilled"): 1}
    often = ctx.threshold("KubeContainerRestartsFrequent", 5)
    crash, pull = 'reason="CrashLoopBackOff"', 'reason=~"ImagePullBackOff|ErrImagePull"'
    other = 'reason!~"CrashLoopBackOff|ImagePullBackOff|ErrImagePull"'
    bad_phase, ready_false = 'phase=~"Pending|Unknown"', 'condition="false"'
    job_owned, oom = 'owner_kind="Job"', 'reason="OOMKilled"'
    # Pending/Unknown, or Running without passing readiness. Failed pods (evicted, or exited for good) are left
    # out: they never become ready again, their controller replaces them, and the mismatch alerts say so.
    # "Running" is read from the Pending|Running record (one series a pod, not kube-state-metrics' phase series
    # again): a not-ready Pending pod is already on the left of the `or`, which keeps it once
    not_ready = (f"(kube_pod_status_phase{k(bad_phase)} == 1) or {on_pod} (kube_pod_status_ready{k(ready_false)} == 1"
                 f" and {on_pod} {ACTIVE})")
    # pods held back on purpose by scheduling gates (spec.schedulingGates) wait for whoever removes the gate
    gated = f'unless {on_pod} (kube_pod_status_reason{k(GATED)} == 1)'
    gate = {pod_ksm(ctx, "kube_pod_status_reason", reason="SchedulingGated"): 1}
    # Job pods are the Job alerts' concern: `unless` the Job-owned ones, which keeps a pod with any other owner,
    # none (kube-state-metrics 2.x: owner_kind="", 1.x: "<none>") or no owner series at all, and reads only those
    jobs = f"unless {on_pod} kube_pod_owner{k(job_owned)}"
    pod_state = lambda phase, ready, kind="ReplicaSet": {  # noqa: E731
        **{pod_ksm(ctx, "kube_pod_status_phase", phase=p): float(p == phase) for p in ("Pending", "Running", "Failed")},
        **{pod_ksm(ctx, "kube_pod_status_ready", condition=cond): float(cond == str(ready).lower())
           for cond in ("true", "false")},
        pod_ksm(ctx, "kube_pod_owner", owner_kind=kind, owner_name="checkout-7d9f8b6c5d",
                owner_is_controller="true"): 1,
    }
    return (
        Alert(
            name="KubePodCrashLooping",
            # in back-off at any scrape of the last 5 minutes (bridges the short runs between back-offs); the
            # sample exactly 5 minutes old is out, as in Prometheus 3, on 2.x too (left_open)
            expr=(f"max {by_ctr} (max_over_time(kube_pod_container_status_waiting_reason{k(crash)}"
                  f"[{left_open('5m')}])) >= 1"),
            for_="15m",
            severity="warning",
            summary="A container is crash looping.",
            description="The " + where + " is in CrashLoopBackOff: it keeps exiting and is restarted with back-off.",
            cases=(Case(waiting("CrashLoopBackOff", 1), fires=True, labels=ctr),
                   Case(waiting("CrashLoopBackOff", 0), fires=False),
                   # back-off, a few minutes running, back-off again: one episode, pending from the first sample
                   Case(waiting("CrashLoopBackOff", "1 1 stale _x3 1 1 stale _x2 1x{n}"), fires=True, labels=ctr,
                        note="running up to 5 minutes between back-offs"),
                   # last in back-off 5 minutes before the evaluation, gone a minute later: quiet, whichever side
                   # of the window that sample falls on (and whatever `for` a site patches in)
                   Case(waiting("CrashLoopBackOff", "1x{t-5} stale"), fires=False, lookback="10m",
                        note="5 minutes after the back-off ended")),
            meaning="The container exited repeatedly and the kubelet now waits (up to 5 minutes) between restarts.",
            impact="The pod serves nothing or intermittently; a Deployment rollout including it stalls.",
            diagnosis=(f"{RESTARTS}{{namespace=\"<namespace>\"}}",
                       f'kube_pod_container_status_last_terminated_reason{k()}'),
            mitigation=("Read the previous container's logs: `kubectl logs -p <pod> -c <container>`.",
                        "Check the exit code and reason (OOMKilled, Error) with `kubectl describe pod`; fix the "
                        "configuration, the probe or the limits, or roll back."),
        ),
        Alert(
            name="KubeContainerRestartsFrequent",
            expr=f"sum {by_ctr} (increase(kube_pod_container_status_restarts_total{k()}[1h])) > {fmt_number(often)}",
            for_="5m",
            severity="warning",
            threshold=often,
            summary="A container restarts often.",
            description="The " + where + ' restarted {{ printf "%.0f" $value }} times in the last hour.',
            cases=(Case(restarts(counter(2 * often / 3600)), fires=True, labels=ctr, value=2 * often, lookback="1h"),
                   Case(restarts(counter(often / 2 / 3600)), fires=False, lookback="1h")),
            meaning="The container restarted more times in an hour than the threshold, even if it is not in "
                    "back-off at this moment.",
            impact="Requests in flight are lost at each restart; caches and connections start cold.",
            diagnosis=(f"{RESTARTS}", f"kube_pod_container_status_last_terminated_reason{k()}"),
            mitigation=("Find the reason of the last termination (`kubectl describe pod`): OOMKilled → raise the "
                        "memory limit; liveness probe failures → relax the probe; errors → read `kubectl logs -p`.",),
        ),
        Alert(
            name="KubeContainerOOMKilled",
            expr=(f"(sum {by_ctr} (increase(kube_pod_container_status_restarts_total{k()}[10m])) >= 1)"
                  f" and {on_ctr} (max {by_ctr} (kube_pod_container_status_last_terminated_reason{k(oom)}) == 1)"),
            for_="0m",
            severity="warning",
            summary="A container was OOM killed.",
            description="The " + where + " was killed for exceeding its memory limit (OOMKilled) and restarted "
                        "in the last 10 minutes.",
            cases=(Case({**restarts("0+0x5 1+0x{n}"), **oom_reason}, fires=True, lookback="10m", labels=ctr),
                   Case({**restarts("1+0x{n}"), **oom_reason}, fires=False,
                        lookback="10m", note="an OOM kill long ago")),
            meaning="The container's last termination was an OOM kill and it restarted within 10 minutes.",
            impact="The process lost its state and in-flight work; repeated kills become a crash loop.",
            diagnosis=(f"{MEM_LIM_RATIO}", f"{MEM_WS}"),
            mitigation=("Raise the memory limit or lower the application's memory use (heap size, caches).",
                        "Compare the working set before the kill with the limit on the workload dashboard."),
        ),
        Alert(
            name="ContainerOOMEvents",
            expr=f"sum {by_ctr} (increase(container_oom_events_total{in_ctr}[10m])) > 0",
            for_="0m",
            severity="warning",
            summary="The OOM killer fired inside a container.",
            description="The kernel OOM killer killed a process in the " + where + " in the last 10 minutes.",
            cases=(Case({ctr_cadv(ctx, "container_oom_events_total"): "0+0x5 1+0x{n}"}, fires=True,
                        lookback="10m", labels=ctr),
                   Case({ctr_cadv(ctx, "container_oom_events_total"): "1+0x{n}"}, fires=False, lookback="10m")),
            meaning="cAdvisor counted an OOM event in the container's cgroup: a process in it hit the memory limit. "
                    "When it was not the main process the container does not restart and nothing else shows it.",
            impact="A worker process or child died; the application may be degraded without restarting.",
            diagnosis=(f"{MEM_LIM_RATIO}", f"increase(container_oom_events_total{in_ctr}[1h])"),
            mitigation=("Raise the memory limit, or bound the memory of the processes the container forks.",),
        ),
        Alert(
            name="KubeContainerImagePullBackOff",
            expr=f"max {by_ctr} (max_over_time(kube_pod_container_status_waiting_reason{k(pull)}[5m])) >= 1",
            for_="10m",
            severity="warning",
            summary="A container image cannot be pulled.",
            description="The image of the " + where + " cannot be pulled (ErrImagePull / ImagePullBackOff).",
            cases=(Case(waiting("ImagePullBackOff", 1), fires=True, labels=ctr),
                   Case(waiting("ErrImagePull", 1), fires=True, labels=ctr, note="the reason before back-off"),
                   Case(waiting("ImagePullBackOff", 0), fires=False)),
            meaning="The kubelet fails to pull the container image and retries with back-off.",
            impact="The pod never starts; a rollout that needs it stalls.",
            diagnosis=(f"kube_pod_container_status_waiting_reason{k(pull)}",),
            mitigation=("Check the image name and tag, the registry's reachability from the node, and the "
                        "imagePullSecrets (`kubectl describe pod` shows the pull error).",),
        ),
        Alert(
            name="KubeContainerWaiting",
            expr=f"max {ctx.by('namespace', 'pod', 'container', 'reason')} "
                 f"(kube_pod_container_status_waiting_reason{k(other)}) >= 1",
            for_="1h",
            severity="warning",
            summary="A container has been waiting for more than an hour.",
            description="The " + where + " has been waiting for an hour ({{ $labels.reason }}).",
            cases=(Case(waiting("ContainerCreating", 1), fires=True, labels={**ctr, "reason": "ContainerCreating"}),
                   Case(waiting("ContainerCreating", 0), fires=False)),
            meaning="The container stays in the Waiting state for a reason other than crash or image back-off "
                    "(ContainerCreating, CreateContainerConfigError, …).",
            impact="The pod does not run.",
            diagnosis=(f"kube_pod_container_status_waiting_reason{k()} == 1",),
            mitigation=("`kubectl describe pod` lists the events: missing ConfigMap/Secret, volume that cannot "
                        "attach, sandbox (CNI) errors.",),
        ),
        Alert(
            name="KubePodNotReady",
            expr=f"max {by_pod} ({not_ready}) {jobs} {gated}",
            for_="15m",
            severity="warning",
            summary="A pod has not been ready for more than 15 minutes.",
            description="Pod {{ $labels.namespace }}/{{ $labels.pod }} in cluster {{ $labels." + c
                        + " }} has not been ready for 15 minutes.",
            cases=(Case(pod_state("Pending", False), fires=True, labels={"namespace": ns, "pod": POD}),
                   Case(pod_state("Running", False), fires=True, labels={"namespace": ns, "pod": POD},
                        note="running but failing its readiness probe"),
                   Case(pod_state("Pending", False, ""), fires=True, labels={"namespace": ns, "pod": POD},
                        note="a bare pod (owner_kind=\"\", as kube-state-metrics 2.x writes it)"),
                   Case(pod_state("Running", True), fires=False),
                   Case(pod_state("Pending", False, "Job"), fires=False, note="Job pods are the Job alerts' concern"),
                   Case(pod_state("Failed", False), fires=False, note="an evicted pod: its ReplicaSet replaces it"),
                   Case({**pod_state("Pending", False), **gate}, fires=False, note="held by a scheduling gate")),
            meaning="The pod is Pending or Unknown, or Running without passing its readiness probe. Failed pods "
                    "(evicted, or exited for good) are left out on purpose: they never turn ready, their controller "
                    "replaces them and KubeDeploymentReplicasMismatch / KubeStatefulSetReplicasMismatch report the "
                    "gap. Pods held by scheduling gates are left out: something removes the gate when it is time.",
            impact="The pod receives no Service traffic; its workload runs below its desired capacity.",
            diagnosis=(f"kube_pod_status_phase{k()} == 1", f"kube_pod_status_ready{k(ready_false)} == 1",
                       f"kube_pod_status_unschedulable{k()}"),
            mitigation=("Pending: look at scheduling events (`kubectl describe pod`): not enough CPU/memory, "
                        "taints, unbound claims.", "Running but not ready: check the readiness probe and the "
                        "application's dependencies."),
        ),
    )


def _resources(ctx: Context) -> tuple[Alert, ...]:
    ns = ctx.test_namespace
    c = ctx.cluster
    ctr = {"namespace": ns, "pod": POD, "container": CTR}
    where = ("container {{ $labels.container }} of pod {{ $labels.namespace }}/{{ $labels.pod }} in cluster "
             "{{ $labels." + c + " }}")
    throttle = ctx.threshold("ContainerCPUThrottlingHigh", 0.25)
    mem = ctx.threshold("ContainerMemoryNearLimit", 0.9)
    cpu = ctx.threshold("ContainerCPUNearLimit", 0.9)
    drops = ctx.threshold("PodNetworkDropsHigh", 0.01)
    periods = lambda share: {  # noqa: E731 - 10 CFS periods a second (the default 100ms period)
        ctr_cadv(ctx, "container_cpu_cfs_throttled_periods_total"): counter(10 * share),
        ctr_cadv(ctx, "container_cpu_cfs_periods_total"): counter(10),
    }
    working_set = lambda share: {  # noqa: E731
        **running(ctx), **resource(ctx, "limits", "memory", GIB),
        ctr_cadv(ctx, "container_memory_working_set_bytes"): round(GIB * share)}
    on_cpu = lambda share: {**running(ctx), **resource(ctx, "limits", "cpu", 1), **cpu_usage(ctx, share)}  # noqa: E731
    net = lambda metric, per_second: {  # noqa: E731
        ctx.series(CADV, metric, namespace=ns, pod=POD, container="", image="registry.k8s.io/pause:3.10",
                   interface="eth0"): counter(per_second)}
    # 1000 packets a second offered; `share` of all packets dropped, half on each direction
    dropping = lambda share: {  # noqa: E731
        **net("container_network_receive_packets_total", 600), **net("container_network_transmit_packets_total", 400),
        **net("container_network_receive_packets_dropped_total", 500 * share / (1 - share)),
        **net("container_network_transmit_packets_dropped_total", 500 * share / (1 - share)),
    }
    return (
        Alert(
            name="ContainerCPUThrottlingHigh",
            expr=f"{ctx.in_namespaces(THROTTLE)} > {fmt_number(throttle)}",
            for_="15m",
            severity="info",
            threshold=throttle,
            summary="A container is throttled by its CPU limit.",
            description="{{ $value | humanizePercentage }} of the CPU periods of the " + where + " are throttled.",
            cases=(Case(periods(above(throttle)), fires=True, labels=ctr, value=above(throttle)),
                   Case(periods(throttle / 2), fires=False),
                   Case({**periods(above(throttle)),
                         ctr_cadv(ctx, "container_cpu_cfs_periods_total", endpoint="https-metrics-2"): counter(10)},
                        fires=True, labels=ctr, value=above(throttle),
                        note="the same counters scraped twice do not halve the ratio")),
            meaning="In a share of CFS periods above the threshold the container used up its CPU quota and waited.",
            impact="Latency rises even when the node has idle CPU: requests wait for the next period.",
            diagnosis=(f"{THROTTLE}", f"{CPU_LIM_RATIO}", f"{CPU_USAGE}"),
            mitigation=("Raise or remove the CPU limit, or spread the load over more replicas.",),
        ),
        Alert(
            name="ContainerMemoryNearLimit",
            expr=f"{ctx.in_namespaces(MEM_LIM_RATIO)} > {fmt_number(mem)}",
            for_="15m",
            severity="warning",
            threshold=mem,
            summary="A container's memory is close to its limit.",
            description="The " + where + " uses {{ $value | humanizePercentage }} of its memory limit.",
            cases=(Case(working_set(above(mem)), fires=True, labels=ctr, value=round(GIB * above(mem)) / GIB),
                   Case(working_set(mem / 2), fires=False)),
            meaning="The working set (what the kernel cannot reclaim easily) is close to the memory limit.",
            impact="The next allocation peak gets the container OOM killed.",
            diagnosis=(f"{MEM_LIM_RATIO}", f"{MEM_WS}"),
            mitigation=("Raise the memory limit, or find the growth (leak, cache) on the workload dashboard.",),
        ),
        Alert(
            name="ContainerCPUNearLimit",
            expr=f"{ctx.in_namespaces(CPU_LIM_RATIO)} > {fmt_number(cpu)}",
            for_="15m",
            severity="info",
            threshold=cpu,
            summary="A container uses nearly all of its CPU limit.",
            description="The " + where + " uses {{ $value | humanizePercentage }} of its CPU limit.",
            cases=(Case(on_cpu(above(cpu)), fires=True, lookback="5m", labels=ctr, value=above(cpu)),
                   Case(on_cpu(cpu / 2), fires=False, lookback="5m")),
            meaning="CPU usage averaged over 5 minutes is close to the limit.",
            impact="Bursts are throttled; latency follows the throttling ratio.",
            diagnosis=(f"{CPU_LIM_RATIO}", f"{THROTTLE}"),
            mitigation=("Raise the CPU limit or scale out.",),
        ),
        Alert(
            name="PodNetworkDropsHigh",
            expr=f"{ctx.in_namespaces(NET_DROP_RATIO)} > {fmt_number(drops)}",
            for_="15m",
            severity="warning",
            threshold=drops,
            summary="A pod drops network packets.",
            description="Pod {{ $labels.namespace }}/{{ $labels.pod }} in cluster {{ $labels." + c
                        + " }} drops {{ $value | humanizePercentage }} of its packets.",
            cases=(Case(dropping(above(drops)), fires=True, labels={"namespace": ns, "pod": POD}, value=above(drops)),
                   Case(dropping(drops / 2), fires=False)),
            meaning="The pod's interfaces drop a share of packets above the threshold (both directions).",
            impact="TCP retransmits add latency; UDP (DNS) queries are lost.",
            diagnosis=(f"{NET_DROPS}", f"{NET_PACKETS}", f"{NET_DROP_RATIO}"),
            mitigation=("Check the node's network drops and the CNI plugin; a pod receiving faster than it reads "
                        "fills its socket buffers — give it more CPU.",),
        ),
    )
