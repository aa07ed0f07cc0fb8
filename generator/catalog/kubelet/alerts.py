"""Kubelet alerts: scrape targets (all down or vanished, one down, many down), pods per node, PLEG, pod start
latency, container runtime calls, client and serving certificates, evictions. The volume alerts are in volumes."""

from __future__ import annotations

from generator.catalog import targets
from generator.catalog.helpers import counter, gauge_ramp, quantile_cases
from generator.catalog.kubelet.names import (
    CLIENT_RENEW_ERR,
    CLIENT_TTL,
    CONTAINERS,
    DEF_BUCKETS,
    EVICTIONS,
    INSTANCE,
    KSM,
    NODE,
    OPS_ERR_RATIO,
    OPS_Q,
    PLEG_LAST_SEEN,
    PLEG_Q,
    POD_START_BUCKETS,
    PODS,
    PODS_RATIO,
    RUNTIME_BUCKETS,
    SERVER_RENEW_ERR,
    SERVER_TTL,
    SRC,
    START_Q,
    UP,
    WORKLOAD_OPS,
)
from generator.catalog.kubelet.rules import kubelet, node_name
from generator.context import TEST_CLUSTER, Context
from generator.model import Alert, Case
from generator.promql import fmt_number, format_duration


def alerts(ctx: Context) -> tuple[Alert, ...]:
    c = ctx.cluster
    on_node = " on node {{ $labels.node }} (cluster {{ $labels." + c + " }})"
    nd = {"node": NODE}
    return (
        *scrape_alerts(ctx),
        *_pod_alerts(ctx, on_node, nd),
        *runtime_alerts(ctx, on_node, nd),
        *cert_alerts(ctx, "client", CLIENT_TTL, CLIENT_RENEW_ERR,
                            "kubelet_certificate_manager_client_ttl_seconds",
                            "kubelet_certificate_manager_client_expiration_renew_errors", on_node),
        *cert_alerts(ctx, "server", SERVER_TTL, SERVER_RENEW_ERR,
                            "kubelet_certificate_manager_server_ttl_seconds",
                            "kubelet_server_expiration_renew_errors", on_node),
        Alert(
            name="KubeletEvictions",
            expr=f"{EVICTIONS} > 0",
            for_="0m",
            severity="info",
            summary="Kubelet is evicting pods.",
            description="The kubelet" + on_node + " is evicting pods because of {{ $labels.eviction_signal }}.",
            cases=(Case(kubelet(ctx, "kubelet_evictions", counter(1 / 60), eviction_signal="memory.available"),
                        fires=True, labels={**nd, "eviction_signal": "memory.available"}),
                   Case(kubelet(ctx, "kubelet_evictions", 2, eviction_signal="memory.available"), fires=False)),
            meaning="The node crossed an eviction threshold (memory, disk, inodes, PIDs) and the kubelet evicts pods.",
            impact="Evicted pods stop and are rescheduled elsewhere if they have a controller; bare pods are lost.",
            diagnosis=(f"{EVICTIONS} > 0", 'kube_node_status_condition{condition=~".*Pressure",status="true"} == 1'),
            mitigation=("Find what fills the node (`kubectl top pods -A --sort-by=memory`, images, logs) and set "
                        "requests and limits so the scheduler does not overpack it.",),
        ),
    )


