"""General's alerts: the alerting pipeline's heartbeat (Watchdog), the info-alert inhibitor, any scrape job
losing targets, Kubernetes version skew, API client errors of every client, and kube-state-metrics' own health:
its targets (all down or vanished), list/watch errors against the apiserver, and sharding (every shard must agree
on the shard count, and every ordinal must be present). kube-state-metrics' self-metrics come from the telemetry
port (8081), scraped under the same job in kube-prometheus."""

from __future__ import annotations

from generator.catalog import targets
from generator.catalog.general.names import HEARTBEAT, KSM
from generator.catalog.helpers import counter
from generator.catalog.workqueue import REST_ERRORS
from generator.context import TEST_CLUSTER, Context
from generator.model import Alert, Case

ERROR = 'result="error"'


def alerts(ctx: Context) -> tuple[Alert, ...]:
    return (*_meta(ctx), *_cluster(ctx), *_ksm(ctx))


def _raw(metric: str, **labels: str) -> str:
    return metric + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def _meta(ctx: Context) -> tuple[Alert, ...]:
    c = ctx.cluster
    alert = lambda name, severity, ns="shop": _raw(  # noqa: E731
        "ALERTS", alertname=name, alertstate="firing", severity=severity, namespace=ns, **{c: TEST_CLUSTER})
    not_meta = "|".join(HEARTBEAT)
    return (
        Alert(
            name="Watchdog",
            expr="group (up)",
            for_="0m",
            severity="info",
            heartbeat=True,
            summary="The alerting pipeline works: this alert always fires.",
            description="Watchdog heartbeat: Prometheus evaluates rules, scrapes targets and reaches Alertmanager.",
            cases=(Case({targets.other_up(ctx): 1}, fires=True, labels={c: ""}),
                   Case({}, fires=False, note="a Prometheus that scrapes nothing stops the heartbeat too")),
            meaning="Always firing while Prometheus scrapes anything at all. Alertmanager routes it to the "
                    "`watchdog` receiver, which should point at a dead man's switch (an external service that "
                    "pages when the heartbeat stops arriving).",
            impact="None while it fires. When it stops, alerting is broken: Prometheus, its rule evaluation, its "
                   "scraping or the path to Alertmanager is down.",
            diagnosis=("group (up)", "prometheus_notifications_errors_total",
                       "prometheus_rule_evaluation_failures_total"),
            mitigation=("Wire the `watchdog` receiver to a dead man's switch (alertmanager.integrations in "
                        "stereo.yaml). Never silence this alert.",),
        ),
        Alert(
            name="InfoInhibitor",
            expr=f'group by ({c}, namespace) (ALERTS{{severity="info",alertstate="firing",alertname!~"{not_meta}"}})'
                 f" unless on ({c}, namespace) group by ({c}, namespace) "
                 '(ALERTS{severity=~"warning|critical",alertstate="firing"})',
            for_="0m",
            severity="info",
            summary="Info alerts of a namespace are held back: nothing more serious fires there.",
            description="Info-level alerts in namespace {{ $labels.namespace }} of cluster {{ $labels." + c
                        + " }} are inhibited while no warning or critical alert fires there.",
            cases=(Case({alert("KubeQuotaAlmostFull", "info"): 1}, fires=True, labels={"namespace": "shop"}),
                   Case({alert("KubeQuotaAlmostFull", "info"): 1, alert("KubePodCrashLooping", "warning"): 1},
                        fires=False, note="a warning in the namespace lets its info alerts through as context")),
            meaning="Info alerts are context, not news. Alertmanager inhibits every info alert of a namespace while "
                    "this fires there, so they reach a receiver only beside a warning or critical alert of the "
                    "same namespace.",
            impact="None: it is routed to a receiver without integrations.",
            diagnosis=('ALERTS{severity="info",alertstate="firing"}',),
            mitigation=("Nothing to do. To see every info alert, drop it with `exclude: {alerts: [InfoInhibitor]}`.",),
        ),
    )


