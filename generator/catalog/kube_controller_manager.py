"""kube-controller-manager: the control loops. Workqueues per controller, API client health, GC, node evictions.

No leader-election alert: `leader_election_master_status` appears in none of the 1.31–1.35 captures, and a
kube-controller-manager without the lease simply runs no controllers (its workqueues vanish), which the workqueue
signals show. The skeleton it shares with kube-scheduler (process, API client, Down alerts, their panels) is
control_plane.ControlPlane; this module declares the workqueues and the garbage collector / node lifecycle parts.
"""

from __future__ import annotations

from generator.catalog import workqueue as wq
from generator.catalog.control_plane import ControlPlane, Parts
from generator.catalog.helpers import bucket_quantile, counter, quantile_cases
from generator.context import Context
from generator.model import Alert, Case, Component, Panel, RecordingRule, RuleTest, Signal
from generator.promql import fmt_number, record_name

KCM = ControlPlane(
    job="kube-controller-manager", title="Kube Controller Manager", prefix="controller_manager",
    alerts="KubeControllerManager", port="10257",
    description="Controller loops: workqueue depth, wait, retries and stuck work per controller, API client "
                "errors and latency, garbage collector and node lifecycle, CPU and memory.",
    down_impact="Nothing reconciles: Deployments do not roll out, ReplicaSets do not replace pods, Endpoints "
                "and Jobs are not updated, nodes that die keep their pods.",
    instance_impact="Little while another replica leads; one replica fewer to take over if the leader fails.",
)
SRC = KCM.job
N = KCM.names
GC_ERRORS = record_name("cluster", "garbagecollector_controller_resources_sync_error", "rate5m")
EVICTIONS = record_name("cluster_zone", "node_collector_evictions", "rate5m")
UNHEALTHY_NODES = record_name("cluster_zone", "node_collector_unhealthy_nodes_in_zone", "max")
QUEUE = "deployment"  # the `name` of the workqueue test series carry

DEPTH = "KubeControllerManagerWorkqueueDepthHigh"
WAIT = "KubeControllerManagerWorkqueueWaitHigh"  # ...WorkqueueLatencyHigh would be 41 characters
RETRIES = "KubeControllerManagerWorkqueueRetries"
STUCK = "KubeControllerManagerWorkqueueStuck"
P = KCM.prefix


def build(ctx: Context) -> Component:
    return KCM.component(ctx, own=_workqueues(ctx), tail=_lifecycle(ctx))


