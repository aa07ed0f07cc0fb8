"""kube-proxy: programs Service load balancing on every node. Rule sync latency and staleness, network
programming latency, iptables-restore failures, API errors, resources.

kube-proxy runs on every node, so per-node (`instance`) rules feed the alerts that name a node, and the
network programming latency, a cluster-wide SLI, is recorded per cluster. Names checked against 1.21–1.29.
"""

from __future__ import annotations

from generator import buckets
from generator.catalog import targets
from generator.catalog.helpers import Quantiles, counter, gauge_ramp, quantile_cases
from generator.context import Context
from generator.model import Alert, Case, Component, Panel, RecordingRule, RuleTest, Signal
from generator.promql import fmt_number, format_duration, record_name

SRC = "kube-proxy"
NODE = "10.0.0.21:10249"  # test instance
SYNC_BUCKETS = buckets.PROXY_SYNC
NETPROG_BUCKETS = buckets.PROXY_NETWORK_PROGRAMMING
# transport failures are counted with code "<error>"
API_ERRORS = 'code=~"5..|<error>"'

UP_SUM = record_name("cluster", "kube_proxy_up", "sum")
TARGETS = record_name("cluster", "kube_proxy_targets", "count")
SYNC = Quantiles("kubeproxy_sync_proxy_rules_duration_seconds", by=("instance",))
SYNC_Q = SYNC.name
NETPROG = Quantiles("kubeproxy_network_programming_duration_seconds")
NETPROG_Q = NETPROG.name
SYNC_AGE = record_name("cluster_instance", "kubeproxy_sync_proxy_rules_last_timestamp_seconds", "age")
RESTORE_FAILURES = record_name("cluster_instance", "kubeproxy_sync_proxy_rules_iptables_restore_failures", "rate5m")
IPTABLES_RULES = record_name("cluster_table", "kubeproxy_sync_proxy_rules_iptables_total", "max")
API_RATE = record_name("cluster_code", "kubeproxy_rest_client_requests", "rate5m")
API_ERR_RATIO = record_name("cluster_instance", "kubeproxy_rest_client_requests_errors", "ratio_rate5m")
CPU = record_name("cluster_instance", "kubeproxy_process_cpu_seconds", "rate5m")
MEMORY = record_name("cluster_instance", "kubeproxy_process_resident_memory_bytes", "max")
P99 = {"quantile": "0.99"}


def build(ctx: Context) -> Component:
    return Component(
        key="kube-proxy",
        jobs=("kube-proxy",),
        client_jobs=("kube-proxy",),
        title="kube-proxy",
        description="Service load balancing on every node: rule sync latency and freshness, network programming "
                    "latency, iptables-restore failures, API errors, CPU and memory.",
        signals=_signals(ctx),
        rules=_rules(ctx),
        rule_tests=_rule_tests(ctx),
        alerts=_alerts(ctx),
        panels=_panels(),
    )


def _rules(ctx: Context) -> tuple[RecordingRule, ...]:
    s = lambda *m: ctx.sel(SRC, *m)  # noqa: E731 - a selector shorthand reads better inline
    inst = ctx.by("instance")
    return (
        RecordingRule(UP_SUM, f"sum {ctx.by()} (up{s()})"),
        RecordingRule(TARGETS, f"count {ctx.by()} (up{s()})"),
        *SYNC.rules(ctx, s()),
        *NETPROG.rules(ctx, s()),
        RecordingRule(SYNC_AGE, f"time() - max {inst} (kubeproxy_sync_proxy_rules_last_timestamp_seconds{s()})"),
        # iptables and ipvs modes only; the nftables mode has no restore step
        RecordingRule(RESTORE_FAILURES, f"sum {inst} "
                                        f"(rate(kubeproxy_sync_proxy_rules_iptables_restore_failures_total{s()}[5m]))"),
        RecordingRule(IPTABLES_RULES, f"max {ctx.by('table')} (kubeproxy_sync_proxy_rules_iptables_total{s()})"),
        RecordingRule(API_RATE, f"sum {ctx.by('code')} (rate(rest_client_requests_total{s()}[5m]))"),
        RecordingRule(API_ERR_RATIO, f"sum {inst} (rate(rest_client_requests_total{s(API_ERRORS)}[5m]))"
                                     f" / sum {inst} (rate(rest_client_requests_total{s()}[5m]))"),
        RecordingRule(CPU, f"sum {inst} (rate(process_cpu_seconds_total{s()}[5m]))"),
        RecordingRule(MEMORY, f"max {inst} (process_resident_memory_bytes{s()})"),
    )


