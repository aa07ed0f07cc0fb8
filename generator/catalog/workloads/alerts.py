"""Workload alerts on capacity: requests against allocatable (KubeCPUOvercommit…), quotas against allocatable and
namespaces against their quotas, as kubernetes-mixin's kubernetes-resources group does.
"""

from __future__ import annotations

from generator.catalog.workloads import alerts_apps, alerts_pods
from generator.catalog.workloads.alerts_pods import above
from generator.catalog.workloads.names import ALLOC_MAX, ALLOC_SUM, GIB, KSM, NS_REQ
from generator.catalog.workloads.rules import allocatable, ksm, on, resource, running
from generator.context import Context
from generator.model import Alert, Case
from generator.promql import fmt_number


def alerts(ctx: Context) -> tuple[Alert, ...]:
    """Every workload alert: containers and pods (alerts_pods), controllers (alerts_apps), then capacity."""
    return (*alerts_pods.alerts(ctx), *alerts_apps.alerts(ctx),
            *_overcommit(ctx, "cpu"), *_overcommit(ctx, "memory"), *_quotas(ctx))


def _overcommit(ctx: Context, res: str) -> tuple[Alert, ...]:
    """KubeCPUOvercommit / KubeMemoryOvercommit and the Quota variants for one resource."""
    ns = ctx.test_namespace
    k = lambda *m: ctx.sel(KSM, *m)  # noqa: E731
    c = ctx.cluster
    on_c = on(ctx)
    what, name = ("CPU", "CPU") if res == "cpu" else ("memory", "Memory")
    size = 4 if res == "cpu" else 16 * GIB  # allocatable of each of the two test nodes
    shown = "{{ $value }} cores" if res == "cpu" else "{{ $value | humanize1024 }}B"
    req = f'sum {ctx.by()} ({NS_REQ}{{resource="{res}"}})'
    spare = f'({ALLOC_SUM}{{resource="{res}"}} - {ALLOC_MAX}{{resource="{res}"}})'
    hard = f'type="hard",resource=~"{res}|requests.{res}"'
    quota_ratio = ctx.threshold(f"Kube{name}QuotaOvercommit", 1.5)
    # two Running pods requesting `each`, on two nodes of `size`
    requests = lambda each: {  # noqa: E731
        **allocatable(ctx, res, size), **running(ctx), **running(ctx, "checkout-2", "u-2"),
        **resource(ctx, "requests", res, each), **resource(ctx, "requests", res, each, pod="checkout-2", uid="u-2")}
    quotas = lambda ratio: {  # noqa: E731 - two namespaces sharing `ratio` × allocatable
        **allocatable(ctx, res, size),
        **{ksm(ctx, "kube_resourcequota", namespace=name, resourcequota="compute", resource=f"requests.{res}",
               type="hard"): size * ratio for name in (ns, "batch")}}
    both = lambda huge: {ksm(ctx, "kube_resourcequota", namespace=ns, resourcequota="compute", resource=res,  # noqa: E731
                             type="hard"): huge}
    return (
        Alert(
            name=f"Kube{name}Overcommit",
            expr=f"{req} - {on_c} {spare} > 0 and {on_c} {spare} > 0",
            for_="10m",
            severity="warning",
            summary=f"Pods request more {what} than the cluster can give without its largest node.",
            description=f"Pods in cluster {{{{ $labels.{c} }}}} request {shown} more {what} than the cluster "
                        "has when its largest node fails.",
            cases=(Case(requests(size * 0.75), fires=True, value=size / 2),
                   Case(requests(size * 0.375), fires=False)),
            meaning=f"The sum of {what} requests of Pending and Running pods exceeds the allocatable {what} of "
                    "all nodes but the largest.",
            impact="Losing one node leaves pods unschedulable: the cluster cannot tolerate a node failure.",
            diagnosis=(f'sum by (namespace) ({NS_REQ}{{resource="{res}"}})', f'{ALLOC_SUM}{{resource="{res}"}}'),
            mitigation=("Add a node, or lower the requests of the largest namespaces (compare them with usage on "
                        "the namespace dashboard).",),
        ),
        Alert(
            name=f"Kube{name}QuotaOvercommit",
            # a quota with both `cpu` and `requests.cpu` (the same limit, two spellings) counts once, the lower
            expr=f"sum {ctx.by()} (min {ctx.by('namespace', 'resourcequota')} (kube_resourcequota{k(hard)})) / "
                 f'{on_c} {ALLOC_SUM}{{resource="{res}"}} > {fmt_number(quota_ratio)}',
            for_="5m",
            severity="warning",
            threshold=quota_ratio,
            summary=f"Namespace quotas promise more {what} than the cluster has.",
            description=f"{what} quotas in cluster {{{{ $labels.{c} }}}} add up to {{{{ $value | humanizePercentage"
                        f" }}}} of allocatable {what}.",
            cases=(Case(quotas(2 * quota_ratio), fires=True, value=2 * quota_ratio),
                   Case(quotas(quota_ratio / 2), fires=False),
                   Case({**quotas(quota_ratio / 2), **both(20 * size)}, fires=False,
                        note=f"{res} and requests.{res} of one quota: the lower one counts")),
            meaning=f"The hard {what} quotas of all namespaces, summed, exceed the allocatable {what} by more than "
                    f"the overcommit factor. A quota giving both `{res}` and `requests.{res}` counts once, with the "
                    "lower value (they limit the same requests).",
            impact="Namespaces may all be within quota yet unable to schedule pods.",
            diagnosis=(f"kube_resourcequota{k(hard)}", f'{ALLOC_SUM}{{resource="{res}"}}'),
            mitigation=("Lower the quotas or add capacity.",),
        ),
    )