def _cluster(ctx: Context) -> tuple[Alert, ...]:
    c = ctx.cluster
    down = ctx.threshold("TargetDown", 0.1)
    errors = ctx.threshold("KubeClientErrors", 0.01)
    job = lambda n_down, total, name="my-app": {  # noqa: E731
        _raw("up", instance=f"10.1.0.{i}:8080", job=name, **{c: TEST_CLUSTER}): float(i >= n_down)
        for i in range(total)}
    build = lambda job_name, version, i: {_raw(  # noqa: E731
        "kubernetes_build_info", git_version=version, instance=f"10.0.0.{i}:10250", job=job_name,
        **{c: TEST_CLUSTER}): 1}
    client = lambda job_name, ok, failed: {  # noqa: E731
        _raw("rest_client_requests_total", code=code, host="10.0.0.1:6443", instance="10.2.0.1:8443",
             job=job_name, method="GET", **{c: TEST_CLUSTER}): counter(rate)
        for code, rate in (("200", ok), ("503", failed))}
    # `unless` the jobs alerted on elsewhere (none left when a site excludes their components)
    unless = lambda jobs: f" unless on ({c}, job) group by ({c}, job) ({jobs})" if jobs else ""  # noqa: E731
    # jobs whose components alert on their own API client errors (KubeControllerManagerRestClientErrors...)
    own = " or ".join(f"up{ctx.sel(src)}" for src in ctx.watched_client_jobs())
    # jobs whose components alert on their own targets (Down, InstanceDown, ManyDown, EtcdMembersDown)
    watched = " or ".join(f"up{ctx.sel(src)}" for src in ctx.watched_jobs(KSM))
    all_codes = "rest_client_requests_total"
    return (
        Alert(
            name="TargetDown",
            down=True,
            expr=f"(count by ({c}, job) (up == 0) / count by ({c}, job) (up)) > {down:g}" + unless(watched),
            for_="10m",
            severity="warning",
            threshold=down,
            summary="Some targets of a scrape job are down.",
            description="{{ $value | humanizePercentage }} of the {{ $labels.job }} targets in cluster {{ $labels."
                        + c + " }} are down.",
            cases=(Case(job(2, 10), fires=True, labels={"job": "my-app"}, value=0.2),
                   Case(job(1, 20), fires=False, note="one of twenty is within the threshold"),
                   Case({ctx.series("coredns", "up", instance="10.0.0.10:9153"): 0,
                         ctx.series("coredns", "up", instance="10.0.0.11:9153"): 1}, fires=False,
                        note="CoreDNS targets are CoreDNSDown's business")),
            meaning="A share of one job's targets above the threshold fails its scrape, for every job no Stereo "
                    "component watches already (your applications, other exporters); the components' own jobs "
                    "have their Down and InstanceDown alerts, so one lost target does not alert twice.",
            impact="That job's metrics are partly missing; alerts reading them see only part of the picture.",
            diagnosis=("up == 0", "count by (job) (up == 0)"),
            mitigation=("Open Prometheus' /targets page for the error of each down target (timeouts, TLS, 401/403, "
                        "connection refused) and fix the target or the scrape config.",),
        ),
        Alert(
            name="KubeVersionMismatch",
            expr=f'count by ({c}) (count by ({c}, git_version) (label_replace(kubernetes_build_info'
                 f'{{job!=""}} unless on ({c}, job) group by ({c}, job) (up{ctx.sel("coredns")}), "git_version", '
                 '"$1", "git_version", "(v[0-9]+\\\\.[0-9]+).*"))) > 1',
            for_="15m",
            severity="warning",
            summary="Kubernetes components of different minor versions are running.",
            description="{{ $value }} different Kubernetes minor versions run in cluster {{ $labels." + c + " }}.",
            cases=(Case({**build("apiserver", "v1.31.4", 1), **build("kubelet", "v1.30.9", 2)}, fires=True,
                        value=2),
                   Case({**build("apiserver", "v1.31.4", 1), **build("kubelet", "v1.31.1", 2)}, fires=False,
                        note="patch versions may differ")),
            meaning="kubernetes_build_info of the control plane, kubelets and kube-proxies shows more than one "
                    "minor version (CoreDNS' client library version is left out).",
            impact="Normal during an upgrade. Left for long, components run outside the supported version skew.",
            diagnosis=("count by (git_version, job) (kubernetes_build_info)",),
            mitigation=("Finish the upgrade: upgrade the nodes still on the old version.",),
        ),
        Alert(
            name="KubeClientErrors",
            expr=f"(sum by ({c}, job, instance) (rate({all_codes}{{{REST_ERRORS}}}[5m])) / sum by ({c}, job, "
                 f"instance) (rate({all_codes}[5m])) > {errors:g})" + unless(own),
            for_="15m",
            severity="warning",
            threshold=errors,
            summary="A Kubernetes API client gets errors.",
            description="{{ $value | humanizePercentage }} of the API requests of {{ $labels.job }}/"
                        "{{ $labels.instance }} in cluster {{ $labels." + c + " }} fail.",
            cases=(Case(client("kubelet", 90, 10), fires=True,
                        labels={"job": "kubelet", "instance": "10.2.0.1:8443"}, value=0.1),
                   Case(client("kubelet", 99.5, 0.5), fires=False),
                   Case({**client(ctx.source_labels("kube-scheduler").get("job", "kube-scheduler"), 90, 10),
                         **{ctx.series("kube-scheduler", "up", instance="10.2.0.1:8443"): 1}}, fires=False,
                        note="the scheduler has its own alert")),
            meaning="A share of the requests a client-go based process (kubelet, apiserver loopback, operators, "
                    "any job exposing rest_client_requests_total) sends to the apiserver fails with 5xx or no "
                    "answer. The controller-manager, scheduler and kube-proxy have their own alerts.",
            impact="The client cannot read or update the objects it manages; its work is retried and lags.",
            diagnosis=("sum by (job, instance, code) (rate(rest_client_requests_total[5m]))",),
            mitigation=("If every client sees errors, the apiserver is the cause (see its dashboard).",
                        "If one client does, check its network path and credentials."),
        ),
    )



