"""kube-apiserver: traffic, errors, latency, SLOs, API Priority and Fairness, webhooks, etcd as seen by the apiserver.

Managed clusters (ACK, TKE, EKS, GKE) expose the apiserver's /metrics too, so this is not a control-plane-only part.
The SLO rules and burn-rate alerts live in kube_apiserver_slo.py, the other alerts in kube_apiserver_alerts.py.
"""

from __future__ import annotations

from generator.catalog import kube_apiserver_alerts, kube_apiserver_availability, kube_apiserver_slo
from generator.catalog.helpers import counter, histogram
from generator.catalog.kube_apiserver_names import (
    AGG_UNAVAILABLE,
    APF_INQUEUE,
    APF_REJECTED,
    APF_SEATS,
    CERT_BUCKETS,
    CERT_BUCKETS_RATE,
    CERT_Q,
    CPU,
    ERR_RATIO,
    ETCD_BUCKETS_RATE,
    ETCD_Q,
    INFLIGHT,
    LAT_BUCKETS,
    LAT_Q,
    LAT_VERB_Q,
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
    WEBHOOK_BUCKETS_RATE,
    WEBHOOK_Q,
    WEBHOOK_REJECTIONS,
)
from generator.catalog.kube_apiserver_slo import ratio_name
from generator.context import Context
from generator.model import Component, Panel, RecordingRule, RuleTest, Signal
from generator.promql import fmt_number

# long-running and streaming requests have no meaningful latency
NOT_LATENCY = ('verb!~"WATCH|CONNECT"', 'subresource!~"proxy|attach|log|exec|portforward"')


def build(ctx: Context) -> Component:
    windows = kube_apiserver_slo.load_windows()
    slo_rules, slo_slow = kube_apiserver_slo.rules(ctx, windows)
    return Component(
        key="kube-apiserver",
        jobs=("kube-apiserver",),
        title="Kubernetes API server",
        description="kube-apiserver: request rate, errors and latency, availability and latency SLOs with "
                    "burn-rate alerts, API Priority and Fairness, admission webhooks, etcd latency, certificates.",
        signals=_signals(ctx),
        rules=(*_rules(ctx), *slo_rules),
        slow_rules=slo_slow,
        rule_tests=(*_rule_tests(ctx), *kube_apiserver_slo.rule_tests(ctx, windows)),
        alerts=(*kube_apiserver_availability.alerts(ctx), *kube_apiserver_alerts.alerts(ctx),
                *kube_apiserver_slo.alerts(ctx, windows)),
        panels=_panels(),
        control_plane=False,
    )