def _quotas(ctx: Context) -> tuple[Alert, ...]:
    ns = ctx.test_namespace
    k = lambda *m: ctx.sel_ns(KSM, *m)  # noqa: E731
    c = ctx.cluster
    used, hard = 'type="used"', 'type="hard"'
    ratio = f"kube_resourcequota{k(used)} / ignoring (type) (kube_resourcequota{k(hard)} > 0)"
    almost = ctx.threshold("KubeQuotaAlmostFull", 0.9)
    labels = {**ctx.source_labels(KSM), "namespace": ns, "resource": "pods", "resourcequota": "compute"}
    quota = lambda n: {  # noqa: E731 - `n` of 100 pods used
        ksm(ctx, "kube_resourcequota", namespace=ns, resourcequota="compute", resource="pods", type="used"): n,
        ksm(ctx, "kube_resourcequota", namespace=ns, resourcequota="compute", resource="pods", type="hard"): 100}
    desc = ("Namespace {{ $labels.namespace }} in cluster {{ $labels." + c + " }} uses {{ $value | humanizePercentage"
            " }} of its {{ $labels.resource }} quota ({{ $labels.resourcequota }}).")
    diag = (f"kube_resourcequota{k()}", f"{NS_REQ}")
    return (
        Alert(
            name="KubeQuotaAlmostFull",
            expr=f"{ratio} > {fmt_number(almost)} < 1",
            for_="15m",
            severity="info",
            threshold=almost,
            summary="A namespace quota is nearly used up.",
            description=desc,
            cases=(Case(quota(100 * above(almost)), fires=True, labels=labels, value=above(almost)),
                   Case(quota(100 * almost / 2), fires=False)),
            meaning="A ResourceQuota's usage is above the threshold of its hard limit.",
            impact="New pods (or objects) in the namespace will soon be refused.",
            diagnosis=diag,
            mitigation=("Raise the quota, or clean up what uses it.",),
        ),
        Alert(
            name="KubeQuotaFullyUsed",
            expr=f"{ratio} == 1",
            for_="15m",
            severity="info",
            summary="A namespace quota is fully used.",
            description=desc,
            cases=(Case(quota(100), fires=True, labels=labels, value=1), Case(quota(50), fires=False)),
            meaning="A ResourceQuota is used to its hard limit.",
            impact="The API server refuses anything more in the namespace: new pods of a rollout or a scale-up fail.",
            diagnosis=diag,
            mitigation=("Raise the quota before the next rollout, or clean up.",),
        ),
        Alert(
            name="KubeQuotaExceeded",
            expr=f"{ratio} > 1",
            for_="15m",
            severity="warning",
            summary="A namespace quota is exceeded.",
            description=desc,
            cases=(Case(quota(110), fires=True, labels=labels, value=1.1), Case(quota(100), fires=False)),
            meaning="Usage is above the hard limit: the quota was lowered below what already exists.",
            impact="Nothing new can be created in the namespace until usage falls below the quota.",
            diagnosis=diag,
            mitigation=("Raise the quota back or remove objects until usage is under it.",),
        ),
    )