def _workqueues(ctx: Context) -> Parts:
    c = ctx.cluster
    f = ctx.dash()
    p99 = ctx.dash(quantile=0.99)
    series = lambda metric, **lb: ctx.series(SRC, metric, **lb)  # noqa: E731
    two_replicas = {  # a stale replica and the leader: depth adds up, unfinished work takes the worst
        series("workqueue_depth", name=QUEUE, instance="10.0.0.1:10257"): 3,
        series("workqueue_depth", name=QUEUE, instance="10.0.0.2:10257"): 4,
        series("workqueue_unfinished_work_seconds", name=QUEUE, instance="10.0.0.1:10257"): 30,
        series("workqueue_unfinished_work_seconds", name=QUEUE, instance="10.0.0.2:10257"): 90,
    }
    return Parts(
        rules=wq.workqueue_rules(ctx, SRC, N),
        signals=(
            Signal(f"{P}_workqueue_adds", f"{N.wq_adds}{f}", "ops", (c, "name"), "Workqueue adds",
                   "Items added per second to each controller's workqueue."),
            Signal(f"{P}_workqueue_depth", f"{N.wq_depth}{f}", "short", (c, "name"), "Workqueue depth",
                   "Items waiting in each controller's workqueue.", kind="state", alert=DEPTH),
            Signal(f"{P}_workqueue_latency_p99", f"{N.wq_wait}{p99}", "s", (c, "name"), "Workqueue wait p99",
                   "99th percentile of the time an item waits in a workqueue before a worker picks it up.",
                   alert=WAIT),
            Signal(f"{P}_workqueue_work_duration_p99", f"{N.wq_work}{p99}", "s", (c, "name"), "Work duration p99",
                   "99th percentile of the time a controller takes to process one item."),
            Signal(f"{P}_workqueue_retries", f"{N.wq_retries}{f}", "ops", (c, "name"), "Workqueue retries",
                   "Items re-queued per second after a failed sync, by workqueue.", alert=RETRIES),
            Signal(f"{P}_workqueue_unfinished_work", f"{N.wq_unfinished}{f}", "s", (c, "name"), "Unfinished work",
                   "Seconds of work in progress not yet finished, by workqueue; growing values mean stuck workers.",
                   kind="state", alert=STUCK),
        ),
        rule_tests=(
            RuleTest(inputs=two_replicas, expr=N.wq_depth, expected=(({"name": QUEUE}, 7),),
                     note="summed per queue"),
            RuleTest(inputs=two_replicas, expr=N.wq_unfinished, expected=(({"name": QUEUE}, 90),),
                     note="worst replica per queue"),
            RuleTest(inputs={series("workqueue_retries_total", name=QUEUE): counter(2),
                             series("workqueue_retries_total", name="job"): counter(0.5)},
                     expr=N.wq_retries, expected=(({"name": QUEUE}, 2), ({"name": "job"}, 0.5)), note="per queue"),
            RuleTest(inputs=ctx.histogram(SRC, N.wq_wait_q.metric, wq.WORKQUEUE_BUCKETS, 1, 10, name=QUEUE),
                     expr=N.wq_wait,
                     expected=(({"name": QUEUE, "quantile": "0.99"}, bucket_quantile(wq.WORKQUEUE_BUCKETS, 1, 0.99)),),
                     note="p99 inside the (0.1, 1] bucket"),
        ),
        alerts=_workqueue_alerts(ctx),
        panels=(
            Panel("Workqueue depth", (f"{P}_workqueue_depth",), legend="{{name}}", width=18),
            Panel("Workqueue adds", (f"{P}_workqueue_adds",), legend="{{name}}"),
            Panel("Workqueue wait p99", (f"{P}_workqueue_latency_p99",), legend="{{name}}"),
            Panel("Work duration p99", (f"{P}_workqueue_work_duration_p99",), legend="{{name}}"),
            Panel("Workqueue retries", (f"{P}_workqueue_retries",), legend="{{name}}"),
            Panel("Unfinished work", (f"{P}_workqueue_unfinished_work",), legend="{{name}}"),
        ),
    )


def _lifecycle(ctx: Context) -> Parts:
    """The garbage collector and the node lifecycle controller."""
    c = ctx.cluster
    f = ctx.dash()
    s = ctx.sel(SRC)
    return Parts(
        rules=(
            RecordingRule(GC_ERRORS,
                          f"sum {ctx.by()} (rate(garbagecollector_controller_resources_sync_error_total{s}[5m]))"),
            RecordingRule(EVICTIONS, f"sum {ctx.by('zone')} (rate(node_collector_evictions_total{s}[5m]))"),
            RecordingRule(UNHEALTHY_NODES, f"max {ctx.by('zone')} (node_collector_unhealthy_nodes_in_zone{s})"),
        ),
        signals=(
            Signal(f"{P}_gc_sync_errors", f"{GC_ERRORS}{f}", "ops", (c,), "Garbage collector sync errors",
                   "Failed resource discoveries per second of the garbage collector.",
                   alert="KubeControllerManagerGCSyncErrors"),
            Signal(f"{P}_node_evictions", f"{EVICTIONS}{f}", "ops", (c, "zone"), "Node evictions",
                   "Nodes per second whose pods the node lifecycle controller evicts, by zone."),
            Signal(f"{P}_unhealthy_nodes", f"{UNHEALTHY_NODES}{f}", "short", (c, "zone"), "Unhealthy nodes by zone",
                   "Nodes the node lifecycle controller sees as not Ready, by zone.", kind="state"),
        ),
        rule_tests=(
            RuleTest(inputs={ctx.series(SRC, "garbagecollector_controller_resources_sync_error_total"): counter(0.5)},
                     expr=GC_ERRORS, expected=(({}, 0.5),)),
        ),
        alerts=_lifecycle_alerts(ctx),
        panels=(
            Panel("Garbage collector sync errors", (f"{P}_gc_sync_errors",)),
            Panel("Node evictions", (f"{P}_node_evictions",), legend="{{zone}}"),
            Panel("Unhealthy nodes by zone", (f"{P}_unhealthy_nodes",), legend="{{zone}}"),
        ),
    )


