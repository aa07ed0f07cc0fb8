"""CoreDNS: the cluster's DNS. Requests, rcodes, latency, upstream (forward) health, cache, panics."""

from __future__ import annotations

from generator import buckets
from generator.catalog import targets
from generator.catalog.helpers import Quantiles, counter, quantile_cases
from generator.context import Context
from generator.model import Alert, Case, Component, Panel, RecordingRule, RuleTest, Signal
from generator.promql import fmt_number, record_name

SRC = "coredns"
DNS_BUCKETS = buckets.COREDNS

REQ_RATE = record_name("cluster_type", "coredns_dns_requests", "rate5m")
RCODE_RATE = record_name("cluster_rcode", "coredns_dns_responses", "rate5m")
SERVFAIL_RATIO = record_name("cluster", "coredns_dns_servfail", "ratio_rate5m")
LATENCY = Quantiles("coredns_dns_request_duration_seconds", quantiles=(0.99, 0.5))
LATENCY_Q = LATENCY.name
FWD_RATE = record_name("cluster_to", "coredns_forward_requests", "rate5m")
FWD_ERR_RATIO = record_name("cluster", "coredns_forward_errors", "ratio_rate5m")
FWD_LATENCY = Quantiles("coredns_forward_request_duration_seconds")
FWD_LATENCY_Q = FWD_LATENCY.name
CACHE_HIT = record_name("cluster", "coredns_cache_hit", "ratio_rate5m")
CPU = record_name("cluster_pod", "coredns_process_cpu_seconds", "rate5m")


def build(ctx: Context) -> Component:
    s = lambda *m: ctx.sel(SRC, *m)  # noqa: E731 - a selector shorthand reads better inline
    servfail = s('rcode="SERVFAIL"')

    rules = (
        RecordingRule(REQ_RATE, f"sum {ctx.by('type')} (rate(coredns_dns_requests_total{s()}[5m]))"),
        RecordingRule(RCODE_RATE, f"sum {ctx.by('rcode')} (rate(coredns_dns_responses_total{s()}[5m]))"),
        RecordingRule(
            SERVFAIL_RATIO,
            f'sum {ctx.by()} (rate(coredns_dns_responses_total{servfail}[5m]))'
            f" / sum {ctx.by()} (rate(coredns_dns_responses_total{s()}[5m]))",
        ),
        *LATENCY.rules(ctx, s()),
        RecordingRule(FWD_RATE, f"sum {ctx.by('to')} (rate(coredns_forward_requests_total{s()}[5m]))"),
        RecordingRule(
            FWD_ERR_RATIO,
            f'sum {ctx.by()} (rate(coredns_forward_responses_total{servfail}[5m]))'
            f" / sum {ctx.by()} (rate(coredns_forward_responses_total{s()}[5m]))",
        ),
        *FWD_LATENCY.rules(ctx, s()),
        RecordingRule(
            CACHE_HIT,
            f"1 - sum {ctx.by()} (rate(coredns_cache_misses_total{s()}[5m]))"
            f" / sum {ctx.by()} (rate(coredns_cache_requests_total{s()}[5m]))",
        ),
        RecordingRule(CPU, f"sum {ctx.by('pod')} (rate(process_cpu_seconds_total{s()}[5m]))"),
    )
    return Component(
        key="coredns",
        jobs=("coredns",),
        title="CoreDNS",
        description="Cluster DNS: request and response rates, SERVFAIL ratio, latency, upstream forwarding, cache.",
        signals=_signals(ctx),
        rules=rules,
        rule_tests=_rule_tests(ctx),
        alerts=_alerts(ctx),
        panels=_panels(),
    )


