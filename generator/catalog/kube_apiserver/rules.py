"""kube-apiserver's recording rules (the SLO rules are in slo) and their promtool tests."""

from __future__ import annotations

from generator.catalog.helpers import counter, quantile_rules
from generator.catalog.kube_apiserver.names import (
    AGG_UNAVAILABLE,
    APF_INQUEUE,
    APF_REJECTED,
    APF_SEATS,
    CERT,
    CERT_BUCKETS,
    CERT_Q,
    CPU,
    ERR_RATIO,
    ETCD,
    INFLIGHT,
    LAT,
    LAT_Q,
    LONGRUNNING,
    MEMORY,
    OBJECTS,
    REQ_RATE,
    RESOURCE_ERR_RATIO,
    SRC,
    TERMINATION_RATIO,
    TERMINATIONS,
    THROTTLED_RATIO,
    UP,
    WEBHOOK,
    WEBHOOK_REJECTIONS,
)
from generator.context import Context
from generator.model import RecordingRule, RuleTest

# long-running and streaming requests have no meaningful latency
NOT_LATENCY = ('verb!~"WATCH|CONNECT"', 'subresource!~"proxy|attach|log|exec|portforward"')


def rules(ctx: Context) -> tuple[RecordingRule, ...]:
    s = lambda *m: ctx.sel(SRC, *m)  # noqa: E731 - a selector shorthand reads better inline
    by = ctx.by
    ratio = lambda code, *labels: (  # noqa: E731 - share of REQ_RATE with the code; 0 while no such series exists
        f'sum {by(*labels)} ({REQ_RATE}{{code=~"{code}"}} or 0 * {REQ_RATE}) / sum {by(*labels)} ({REQ_RATE})')
    not_exempt = 'priority_level!="exempt"'
    seats = lambda metric: f"sum {by('instance', 'priority_level')} ({metric}{s(not_exempt)})"  # noqa: E731
    return (
        RecordingRule(REQ_RATE, f"sum {by('verb', 'code', 'resource')} (rate(apiserver_request_total{s()}[5m]))"),
        RecordingRule(ERR_RATIO, ratio("5..")),
        RecordingRule(THROTTLED_RATIO, ratio("429")),
        RecordingRule(RESOURCE_ERR_RATIO, f'sum {by("verb", "resource")} ({REQ_RATE}{{code=~"5.."}})'
                                          f' / sum {by("verb", "resource")} ({REQ_RATE})'),
        *LAT.rules(ctx, s(*NOT_LATENCY)),
        *quantile_rules(LAT_Q, f"sum {by('le')} ({LAT.buckets})", (0.99, 0.5), LAT.group),
        RecordingRule(TERMINATIONS, f"sum {by()} (rate(apiserver_request_terminations_total{s()}[5m]))"),
        # as kubernetes-mixin: terminated / (answered + terminated)
        RecordingRule(TERMINATION_RATIO, f"{TERMINATIONS} / ({TERMINATIONS} + sum {by()} ({REQ_RATE}))"),
        RecordingRule(INFLIGHT, f"sum {by('request_kind')} (apiserver_current_inflight_requests{s()})"),
        RecordingRule(LONGRUNNING, f"sum {by('verb')} (apiserver_longrunning_requests{s()})"),
        RecordingRule(APF_INQUEUE, f"sum {by('priority_level')} (apiserver_flowcontrol_current_inqueue_requests{s()})"),
        RecordingRule(APF_REJECTED, f"sum {by('priority_level', 'reason')} "
                                    f"(rate(apiserver_flowcontrol_rejected_requests_total{s()}[5m]))"),
        # per instance (each apiserver has its own seats), then the busiest; exempt requests have no limit
        RecordingRule(APF_SEATS, f"max {by('priority_level')} ({seats('apiserver_flowcontrol_current_executing_seats')}"
                                 f" / {seats('apiserver_flowcontrol_current_limit_seats')})"),
        *WEBHOOK.rules(ctx, s()),
        RecordingRule(WEBHOOK_REJECTIONS, f"sum {by('name', 'error_type')} "
                                          f"(rate(apiserver_admission_webhook_rejection_count{s()}[5m]))"),
        *ETCD.rules(ctx, s()),
        RecordingRule(AGG_UNAVAILABLE, f"max {by('name')} (aggregator_unavailable_apiservice{s()})"),
        *CERT.rules(ctx, s()),
        # apiserver_storage_objects is deprecated since 1.34 for apiserver_resource_objects (which adds `group`);
        # older apiservers only have the former, so fall back to it per cluster
        RecordingRule(OBJECTS, f"max {by('group', 'resource')} (apiserver_resource_objects{s()})"
                               f" or on ({ctx.cluster}) max {by('resource')} (apiserver_storage_objects{s()})"),
        RecordingRule(UP, f"sum {by()} (up{s()})"),
        RecordingRule(CPU, f"sum {by('instance')} (rate(process_cpu_seconds_total{s()}[5m]))"),
        RecordingRule(MEMORY, f"sum {by('instance')} (process_resident_memory_bytes{s()})"),
    )


