"""What every client-go based control-plane binary exposes: workqueues (per `name`), the REST client it talks to the
apiserver with, process CPU/memory and `up`. kube-controller-manager and kube-scheduler share these builders.

The apiserver, kubelet and kube-proxy expose the same raw names, so every recorded series here carries the
component in its metric part (`cluster_name:kube_controller_manager_workqueue_depth:sum`): two modules recording
one name would write the same series twice.
"""

from __future__ import annotations

from generator import buckets
from generator.catalog import targets
from generator.catalog.helpers import Quantiles, counter
from generator.context import Context
from generator.model import Alert, Case, RecordingRule, RuleTest, Signal
from generator.promql import fmt_number, matcher, record_name

WORKQUEUE_BUCKETS = buckets.WORKQUEUE
REST_BUCKETS = buckets.REST_CLIENT
# code="<error>" counts requests that got no HTTP response at all (connection refused, timeout)
REST_ERRORS = matcher("code", "=~", "5..|<error>")
APISERVER = "10.0.0.1:6443"  # the `host` label of test series


class Names:
    """Recorded series names of one component, `prefix` being e.g. `kube_scheduler`."""

    def __init__(self, prefix: str) -> None:
        p = prefix
        self.up = record_name("cluster", f"{p}_up", "sum")
        self.cpu = record_name("cluster_instance", f"{p}_process_cpu_seconds", "rate5m")
        self.memory = record_name("cluster_instance", f"{p}_process_resident_memory_bytes", "sum")
        self.wq_adds = record_name("cluster_name", f"{p}_workqueue_adds", "rate5m")
        self.wq_depth = record_name("cluster_name", f"{p}_workqueue_depth", "sum")
        self.wq_wait_q = Quantiles("workqueue_queue_duration_seconds", by=("name",),
                                   recorded=f"{p}_workqueue_queue_duration_seconds")
        self.wq_wait = self.wq_wait_q.name
        self.wq_work_q = Quantiles("workqueue_work_duration_seconds", by=("name",),
                                   recorded=f"{p}_workqueue_work_duration_seconds")
        self.wq_work = self.wq_work_q.name
        self.wq_retries = record_name("cluster_name", f"{p}_workqueue_retries", "rate5m")
        self.wq_unfinished = record_name("cluster_name", f"{p}_workqueue_unfinished_work_seconds", "max")
        self.rest_requests = record_name("cluster_code", f"{p}_rest_client_requests", "rate5m")
        self.rest_errors = record_name("cluster", f"{p}_rest_client_errors", "ratio_rate5m")
        self.rest_latency_q = Quantiles("rest_client_request_duration_seconds", by=("verb",),
                                        recorded=f"{p}_rest_client_request_duration_seconds")
        self.rest_latency = self.rest_latency_q.name


# ---- recording rules ---------------------------------------------------------------------------------------
def ratio(ctx: Context, metric: str, part: str, whole: str) -> str:
    """sum(rate(part)) / sum(rate(whole)) by cluster, 0 rather than no data when `part` has no series yet."""
    num = f"sum {ctx.by()} (rate({metric}{part}[5m]))"
    den = f"sum {ctx.by()} (rate({metric}{whole}[5m]))"
    return f"({num} or 0 * {den}) / {den}"


def process_rules(ctx: Context, src: str, n: Names) -> tuple[RecordingRule, ...]:
    s = ctx.sel(src)
    return (
        RecordingRule(n.up, f"sum {ctx.by()} (up{s})"),
        RecordingRule(n.cpu, f"sum {ctx.by('instance')} (rate(process_cpu_seconds_total{s}[5m]))"),
        RecordingRule(n.memory, f"sum {ctx.by('instance')} (process_resident_memory_bytes{s})"),
    )


def workqueue_rules(ctx: Context, src: str, n: Names) -> tuple[RecordingRule, ...]:
    s = ctx.sel(src)
    return (
        RecordingRule(n.wq_adds, f"sum {ctx.by('name')} (rate(workqueue_adds_total{s}[5m]))"),
        RecordingRule(n.wq_depth, f"sum {ctx.by('name')} (workqueue_depth{s})"),
        *n.wq_wait_q.rules(ctx, s),
        *n.wq_work_q.rules(ctx, s),
        RecordingRule(n.wq_retries, f"sum {ctx.by('name')} (rate(workqueue_retries_total{s}[5m]))"),
        # the leader alone runs the controllers; max keeps one stuck worker visible whatever the replicas say
        RecordingRule(n.wq_unfinished, f"max {ctx.by('name')} (workqueue_unfinished_work_seconds{s})"),
    )


def rest_client_rules(ctx: Context, src: str, n: Names) -> tuple[RecordingRule, ...]:
    s = ctx.sel(src)
    # rest_client_requests_total is split by `method`, the duration histogram by `verb` (same values)
    return (
        RecordingRule(n.rest_requests, f"sum {ctx.by('code')} (rate(rest_client_requests_total{s}[5m]))"),
        RecordingRule(n.rest_errors, ratio(ctx, "rest_client_requests_total", ctx.sel(src, REST_ERRORS), s)),
        *n.rest_latency_q.rules(ctx, s),
    )


# ---- inputs, rule tests ------------------------------------------------------------------------------------
def requests(ctx: Context, src: str, ok: float, failed: float, code: str = "500") -> dict[str, float | str]:
    """REST client request counters: `ok` GETs answered 200 and `failed` ones per second."""
    series = lambda c: ctx.series(src, "rest_client_requests_total", code=c, host=APISERVER, method="GET")  # noqa: E731
    return {series("200"): counter(ok), series(code): counter(failed)}


