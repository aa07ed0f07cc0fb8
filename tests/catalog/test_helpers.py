"""catalog.helpers.Quantiles: the bucket-rate + histogram_quantile record pair every latency histogram gets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from promtool_run import promtool

from generator.catalog.helpers import Quantiles, bucket_quantile, histogram, quantile_rules
from generator.config import Config
from generator.context import Context
from generator.model import RecordingRule
from generator.promql import PromQLError, fmt_number


def promql_series(metric: str, **labels: str) -> str:
    return metric + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def test_names_follow_level_and_by() -> None:
    q = Quantiles("etcd_disk_wal_fsync_duration_seconds", by=("instance",))
    assert q.buckets == "cluster_instance_le:etcd_disk_wal_fsync_duration_seconds_bucket:rate5m"
    assert q.name == "cluster_instance_quantile:etcd_disk_wal_fsync_duration_seconds:histogram_quantile"
    bare = Quantiles("coredns_dns_request_duration_seconds")
    assert bare.buckets == "cluster_le:coredns_dns_request_duration_seconds_bucket:rate5m"
    assert bare.name == "cluster_quantile:coredns_dns_request_duration_seconds:histogram_quantile"


def test_level_and_recorded_overrides() -> None:
    q = Quantiles("workqueue_queue_duration_seconds", by=("name",), recorded="kcm_workqueue_queue_duration_seconds")
    assert q.buckets == "cluster_name_le:kcm_workqueue_queue_duration_seconds_bucket:rate5m"
    assert q.name == "cluster_name_quantile:kcm_workqueue_queue_duration_seconds:histogram_quantile"
    svc = Quantiles("http_request_duration_seconds", by=("namespace", "pod"), level="namespace_pod")
    assert svc.buckets == "namespace_pod_le:http_request_duration_seconds_bucket:rate5m"


def test_rules_keep_the_sites_cluster_label_and_every_quantile() -> None:
    ctx = Context(Config(cluster_label="k8s_cluster"))
    q = Quantiles("scheduler_scheduling_attempt_duration_seconds", by=("profile",), quantiles=(0.99, 0.5))
    rules = q.rules(ctx, '{job="kube-scheduler"}')
    assert rules == (
        RecordingRule(q.buckets, "sum by (k8s_cluster, profile, le) "
                                 '(rate(scheduler_scheduling_attempt_duration_seconds_bucket{job="kube-scheduler"}[5m]))'),
        RecordingRule(q.name, f"histogram_quantile(0.99, {q.buckets})", {"quantile": "0.99"}),
        RecordingRule(q.name, f"histogram_quantile(0.5, {q.buckets})", {"quantile": "0.5"}),
    )
    # the names do not follow the site's label: dashboards and alerts refer to them as written
    assert q.name.startswith("cluster_profile_quantile:")


def test_rules_take_a_bucket_expression_of_their_own() -> None:
    q = Quantiles("kubelet_pleg_relist_duration_seconds", by=("node",))
    rules = q.rules(Context(), expr="EXPR")
    assert rules[0] == RecordingRule(q.buckets, "EXPR")
    assert [r.expr for r in rules[1:]] == [f"histogram_quantile(0.99, {q.buckets})"]


def test_quantile_rules_over_any_source() -> None:
    assert quantile_rules("a:b:histogram_quantile", "sum by (le) (x)", (0.01,)) == (
        RecordingRule("a:b:histogram_quantile", "histogram_quantile(0.01, sum by (le) (x))", {"quantile": "0.01"}),)


def test_a_name_prometheus_would_refuse_is_refused() -> None:
    with pytest.raises(PromQLError):
        _ = Quantiles("bad metric").name


def test_promtool_evaluates_the_rules_to_the_quantiles_the_buckets_hold(tmp_path: Path) -> None:
    """The rules as Prometheus runs them: two instances' histograms, a site cluster label, p99 and p50."""
    ctx = Context(Config(cluster_label="k8s_cluster"))
    q = Quantiles("demo_duration_seconds", by=("instance",), quantiles=(0.99, 0.5))
    rules = q.rules(ctx, '{job="demo"}')
    groups = {"groups": [{"name": "demo", "rules": [
        {"record": r.record, "expr": r.expr, **({"labels": r.labels} if r.labels else {})} for r in rules]}]}
    (tmp_path / "rules.yaml").write_text(json.dumps(groups))
    bounds = (0.1, 0.5, 1, 5)
    inputs: dict[str, str] = {}
    for instance, observed in (("a:1", 0.3), ("b:1", 3)):
        series = lambda suffix, i=instance, **lb: promql_series(  # noqa: E731
            f"demo_duration_seconds{suffix}", k8s_cluster="c1", job="demo", instance=i, **lb)
        inputs |= histogram(series, bounds, observed, 2)
    expected = [{"labels": promql_series(q.name, k8s_cluster="c1", instance=inst, quantile=fmt_number(p)),
                 "value": bucket_quantile(bounds, observed, p)}
                for inst, observed in (("a:1", 0.3), ("b:1", 3)) for p in (0.99, 0.5)]
    tests = {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": [{
        "interval": "1m",
        "input_series": [{"series": s, "values": v.format(n=20)} for s, v in inputs.items()],
        "promql_expr_test": [{"expr": q.name, "eval_time": "10m", "exp_samples": expected}]}]}
    (tmp_path / "tests.yaml").write_text(json.dumps(tests))
    assert [e["value"] for e in expected] == pytest.approx([0.496, 0.3, 4.96, 3])
    ran = promtool("test", "rules", "tests.yaml", cwd=tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    # and it can fail: a wrong expectation is caught
    expected[0]["value"] += 0.05
    (tmp_path / "tests.yaml").write_text(json.dumps(tests))
    assert promtool("test", "rules", "tests.yaml", cwd=tmp_path).returncode != 0


def test_context_histogram_writes_the_sources_series_with_every_bucket() -> None:
    ctx = Context(Config(cluster_label="k8s_cluster"))
    inputs = ctx.histogram("etcd", "demo_seconds", (0.1, 1), 0.5, 2, instance="m1")
    job = 'instance="m1",job="kube-etcd",k8s_cluster="test-cluster"'
    assert inputs == {
        f'demo_seconds_bucket{{{job},le="0.1"}}': "0+0x{n}",
        f'demo_seconds_bucket{{{job},le="1"}}': "0+120x{n}",
        f'demo_seconds_bucket{{{job},le="+Inf"}}': "0+120x{n}",
        f"demo_seconds_count{{{job}}}": "0+120x{n}",
        f"demo_seconds_sum{{{job}}}": "0+60x{n}",
    }


def test_fused_quantiles_rate_the_buckets_in_the_quantile_rule() -> None:
    # per-pod histograms record no bucket series: `le` times the quantile's series, and nothing else reads them
    q = Quantiles("http_request_duration_seconds", by=("namespace", "pod"), level="namespace_pod", fused=True)
    rate = 'sum by (cluster, namespace, pod, le) (rate(http_request_duration_seconds_bucket{job="web"}[5m]))'
    assert q.rules(Context(), '{job="web"}') == (RecordingRule(q.name, f"histogram_quantile(0.99, {rate})",
                                                               {"quantile": "0.99"}),)