def _signals(ctx: Context) -> tuple[Signal, ...]:
    c = ctx.cluster
    f = ctx.dash()
    p99 = ctx.dash(quantile=0.99)
    ci = (c, "instance")
    return (
        Signal("kube_proxy_up", f"{UP_SUM}{f}", "short", (c,), "kube-proxies up",
               "Number of kube-proxy instances Prometheus scrapes successfully.", kind="state",
               alert="KubeProxyDown"),
        Signal("kube_proxy_sync_rules_p99", f"{SYNC_Q}{p99}", "s", ci, "Rule sync p99",
               "99th percentile time each kube-proxy takes to sync its proxy rules.", alert="KubeProxySyncRulesSlow"),
        Signal("kube_proxy_network_programming_p99", f"{NETPROG_Q}{p99}", "s", (c,), "Network programming p99",
               "99th percentile time from a Service or Endpoints change to its rules being in place on the nodes.",
               alert="KubeProxyNetworkProgrammingSlow"),
        Signal("kube_proxy_last_sync_age", f"{SYNC_AGE}{f}", "s", ci, "Time since last rule sync",
               "Seconds since each kube-proxy last synced its rules successfully.", kind="state",
               alert="KubeProxyRulesSyncStale"),
        Signal("kube_proxy_iptables_restore_failures", f"{RESTORE_FAILURES}{f}", "ops", ci,
               "iptables-restore failures", "iptables-restore runs failing per second on each node.",
               alert="KubeProxyIptablesRestoreFailing"),
        Signal("kube_proxy_iptables_rules", f"{IPTABLES_RULES}{f}", "short", (c, "table"), "iptables rules",
               "Largest number of iptables rules kube-proxy owns on a node, by table.", kind="state"),
        Signal("kube_proxy_api_requests", f"{API_RATE}{f}", "reqps", (c, "code"), "API requests by code",
               "Requests per second the kube-proxies send to the API server, by HTTP code."),
        Signal("kube_proxy_api_error_ratio", f"{API_ERR_RATIO}{f}", "percentunit", ci, "API error ratio",
               "Share of each kube-proxy's API requests failing with a 5xx or a transport error.",
               alert="KubeProxyAPIErrorsHigh"),
        Signal("kube_proxy_cpu", f"{CPU}{f}", "cores", ci, "kube-proxy CPU", "CPU cores used by each kube-proxy.",
               kind="resource"),
        Signal("kube_proxy_memory", f"{MEMORY}{f}", "bytes", ci, "kube-proxy memory",
               "Resident memory of each kube-proxy.", kind="resource"),
    )


def _panels() -> tuple[Panel, ...]:
    node = "{{instance}}"
    return (
        Panel("kube-proxies up", ("kube_proxy_up",), kind="stat", width=6),
        Panel("Network programming p99", ("kube_proxy_network_programming_p99",), width=18),
        Panel("Rule sync p99", ("kube_proxy_sync_rules_p99",), legend=node),
        Panel("Time since last rule sync", ("kube_proxy_last_sync_age",), legend=node),
        Panel("iptables-restore failures", ("kube_proxy_iptables_restore_failures",), legend=node),
        Panel("iptables rules", ("kube_proxy_iptables_rules",), legend="{{table}}"),
        Panel("API requests by code", ("kube_proxy_api_requests",), stack=True, legend="{{code}}"),
        Panel("API error ratio", ("kube_proxy_api_error_ratio",), legend=node),
        Panel("CPU", ("kube_proxy_cpu",), legend=node),
        Panel("Memory", ("kube_proxy_memory",), legend=node),
    )