def rule_tests(ctx: Context) -> tuple[RuleTest, ...]:
    req = lambda verb, code, rate: {ctx.series(SRC, "apiserver_request_total", code=code, resource="pods",  # noqa: E731
                                               scope="resource", verb=verb): counter(rate)}
    traffic = {**req("GET", "200", 5), **req("GET", "429", 1), **req("WATCH", "500", 2)}
    seats = {
        ctx.series(SRC, "apiserver_flowcontrol_current_executing_seats", flow_schema=fs, instance=i,
                   priority_level=pl): v
        for fs, i, pl, v in (("service-accounts", "a:6443", "workload-low", 10), ("service-accounts", "b:6443",
                             "workload-low", 30), ("exempt", "a:6443", "exempt", 5))
    }
    seats.update({ctx.series(SRC, "apiserver_flowcontrol_current_limit_seats", instance=i, priority_level=pl): v
                  for i, pl, v in (("a:6443", "workload-low", 40), ("b:6443", "workload-low", 40),
                                   ("a:6443", "exempt", 1))})
    objects_new = {ctx.series(SRC, "apiserver_resource_objects", group="apps", resource="deployments"): 5,
                   ctx.series(SRC, "apiserver_storage_objects", resource="deployments.apps"): 5}
    objects_old = {ctx.series(SRC, "apiserver_storage_objects", resource="pods"): 7}
    cert = ctx.histogram(SRC, CERT.metric, CERT_BUCKETS, 3600, 1)
    terminated = {**req("GET", "200", 3),
                  ctx.series(SRC, "apiserver_request_terminations_total", code="504", resource="pods",
                             scope="resource", verb="GET"): counter(1)}
    return (
        RuleTest(inputs=traffic, expr=ERR_RATIO, expected=(({}, 0.25),), note="5xx share, WATCH included"),
        RuleTest(inputs=traffic, expr=THROTTLED_RATIO, expected=(({}, 0.125),), note="429 share"),
        RuleTest(inputs=req("GET", "200", 3), expr=ERR_RATIO, expected=(({}, 0.0),), note="zero before any 5xx"),
        RuleTest(inputs=terminated, expr=TERMINATION_RATIO, expected=(({}, 0.25),),
                 note="terminated over answered plus terminated"),
        RuleTest(inputs=seats, expr=APF_SEATS, expected=(({"priority_level": "workload-low"}, 0.75),),
                 note="busiest instance, exempt left out"),
        RuleTest(inputs=objects_new, expr=OBJECTS, expected=(({"group": "apps", "resource": "deployments"}, 5),),
                 note="apiserver_resource_objects when present"),
        RuleTest(inputs=objects_old, expr=OBJECTS, expected=(({"resource": "pods"}, 7),),
                 note="apiserver_storage_objects before Kubernetes 1.34"),
        RuleTest(inputs=cert, expr=CERT_Q, expected=(({"quantile": "0.01"}, 1800 + 1800 * 0.01),),
                 note="1st percentile of remaining lifetimes"),
    )