def _pod_alerts(ctx: Context, on_node: str, nd: dict[str, str]) -> tuple[Alert, ...]:
    pods = ctx.threshold("KubeletTooManyPods", 0.95)
    pleg = ctx.threshold("KubeletPlegDurationHigh", 10)
    pleg_age = ctx.threshold("KubeletPlegNotHealthy", 180)
    start = ctx.threshold("KubeletPodStartUpLatencyHigh", 60)
    capacity = 1000
    fire_pods = round(capacity * (1 + pods) / 2)
    pods_in = lambda n: {**kubelet(ctx, "kubelet_running_pods", n),  # noqa: E731
                         ctx.series(KSM, "kube_node_status_capacity", node=NODE, resource="pods",
                                    unit="integer"): capacity}
    pleg_slow = quantile_cases(ctx, "KubeletPlegDurationHigh", DEF_BUCKETS, pleg, ">=")
    start_slow = quantile_cases(ctx, "KubeletPodStartUpLatencyHigh", POD_START_BUCKETS, start)
    pleg_hist = lambda o: {**ctx.histogram(  # noqa: E731
        SRC, "kubelet_pleg_relist_duration_seconds", DEF_BUCKETS, o, 2, instance=INSTANCE), **node_name(ctx)}
    start_hist = lambda o: {**ctx.histogram(  # noqa: E731
        SRC, "kubelet_pod_start_duration_seconds", POD_START_BUCKETS, o, 2, instance=INSTANCE), **node_name(ctx)}
    q99 = {**nd, "quantile": "0.99"}
    return (
        Alert(
            name="KubeletTooManyPods",
            expr=f"{PODS_RATIO} > {fmt_number(pods)}",
            for_="15m",
            severity="info",
            threshold=pods,
            summary="Kubelet is running at capacity.",
            description="The kubelet" + on_node + " runs {{ $value | humanizePercentage }} of its pod capacity.",
            cases=(Case(pods_in(fire_pods), fires=True, labels=nd, value=fire_pods / capacity),
                   Case(pods_in(round(capacity * pods / 2)), fires=False)),
            meaning="The node runs nearly as many pods as its max-pods setting allows.",
            impact="New pods cannot be scheduled to this node; a rollout may stall if every node is full.",
            diagnosis=(f"{PODS_RATIO} > 0.9", f"{PODS}"),
            mitigation=("Add nodes or raise `maxPods` in the kubelet configuration (mind the pod CIDR size).",),
        ),
        Alert(
            name="KubeletPlegDurationHigh",
            expr=f'{PLEG_Q}{{quantile="0.99"}} >= {fmt_number(pleg)}',
            for_="5m",
            severity="warning",
            threshold=pleg,
            summary="Kubelet Pod Lifecycle Event Generator is taking too long to relist.",
            description="The kubelet" + on_node + " takes {{ $value | humanizeDuration }} (p99) to relist pods.",
            cases=(Case(pleg_hist(pleg_slow.fire), fires=True, labels=q99, value=pleg_slow.value),
                   Case(pleg_hist(pleg_slow.quiet), fires=False)),
            meaning="Listing pods and containers from the container runtime is slow.",
            impact="Pod state changes reach the API late; past 3 minutes without a relist the node turns NotReady.",
            diagnosis=(f'{PLEG_Q}{{quantile="0.99"}}', f'{OPS_Q}{{quantile="0.99"}}', f"{CONTAINERS}"),
            mitigation=("Check the runtime (containerd/CRI-O) health and logs on the node and its disk I/O.",
                        "Too many (exited) containers slow relisting down: check garbage collection."),
        ),
        Alert(
            name="KubeletPlegNotHealthy",
            expr=f"time() - {PLEG_LAST_SEEN} > {fmt_number(pleg_age)}",
            for_="5m",
            severity="warning",
            threshold=pleg_age,
            summary="Kubelet Pod Lifecycle Event Generator has stopped relisting.",
            # no $value: the age grows with the evaluation time, which depends on `for`
            description="The kubelet" + on_node + " has not completed a PLEG relist for more than "
                        + format_duration(pleg_age) + ".",
            cases=(Case(kubelet(ctx, "kubelet_pleg_last_seen_seconds", 0), fires=True, labels=nd,
                        lookback=format_duration(max(600, 2 * pleg_age)), note="stuck since the start"),
                   # the timestamp keeps up with the clock, one sample ahead so 1-minute sampling shows no age
                   Case(kubelet(ctx, "kubelet_pleg_last_seen_seconds", gauge_ramp(60, 60)), fires=False)),
            meaning="The kubelet's PLEG has not finished a relist of the container runtime for longer than the "
                    "threshold (the kubelet itself reports 'PLEG is not healthy' after 3 minutes).",
            impact="The node goes NotReady; pods are not started, stopped or updated.",
            diagnosis=(f"time() - {PLEG_LAST_SEEN}", f'{OPS_Q}{{quantile="0.99"}}'),
            mitigation=("Check the container runtime on the node (`crictl ps`, runtime logs); restart it, then "
                        "the kubelet, if it hangs.",),
        ),
        Alert(
            name="KubeletPodStartUpLatencyHigh",
            expr=f'{START_Q}{{quantile="0.99"}} > {fmt_number(start)}',
            for_="15m",
            severity="warning",
            threshold=start,
            summary="Kubelet pod startup latency is too high.",
            description="Pods" + on_node + " take {{ $value | humanizeDuration }} (p99) to start.",
            cases=(Case(start_hist(start_slow.fire), fires=True, labels=q99, value=start_slow.value),
                   Case(start_hist(start_slow.quiet), fires=False)),
            meaning="The 99th percentile time from the kubelet seeing a pod to its containers running is above the "
                    "threshold. Image pulls are included. Stereo reads kubelet_pod_start_duration_seconds (buckets "
                    "up to 1 h) on purpose, not kubernetes-mixin's kubelet_pod_worker_duration_seconds: that "
                    "histogram has the default buckets ending at 10 s, so its p99 can never pass a 60 s threshold "
                    "on a real kubelet.",
            impact="Rollouts and scale-ups are slow on this node.",
            diagnosis=(f'{START_Q}{{quantile="0.99"}}', f'{OPS_Q}{{operation_type=~"pull_image|run_podsandbox"}}'),
            mitigation=("Large images: pre-pull or slim them; slow sandbox creation: check the CNI plugin.",),
        ),
    )