def _api(ctx: Context, ok: float, failed: float) -> dict[str, str]:
    """GETs per second to the API server: `ok` answered 200, `failed` answered 503."""
    req = lambda code: ctx.series(SRC, "rest_client_requests_total", code=code, host="10.96.0.1:443",  # noqa: E731
                                  instance=NODE, method="GET")
    return {req("200"): counter(ok), req("503"): counter(failed)}


def _rule_tests(ctx: Context) -> tuple[RuleTest, ...]:
    inst = {"instance": NODE}
    return (
        RuleTest(inputs=ctx.histogram(SRC, SYNC.metric, SYNC_BUCKETS, 0.1, 2, **inst),
                 expr=SYNC_Q, expected=(({**inst, **P99}, 0.064 + 0.064 * 0.99),)),
        RuleTest(inputs=ctx.histogram(SRC, NETPROG.metric, NETPROG_BUCKETS, 1.5, 2, **inst),
                 expr=NETPROG_Q, expected=((P99, 1 + 0.99),)),
        RuleTest(inputs={ctx.series(SRC, "kubeproxy_sync_proxy_rules_last_timestamp_seconds", instance=NODE): 300},
                 expr=SYNC_AGE, expected=((inst, 300),), note="synced at 5m, evaluated at 10m"),
        RuleTest(inputs=_api(ctx, 97, 3), expr=API_ERR_RATIO, expected=((inst, 0.03),)),
        RuleTest(inputs={ctx.series(SRC, "kubeproxy_sync_proxy_rules_iptables_restore_failures_total",
                                    instance=NODE): counter(0.5)},
                 expr=RESTORE_FAILURES, expected=((inst, 0.5),)),
    )