def _rules(ctx: Context) -> tuple[RecordingRule, ...]:
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
        RecordingRule(LAT_BUCKETS, f"sum {by('verb', 'le')} "
                                   f"(rate(apiserver_request_duration_seconds_bucket{s(*NOT_LATENCY)}[5m]))"),
        RecordingRule(LAT_VERB_Q, f"histogram_quantile(0.99, {LAT_BUCKETS})", {"quantile": "0.99"}),
        RecordingRule(LAT_Q, f"histogram_quantile(0.99, sum {by('le')} ({LAT_BUCKETS}))", {"quantile": "0.99"}),
        RecordingRule(LAT_Q, f"histogram_quantile(0.5, sum {by('le')} ({LAT_BUCKETS}))", {"quantile": "0.5"}),
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
        RecordingRule(WEBHOOK_BUCKETS_RATE, f"sum {by('name', 'le')} "
                                            f"(rate(apiserver_admission_webhook_admission_duration_seconds_bucket"
                                            f"{s()}[5m]))"),
        RecordingRule(WEBHOOK_Q, f"histogram_quantile(0.99, {WEBHOOK_BUCKETS_RATE})", {"quantile": "0.99"}),
        RecordingRule(WEBHOOK_REJECTIONS, f"sum {by('name', 'error_type')} "
                                          f"(rate(apiserver_admission_webhook_rejection_count{s()}[5m]))"),
        RecordingRule(ETCD_BUCKETS_RATE, f"sum {by('operation', 'le')} "
                                         f"(rate(etcd_request_duration_seconds_bucket{s()}[5m]))"),
        RecordingRule(ETCD_Q, f"histogram_quantile(0.99, {ETCD_BUCKETS_RATE})", {"quantile": "0.99"}),
        RecordingRule(AGG_UNAVAILABLE, f"max {by('name')} (aggregator_unavailable_apiservice{s()})"),
        RecordingRule(CERT_BUCKETS_RATE, f"sum {by('le')} "
                                         f"(rate(apiserver_client_certificate_expiration_seconds_bucket{s()}[5m]))"),
        # the shortest-lived certificates seen, as kubernetes-mixin's KubeClientCertificateExpiration
        RecordingRule(CERT_Q, f"histogram_quantile(0.01, {CERT_BUCKETS_RATE})", {"quantile": "0.01"}),
        # apiserver_storage_objects is deprecated since 1.34 for apiserver_resource_objects (which adds `group`);
        # older apiservers only have the former, so fall back to it per cluster
        RecordingRule(OBJECTS, f"max {by('group', 'resource')} (apiserver_resource_objects{s()})"
                               f" or on ({ctx.cluster}) max {by('resource')} (apiserver_storage_objects{s()})"),
        RecordingRule(UP, f"sum {by()} (up{s()})"),
        RecordingRule(CPU, f"sum {by('instance')} (rate(process_cpu_seconds_total{s()}[5m]))"),
        RecordingRule(MEMORY, f"sum {by('instance')} (process_resident_memory_bytes{s()})"),
    )


