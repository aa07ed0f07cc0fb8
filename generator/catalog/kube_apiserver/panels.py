"""kube-apiserver's signals (what the dashboard and the correlation engine read) and its dashboard panels."""

from __future__ import annotations

from generator.catalog.kube_apiserver import slo
from generator.catalog.kube_apiserver.names import (
    AGG_UNAVAILABLE,
    APF_INQUEUE,
    APF_REJECTED,
    APF_SEATS,
    CERT_Q,
    CPU,
    ERR_RATIO,
    ETCD_Q,
    INFLIGHT,
    LAT_Q,
    LAT_VERB_Q,
    LONGRUNNING,
    MEMORY,
    OBJECTS,
    REQ_RATE,
    RESOURCE_ERR_RATIO,
    TERMINATION_RATIO,
    THROTTLED_RATIO,
    UP,
    WEBHOOK_Q,
    WEBHOOK_REJECTIONS,
)
from generator.context import Context
from generator.model import Panel, Signal
from generator.promql import fmt_number


def signals(ctx: Context) -> tuple[Signal, ...]:
    c = ctx.cluster
    f, watches = ctx.dash(), ctx.dash('verb="WATCH"')
    p99 = ctx.dash(quantile=0.99)
    budget = fmt_number(1 - ctx.slo_objective)
    period = slo.load_windows().period
    return (
        Signal("apiserver_up", f"{UP}{f}", "short", (c,), "Apiservers up",
               "Number of kube-apiserver targets Prometheus scrapes successfully.", kind="state",
               alert="KubeAPIServerDown"),
        Signal("apiserver_slo_burn_rate_1h", f"{slo.ratio_name('1h')}{f} / {budget}", "short", (c, "slo"),
               "Error budget burn rate (1h)", "How many times faster than the objective allows each SLO spent its "
               "error budget over the last hour; 1 spends exactly the budget over the period.",
               alert="KubeAPIServerErrorBudgetBurnFast"),
        Signal("apiserver_slo_error_budget_remaining", f"1 - {slo.ratio_name(period)}{f} / {budget}", "percentunit",
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
        Signal("apiserver_request_latency_p99", f"{LAT_Q}{p99}", "s", (c,), "Request latency p99",
               "99th percentile API request latency, WATCH, CONNECT and streaming subresources left out."),
        Signal("apiserver_request_latency_p50", f"{LAT_Q}{ctx.dash(quantile=0.5)}", "s", (c,), "Request latency p50",
               "Median API request latency, WATCH, CONNECT and streaming subresources left out."),
        Signal("apiserver_request_latency_p99_by_verb", f"{LAT_VERB_Q}{p99}", "s", (c, "verb"),
               "Request latency p99 by verb", "99th percentile API request latency for each verb.",
               alert="KubeAPIServerLatencyHigh"),
        Signal("apiserver_etcd_request_latency_p99", f"{ETCD_Q}{p99}", "s", (c, "operation"),
               "etcd request latency p99", "99th percentile latency of the apiserver's etcd requests, by operation.",
               alert="KubeAPIServerEtcdLatencyHigh"),
        Signal("apiserver_inflight_requests", f"{INFLIGHT}{f}", "short", (c, "request_kind"), "Inflight requests",
               "Requests being served, read-only and mutating, summed over apiservers (highest in the last second)."),
        Signal("apiserver_watches", f"{LONGRUNNING}{watches}", "short", (c, "verb"),
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
        Signal("apiserver_webhook_latency_p99", f"{WEBHOOK_Q}{p99}", "s", (c, "name"), "Webhook latency p99",
               "99th percentile latency of each admission webhook.", alert="KubeAPIServerWebhookLatencyHigh"),
        Signal("apiserver_webhook_rejections", f"{WEBHOOK_REJECTIONS}{f}", "reqps", (c, "name", "error_type"),
               "Webhook rejections", "Requests per second admission webhooks reject; error_type no_error is a "
               "policy denial, the others are failures to call the webhook."),
        Signal("apiserver_aggregated_api_unavailable", f"{AGG_UNAVAILABLE}{f} > 0", "short", (c, "name"),
               "Unavailable aggregated APIs", "APIServices the aggregator marks unavailable.", kind="state",
               alert="KubeAPIServerAggregatedAPIDown"),
        Signal("apiserver_client_certificate_lifetime_p1", f"{CERT_Q}{ctx.dash(quantile=0.01)}", "s", (c,),
               "Client certificate lifetime (1st percentile)", "Remaining lifetime of the shortest-lived client "
               "certificates presented to the apiserver.", kind="state", alert="KubeClientCertificateExpiration"),
        Signal("apiserver_resource_objects", f"topk(10, {OBJECTS}{f})", "short", (c, "group", "resource"),
               "Top stored objects", "The resources with the most objects in etcd.", kind="state"),
        Signal("apiserver_cpu", f"{CPU}{f}", "cores", (c, "instance"), "Apiserver CPU",
               "CPU cores each kube-apiserver process uses.", kind="resource"),
        Signal("apiserver_memory", f"{MEMORY}{f}", "bytes", (c, "instance"), "Apiserver memory",
               "Resident memory of each kube-apiserver process.", kind="resource"),
    )


def panels() -> tuple[Panel, ...]:
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