def _signals(ctx: Context) -> tuple[Signal, ...]:
    c = ctx.cluster
    f = ctx.dash()
    return (
        Signal("coredns_requests", f"sum by ({c}, type) ({REQ_RATE}{f})", "reqps", (c, "type"),
               "DNS requests by type", "DNS queries per second CoreDNS receives, by record type (A, AAAA, SRV…).",
               alert=None),
        Signal("coredns_responses_by_rcode", f"sum by ({c}, rcode) ({RCODE_RATE}{f})", "reqps", (c, "rcode"),
               "DNS responses by rcode",
               "Responses per second by DNS return code; NXDOMAIN is normal, SERVFAIL is not."),
        Signal("coredns_servfail_ratio", f"{SERVFAIL_RATIO}{f}", "percentunit", (c,),
               "SERVFAIL ratio", "Share of responses that are SERVFAIL: CoreDNS could not answer.",
               alert="CoreDNSServfailRatioHigh"),
        Signal("coredns_latency_p99", f"{LATENCY_Q}{ctx.dash(quantile=0.99)}", "s", (c,),
               "DNS latency p99", "99th percentile of the time CoreDNS takes to answer a query.",
               alert="CoreDNSLatencyHigh"),
        Signal("coredns_forward_error_ratio", f"{FWD_ERR_RATIO}{f}", "percentunit", (c,),
               "Forward SERVFAIL ratio", "Share of queries forwarded upstream that came back SERVFAIL.",
               alert="CoreDNSForwardErrorsHigh"),
        Signal("coredns_forward_latency_p99", f"{FWD_LATENCY_Q}{ctx.dash(quantile=0.99)}", "s", (c,),
               "Forward latency p99", "99th percentile of upstream resolver response time.",
               alert="CoreDNSForwardLatencyHigh"),
        Signal("coredns_cache_hit_ratio", f"{CACHE_HIT}{f}", "percentunit", (c,),
               "Cache hit ratio", "Share of queries answered from CoreDNS's cache."),
        Signal("coredns_cpu", f"sum by ({c}, pod) ({CPU}{f})", "cores", (c, "pod"),
               "CoreDNS CPU", "CPU cores used by each CoreDNS pod (process_cpu_seconds_total).", kind="resource"),
    )


def _panels() -> tuple[Panel, ...]:
    return (
        Panel("Requests by type", ("coredns_requests",), stack=True, legend="{{type}}"),
        Panel("Responses by rcode", ("coredns_responses_by_rcode",), stack=True, legend="{{rcode}}"),
        Panel("SERVFAIL ratio", ("coredns_servfail_ratio",)),
        Panel("Latency p99", ("coredns_latency_p99",)),
        Panel("CPU per pod", ("coredns_cpu",), legend="{{pod}}"),
        Panel("Cache hit ratio", ("coredns_cache_hit_ratio",)),
        Panel("Forward SERVFAIL ratio", ("coredns_forward_error_ratio",)),
        Panel("Forward latency p99", ("coredns_forward_latency_p99",)),
    )


def _rule_tests(ctx: Context) -> tuple[RuleTest, ...]:
    resp = lambda rcode, rate: {ctx.series(SRC, "coredns_dns_responses_total", rcode=rcode, server="dns://:53",  # noqa: E731
                                           zone="."): counter(rate)}
    cache = {
        ctx.series(SRC, "coredns_cache_requests_total", server="dns://:53"): counter(10),
        ctx.series(SRC, "coredns_cache_misses_total", server="dns://:53"): counter(2.5),
    }
    return (
        RuleTest(inputs={**resp("NOERROR", 9), **resp("SERVFAIL", 1)}, expr=SERVFAIL_RATIO,
                 expected=(({}, 0.1),), note="SERVFAIL share of all responses"),
        RuleTest(inputs=cache, expr=CACHE_HIT, expected=(({}, 0.75),), note="hit ratio from requests and misses"),
    )