def _workqueue_alerts(ctx: Context) -> tuple[Alert, ...]:
    c = ctx.cluster
    series = lambda metric, **lb: ctx.series(SRC, metric, **lb)  # noqa: E731
    depth = ctx.threshold(DEPTH, 100)
    wait = ctx.threshold(WAIT, 5)
    retries = ctx.threshold(RETRIES, 1)
    stuck = ctx.threshold(STUCK, 300)
    slow = quantile_cases(ctx, WAIT, wq.WORKQUEUE_BUCKETS, wait)
    on_queue = "kube-controller-manager workqueue {{ $labels.name }} in cluster {{ $labels." + c + " }}"
    more = ("Read the leader's log for the controller behind the queue "
            "(`kubectl -n kube-system logs -l component=kube-controller-manager`).")
    return (
        Alert(
            name=DEPTH,
            expr=f"{N.wq_depth} > {fmt_number(depth)}",
            for_="15m",
            severity="warning",
            threshold=depth,
            summary="A kube-controller-manager workqueue is backing up.",
            description=on_queue + " holds {{ $value | humanize }} items.",
            cases=(Case({series("workqueue_depth", name=QUEUE): 2 * depth}, fires=True, labels={"name": QUEUE},
                        value=2 * depth),
                   Case({series("workqueue_depth", name=QUEUE): depth / 2}, fires=False)),
            meaning="A controller receives work faster than its workers finish it, for 15 minutes or more.",
            impact="Changes to the objects that controller manages take effect late: rollouts stall, Endpoints "
                   "lag behind pods, finished Jobs and orphans pile up.",
            diagnosis=(N.wq_depth, N.wq_adds, f'{N.wq_work}{{quantile="0.99"}}',
                       f'{N.rest_latency}{{quantile="0.99"}}', N.cpu),
            mitigation=(more, "If work duration or API latency is high, the apiserver is slow: see its dashboard.",
                        "If the process is CPU-bound, give it more CPU or raise the --concurrent-*-syncs flags."),
        ),
        Alert(
            name=WAIT,
            expr=f'{N.wq_wait}{{quantile="0.99"}} > {fmt_number(wait)}',
            for_="15m",
            severity="warning",
            threshold=wait,
            summary="Items wait long in a kube-controller-manager workqueue.",
            description="99th percentile wait in " + on_queue + " is {{ $value | humanizeDuration }}.",
            cases=(Case(ctx.histogram(SRC, N.wq_wait_q.metric, wq.WORKQUEUE_BUCKETS, slow.fire, 10, name=QUEUE),
                        fires=True, labels={"name": QUEUE, "quantile": "0.99"},
                        value=slow.value),
                   Case(ctx.histogram(SRC, N.wq_wait_q.metric, wq.WORKQUEUE_BUCKETS, slow.quiet, 10, name=QUEUE),
                        fires=False)),
            meaning="Queued items wait longer than the threshold before a worker picks them up: every worker of "
                    "that controller is busy.",
            impact="Reactions to changes (a pod dying, a Service changing) are delayed by that long.",
            diagnosis=(f'{N.wq_wait}{{quantile="0.99"}}', N.wq_depth, f'{N.wq_work}{{quantile="0.99"}}'),
            mitigation=(more, "Raise the controller's --concurrent-*-syncs, or fix what makes each sync slow "
                              "(API latency, webhooks)."),
        ),
        Alert(
            name=RETRIES,
            expr=f"{N.wq_retries} > {fmt_number(retries)}",
            for_="15m",
            severity="warning",
            threshold=retries,
            summary="A kube-controller-manager controller keeps failing and retrying.",
            description=on_queue + " retries {{ $value | humanize }} items per second.",
            cases=(Case({series("workqueue_retries_total", name=QUEUE): counter(2 * retries)}, fires=True,
                        lookback="3m",
                        labels={"name": QUEUE}, value=2 * retries),
                   Case({series("workqueue_retries_total", name=QUEUE): counter(retries / 2)}, fires=False,
                        lookback="3m")),
            meaning="Syncs of this controller fail and are re-queued with back-off faster than the threshold.",
            impact="The objects it manages are not brought to their desired state; failures repeat.",
            diagnosis=(N.wq_retries, N.rest_errors, N.rest_requests),
            mitigation=(more, "Conflicts (409) are normal in small numbers; admission webhook or quota "
                              "rejections are not: check the events of the objects involved."),
        ),
        Alert(
            name=STUCK,
            expr=f"{N.wq_unfinished} > {fmt_number(stuck)}",
            for_="15m",
            severity="warning",
            threshold=stuck,
            summary="A kube-controller-manager worker seems stuck.",
            description=on_queue + " has {{ $value | humanizeDuration }} of unfinished work in progress.",
            cases=(Case({series("workqueue_unfinished_work_seconds", name=QUEUE): 2 * stuck}, fires=True,
                        labels={"name": QUEUE}, value=2 * stuck),
                   Case({series("workqueue_unfinished_work_seconds", name=QUEUE): stuck / 2}, fires=False)),
            meaning="Workers have been processing items for longer, in total, than the threshold without "
                    "finishing: a sync is hung (API call without timeout, deadlock).",
            impact="A hung worker processes nothing else; with all workers hung the controller stops.",
            diagnosis=(N.wq_unfinished,
                       f"workqueue_longest_running_processor_seconds{ctx.sel(SRC)}", N.wq_depth),
            mitigation=(more, "A goroutine dump (`/debug/pprof/goroutine?debug=2`) shows where the worker hangs; "
                              "restarting the leader hands the work to another replica."),
        ),
    )


