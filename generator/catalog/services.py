"""Service signals: request rate and response time of the applications themselves.

They are the "service" side of the paper's pairs (container memory ↔ response time, restarts ↔ latency).
Which services exist is a site matter, so they come from `services:` in stereo.yaml as presets:
`http` (the conventional `http_request_duration_seconds` histogram that client libraries export, labelled
by the pod it was scraped from) and `ingress-nginx` (the controller's per-ingress request histogram).
"""

from __future__ import annotations

from generator import buckets, promql
from generator.catalog.helpers import Quantiles, bucket_quantile, counter
from generator.context import Context
from generator.model import Component, Panel, RecordingRule, RuleTest, Signal
from generator.promql import record_name

BUCKETS = buckets.HTTP  # the client libraries' defaults

HTTP_RATE = record_name("namespace_pod", "http_requests", "rate5m")
HTTP_DURATION = Quantiles("http_request_duration_seconds", by=("namespace", "pod"), level="namespace_pod", fused=True)
HTTP_Q = HTTP_DURATION.name
# ingress-nginx's own `namespace` label becomes `exported_namespace` when Prometheus attaches the target's
# namespace (the kube-prometheus default, honor_labels false); its dashboards use the same label.
INGRESS_RATE = record_name("namespace_ingress", "nginx_ingress_controller_requests", "rate5m")
INGRESS_ERRORS = record_name("namespace_ingress", "nginx_ingress_controller_requests_5xx", "ratio_rate5m")
INGRESS_DURATION = Quantiles("nginx_ingress_controller_request_duration_seconds", by=("exported_namespace", "ingress"),
                             level="namespace_ingress")
INGRESS_Q = INGRESS_DURATION.name


def _selector(entry: dict[str, str], *matchers: str) -> str:
    return promql.selector(entry.get("selector", ""), *matchers)


def _series(ctx: Context, entry: dict[str, str], metric: str, **labels: str) -> str:
    return ctx.series_passing(entry.get("selector", ""), metric, **labels)


def _http(ctx: Context, entry: dict[str, str]) -> tuple[list, list, list, list]:
    c = ctx.cluster
    sel = _selector(entry)
    rules = [
        RecordingRule(HTTP_RATE,
                      f"sum {ctx.by('namespace', 'pod')} (rate(http_request_duration_seconds_count{sel}[5m]))"),
        *HTTP_DURATION.rules(ctx, sel),
    ]
    scope = ctx.dash('namespace=~"$namespace"', 'pod=~"$pod"')
    p99 = ctx.dash('namespace=~"$namespace"', 'pod=~"$pod"', quantile=0.99)
    signals = [
        Signal("service_request_rate", f"{HTTP_RATE}{scope}", "reqps", (c, "namespace", "pod"),
               "Requests per pod", "HTTP requests per second each pod serves (http_request_duration_seconds_count)."),
        Signal("service_latency_p99", f"{HTTP_Q}{p99}", "s", (c, "namespace", "pod"),
               "Response time p99 per pod", "99th percentile HTTP response time per pod: the service side of "
               "memory ↔ response time."),
    ]
    hist = ctx.histogram_passing(entry.get("selector", ""), HTTP_DURATION.metric, BUCKETS, 0.3, 10, namespace="shop",
                                 pod="web-1")
    tests = [
        RuleTest(hist, HTTP_Q, (({"namespace": "shop", "pod": "web-1", "quantile": "0.99"},
                                 bucket_quantile(BUCKETS, 0.3, 0.99)),), note="p99 per pod"),
        RuleTest(hist, HTTP_RATE, (({"namespace": "shop", "pod": "web-1"}, 10),), note="requests per second"),
    ]
    panels = [Panel("Requests per pod", ("service_request_rate",), legend="{{namespace}}/{{pod}}"),
              Panel("Response time p99 per pod", ("service_latency_p99",), legend="{{namespace}}/{{pod}}")]
    return rules, signals, tests, panels


def _ingress(ctx: Context, entry: dict[str, str]) -> tuple[list, list, list, list]:
    c = ctx.cluster
    sel = _selector(entry)
    fivexx = _selector(entry, 'status=~"5.."')
    keep = ("exported_namespace", "ingress")
    rules = [
        RecordingRule(INGRESS_RATE, f"sum {ctx.by(*keep)} (rate(nginx_ingress_controller_requests{sel}[5m]))"),
        RecordingRule(INGRESS_ERRORS, f"sum {ctx.by(*keep)} (rate(nginx_ingress_controller_requests{fivexx}[5m]))"
                                      f" / sum {ctx.by(*keep)} (rate(nginx_ingress_controller_requests{sel}[5m]))"),
        *INGRESS_DURATION.rules(ctx, sel),
    ]
    scope = ctx.dash('exported_namespace=~"$namespace"')
    p99 = ctx.dash('exported_namespace=~"$namespace"', quantile=0.99)
    labels = (c, "exported_namespace", "ingress")
    signals = [
        Signal("ingress_request_rate", f"{INGRESS_RATE}{scope}", "reqps", labels, "Ingress requests",
               "Requests per second through each ingress (ingress-nginx)."),
        Signal("ingress_error_ratio", f"{INGRESS_ERRORS}{scope}", "percentunit", labels, "Ingress 5xx ratio",
               "Share of requests through each ingress answered with a 5xx status."),
        Signal("ingress_latency_p99", f"{INGRESS_Q}{p99}", "s", labels,
               "Ingress response time p99", "99th percentile response time per ingress, as ingress-nginx sees it."),
    ]
    req = lambda status, rate: {  # noqa: E731
        _series(ctx, entry, "nginx_ingress_controller_requests", exported_namespace="shop", ingress="web",
                status=status): counter(rate)}
    tests = [RuleTest({**req("200", 19), **req("503", 1)}, INGRESS_ERRORS,
                      (({"exported_namespace": "shop", "ingress": "web"}, 0.05),), note="5xx share per ingress")]
    panels = [Panel("Ingress requests", ("ingress_request_rate",), legend="{{exported_namespace}}/{{ingress}}"),
              Panel("Ingress 5xx ratio", ("ingress_error_ratio",), legend="{{exported_namespace}}/{{ingress}}"),
              Panel("Ingress response time p99", ("ingress_latency_p99",), legend="{{exported_namespace}}/{{ingress}}")]
    return rules, signals, tests, panels


PRESETS = {"http": _http, "ingress-nginx": _ingress}


def build(ctx: Context) -> Component:
    rules: list = []
    signals: list = []
    tests: list = []
    panels: list = []
    for entry in ctx.services:  # config guarantees each preset at most once
        r, s, t, p = PRESETS[entry["preset"]](ctx, entry)
        rules += r
        signals += s
        tests += t
        panels += p
    return Component(
        key="services",
        title="Services",
        description="Request rate and response time of the applications running on the cluster.",
        signals=tuple(signals),
        rules=tuple(rules),
        rule_tests=tuple(tests),
        panels=tuple(panels),
        per_pod=True,
    )