def scrape_alerts(ctx: Context) -> tuple[Alert, ...]:
    c = ctx.cluster
    s = ctx.sel(SRC)
    up = lambda i, v: {ctx.series(SRC, "up", instance=f"10.0.0.{i}:10250", node=f"node-{i}"): v}  # noqa: E731
    many = ctx.threshold("KubeletManyDown", 0.1)
    node_info = lambda cluster: {  # noqa: E731
        ctx.series(KSM, "kube_node_info", node="node-1", **{ctx.cluster: cluster}): 1}
    targets_n = 20
    fire_down, quiet_down = int(targets_n * many) + 1, int(targets_n * many / 2)
    fleet = lambda down: {key: v for i in range(1, targets_n + 1)  # noqa: E731
                          for key, v in up(i, 0 if i <= down else 1).items()}
    return (
        Alert(
            name="KubeletDown",
            down=True,
            expr=targets.down_expr(ctx, SRC, anchor=f"kube_node_info{ctx.sel(KSM)}"),
            for_="15m",
            severity="critical",
            summary="No kubelet target is up, or the kubelets have disappeared from Prometheus target discovery.",
            description="No kubelet is up or discovered in cluster {{ $labels." + c + " }}.",
            cases=(Case({**up(1, 0), **up(2, 0)}, fires=True, note="every kubelet down"),
                   Case({**up(1, 0), **up(2, 1)}, fires=False, note="one down is KubeletInstanceDown's"),
                   *targets.anchored_cases(ctx, node_info(TEST_CLUSTER), up(1, 1), node_info(targets.OTHER_CLUSTER))),
            meaning="Prometheus scrapes no kubelet that answers, or the cluster has nodes (kube_node_info) but no "
                    "kubelet target at all: they left service discovery. A cluster without nodes expects none.",
            impact="Every kubelet, cAdvisor and volume metric of the cluster is missing: container CPU, memory, "
                   "OOM and volume alerts are blind. If the kubelets are really down, nodes turn NotReady.",
            diagnosis=(f"up{s}", 'kube_node_status_condition{condition="Ready",status="true"} == 0'),
            mitigation=("Check whether the nodes are Ready (`kubectl get nodes`): Ready nodes mean a monitoring "
                        "path problem (RBAC for nodes/metrics, kubelet serving certificates, firewall to 10250).",
                        targets.VANISHED_MITIGATION),
        ),
        Alert(
            name="KubeletInstanceDown",
            down=True,
            # the `node` target label is there with prometheus-operator; `instance` identifies the target otherwise
            expr=f"max {ctx.by('instance', 'node')} (up{s}) == 0",
            for_="15m",
            severity="warning",
            summary="A kubelet cannot be scraped.",
            description="Prometheus cannot scrape the kubelet {{ $labels.instance }} (node {{ $labels.node }}) in "
                        "cluster {{ $labels." + c + " }}.",
            cases=(Case(up(1, 0), fires=True, labels={"instance": "10.0.0.1:10250", "node": "node-1"}),
                   Case(up(1, 1), fires=False)),
            meaning="The kubelet's /metrics endpoint does not answer Prometheus." + targets.INHIBITED_MEANING,
            impact="The node's kubelet, cAdvisor and volume metrics are missing; if the kubelet itself is down the "
                   "node turns NotReady and its pods are evicted after the toleration timeout.",
            diagnosis=(f"up{s} == 0", 'kube_node_status_condition{condition="Ready",status="true"} == 0'),
            mitigation=("On the node: `systemctl status kubelet`, `journalctl -u kubelet`.",
                        "If the node is Ready, check the scrape path: firewall to port 10250, the Prometheus "
                        "ServiceAccount's RBAC for nodes/metrics, the kubelet serving certificate."),
        ),
        Alert(
            name="KubeletManyDown",
            down=True,
            expr=f"1 - {UP} > {fmt_number(many)}",
            for_="15m",
            severity="critical",
            threshold=many,
            summary="Many kubelets cannot be scraped.",
            description="{{ $value | humanizePercentage }} of the kubelet targets in cluster {{ $labels." + c
                        + " }} are down.",
            cases=(Case(fleet(fire_down), fires=True, value=1 - (targets_n - fire_down) / targets_n),
                   Case(fleet(quiet_down), fires=False)),
            meaning="A share of kubelet scrape targets above the threshold is down at once.",
            impact="Usually a cluster-wide cause: network, certificates, RBAC of the scraper, or many failed nodes.",
            diagnosis=(f"{UP}", f"up{s} == 0"),
            mitigation=("Check whether the nodes are NotReady too (node problem) or only unscrapeable "
                        "(monitoring path problem) and follow KubeletInstanceDown's runbook.",),
        ),
    )


