"""kube-apiserver availability: all down or vanished from discovery, one instance unreachable, aggregated APIs
unavailable or flapping."""

from __future__ import annotations

from generator.catalog import targets
from generator.catalog.helpers import counter
from generator.catalog.kube_apiserver import names as n
from generator.context import Context
from generator.model import Alert, Case
from generator.promql import fmt_number

SRC = n.SRC
API = "v1beta1.metrics.k8s.io"


def alerts(ctx: Context) -> tuple[Alert, ...]:
    c = ctx.cluster
    up = lambda *vs: {ctx.series(SRC, "up", instance=f"10.0.0.{i + 1}:6443"): v  # noqa: E731
                      for i, v in enumerate(vs)}
    aggregated = ctx.threshold("KubeAPIServerAggregatedAPIDown", 0.85)
    flaps = ctx.threshold("KubeAPIServerAggregatedAPIErrors", 4)
    agg = lambda v: {ctx.series(SRC, "aggregator_unavailable_apiservice", instance="10.0.0.1:6443",  # noqa: E731
                                name=API): v}
    # counts each transition of an APIService to unavailable, by reason (MissingEndpoints, FailedDiscoveryCheck…)
    agg_total = lambda per_10m: {ctx.series(  # noqa: E731
        SRC, "aggregator_unavailable_apiservice_total", instance="10.0.0.1:6443", name=API,
        reason="FailedDiscoveryCheck"): counter(per_10m / 600)}
    return (
        Alert(
            name="KubeAPIServerDown",
            down=True,
            expr=targets.down_expr(ctx, SRC),
            for_="15m",
            severity="critical",
            summary="No kube-apiserver target is up or discovered.",
            description="Prometheus reaches no kube-apiserver in cluster {{ $labels." + c + " }}.",
            cases=(Case(up(0, 0), fires=True), Case(up(0, 1), fires=False, note="one instance is enough"),
                   *targets.vanished_cases(ctx, SRC, up(1))),
            meaning="Every kube-apiserver target of the scrape job fails its scrape." + targets.VANISHED_MEANING,
            impact="Nothing can read or change cluster state: no scheduling, no scaling, no deployments; "
                   "running pods keep running.",
            diagnosis=(f"up{ctx.sel(SRC)}", f"{n.UP}"),
            mitigation=("Check the apiserver static pods or the managed control plane's status page.",
                        "Check etcd: an apiserver that cannot reach etcd fails its health checks.",
                        "If only scraping fails, check the ServiceMonitor, the `kubernetes` Service endpoints "
                        "and Prometheus' RBAC for /metrics.", targets.VANISHED_MITIGATION),
        ),
        targets.instance_down(
            ctx, SRC, "KubeAPIServerInstanceDown", "kube-apiserver", "6443",
            impact="Clients pinned to that instance (kubelets behind a node-local balancer, long watches) fail "
                   "over or fail; the remaining instances carry its load."),
        Alert(
            name="KubeAPIServerAggregatedAPIDown",
            down=True,
            expr=f"1 - avg_over_time({n.AGG_UNAVAILABLE}[10m]) < {fmt_number(aggregated)}",
            for_="5m",
            severity="warning",
            threshold=aggregated,
            summary="An aggregated API is unavailable.",
            description="Aggregated API {{ $labels.name }} in cluster {{ $labels." + c + " }} has been available "
                        "{{ $value | humanizePercentage }} of the last 10 minutes.",
            cases=(Case(agg(1), fires=True, labels={"name": API}, value=0.0),
                   Case(agg(0), fires=False)),
            meaning="The kube-aggregator marks an APIService unavailable (its backing Service does not answer).",
            impact="Requests to that API group fail; for metrics.k8s.io, HPAs stop scaling and `kubectl top` fails; "
                   "namespace deletion can hang.",
            diagnosis=(f"{n.AGG_UNAVAILABLE}", "kubectl get apiservices | grep False"),
            mitigation=("Fix the Service behind the APIService (e.g. metrics-server) or delete a stale APIService.",),
        ),
        Alert(
            name="KubeAPIServerAggregatedAPIErrors",
            expr=f"sum {ctx.by('name')} (increase(aggregator_unavailable_apiservice_total{ctx.sel(SRC)}[10m]))"
                 f" > {fmt_number(flaps)}",
            for_="0m",
            severity="warning",
            threshold=flaps,
            summary="An aggregated API keeps turning unavailable.",
            description="Aggregated API {{ $labels.name }} in cluster {{ $labels." + c + " }} was marked "
                        "unavailable {{ $value | humanize }} times in the last 10 minutes.",
            cases=(Case(agg_total(2 * flaps), fires=True, lookback="10m", labels={"name": API}, value=2 * flaps),
                   Case(agg_total(flaps / 2), fires=False, lookback="10m", note="a rare blip")),
            meaning="The kube-aggregator flips an APIService to unavailable again and again (its discovery check "
                    "or endpoints fail intermittently), even if it looks available most of the time.",
            impact="Requests to that API group fail now and then; controllers doing discovery (namespace "
                   "deletion, garbage collection) stall on it.",
            diagnosis=(f"sum by (name, reason) (increase(aggregator_unavailable_apiservice_total{ctx.sel(SRC)}"
                       "[10m]))", f"{n.AGG_UNAVAILABLE}"),
            mitigation=("Check the backing Service's pods (restarts, readiness) and the network path from the "
                        "control plane to them (firewall, webhook/aggregation port).",),
        ),
    )
