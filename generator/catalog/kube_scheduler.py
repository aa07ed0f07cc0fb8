"""kube-scheduler: pending and unschedulable pods, scheduling attempts and their latency, preemption, API client.

Latency metrics, as of Kubernetes 1.35: `scheduler_e2e_scheduling_duration_seconds` is gone (removed in 1.23);
`scheduler_scheduling_attempt_duration_seconds` (STABLE, algorithm + binding, by profile and result) is what the
latency alert reads; `scheduler_pod_scheduling_sli_duration_seconds` (BETA, queue entry to bound, across attempts)
is the end-to-end signal; the ALPHA `scheduler_scheduling_algorithm_duration_seconds` is left out.
The scheduler's only workqueues serve its serving/client-CA certificate controllers, so there are no workqueue
rules here. The skeleton it shares with kube-controller-manager (process, API client, Down alerts, their panels)
is control_plane.ControlPlane; this module declares the scheduling parts.
"""

from __future__ import annotations

from generator import buckets
from generator.catalog import workqueue as wq
from generator.catalog.control_plane import ControlPlane, Parts
from generator.catalog.helpers import Quantiles, bucket_quantile, counter, quantile_cases
from generator.context import Context
from generator.model import Alert, Case, Component, Panel, RecordingRule, RuleTest, Signal
from generator.promql import fmt_number, record_name

SCHEDULER = ControlPlane(
    job="kube-scheduler", title="Kube Scheduler", prefix="scheduler", alerts="KubeScheduler", port="10259",
    description="Pod scheduling: pending and unschedulable pods, attempts by result, attempt and end-to-end "
                "latency, extension points, preemption, API client errors, CPU and memory.",
    down_impact="New pods stay Pending: nothing binds them to nodes. Running pods are not affected.",
    instance_impact="Little while another replica leads; if the unreachable one is the leader and hangs, "
                    "scheduling waits for the lease to expire.",
)
SRC = SCHEDULER.job
N = SCHEDULER.names
PROFILE = "default-scheduler"
SCHEDULED = {"profile": PROFILE, "result": "scheduled"}  # the labels of test attempts
ATTEMPT_BUCKETS = buckets.SCHEDULER_ATTEMPT

PENDING = record_name("cluster_queue", "scheduler_pending_pods", "sum")
UNSCHEDULABLE = record_name("cluster_plugin", "scheduler_unschedulable_pods", "sum")
INCOMING = record_name("cluster_queue", "scheduler_queue_incoming_pods", "rate5m")
ATTEMPTS = record_name("cluster_result", "scheduler_schedule_attempts", "rate5m")
ERROR_RATIO = record_name("cluster", "scheduler_schedule_attempts_error", "ratio_rate5m")
ATTEMPT = Quantiles("scheduler_scheduling_attempt_duration_seconds", quantiles=(0.99, 0.5))
ATTEMPT_Q = ATTEMPT.name
SLI = Quantiles("scheduler_pod_scheduling_sli_duration_seconds")
SLI_Q = SLI.name
EXT = Quantiles("scheduler_framework_extension_point_duration_seconds", by=("extension_point",))
EXT_Q = EXT.name
PREEMPTIONS = record_name("cluster", "scheduler_preemption_attempts", "rate5m")
VICTIMS = record_name("cluster", "scheduler_preemption_victims", "rate5m")

PENDING_HIGH = "KubeSchedulerPendingPodsHigh"
UNSCHED = "KubeSchedulerUnschedulablePods"
LATENCY = "KubeSchedulerLatencyHigh"
ERRORS = "KubeSchedulerErrors"