def _signals(ctx: Context) -> tuple[Signal, ...]:
    c = ctx.cluster
    f = f'{{{c}="$cluster"}}'
    q = lambda v: f'{{{c}="$cluster",quantile="{v}"}}'  # noqa: E731
    budget = fmt_number(1 - ctx.slo_objective)
    period = kube_apiserver_slo.load_windows().period
    return (
        Signal("apiserver_up", f"{UP}{f}", "short", (c,), "Apiservers up",
               "Number of kube-apiserver targets Prometheus scrapes successfully.", kind="state",
               alert="KubeAPIServerDown"),
        Signal("apiserver_slo_burn_rate_1h", f"{ratio_name('1h')}{f} / {budget}", "short", (c, "slo"),
               "Error budget burn rate (1h)", "How many times faster than the objective allows each SLO spent its "
               "error budget over the last hour; 1 spends exactly the budget over the period.",
               alert="KubeAPIServerErrorBudgetBurnFast"),
        Signal("apiserver_slo_error_budget_remaining", f"1 - {ratio_name(period)}{f} / {budget}", "percentunit",
               (c, "slo"), f"Error budget remaining ({period})",
               f"Share of the {period} error budget of each SLO not yet spent."),
        Signal("apiserver_request_rate", f"sum by ({c}) ({REQ_RATE}{f})", "reqps", (c,), "Request rate",
               "API requests per second the apiservers answer, all verbs."),
        Signal("apiserver_request_rate_by_verb", f"sum by ({c}, verb) ({REQ_RATE}{f})", "reqps", (c, "verb"),
               "Requests by verb", "API requests per second by verb (GET, LIST, WATCH, POST…)."),
        Signal("apiserver_request_rate_by_code", f"sum by ({c}, code) ({REQ_RATE}{f})", "reqps", (c, "code"),
               "Requests by code", "API requests per second by HTTP response code."),
        Signal("apiserver_request_rate_by_resource", f"topk(10, sum by ({c}, resource) ({REQ_RATE}{f}))", "reqps",
               (c, "resource"), "Top resources by requests", "The ten resources receiving the most API requests."),
        Signal("apiserver_error_ratio", f"{ERR_RATIO}{f}", "percentunit", (c,), "5xx ratio",
               "Share of API requests answered with a 5xx code."),
        Signal("apiserver_throttled_ratio", f"{THROTTLED_RATIO}{f}", "percentunit", (c,), "429 ratio",
               "Share of API requests answered 429 Too Many Requests.", alert="KubeAPIServerThrottlingHigh"),
        Signal("apiserver_resource_error_ratio", f"topk(10, {RESOURCE_ERR_RATIO}{f})", "percentunit",
               (c, "verb", "resource"), "5xx ratio by resource", "Verbs and resources with the highest 5xx share.",
               alert="KubeAPIServerResourceErrorsHigh"),
        Signal("apiserver_request_latency_p99", f"{LAT_Q}{q('0.99')}", "s", (c,), "Request latency p99",
               "99th percentile API request latency, WATCH, CONNECT and streaming subresources left out."),
        Signal("apiserver_request_latency_p50", f"{LAT_Q}{q('0.5')}", "s", (c,), "Request latency p50",
               "Median API request latency, WATCH, CONNECT and streaming subresources left out."),
        Signal("apiserver_request_latency_p99_by_verb", f"{LAT_VERB_Q}{q('0.99')}", "s", (c, "verb"),
               "Request latency p99 by verb", "99th percentile API request latency for each verb.",
               alert="KubeAPIServerLatencyHigh"),
        Signal("apiserver_etcd_request_latency_p99", f"{ETCD_Q}{q('0.99')}", "s", (c, "operation"),
               "etcd request latency p99", "99th percentile latency of the apiserver's etcd requests, by operation.",
               alert="KubeAPIServerEtcdLatencyHigh"),
        Signal("apiserver_inflight_requests", f"{INFLIGHT}{f}", "short", (c, "request_kind"), "Inflight requests",
               "Requests being served, read-only and mutating, summed over apiservers (highest in the last second)."),
        Signal("apiserver_watches", f'{LONGRUNNING}{{{c}="$cluster",verb="WATCH"}}', "short", (c, "verb"),
               "Open watches", "Long-running WATCH requests the apiservers hold open.", kind="state"),
        Signal("apiserver_flowcontrol_seat_utilization", f"{APF_SEATS}{f}", "percentunit", (c, "priority_level"),
               "APF seat utilization", "Executing seats over the seat limit of each priority level, busiest "
               "apiserver.", alert="KubeAPIServerFlowControlSaturated"),
        Signal("apiserver_flowcontrol_inqueue_requests", f"{APF_INQUEUE}{f}", "short", (c, "priority_level"),
               "APF queued requests", "Requests waiting in API Priority and Fairness queues, by priority level.",
               alert="KubeAPIServerFlowControlQueueing"),
        Signal("apiserver_flowcontrol_rejected_requests", f"{APF_REJECTED}{f}", "reqps",
               (c, "priority_level", "reason"), "APF rejected requests",
               "Requests per second API Priority and Fairness rejects, by priority level and reason.",
               alert="KubeAPIServerFlowControlRejections"),
        Signal("apiserver_terminated_ratio", f"{TERMINATION_RATIO}{f}", "percentunit", (c,), "Terminated requests",
               "Share of incoming requests the apiserver dropped in self-defense.",
               alert="KubeAPIServerTerminatedRequests"),
        Signal("apiserver_webhook_latency_p99", f"{WEBHOOK_Q}{q('0.99')}", "s", (c, "name"), "Webhook latency p99",
               "99th percentile latency of each admission webhook.", alert="KubeAPIServerWebhookLatencyHigh"),
        Signal("apiserver_webhook_rejections", f"{WEBHOOK_REJECTIONS}{f}", "reqps", (c, "name", "error_type"),
               "Webhook rejections", "Requests per second admission webhooks reject; error_type no_error is a "
               "policy denial, the others are failures to call the webhook."),
        Signal("apiserver_aggregated_api_unavailable", f"{AGG_UNAVAILABLE}{f} > 0", "short", (c, "name"),
               "Unavailable aggregated APIs", "APIServices the aggregator marks unavailable.", kind="state",
               alert="KubeAPIServerAggregatedAPIDown"),
        Signal("apiserver_client_certificate_lifetime_p1", f"{CERT_Q}{q('0.01')}", "s", (c,),
               "Client certificate lifetime (1st percentile)", "Remaining lifetime of the shortest-lived client "
               "certificates presented to the apiserver.", kind="state", alert="KubeClientCertificateExpiration"),
        Signal("apiserver_resource_objects", f"topk(10, {OBJECTS}{f})", "short", (c, "group", "resource"),
               "Top stored objects", "The resources with the most objects in etcd.", kind="state"),
        Signal("apiserver_cpu", f"{CPU}{f}", "cores", (c, "instance"), "Apiserver CPU",
               "CPU cores each kube-apiserver process uses.", kind="resource"),
        Signal("apiserver_memory", f"{MEMORY}{f}", "bytes", (c, "instance"), "Apiserver memory",
               "Resident memory of each kube-apiserver process.", kind="resource"),
    )


