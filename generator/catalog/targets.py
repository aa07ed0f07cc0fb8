"""Scrape targets that fail and targets that vanish: the shared parts of every component's Down alerts.

`sum by (cluster) (up{job="x"}) == 0` says nothing when the job's targets leave service discovery (a deleted
ServiceMonitor, a relabelling mistake, a wrong selector in the site settings): `up` then has no series and the
comparison has nothing to compare. So a Down alert also fires for

- every cluster that still reports *some* `up` series but none for the component's selector (the cluster
  label survives, so a multi-cluster Prometheus says which cluster lost the job), and
- no cluster at all (an alert without labels, as `absent(up{selector})` would give) when Prometheus holds no
  `up` series at all (a single-cluster setup whose only target vanished; one Prometheus per cluster without a
  cluster label). Both read `up` once: `group by (cluster) (up) or on () vector(1)`.

Components a profile drops (the control plane of a managed cluster) are not built at all, so they get no such
branch and nothing fires for them.
"""

from __future__ import annotations

from generator import promql
from generator.context import TEST_CLUSTER, Context
from generator.model import Alert, Case

# a scrape job no component owns: what a cluster reports when the component's job is gone
OTHER_JOB = "some-other-job"
OTHER_CLUSTER = "other-cluster"


def vanished(ctx: Context, src: str, anchor: str = "") -> str:
    """Clusters that report some target but none of `src`; or no target anywhere and none of `src`.

    `anchor`: what says a cluster should have the job instead of "it reports some target" (kubelets: the
    cluster has nodes, `kube_node_info`). A cluster without it is not expected to have the job, and the
    absent() branch is left out (no nodes anywhere means no kubelets to miss)."""
    c = ctx.cluster
    sel = ctx.sel(src)
    if anchor:
        return f"(group by ({c}) ({anchor}) unless on ({c}) group by ({c}) (up{sel}))"
    # every `up` series is read once (nine Down alerts read it, the costliest part of each): `or on () vector(1)`
    # adds one series with no labels only when `up` has none at all, the case `absent(up{sel}) unless on ()
    # group (up)` caught before; that empty label set is the one `sum by (cluster) (up) == 0` of a single cluster
    # without a cluster label carries, so an alert pending on "every target down" stays pending when the down
    # targets then leave discovery
    return f"((group by ({c}) (up) or on () vector(1)) unless on ({c}) group by ({c}) (up{sel}))"


def down_expr(ctx: Context, src: str, *by: str, anchor: str = "") -> str:
    """`sum by (cluster, by...) (up) == 0`, or the component's targets vanished."""
    return f"(sum {ctx.by(*by)} (up{ctx.sel(src)}) == 0) or {vanished(ctx, src, anchor)}"


def other_up(ctx: Context, cluster: str = TEST_CLUSTER, metric: str = "up") -> str:
    """A series of another job (or, with `metric`, the anchor series) in `cluster`."""
    body = f'{ctx.cluster}="{promql.escape(cluster)}",instance="10.9.9.9:9100",job="{OTHER_JOB}"'
    return f"{metric}{{{body}}}"


def anchored_cases(ctx: Context, anchor: dict[str, float | str], present: dict[str, float | str],
                   other_cluster_anchor: dict[str, float | str]) -> tuple[Case, ...]:
    """Vanished cases for an anchored branch: the anchor is there and the job is not, in this cluster or
    another; quiet without the anchor (a cluster that should not have the job)."""
    return (
        Case(anchor, fires=True, note="nodes exist, their kubelets left discovery"),
        Case({**present, **anchor, **other_cluster_anchor}, fires=True, labels={ctx.cluster: OTHER_CLUSTER},
             note="another cluster lost the job: only that cluster fires"),
        Case({}, fires=False, note="no nodes: no kubelet is missing"),
        Case({**present, **anchor}, fires=False, note="the job is there"),
    )


def vanished_cases(ctx: Context, src: str, present: dict[str, float | str],
                   value: float | None = None) -> tuple[Case, ...]:
    """Firing cases for the vanished branches, and a quiet one where `present` (the job's up series) is there.
    `value`: what the alert's $value is then (1), for descriptions that show it."""
    return (
        Case({other_up(ctx): 1}, fires=True, value=value,
             note="its targets left discovery; the cluster still reports other targets"),
        Case({**present, other_up(ctx, OTHER_CLUSTER): 1}, fires=True, labels={ctx.cluster: OTHER_CLUSTER},
             value=value, note="another cluster lost the job: only that cluster fires"),
        Case({}, fires=True, labels={ctx.cluster: ""}, value=value, note="no target at all is scraped: absent()"),
        Case({**present, other_up(ctx): 1}, fires=False, note="the job is there beside other targets"),
    )


VANISHED_MEANING = (" Also fires when the job's targets are gone from service discovery: a cluster that still "
                    "reports other targets but none of this job, or no target at all (absent).")
INHIBITED_MEANING = (" While the component-wide Down alert of its cluster fires, Alertmanager holds this alert back "
                     "(alertmanager/alertmanager.yml): one outage, one page.")
VANISHED_MITIGATION = ("If `up` has no series for the job at all, the targets left discovery: check the "
                       "ServiceMonitor/scrape job, its relabelling and the selector in stereo.yaml "
                       "(`selectors:`), and that the pods/endpoints it selects exist.")


def instance_down(ctx: Context, src: str, name: str, who: str, port: str, impact: str) -> Alert:
    """One instance that fails its scrape, alone or with its peers. When every instance is down the component's
    Down alert fires too, and Alertmanager inhibits the instance alerts while it does (render/alertmanager.py):
    the alert says which instance, the page comes once."""
    s = ctx.sel(src)
    up = lambda *vs: {ctx.series(src, "up", instance=f"10.0.0.{i + 1}:{port}"): v  # noqa: E731
                      for i, v in enumerate(vs)}
    first = {**ctx.source_labels(src), "instance": f"10.0.0.1:{port}"}
    return Alert(
        name=name,
        down=True,
        expr=f"up{s} == 0",
        for_="15m",
        severity="warning",
        summary=f"A {who} instance is unreachable.",
        description=f"{who} {{{{ $labels.instance }}}} in cluster {{{{ $labels.{ctx.cluster} }}}} cannot be scraped.",
        cases=(Case(up(0, 1, 1), fires=True, labels=first, note="one of three replicas"),
               Case(up(0), fires=True, labels=first,
                    note="the only instance: the Down alert fires too and Alertmanager inhibits this one"),
               Case(up(1, 1, 1), fires=False)),
        meaning=f"A {who} target fails its scrape. Like kubernetes-mixin's *InstanceUnreachable it also fires when "
                f"every instance is down; the component's Down alert then fires as well, and Alertmanager's inhibit "
                f"rule (alertmanager/alertmanager.yml) holds this alert back while the Down alert fires, so one "
                f"outage pages once and the instance alert still shows in Prometheus and Alertmanager's UI.",
        impact=impact,
        diagnosis=(f"up{s} == 0", f"scrape_duration_seconds{s}"),
        mitigation=(f"Check the {who} process on that node (static pod, `crictl ps`, its logs) and that the node "
                    "is Ready.", "If the process runs, check the scrape path: firewall, certificates, RBAC."),
    )