def _ksm(ctx: Context) -> tuple[Alert, ...]:
    c = ctx.cluster
    s = lambda *m: ctx.sel(KSM, *m)  # noqa: E731
    up = lambda *vs: {ctx.series(KSM, "up", instance=f"10.0.0.{i + 1}:8080"): v  # noqa: E731
                      for i, v in enumerate(vs)}
    errors = ctx.threshold("KubeStateMetricsListErrors", 0.01)
    watch_errors = ctx.threshold("KubeStateMetricsWatchErrors", 0.01)
    calls = lambda metric, ok, failed: {  # noqa: E731
        ctx.series(KSM, metric, instance="10.0.0.1:8081", resource="*v1.Pod", result=r): counter(rate)
        for r, rate in (("success", ok), ("error", failed))}
    shards = lambda *totals: {  # noqa: E731
        k: v for i, total in enumerate(totals) for k, v in (
            (ctx.series(KSM, "kube_state_metrics_total_shards", instance=f"10.0.0.{i + 1}:8081"), total),
            (ctx.series(KSM, "kube_state_metrics_shard_ordinal", instance=f"10.0.0.{i + 1}:8081",
                        shard_ordinal=str(i)), i))}
    ratio = lambda metric: (f"(sum {ctx.by()} (rate({metric}{s(ERROR)}[5m]))"  # noqa: E731
                            f" / sum {ctx.by()} (rate({metric}{s()}[5m])))")
    runbook_errors = ("Read kube-state-metrics' log; check its ServiceAccount's RBAC (list/watch on every resource "
                      "it exports) and the apiserver's health.",)
    return (
        Alert(
            name="KubeStateMetricsDown",
            down=True,
            expr=targets.down_expr(ctx, KSM),
            for_="15m",
            severity="critical",
            summary="No kube-state-metrics target is up, or it has disappeared from target discovery.",
            description="No kube-state-metrics is up or discovered in cluster {{ $labels." + c + " }}: workload, "
                        "node-condition and quota alerts are blind.",
            cases=(Case(up(0), fires=True), Case(up(1), fires=False), *targets.vanished_cases(ctx, KSM, up(1))),
            meaning="Prometheus scrapes no kube-state-metrics instance that answers." + targets.VANISHED_MEANING,
            impact="Every alert on Kubernetes objects (pods, Deployments, nodes, quotas, PVCs) stops firing.",
            diagnosis=(f"up{s()}",),
            mitigation=("Check the kube-state-metrics Deployment (`kubectl -n monitoring get pods -l "
                        "app.kubernetes.io/name=kube-state-metrics`) and its logs.", targets.VANISHED_MITIGATION),
        ),
        *(Alert(
            name=f"KubeStateMetrics{verb.title()}Errors",
            expr=f"{ratio(metric)} > {limit:g}",
            for_="15m",
            severity="critical",
            threshold=limit,
            summary=f"kube-state-metrics fails to {verb} objects.",
            description="{{ $value | humanizePercentage }} of kube-state-metrics' " + verb + " calls in cluster "
                        "{{ $labels." + c + " }} fail.",
            cases=(Case(calls(metric, 0.9, 0.1), fires=True, value=0.1), Case(calls(metric, 1, 0), fires=False)),
            meaning=f"kube-state-metrics' reflectors get errors {verb}ing resources {where} the apiserver.",
            impact=impact,
            diagnosis=(f"sum by (resource, result) (rate({metric}{s()}[5m]))",),
            mitigation=runbook_errors,
        ) for verb, limit, where, impact in (
            ("list", errors, "from", "The metrics of those resources are stale or missing; alerts on them see old "
                                     "state."),
            ("watch", watch_errors, "on", "Changes reach the metrics late or not at all."))
          for metric in (f"kube_state_metrics_{verb}_total",)),
        Alert(
            name="KubeStateMetricsShardingMismatch",
            expr=f"stdvar {ctx.by()} (kube_state_metrics_total_shards{s()}) != 0",
            for_="15m",
            severity="critical",
            summary="kube-state-metrics shards disagree on the shard count.",
            description="kube-state-metrics instances in cluster {{ $labels." + c + " }} are configured with "
                        "different total shard counts.",
            cases=(Case(shards(2, 3), fires=True, value=0.25), Case(shards(2, 2), fires=False)),
            meaning="Not every kube-state-metrics instance reports the same kube_state_metrics_total_shards.",
            impact="Some objects are exported twice, others not at all.",
            diagnosis=(f"kube_state_metrics_total_shards{s()}",),
            mitigation=("Give every shard the same --total-shards (a StatefulSet with automatic sharding does).",),
        ),
        Alert(
            name="KubeStateMetricsShardsMissing",
            expr=f"2 ^ max {ctx.by()} (kube_state_metrics_total_shards{s()}) - 1 - sum {ctx.by()} "
                 f"(2 ^ max {ctx.by('shard_ordinal')} (kube_state_metrics_shard_ordinal{s()})) != 0",
            for_="15m",
            severity="critical",
            summary="kube-state-metrics shards are missing.",
            description="Some kube-state-metrics shards of cluster {{ $labels." + c + " }} are not scraped.",
            cases=(Case({k: v for k, v in shards(3, 3, 3).items() if 'shard_ordinal="2"' not in k}, fires=True,
                        value=4, note="ordinal 2 of 3 missing: 2^3 - 1 - (1 + 2)"),
                   Case(shards(3, 3, 3), fires=False)),
            meaning="The shard ordinals scraped do not cover 0 … total_shards - 1.",
            impact="The objects of the missing shards have no metrics: their alerts cannot fire.",
            diagnosis=(f"kube_state_metrics_shard_ordinal{s()}", f"kube_state_metrics_total_shards{s()}"),
            mitigation=("Check that every kube-state-metrics shard pod runs and is scraped.",),
        ),
    )
