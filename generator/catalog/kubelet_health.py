"""Kubelet health: scrape targets (all down or vanished, one down, many down), container runtime calls,
client and serving certificates. Builders for kubelet.py, which assembles the component."""

from __future__ import annotations

from generator.catalog import kubelet as k
from generator.catalog import targets
from generator.catalog.helpers import counter, fire_obs, quiet_obs
from generator.context import TEST_CLUSTER, Context
from generator.model import Alert, Case
from generator.promql import fmt_number, format_duration


def scrape_alerts(ctx: Context) -> tuple[Alert, ...]:
    c = ctx.cluster
    s = ctx.sel(k.SRC)
    up = lambda i, v: {ctx.series(k.SRC, "up", instance=f"10.0.0.{i}:10250", node=f"node-{i}"): v}  # noqa: E731
    many = ctx.threshold("KubeletManyDown", 0.1)
    node_info = lambda cluster: {  # noqa: E731
        ctx.series(k.KSM, "kube_node_info", node="node-1", **{ctx.cluster: cluster}): 1}
    targets_n = 20
    fire_down, quiet_down = int(targets_n * many) + 1, int(targets_n * many / 2)
    fleet = lambda down: {key: v for i in range(1, targets_n + 1)  # noqa: E731
                          for key, v in up(i, 0 if i <= down else 1).items()}
    return (
        Alert(
            name="KubeletDown",
            down=True,
            expr=targets.down_expr(ctx, k.SRC, anchor=f"kube_node_info{ctx.sel(k.KSM)}"),
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
            expr=f"1 - {k.UP} > {fmt_number(many)}",
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
            diagnosis=(f"{k.UP}", f"up{s} == 0"),
            mitigation=("Check whether the nodes are NotReady too (node problem) or only unscrapeable "
                        "(monitoring path problem) and follow KubeletInstanceDown's runbook.",),
        ),
    )


def runtime_alerts(ctx: Context, on_node: str, nd: dict[str, str]) -> tuple[Alert, ...]:
    c = ctx.cluster
    err = ctx.threshold("KubeletRuntimeErrorsHigh", 0.05)
    latency = ctx.threshold("KubeletRuntimeLatencyHigh", 10)
    ops = lambda op, errors: {  # noqa: E731
        **k.kubelet(ctx, "kubelet_runtime_operations_total", counter(10), operation_type=op),
        **k.kubelet(ctx, "kubelet_runtime_operations_errors_total", counter(10 * errors), operation_type=op),
    }
    lat_obs, lat_q = fire_obs(k.RUNTIME_BUCKETS, latency)
    lat_hist = lambda o, op="container_status": k.kubelet_histogram(  # noqa: E731
        ctx, "kubelet_runtime_operations_duration_seconds", k.RUNTIME_BUCKETS, o, operation_type=op)
    return (
        Alert(
            name="KubeletRuntimeErrorsHigh",
            expr=f'{k.OPS_ERR_RATIO}{{operation_type!~"{k.WORKLOAD_OPS}"}} > {fmt_number(err)}',
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
            diagnosis=(f"{k.OPS_ERR_RATIO} > 0", f'{k.OPS_Q}{{quantile="0.99"}}'),
            mitigation=("Read the kubelet and runtime logs on the node (`journalctl -u kubelet -u containerd`).",
                        "Check the runtime's disk (image and snapshot filesystem) and restart the runtime if stuck."),
        ),
        Alert(
            name="KubeletRuntimeLatencyHigh",
            expr=f'{k.OPS_Q}{{quantile="0.99",operation_type!~"{k.WORKLOAD_OPS}"}} > {fmt_number(latency)}',
            for_="15m",
            severity="warning",
            threshold=latency,
            summary="Container runtime calls from the kubelets are slow.",
            description="{{ $labels.operation_type }} calls to the container runtime in cluster {{ $labels." + c
                        + " }} take {{ $value | humanizeDuration }} (p99).",
            cases=(Case(lat_hist(lat_obs), fires=True, labels={"operation_type": "container_status",
                                                               "quantile": "0.99"}, value=lat_q),
                   Case(lat_hist(quiet_obs(k.RUNTIME_BUCKETS, latency)), fires=False),
                   Case(lat_hist(lat_obs, "pull_image"), fires=False, note="image pulls may be slow")),
            meaning="The 99th percentile duration of one kind of CRI call across the cluster is above the threshold.",
            impact="PLEG relists, pod starts and status updates slow down; nodes may turn NotReady.",
            diagnosis=(f'{k.OPS_Q}{{quantile="0.99"}}',
                       f"histogram_quantile(0.99, sum by (instance, le) "
                       f"(rate(kubelet_runtime_operations_duration_seconds_bucket{ctx.sel(k.SRC)}[5m])))"),
            mitigation=("Find the slow nodes with the per-instance query and check their disk I/O and runtime load.",),
        ),
    )


def cert_alerts(ctx: Context, kind: str, ttl: str, renew: str, ttl_metric: str, renew_metric: str,
                 on_node: str) -> tuple[Alert, ...]:
    title = kind.capitalize()
    which = "client certificate (used to talk to the API server)" if kind == "client" else \
        "serving certificate (presented on port 10250)"
    nd = {"node": k.NODE}
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
            cases=(Case(k.kubelet(ctx, ttl_metric, t / 2), fires=True, labels=nd, value=t / 2),
                   Case(k.kubelet(ctx, ttl_metric, t * 2), fires=False)),
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
        cases=(Case(k.kubelet(ctx, renew_metric, counter(1 / 60)), fires=True, labels=nd),
               Case(k.kubelet(ctx, renew_metric, 3), fires=False)),
        meaning=f"The kubelet's certificate manager fails to renew the {which}.",
        impact="Nothing yet; the certificate expires if renewal keeps failing.",
        diagnosis=(f"{renew}", f"{ttl}"),
        mitigation=("Read the kubelet log for certificate_manager errors; check `kubectl get csr` and the CSR "
                    "approver/signer.",),
    ))
    return tuple(out)