def _alerts(ctx: Context) -> tuple[Alert, ...]:
    c = ctx.cluster
    s = ctx.sel(SRC)
    inst = {"instance": NODE}
    up = lambda v: {ctx.series(SRC, "up", instance=NODE): v}  # noqa: E731
    sync = ctx.threshold("KubeProxySyncRulesSlow", 5)
    netprog = ctx.threshold("KubeProxyNetworkProgrammingSlow", 30)
    stale = ctx.threshold("KubeProxyRulesSyncStale", 600)
    restore = ctx.threshold("KubeProxyIptablesRestoreFailing", 0)
    api = ctx.threshold("KubeProxyAPIErrorsHigh", 0.01)
    sync_slow = quantile_cases(ctx, "KubeProxySyncRulesSlow", SYNC_BUCKETS, sync)
    net_slow = quantile_cases(ctx, "KubeProxyNetworkProgrammingSlow", NETPROG_BUCKETS, netprog)
    stale_lookback = format_duration(max(600, 2 * stale))  # long enough for a stuck sync to age past the threshold
    # the iptables and nftables proxiers resync at most hourly when nothing changes, so age alone is no symptom:
    # the alert wants a change queued after the last sync. Fires: last synced at 1m while changes keep being
    # queued; quiet: every queued change is synced
    stamps = lambda synced, queued: {  # noqa: E731
        ctx.series(SRC, "kubeproxy_sync_proxy_rules_last_timestamp_seconds", instance=NODE): synced,
        ctx.series(SRC, "kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds", instance=NODE): queued,
    }
    failures = lambda rate: {ctx.series(SRC, "kubeproxy_sync_proxy_rules_iptables_restore_failures_total",  # noqa: E731
                                        instance=NODE): counter(rate)}
    return (
        Alert(
            name="KubeProxyDown",
            down=True,
            expr=targets.down_expr(ctx, SRC),
            for_="15m",
            severity="critical",
            summary="kube-proxy has disappeared from Prometheus target discovery or is down.",
            description="No kube-proxy target is up or discovered in cluster {{ $labels." + c + " }}.",
            cases=(Case(up(0), fires=True), Case(up(1), fires=False), *targets.vanished_cases(ctx, SRC, up(1))),
            meaning="Prometheus scrapes no kube-proxy instance that answers." + targets.VANISHED_MEANING,
            impact="Service rules are no longer updated on any node: new endpoints and Services are unreachable.",
            diagnosis=(f"up{s}", 'kube_daemonset_status_number_ready{daemonset="kube-proxy"}'),
            mitigation=("Check the kube-proxy DaemonSet in kube-system and its logs.",
                        "Check that the metrics bind address (--metrics-bind-address, default 127.0.0.1:10249) "
                        "is reachable by Prometheus.", targets.VANISHED_MITIGATION),
        ),
        Alert(
            name="KubeProxyInstanceDown",
            down=True,
            expr=f"sum {ctx.by('instance')} (up{s}) == 0",
            for_="15m",
            severity="warning",
            summary="A kube-proxy instance is down.",
            description="kube-proxy {{ $labels.instance }} in cluster {{ $labels." + c + " }} is down.",
            cases=(Case(up(0), fires=True, labels=inst), Case(up(1), fires=False)),
            meaning="Prometheus cannot scrape the kube-proxy of one node." + targets.INHIBITED_MEANING,
            impact="That node's Service rules go stale: its pods may reach endpoints that no longer exist.",
            diagnosis=(f"up{s} == 0",),
            mitigation=("Check the kube-proxy pod on that node (`kubectl -n kube-system get pods -o wide "
                        "-l k8s-app=kube-proxy`) and its logs.",),
        ),
        Alert(
            name="KubeProxySyncRulesSlow",
            expr=f'{SYNC_Q}{{quantile="0.99"}} > {fmt_number(sync)}',
            for_="15m",
            severity="warning",
            threshold=sync,
            summary="kube-proxy syncs its proxy rules slowly.",
            description="99th percentile rule sync time of kube-proxy {{ $labels.instance }} in cluster {{ $labels."
                        + c + " }} is {{ $value | humanizeDuration }}.",
            cases=(Case(ctx.histogram(SRC, SYNC.metric, SYNC_BUCKETS, sync_slow.fire, 2, **inst),
                        fires=True, labels={**inst, **P99}, value=sync_slow.value),
                   Case(ctx.histogram(SRC, SYNC.metric, SYNC_BUCKETS, sync_slow.quiet, 2, **inst),
                        fires=False)),
            meaning="Writing the Service rules (iptables-restore, ipvs, nftables) takes long on this node.",
            impact="Service and endpoint changes reach the node late; the node's CPU is busy with rule writing.",
            diagnosis=(f'{SYNC_Q}{{quantile="0.99"}}', IPTABLES_RULES, CPU),
            mitigation=("Large iptables rule sets sync slowly: consider the nftables or ipvs mode.",
                        "Check the node for CPU pressure and other programs holding the xtables lock."),
        ),
        Alert(
            name="KubeProxyNetworkProgrammingSlow",
            expr=f'{NETPROG_Q}{{quantile="0.99"}} > {fmt_number(netprog)}',
            for_="15m",
            severity="warning",
            threshold=netprog,
            summary="Service changes take long to reach the nodes.",
            description="99th percentile network programming latency in cluster {{ $labels." + c
                        + " }} is {{ $value | humanizeDuration }}.",
            cases=(Case(ctx.histogram(SRC, NETPROG.metric, NETPROG_BUCKETS, net_slow.fire, 2, **inst),
                        fires=True, labels=P99, value=net_slow.value),
                   Case(ctx.histogram(SRC, NETPROG.metric, NETPROG_BUCKETS, net_slow.quiet, 2, **inst),
                        fires=False)),
            meaning="From a Service or EndpointSlice change to its rules being in place on the nodes takes longer "
                    "than the threshold (the Kubernetes scalability SLO is 30s at the 99th percentile).",
            impact="Rolling updates and scaling send traffic to gone pods, or miss new ones, for longer.",
            diagnosis=(f'{NETPROG_Q}{{quantile="0.99"}}', f'topk(5, {SYNC_Q}{{quantile="0.99"}})'),
            mitigation=("Find slow nodes with the rule sync p99; check the endpointslice controller's queue in "
                        "kube-controller-manager.",),
        ),
        Alert(
            name="KubeProxyRulesSyncStale",
            expr=f"{SYNC_AGE} > {fmt_number(stale)}"
                 f" and max {ctx.by('instance')} (kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds{s})"
                 f" > max {ctx.by('instance')} (kubeproxy_sync_proxy_rules_last_timestamp_seconds{s})",
            for_="5m",
            severity="warning",
            threshold=stale,
            summary="kube-proxy has not applied queued rule changes.",
            description="kube-proxy {{ $labels.instance }} in cluster {{ $labels." + c
                        + " }} has changes queued and has not synced its rules for more than "
                        + format_duration(stale) + ".",
            cases=(Case(stamps(60, gauge_ramp(0, 60)), fires=True, labels=inst, lookback=stale_lookback),
                   Case(stamps(gauge_ramp(0, 60), gauge_ramp(0, 60)), fires=False, lookback=stale_lookback)),
            meaning="Changes were queued after the last successful sync, and that sync is older than the threshold "
                    "(much like kube-proxy's own /healthz check). An idle kube-proxy may go an hour without "
                    "syncing; that alone does not fire.",
            impact="The node keeps outdated Service rules.",
            diagnosis=(SYNC_AGE, RESTORE_FAILURES, f'{SYNC_Q}{{quantile="0.99"}}'),
            mitigation=("Read the kube-proxy logs on the node for sync errors; restart the pod if it is stuck.",),
        ),
        Alert(
            name="KubeProxyIptablesRestoreFailing",
            expr=f"{RESTORE_FAILURES} > {fmt_number(restore)}",
            for_="15m",
            severity="warning",
            threshold=restore,
            summary="kube-proxy fails to apply iptables rules.",
            description="iptables-restore fails {{ printf \"%.2f\" $value }} times per second on kube-proxy "
                        "{{ $labels.instance }} in cluster {{ $labels." + c + " }}.",
            cases=(Case(failures(max(2 * restore, 0.05)), fires=True, lookback="3m", labels=inst,
                        value=max(2 * restore, 0.05)),
                   Case(failures(restore / 2), fires=False, lookback="3m")),
            meaning="kube-proxy's iptables-restore runs keep failing.",
            impact="Rules on the node are not updated; kube-proxy retries full syncs, costing CPU.",
            diagnosis=(RESTORE_FAILURES, SYNC_AGE),
            mitigation=("Read the kube-proxy logs for the iptables-restore error; other agents (CNI, firewalls) "
                        "holding the xtables lock or editing kube-proxy's chains are common causes.",),
        ),
        Alert(
            name="KubeProxyAPIErrorsHigh",
            expr=f"{API_ERR_RATIO} > {fmt_number(api)}",
            for_="15m",
            severity="warning",
            threshold=api,
            summary="kube-proxy's requests to the API server fail.",
            description="{{ $value | humanizePercentage }} of API requests from kube-proxy {{ $labels.instance }} "
                        "in cluster {{ $labels." + c + " }} fail.",
            cases=(Case(_api(ctx, 100 * (1 - 2 * api), 100 * 2 * api), fires=True, labels=inst, value=2 * api),
                   Case(_api(ctx, 100 * (1 - api / 2), 100 * api / 2), fires=False)),
            meaning="A share of kube-proxy's API requests end in a 5xx or a transport error.",
            impact="kube-proxy misses Service and EndpointSlice updates while its watches fail.",
            diagnosis=(f"sum by (code) ({API_RATE})", f"sum by (instance, host, code) "
                                                       f"(rate(rest_client_requests_total{s}[5m]))"),
            mitigation=("Check the API server's health and the node's route to it (the kubeconfig server address).",),
        ),
    )
