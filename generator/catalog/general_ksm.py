"""kube-state-metrics' own health: its targets (all down or vanished), list/watch errors against the apiserver,
and sharding (every shard must agree on the shard count, and every ordinal must be present). Its self-metrics
come from the telemetry port (8081), scraped under the same job in kube-prometheus."""

from __future__ import annotations

from generator.catalog import targets
from generator.catalog.helpers import counter
from generator.context import Context
from generator.model import Alert, Case

KSM = "kube-state-metrics"
ERROR = 'result="error"'


def alerts(ctx: Context) -> tuple[Alert, ...]:
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