def _lifecycle_alerts(ctx: Context) -> tuple[Alert, ...]:
    c = ctx.cluster
    series = lambda metric, **lb: ctx.series(SRC, metric, **lb)  # noqa: E731
    return (
        Alert(
            name="KubeControllerManagerGCSyncErrors",
            expr=f"{GC_ERRORS} > 0",
            for_="30m",
            severity="warning",
            summary="The garbage collector cannot discover all API resources.",
            description="The garbage collector of kube-controller-manager in cluster {{ $labels." + c
                        + " }} keeps failing to sync its resource list.",
            cases=(Case({series("garbagecollector_controller_resources_sync_error_total"): counter(0.1)},
                        fires=True),
                   Case({series("garbagecollector_controller_resources_sync_error_total"): counter(0)},
                        fires=False)),
            meaning="Resource discovery fails, usually because an aggregated API (metrics.k8s.io, a webhook-backed "
                    "APIService) is unavailable.",
            impact="Objects of the resources it cannot discover are not garbage collected: dependents of deleted "
                   "owners stay, namespaces can hang in Terminating.",
            diagnosis=(GC_ERRORS, "aggregator_unavailable_apiservice == 1"),
            mitigation=("`kubectl get apiservices` and fix or delete the APIService whose backend is gone.",),
        ),
        Alert(
            name="KubeControllerManagerNodeEvictions",
            expr=f"sum {ctx.by('zone')} (increase(node_collector_evictions_total{ctx.sel(SRC)}[30m])) > 0",
            for_="0m",
            severity="info",
            summary="The node lifecycle controller evicted the pods of a node.",
            description="kube-controller-manager in cluster {{ $labels." + c + " }} evicted pods from unhealthy "
                        "nodes in zone {{ $labels.zone }} in the last 30 minutes.",
            cases=(Case({series("node_collector_evictions_total", zone="zone-a"): "0+0x5 1+0x{n}"}, fires=True,
                        lookback="10m",
                        labels={"zone": "zone-a"}),
                   Case({series("node_collector_evictions_total", zone="zone-a"): "1+0x{n}"}, fires=False,
                        lookback="10m")),
            meaning="A node stayed NotReady or unreachable long enough for its pods to be evicted.",
            impact="Pods on that node were rescheduled elsewhere; stateful pods may wait for their volumes.",
            diagnosis=(EVICTIONS, UNHEALTHY_NODES, 'kube_node_status_condition{condition="Ready",status="true"} == 0'),
            mitigation=("Find out why the node went NotReady (kubelet, network, resource pressure).",),
        ),
    )