def _panels() -> tuple[Panel, ...]:
    return (
        Panel("Apiservers up", ("apiserver_up",), kind="stat", width=6),
        Panel("Error budget remaining", ("apiserver_slo_error_budget_remaining",), kind="bargauge", width=6,
              legend="{{slo}}"),
        Panel("Error budget burn rate (1h)", ("apiserver_slo_burn_rate_1h",), legend="{{slo}}"),
        Panel("Requests by verb", ("apiserver_request_rate_by_verb",), stack=True, legend="{{verb}}"),
        Panel("Requests by code", ("apiserver_request_rate_by_code",), stack=True, legend="{{code}}"),
        Panel("5xx and 429 ratio", ("apiserver_error_ratio", "apiserver_throttled_ratio")),
        Panel("5xx ratio by resource", ("apiserver_resource_error_ratio",), legend="{{verb}} {{resource}}"),
        Panel("Request latency", ("apiserver_request_latency_p99", "apiserver_request_latency_p50")),
        Panel("etcd request latency p99", ("apiserver_etcd_request_latency_p99",), legend="{{operation}}"),
        Panel("Request latency p99 by verb", ("apiserver_request_latency_p99_by_verb",), legend="{{verb}}"),
        Panel("Top resources by requests", ("apiserver_request_rate_by_resource",), legend="{{resource}}"),
        Panel("CPU", ("apiserver_cpu",), legend="{{instance}}"),
        Panel("Memory", ("apiserver_memory",), legend="{{instance}}"),
        Panel("Inflight requests", ("apiserver_inflight_requests",), legend="{{request_kind}}"),
        Panel("Open watches", ("apiserver_watches",)),
        Panel("APF seat utilization", ("apiserver_flowcontrol_seat_utilization",), legend="{{priority_level}}"),
        Panel("APF queued requests", ("apiserver_flowcontrol_inqueue_requests",), legend="{{priority_level}}"),
        Panel("APF rejected requests", ("apiserver_flowcontrol_rejected_requests",),
              legend="{{priority_level}} {{reason}}"),
        Panel("Terminated requests", ("apiserver_terminated_ratio",)),
        Panel("Admission webhook latency p99", ("apiserver_webhook_latency_p99",), legend="{{name}}"),
        Panel("Admission webhook rejections", ("apiserver_webhook_rejections",), legend="{{name}} {{error_type}}"),
        Panel("Top stored objects", ("apiserver_resource_objects",), legend="{{resource}}"),
        Panel("Unavailable aggregated APIs", ("apiserver_aggregated_api_unavailable",), legend="{{name}}"),
        Panel("Client certificate lifetime", ("apiserver_client_certificate_lifetime_p1",)),
    )


def _rule_tests(ctx: Context) -> tuple[RuleTest, ...]:
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
    cert = histogram(lambda suffix, **lb: ctx.series(SRC, f"apiserver_client_certificate_expiration_seconds{suffix}",
                                                     **lb), CERT_BUCKETS, 3600, 1)
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