def build(ctx: Context) -> Component:
    s = ctx.sel(SRC)
    c = ctx.cluster
    f = ctx.dash()
    p99 = ctx.dash(quantile=0.99)
    return SCHEDULER.component(ctx, Parts(
        rules=(
            RecordingRule(PENDING, f"sum {ctx.by('queue')} (scheduler_pending_pods{s})"),
            RecordingRule(UNSCHEDULABLE, f"sum {ctx.by('plugin')} (scheduler_unschedulable_pods{s})"),
            RecordingRule(INCOMING, f"sum {ctx.by('queue')} (rate(scheduler_queue_incoming_pods_total{s}[5m]))"),
            RecordingRule(ATTEMPTS, f"sum {ctx.by('result')} (rate(scheduler_schedule_attempts_total{s}[5m]))"),
            RecordingRule(ERROR_RATIO, wq.ratio(ctx, "scheduler_schedule_attempts_total",
                                                ctx.sel(SRC, 'result="error"'), s)),
            *ATTEMPT.rules(ctx, s),
            *SLI.rules(ctx, s),
            *EXT.rules(ctx, s),
            RecordingRule(PREEMPTIONS, f"sum {ctx.by()} (rate(scheduler_preemption_attempts_total{s}[5m]))"),
            # the victims histogram observes victims per preemption; its _sum rate is victims per second
            RecordingRule(VICTIMS, f"sum {ctx.by()} (rate(scheduler_preemption_victims_sum{s}[5m]))"),
        ),
        signals=(
            Signal("scheduler_pending_pods", f"{PENDING}{f}", "short", (c, "queue"), "Pending pods by queue",
                   "Pods waiting in the scheduler's active, backoff, unschedulable and gated queues.", kind="state",
                   alert=PENDING_HIGH),
            Signal("scheduler_unschedulable_pods", f"{UNSCHEDULABLE}{f}", "short", (c, "plugin"),
                   "Unschedulable pods by plugin", "Pods the scheduler could not place, by the plugin that rejected "
                   "them (a pod counts once per rejecting plugin).", kind="state", alert=UNSCHED),
            Signal("scheduler_incoming_pods", f"{INCOMING}{f}", "ops", (c, "queue"), "Pods entering queues",
                   "Pods added per second to each scheduling queue."),
            Signal("scheduler_schedule_attempts", f"{ATTEMPTS}{f}", "ops", (c, "result"), "Scheduling attempts",
                   "Scheduling attempts per second by result: scheduled, unschedulable or error."),
            Signal("scheduler_error_ratio", f"{ERROR_RATIO}{f}", "percentunit", (c,), "Scheduling error ratio",
                   "Share of scheduling attempts that ended in an internal error.", alert=ERRORS),
            Signal("scheduler_scheduling_latency_p99", f"{ATTEMPT_Q}{p99}", "s", (c,),
                   "Scheduling attempt latency p99",
                   "99th percentile of one scheduling attempt (algorithm and binding).", alert=LATENCY),
            Signal("scheduler_scheduling_latency_p50", f"{ATTEMPT_Q}{ctx.dash(quantile=0.5)}", "s", (c,),
                   "Scheduling attempt latency p50", "Median duration of one scheduling attempt."),
            Signal("scheduler_pod_scheduling_duration_p99", f"{SLI_Q}{p99}", "s", (c,),
                   "Pod scheduling latency p99 (end to end)",
                   "99th percentile of the time from a pod entering the queue to its binding, across attempts."),
            Signal("scheduler_extension_point_latency_p99", f"{EXT_Q}{p99}", "s", (c, "extension_point"),
                   "Extension point latency p99", "99th percentile duration of each framework extension point "
                   "(Filter, Score, Bind…)."),
            Signal("scheduler_preemption_attempts", f"{PREEMPTIONS}{f}", "ops", (c,), "Preemption attempts",
                   "Preemption attempts per second: a higher-priority pod tries to evict lower-priority ones."),
            Signal("scheduler_preemption_victims", f"{VICTIMS}{f}", "ops", (c,), "Preemption victims",
                   "Pods selected per second for eviction by preemption."),
        ),
        rule_tests=_rule_tests(ctx),
        alerts=_alerts(ctx),
        panels=(
            Panel("Pending pods by queue", ("scheduler_pending_pods",), legend="{{queue}}", width=18),
            Panel("Scheduling attempt latency",
                  ("scheduler_scheduling_latency_p99", "scheduler_scheduling_latency_p50")),
            Panel("Pod scheduling latency p99 (end to end)", ("scheduler_pod_scheduling_duration_p99",)),
            Panel("Scheduling attempts by result", ("scheduler_schedule_attempts",), stack=True, legend="{{result}}"),
            Panel("Scheduling error ratio", ("scheduler_error_ratio",)),
            Panel("Unschedulable pods by plugin", ("scheduler_unschedulable_pods",), legend="{{plugin}}"),
            Panel("Pods entering queues", ("scheduler_incoming_pods",), stack=True, legend="{{queue}}"),
            Panel("Extension point latency p99", ("scheduler_extension_point_latency_p99",),
                  legend="{{extension_point}}"),
            Panel("Preemption", ("scheduler_preemption_attempts", "scheduler_preemption_victims")),
        ),
    ))