def _alerts(ctx: Context) -> tuple[Alert, ...]:
    up = lambda v: {ctx.series(SRC, "up", instance="10.0.0.10:9153"): v}  # noqa: E731
    resp = lambda ok, fail: {  # noqa: E731
        ctx.series(SRC, "coredns_dns_responses_total", rcode="NOERROR", server="dns://:53", zone="."): counter(ok),
        ctx.series(SRC, "coredns_dns_responses_total", rcode="SERVFAIL", server="dns://:53", zone="."): counter(fail),
    }
    fwd = lambda ok, fail: {  # noqa: E731
        ctx.series(SRC, "coredns_forward_responses_total", rcode="NOERROR", to="10.0.0.2:53"): counter(ok),
        ctx.series(SRC, "coredns_forward_responses_total", rcode="SERVFAIL", to="10.0.0.2:53"): counter(fail),
    }
    dns_hist = lambda seconds: ctx.histogram(  # noqa: E731
        SRC, LATENCY.metric, DNS_BUCKETS, seconds, 20, server="dns://:53", zone=".")
    fwd_hist = lambda seconds: ctx.histogram(  # noqa: E731
        SRC, FWD_LATENCY.metric, DNS_BUCKETS, seconds, 5, rcode="NOERROR", to="10.0.0.2:53")
    check = lambda kind, v: {  # noqa: E731
        ctx.series(SRC, f"coredns_forward_healthcheck_{kind}_total",
                   **({"to": "10.0.0.2:53"} if kind == "failures" else {})): v}
    servfail = ctx.threshold("CoreDNSServfailRatioHigh", 0.03)
    latency = ctx.threshold("CoreDNSLatencyHigh", 1.0)
    fwd_err = ctx.threshold("CoreDNSForwardErrorsHigh", 0.05)
    fwd_latency = ctx.threshold("CoreDNSForwardLatencyHigh", 2.0)
    c = ctx.cluster
    slow = quantile_cases(ctx, "CoreDNSLatencyHigh", DNS_BUCKETS, latency)
    fwd_slow = quantile_cases(ctx, "CoreDNSForwardLatencyHigh", DNS_BUCKETS, fwd_latency)
    return (
        Alert(
            name="CoreDNSDown",
            down=True,
            expr=targets.down_expr(ctx, SRC),
            for_="15m",
            severity="critical",
            summary="No CoreDNS target is up, or CoreDNS has disappeared from Prometheus target discovery.",
            description="No CoreDNS target is up or discovered in cluster {{ $labels." + c + " }}: pods may not "
                        "resolve names.",
            cases=(Case(up(0), fires=True), Case(up(1), fires=False), *targets.vanished_cases(ctx, SRC, up(1))),
            meaning="Prometheus scrapes no CoreDNS instance that answers." + targets.VANISHED_MEANING,
            impact="Service discovery by DNS fails for every pod; most applications fail soon after.",
            diagnosis=(f"up{ctx.sel(SRC)}", "kube_pod_status_ready{namespace=\"kube-system\",pod=~\"coredns.*\"}"),
            mitigation=("Check the coredns Deployment in kube-system (`kubectl -n kube-system get pods -l "
                        "k8s-app=kube-dns`) and its logs.", "Check the ServiceMonitor / scrape job selects port 9153.",
                        targets.VANISHED_MITIGATION),
        ),
        Alert(
            name="CoreDNSServfailRatioHigh",
            expr=f"{SERVFAIL_RATIO} > {fmt_number(servfail)}",
            for_="10m",
            severity="warning",
            threshold=servfail,
            summary="CoreDNS answers too many queries with SERVFAIL.",
            description="{{ $value | humanizePercentage }} of DNS responses in cluster {{ $labels." + c
                        + " }} are SERVFAIL.",
            cases=(Case(resp(100 * (1 - servfail * 2), 100 * servfail * 2), fires=True, value=servfail * 2),
                   Case(resp(100 * (1 - servfail / 2), 100 * servfail / 2), fires=False)),
            meaning="CoreDNS could not resolve a share of queries above the threshold.",
            impact="Pods see failed lookups; retries add latency and load.",
            diagnosis=(f"sum by (rcode) ({RCODE_RATE})", f"{FWD_ERR_RATIO}"),
            mitigation=("If forward errors are high too, the upstream resolver is failing: check /etc/resolv.conf "
                        "of the nodes and the upstream servers.", "Check CoreDNS logs for plugin errors."),
        ),
        Alert(
            name="CoreDNSLatencyHigh",
            expr=f'{LATENCY_Q}{{quantile="0.99"}} > {fmt_number(latency)}',
            for_="10m",
            severity="warning",
            threshold=latency,
            summary="CoreDNS answers slowly.",
            description="99th percentile DNS latency in cluster {{ $labels." + c + " }} is {{ $value | humanize }}s.",
            cases=(Case(dns_hist(slow.fire), fires=True, labels={"quantile": "0.99"}, value=slow.value),
                   Case(dns_hist(slow.quiet), fires=False)),
            meaning="The 99th percentile of DNS answer time is above the threshold.",
            impact="Every new connection that resolves a name waits longer.",
            diagnosis=(f'{LATENCY_Q}{{quantile="0.99"}}', f'{FWD_LATENCY_Q}{{quantile="0.99"}}',
                       f"sum by (pod) ({CPU})"),
            mitigation=("Scale CoreDNS out or give it more CPU if it is throttled.",
                        "If forward latency is high too, the upstream resolver is slow."),
        ),
        Alert(
            name="CoreDNSForwardErrorsHigh",
            expr=f"{FWD_ERR_RATIO} > {fmt_number(fwd_err)}",
            for_="10m",
            severity="warning",
            threshold=fwd_err,
            summary="CoreDNS upstream resolvers return SERVFAIL.",
            description="{{ $value | humanizePercentage }} of forwarded queries in cluster {{ $labels." + c
                        + " }} come back SERVFAIL.",
            cases=(Case(fwd(100 * (1 - fwd_err * 2), 100 * fwd_err * 2), fires=True, value=fwd_err * 2),
                   Case(fwd(100 * (1 - fwd_err / 2), 100 * fwd_err / 2), fires=False)),
            meaning="The upstream DNS servers CoreDNS forwards to fail a share of queries above the threshold.",
            impact="Names outside the cluster do not resolve.",
            diagnosis=(f"sum by (to, rcode) (rate(coredns_forward_responses_total{ctx.sel(SRC)}[5m]))",),
            mitigation=("Check the upstream resolvers listed in the Corefile `forward` block.",),
        ),
        Alert(
            name="CoreDNSForwardLatencyHigh",
            expr=f'{FWD_LATENCY_Q}{{quantile="0.99"}} > {fmt_number(fwd_latency)}',
            for_="10m",
            severity="warning",
            threshold=fwd_latency,
            summary="CoreDNS upstream resolvers answer slowly.",
            description="99th percentile forward latency in cluster {{ $labels." + c
                        + " }} is {{ $value | humanize }}s.",
            cases=(Case(fwd_hist(fwd_slow.fire), fires=True, labels={"quantile": "0.99"}, value=fwd_slow.value),
                   Case(fwd_hist(fwd_slow.quiet), fires=False)),
            meaning="Upstream DNS servers take longer than the threshold to answer.",
            impact="Lookups of external names are slow; CoreDNS holds more concurrent queries.",
            diagnosis=(f'{FWD_LATENCY_Q}{{quantile="0.99"}}',),
            mitigation=("Check network paths to the upstream resolvers; consider node-local DNS cache.",),
        ),
        Alert(
            name="CoreDNSForwardHealthcheckFailing",
            expr=f"sum {ctx.by('to')} (rate(coredns_forward_healthcheck_failures_total{ctx.sel(SRC)}[5m])) > 0",
            for_="5m",
            severity="warning",
            summary="CoreDNS health checks of an upstream resolver fail.",
            description="CoreDNS' health checks of upstream {{ $labels.to }} in cluster {{ $labels." + c
                        + " }} fail ({{ $value | humanize }}/s).",
            cases=(Case(check("failures", counter(0.5)), fires=True, labels={"to": "10.0.0.2:53"}, value=0.5),
                   Case(check("failures", 7), fires=False, note="old failures, none now")),
            meaning="The forward plugin's periodic health check of one upstream fails; CoreDNS marks it down and "
                    "sends its queries to the other upstreams.",
            impact="Less upstream capacity; if it is the only upstream, external names stop resolving.",
            diagnosis=(f"sum by (to) (rate(coredns_forward_healthcheck_failures_total{ctx.sel(SRC)}[5m]))",
                       f"{FWD_ERR_RATIO}"),
            mitigation=("Check the upstream's reachability from the CoreDNS pods (network policy, firewall, the "
                        "resolver itself).",),
        ),
        Alert(
            name="CoreDNSForwardUpstreamsDown",
            down=True,
            expr=f"sum {ctx.by()} (rate(coredns_forward_healthcheck_broken_total{ctx.sel(SRC)}[5m])) > 0",
            for_="2m",
            severity="critical",
            summary="Every upstream resolver of CoreDNS is down.",
            description="All upstream resolvers CoreDNS forwards to in cluster {{ $labels." + c + " }} fail their "
                        "health checks.",
            cases=(Case(check("broken", counter(0.2)), fires=True), Case(check("broken", 2), fires=False)),
            meaning="coredns_forward_healthcheck_broken_total grows: the forward plugin found no healthy upstream "
                    "and falls back to picking one at random.",
            impact="Names outside the cluster do not resolve (or very slowly) for every pod.",
            diagnosis=(f"rate(coredns_forward_healthcheck_broken_total{ctx.sel(SRC)}[5m])",
                       f"sum by (to) (rate(coredns_forward_healthcheck_failures_total{ctx.sel(SRC)}[5m]))"),
            mitigation=("Check the nodes' upstream DNS servers and the network path to them; the Corefile "
                        "`forward` block lists them.",),
        ),
        Alert(
            name="CoreDNSPanic",
            expr=f"sum {ctx.by('pod')} (increase(coredns_panics_total{ctx.sel(SRC)}[10m])) > 0",
            for_="0m",
            severity="warning",
            summary="CoreDNS panicked.",
            description="CoreDNS pod {{ $labels.pod }} in cluster {{ $labels." + c + " }} panicked "
                        "in the last 10 minutes.",
            cases=(Case({ctx.series(SRC, "coredns_panics_total", pod="coredns-1"): "0+0x5 1+0x{n}"}, fires=True,
                        lookback="10m",
                        labels={"pod": "coredns-1"}),
                   Case({ctx.series(SRC, "coredns_panics_total", pod="coredns-1"): "1+0x{n}"}, fires=False,
                        lookback="10m")),
            meaning="A CoreDNS process recovered from a panic.",
            impact="Queries in flight failed; repeated panics point at a bug or a bad Corefile.",
            diagnosis=(f"increase(coredns_panics_total{ctx.sel(SRC)}[1h])",),
            mitigation=("Read the CoreDNS logs around the panic and upgrade CoreDNS if it is a known bug.",),
        ),
    )