def rest_client_rule_tests(ctx: Context, src: str, n: Names) -> tuple[RuleTest, ...]:
    only_ok = {ctx.series(src, "rest_client_requests_total", code="200", host=APISERVER, method="GET"): counter(4)}
    return (
        RuleTest(inputs=requests(ctx, src, 3, 1, code="<error>"), expr=n.rest_errors, expected=(({}, 0.25),),
                 note="requests without any response count as errors"),
        RuleTest(inputs={**requests(ctx, src, 3, 1, code="503"),
                         ctx.series(src, "rest_client_requests_total", code="404", host=APISERVER,
                                    method="GET"): counter(4)},
                 expr=n.rest_errors, expected=(({}, 0.125),), note="5xx are errors, 404 is not"),
        RuleTest(inputs=only_ok, expr=n.rest_errors, expected=(({}, 0),), note="0, not empty, without errors"),
    )


# ---- alerts ------------------------------------------------------------------------------------------------
def down_alert(ctx: Context, src: str, name: str, who: str, port: str, impact: str,
               mitigation: tuple[str, ...]) -> Alert:
    up = lambda *vs: {ctx.series(src, "up", instance=f"10.0.0.{i + 1}:{port}"): v  # noqa: E731
                      for i, v in enumerate(vs)}
    return Alert(
        name=name,
        down=True,
        expr=targets.down_expr(ctx, src),
        for_="15m",
        severity="critical",
        summary=f"{who} has disappeared from Prometheus target discovery or is down.",
        description=f"No {who} target is up or discovered in cluster {{{{ $labels.{ctx.cluster} }}}}.",
        cases=(Case(up(0, 0), fires=True, note="every replica down"),
               Case(up(0, 1), fires=False, note="one replica is enough"),
               *targets.vanished_cases(ctx, src, up(1, 1))),
        meaning=f"Prometheus scrapes no {who} instance that answers." + targets.VANISHED_MEANING,
        impact=impact,
        diagnosis=(f"up{ctx.sel(src)}",
                   f'kube_pod_status_ready{{namespace="kube-system",pod=~"{src}.*"}}'),
        mitigation=(*mitigation, targets.VANISHED_MITIGATION),
    )


def rest_client_errors_alert(ctx: Context, src: str, n: Names, name: str, who: str) -> Alert:
    t = ctx.threshold(name, 0.01)
    c = ctx.cluster
    return Alert(
        name=name,
        expr=f"{n.rest_errors} > {fmt_number(t)}",
        for_="15m",
        severity="warning",
        threshold=t,
        summary=f"{who} gets errors from the apiserver.",
        description=f"{{{{ $value | humanizePercentage }}}} of {who}'s requests to the apiserver in cluster "
                    f"{{{{ $labels.{c} }}}} fail with a 5xx code or no response.",
        cases=(Case(requests(ctx, src, 100 * (1 - 2 * t), 100 * 2 * t), fires=True, value=2 * t),
               Case(requests(ctx, src, 100 * (1 - t / 2), 100 * t / 2), fires=False)),
        meaning=f"A share of the API requests {who} sends, above the threshold, fail with 5xx or get no answer.",
        impact=f"{who} cannot read or write the objects it manages; its work is retried and falls behind.",
        diagnosis=(n.rest_requests, f'{n.rest_latency}{{quantile="0.99"}}',
                   f"sum by (code, method, host) (rate(rest_client_requests_total{ctx.sel(src)}[5m]))"),
        mitigation=("Look at the apiserver's own error ratio and latency: the fault is usually there or in etcd.",
                    f"If only {who} sees errors, check its network path and the `host` it talks to "
                    "(load balancer, kubeconfig)."),
    )


# ---- signals -----------------------------------------------------------------------------------------------
def process_signals(ctx: Context, n: Names, prefix: str, who: str) -> tuple[Signal, ...]:
    c = ctx.cluster
    f = ctx.dash()
    return (
        Signal(f"{prefix}_up", f"{n.up}{f}", "short", (c,), f"{who} targets up",
               f"How many {who} instances Prometheus scrapes successfully.", kind="state",
               alert=None),
        Signal(f"{prefix}_cpu", f"{n.cpu}{f}", "cores", (c, "instance"), f"{who} CPU",
               f"CPU cores each {who} process uses (process_cpu_seconds_total).", kind="resource"),
        Signal(f"{prefix}_memory", f"{n.memory}{f}", "bytes", (c, "instance"), f"{who} memory",
               f"Resident memory of each {who} process.", kind="resource"),
    )


def rest_client_signals(ctx: Context, n: Names, prefix: str, who: str, alert: str) -> tuple[Signal, ...]:
    c = ctx.cluster
    f = ctx.dash()
    return (
        Signal(f"{prefix}_rest_client_requests", f"{n.rest_requests}{f}", "reqps", (c, "code"),
               "API requests by code", f"Requests per second {who} sends to the apiserver, by HTTP code."),
        Signal(f"{prefix}_rest_client_error_ratio", f"{n.rest_errors}{f}", "percentunit", (c,),
               "API request error ratio", f"Share of {who}'s API requests answered 5xx or not at all.",
               alert=alert),
        Signal(f"{prefix}_rest_client_latency_p99", f"{n.rest_latency}{ctx.dash(quantile=0.99)}", "s",
               (c, "verb"), "API request latency p99",
               f"99th percentile of {who}'s API request latency, by verb."),
    )