def _pending(ctx: Context, active: float, backoff: float, unschedulable: float) -> dict[str, float | str]:
    queues = {"active": active, "backoff": backoff, "unschedulable": unschedulable}
    return {ctx.series(SRC, "scheduler_pending_pods", queue=q): v for q, v in queues.items()}


def _attempts(ctx: Context, scheduled: float, error: float) -> dict[str, float | str]:
    series = lambda result: ctx.series(SRC, "scheduler_schedule_attempts_total", profile=PROFILE,  # noqa: E731
                                       result=result)
    return {series("scheduled"): counter(scheduled), series("error"): counter(error)}


def _rule_tests(ctx: Context) -> tuple[RuleTest, ...]:
    unschedulable = lambda plugin, profile, v: {  # noqa: E731
        ctx.series(SRC, "scheduler_unschedulable_pods", plugin=plugin, profile=profile): v}
    return (
        RuleTest(inputs=_pending(ctx, 3, 1, 2), expr=PENDING,
                 expected=(({"queue": "active"}, 3), ({"queue": "backoff"}, 1), ({"queue": "unschedulable"}, 2))),
        RuleTest(inputs={**unschedulable("NodeResourcesFit", PROFILE, 2), **unschedulable("NodeResourcesFit", "gpu", 1),
                         **unschedulable("TaintToleration", PROFILE, 0)},
                 expr=UNSCHEDULABLE,
                 expected=(({"plugin": "NodeResourcesFit"}, 3), ({"plugin": "TaintToleration"}, 0)),
                 note="profiles summed per plugin"),
        RuleTest(inputs=_attempts(ctx, 3, 1), expr=ERROR_RATIO, expected=(({}, 0.25),)),
        RuleTest(inputs={ctx.series(SRC, "scheduler_schedule_attempts_total", profile=PROFILE,
                                    result="scheduled"): counter(2)},
                 expr=ERROR_RATIO, expected=(({}, 0),), note="0, not empty, before the first error"),
        RuleTest(inputs=ctx.histogram(SRC, ATTEMPT.metric, ATTEMPT_BUCKETS, 0.004, 5, **SCHEDULED), expr=ATTEMPT_Q,
                 expected=(({"quantile": "0.5"}, bucket_quantile(ATTEMPT_BUCKETS, 0.004, 0.5)),
                           ({"quantile": "0.99"}, bucket_quantile(ATTEMPT_BUCKETS, 0.004, 0.99))),
                 note="all attempts in the (2ms, 4ms] bucket"),
    )