def runtime_alerts(ctx: Context, on_node: str, nd: dict[str, str]) -> tuple[Alert, ...]:
    c = ctx.cluster
    err = ctx.threshold("KubeletRuntimeErrorsHigh", 0.05)
    latency = ctx.threshold("KubeletRuntimeLatencyHigh", 10)
    ops = lambda op, errors: {  # noqa: E731
        **kubelet(ctx, "kubelet_runtime_operations_total", counter(10), operation_type=op),
        **kubelet(ctx, "kubelet_runtime_operations_errors_total", counter(10 * errors), operation_type=op),
    }
    slow = quantile_cases(ctx, "KubeletRuntimeLatencyHigh", RUNTIME_BUCKETS, latency)
    lat_hist = lambda o, op="container_status": {**ctx.histogram(  # noqa: E731
        SRC, "kubelet_runtime_operations_duration_seconds", RUNTIME_BUCKETS, o, 2, instance=INSTANCE,
        operation_type=op), **node_name(ctx)}
    return (
        Alert(
            name="KubeletRuntimeErrorsHigh",
            expr=f'{OPS_ERR_RATIO}{{operation_type!~"{WORKLOAD_OPS}"}} > {fmt_number(err)}',
            for_="15m",
            severity="warning",
            threshold=err,
            summary="Container runtime calls from the kubelet fail.",
            description="{{ $value | humanizePercentage }} of {{ $labels.operation_type }} calls to the container "
                        "runtime" + on_node + " fail.",
            cases=(Case(ops("create_container", err * 2), fires=True,
                        labels={**nd, "operation_type": "create_container"}, value=err * 2),
                   Case(ops("create_container", err / 2), fires=False),
                   Case(ops("pull_image", 1), fires=False, note="image pull failures belong to the workload")),
            meaning="A share of CRI calls of one kind above the threshold fails (image pulls, exec and graceful "
                    "stops are left out: their failures are the workload's).",
            impact="Pods fail to start, stop or report status on this node.",
            diagnosis=(f"{OPS_ERR_RATIO} > 0", f'{OPS_Q}{{quantile="0.99"}}'),
            mitigation=("Read the kubelet and runtime logs on the node (`journalctl -u kubelet -u containerd`).",
                        "Check the runtime's disk (image and snapshot filesystem) and restart the runtime if stuck."),
        ),
        Alert(
            name="KubeletRuntimeLatencyHigh",
            expr=f'{OPS_Q}{{quantile="0.99",operation_type!~"{WORKLOAD_OPS}"}} > {fmt_number(latency)}',
            for_="15m",
            severity="warning",
            threshold=latency,
            summary="Container runtime calls from the kubelets are slow.",
            description="{{ $labels.operation_type }} calls to the container runtime in cluster {{ $labels." + c
                        + " }} take {{ $value | humanizeDuration }} (p99).",
            cases=(Case(lat_hist(slow.fire), fires=True, labels={"operation_type": "container_status",
                                                               "quantile": "0.99"}, value=slow.value),
                   Case(lat_hist(slow.quiet), fires=False),
                   Case(lat_hist(slow.fire, "pull_image"), fires=False, note="image pulls may be slow")),
            meaning="The 99th percentile duration of one kind of CRI call across the cluster is above the threshold.",
            impact="PLEG relists, pod starts and status updates slow down; nodes may turn NotReady.",
            diagnosis=(f'{OPS_Q}{{quantile="0.99"}}',
                       f"histogram_quantile(0.99, sum by (instance, le) "
                       f"(rate(kubelet_runtime_operations_duration_seconds_bucket{ctx.sel(SRC)}[5m])))"),
            mitigation=("Find the slow nodes with the per-instance query and check their disk I/O and runtime load.",),
        ),
    )


def cert_alerts(ctx: Context, kind: str, ttl: str, renew: str, ttl_metric: str, renew_metric: str,
                 on_node: str) -> tuple[Alert, ...]:
    title = kind.capitalize()
    which = "client certificate (used to talk to the API server)" if kind == "client" else \
        "serving certificate (presented on port 10250)"
    nd = {"node": NODE}
    out = []
    for suffix, severity, default in (("", "warning", 7 * 86400), ("Critical", "critical", 86400)):
        name = f"Kubelet{title}CertExpiring{suffix}"
        t = ctx.threshold(name, default)
        out.append(Alert(
            name=name,
            expr=f"{ttl} < {fmt_number(t)}",
            for_="0m",
            severity=severity,
            threshold=t,
            summary=f"Kubelet {kind} certificate is about to expire.",
            description=f"The kubelet {kind} certificate" + on_node + " expires in {{ $value | humanizeDuration }}.",
            cases=(Case(kubelet(ctx, ttl_metric, t / 2), fires=True, labels=nd, value=t / 2),
                   Case(kubelet(ctx, ttl_metric, t * 2), fires=False)),
            meaning=f"The kubelet's {which} expires within {format_duration(t)}.",
            impact="An expired client certificate cuts the node off the API server (NotReady); an expired serving "
                   "certificate breaks logs, exec and metrics scraping.",
            diagnosis=(f"{ttl}", f"{renew} > 0"),
            mitigation=("Check certificate rotation (`rotateCertificates` / `serverTLSBootstrap`) and pending CSRs: "
                        "`kubectl get csr`; approve kubelet-serving CSRs if no approver runs.",),
        ))
    out.append(Alert(
        name=f"Kubelet{title}CertRenewalErrors",
        expr=f"{renew} > 0",
        for_="15m",
        severity="warning",
        summary=f"Kubelet has failed to renew its {kind} certificate.",
        description="The kubelet" + on_node + f" keeps failing to renew its {kind} certificate.",
        cases=(Case(kubelet(ctx, renew_metric, counter(1 / 60)), fires=True, labels=nd),
               Case(kubelet(ctx, renew_metric, 3), fires=False)),
        meaning=f"The kubelet's certificate manager fails to renew the {which}.",
        impact="Nothing yet; the certificate expires if renewal keeps failing.",
        diagnosis=(f"{renew}", f"{ttl}"),
        mitigation=("Read the kubelet log for certificate_manager errors; check `kubectl get csr` and the CSR "
                    "approver/signer.",),
    ))
    return tuple(out)