def _alerts(ctx: Context) -> tuple[Alert, ...]:
    c = ctx.cluster
    pending = ctx.threshold(PENDING_HIGH, 100)
    unsched = ctx.threshold(UNSCHED, 0)
    latency = ctx.threshold(LATENCY, 1)
    errors = ctx.threshold(ERRORS, 0.01)
    slow = quantile_cases(ctx, LATENCY, ATTEMPT_BUCKETS, latency)
    in_cluster = "in cluster {{ $labels." + c + " }}"
    unsched_pods = lambda v: {ctx.series(SRC, "scheduler_unschedulable_pods", plugin="NodeResourcesFit",  # noqa: E731
                                         profile=PROFILE): v}
    return (
        Alert(
            name=PENDING_HIGH,
            expr=f'sum {ctx.by()} ({PENDING}{{queue=~"active|backoff"}}) > {fmt_number(pending)}',
            for_="15m",
            severity="warning",
            threshold=pending,
            summary="Pods pile up in the scheduler's active and backoff queues.",
            description="{{ $value | humanize }} pods wait in the scheduler's active and backoff queues "
                        + in_cluster + ".",
            cases=(Case(_pending(ctx, pending, pending, 0), fires=True, value=2 * pending),
                   Case(_pending(ctx, pending / 4, pending / 4, 10 * pending + 10), fires=False,
                        note="unschedulable pods do not count")),
            meaning="Pods the scheduler could try right now (active) or soon (backoff) stay queued: it does not "
                    "keep up with the pods being created.",
            impact="Pod start-up is delayed: rollouts, Jobs and autoscaling react late.",
            diagnosis=(PENDING, INCOMING, f'{ATTEMPT_Q}{{quantile="0.99"}}', ATTEMPTS, N.cpu,
                       f'{N.rest_latency}{{quantile="0.99"}}'),
            mitigation=("If attempt latency is high, look at the slowest extension point and at API latency.",
                        "Check the scheduler is not CPU-throttled and is not rate-limited by its client QPS "
                        "(--kube-api-qps / clientConnection.qps)."),
        ),
        Alert(
            name=UNSCHED,
            expr=f"{UNSCHEDULABLE} > {fmt_number(unsched)}",
            for_="30m",
            severity="warning",
            threshold=unsched,
            summary="Pods cannot be scheduled.",
            description="{{ $value | humanize }} pods " + in_cluster + " cannot be scheduled; plugin "
                        "{{ $labels.plugin }} is among the reasons.",
            cases=(Case(unsched_pods(2 * unsched + 1), fires=True, labels={"plugin": "NodeResourcesFit"},
                        value=2 * unsched + 1),
                   Case(unsched_pods(unsched / 2), fires=False)),
            meaning="For 30 minutes, some pods fit no node; the plugin named says why (NodeResourcesFit: not enough "
                    "CPU or memory, TaintToleration: taints, NodeAffinity: selectors, VolumeBinding: volumes).",
            impact="Those pods do not run; their workloads are degraded or their Jobs do not progress.",
            diagnosis=(UNSCHEDULABLE, f'{PENDING}{{queue="unschedulable"}}',
                       'kube_pod_status_unschedulable == 1'),
            mitigation=("`kubectl get events --field-selector reason=FailedScheduling -A` names the pods and reasons.",
                        "Add capacity (or let the cluster autoscaler), or correct the pods' requests, "
                        "tolerations and affinities."),
        ),
        Alert(
            name=LATENCY,
            expr=f'{ATTEMPT_Q}{{quantile="0.99"}} > {fmt_number(latency)}',
            for_="15m",
            severity="warning",
            threshold=latency,
            summary="The scheduler takes long to schedule pods.",
            description="99th percentile scheduling attempt latency " + in_cluster
                        + " is {{ $value | humanizeDuration }}.",
            cases=(Case(ctx.histogram(SRC, ATTEMPT.metric, ATTEMPT_BUCKETS, slow.fire, 5, **SCHEDULED), fires=True,
                        labels={"quantile": "0.99"}, value=slow.value),
                   Case(ctx.histogram(SRC, ATTEMPT.metric, ATTEMPT_BUCKETS, slow.quiet, 5, **SCHEDULED), fires=False)),
            meaning="One scheduling attempt (filtering, scoring, binding) takes longer than the threshold at p99.",
            impact="Pods queue up behind slow attempts; start-up of every new pod is delayed.",
            diagnosis=(f'{ATTEMPT_Q}{{quantile="0.99"}}', f'{EXT_Q}{{quantile="0.99"}}',
                       f'{N.rest_latency}{{quantile="0.99"}}', N.cpu),
            mitigation=("The slowest extension point shows the culprit: Bind/PreBind wait on the apiserver or on "
                        "volumes, Filter/Score on the number of nodes and pods (percentageOfNodesToScore).",
                        "Slow scheduler extenders or out-of-tree plugins add their own latency."),
        ),
        Alert(
            name=ERRORS,
            expr=f"{ERROR_RATIO} > {fmt_number(errors)}",
            for_="15m",
            severity="warning",
            threshold=errors,
            summary="Scheduling attempts fail with internal errors.",
            description="{{ $value | humanizePercentage }} of scheduling attempts " + in_cluster + " end in error.",
            cases=(Case(_attempts(ctx, 10 * (1 - 2 * errors), 10 * 2 * errors), fires=True, value=2 * errors),
                   Case(_attempts(ctx, 10 * (1 - errors / 2), 10 * errors / 2), fires=False)),
            meaning="Attempts end with result=\"error\": an internal problem (API errors while binding, plugin "
                    "errors), not a pod that does not fit.",
            impact="The affected pods are retried with back-off; their start-up is delayed.",
            diagnosis=(ATTEMPTS, N.rest_errors, f'{EXT_Q}{{quantile="0.99"}}'),
            mitigation=("Read the scheduler's log for the failing plugin or API call.",
                        "If API requests fail too, the apiserver or etcd is the cause."),
        ),
    )
