"""kube-scheduler and kube-controller-manager, with their client-go REST clients and workqueues.

Knobs: scheduler.down, scheduler.backlog, controller_manager.down, controller_manager.workqueue,
clients.errors (share of REST calls that fail with `<error>`), node.not_ready (node lifecycle evictions).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from generator import buckets
from generator.simulate.series import CounterHandle
from generator.simulate.sources.base import Latency, Process, Target, rate

if TYPE_CHECKING:
    from generator.simulate.world import World

PROFILE = "default-scheduler"
EXTENSION_POINTS = (("Filter", 0.0008), ("Score", 0.0005), ("PreBind", 0.002), ("Bind", 0.004))
QUEUES = ("deployment", "replicaset", "daemonset", "endpoint_slice", "garbage_collector_attempt_to_delete")


class RestClient:
    """client-go's rest_client_requests_total and rest_client_request_duration_seconds against the apiserver."""

    def __init__(self, w: World, t: Target, calls: tuple[tuple[str, str, float], ...], durations: bool,
                 past_errors: int = 0) -> None:
        self.t, self.rng, self.calls = t, w.rng, calls
        self.host = f"{w.topo.control_plane.ip}:6443"
        self.counters: dict[tuple[str, str], CounterHandle] = {}
        if past_errors:  # transport errors from before the window (an apiserver restart): the series exists
            self._counter(calls[0][0], "<error>").total = past_errors
        self.latency = {verb: Latency(t.histogram("rest_client_request_duration_seconds", buckets.REST_CLIENT,
                                                  host=self.host, verb=verb), w.rng)
                        for verb in sorted({m for m, _, _ in calls})} if durations else {}

    def tick(self, w: World) -> None:
        errors = w.knob("clients.errors")
        amounts = {key: 0.0 for key in self.counters}
        for method, code, per_second in self.calls:
            n = rate(self.rng, per_second, w.dt)
            amounts[(method, code)] = n * (1 - errors)
            if errors:
                amounts[(method, "<error>")] = n * errors
        for (method, code), amount in amounts.items():
            self._counter(method, code).add_int(amount)
        for verb, latency in self.latency.items():
            latency.observe(w.dt, sum(r for m, _, r in self.calls if m == verb), 0.01, 0.6)

    def _counter(self, method: str, code: str) -> CounterHandle:
        found = self.counters.get((method, code))
        if found is None:
            found = self.counters[(method, code)] = self.t.counter("rest_client_requests_total", code=code,
                                                                   host=self.host, method=method)
        return found


class Scheduler:
    def __init__(self, w: World) -> None:
        self.t = t = Target(w, "kube-scheduler", f"{w.topo.control_plane.ip}:10259")
        self.process = Process(t)
        self.client = RestClient(w, t, (("GET", "200", 1.0), ("PUT", "200", 0.5), ("POST", "201", 0.02)), True)
        self.pending = {q: t.gauge("scheduler_pending_pods", queue=q) for q in ("active", "backoff", "unschedulable",
                                                                               "gated")}
        self.unschedulable = {p: t.gauge("scheduler_unschedulable_pods", plugin=p, profile=PROFILE)
                              for p in ("NodeResourcesFit", "TaintToleration")}
        self.incoming = {e: t.counter("scheduler_queue_incoming_pods_total", event=e, queue=q)
                         for e, q in (("PodAdd", "active"), ("ScheduleAttemptFailure", "unschedulable"))}
        self.attempts = {r: t.counter("scheduler_schedule_attempts_total", profile=PROFILE, result=r)
                         for r in ("scheduled", "unschedulable", "error")}
        self.attempt_latency = Latency(t.histogram("scheduler_scheduling_attempt_duration_seconds",
                                                   buckets.SCHEDULER_ATTEMPT, profile=PROFILE, result="scheduled"),
                                       w.rng)
        self.sli = Latency(t.histogram("scheduler_pod_scheduling_sli_duration_seconds", buckets.SCHEDULER_SLI,
                                       attempts="1"), w.rng)
        self.points = [(Latency(t.histogram("scheduler_framework_extension_point_duration_seconds",
                                            buckets.SCHEDULER_EXTENSION_POINT, extension_point=p, profile=PROFILE,
                                            status="Success"), w.rng), median) for p, median in EXTENSION_POINTS]
        self.preemption = t.counter("scheduler_preemption_attempts_total")
        self.victims = t.histogram("scheduler_preemption_victims", buckets.SCHEDULER_PREEMPTION_VICTIMS)

    def tick(self, w: World) -> None:
        t, dt, rng = self.t, w.dt, w.rng
        if not t.alive(w.knob("scheduler.down")):
            return
        backlog = w.knob("scheduler.backlog")
        scheduled = 0.5 if backlog else 0.02
        self.pending["active"].set(70 + rng.randrange(10) if backlog else 0)
        self.pending["backoff"].set(50 + rng.randrange(10) if backlog else 0)
        self.pending["unschedulable"].set(40 if backlog else 0)
        self.pending["gated"].set(0)
        self.unschedulable["NodeResourcesFit"].set(40 if backlog else 0)
        self.unschedulable["TaintToleration"].set(0)
        self.incoming["PodAdd"].add_int(rate(rng, 3.0 if backlog else 0.02, dt))
        self.incoming["ScheduleAttemptFailure"].add_int(rate(rng, 2.0, dt) if backlog else 0.0)
        self.attempts["scheduled"].add_int(rate(rng, scheduled, dt))
        self.attempts["unschedulable"].add_int(rate(rng, 2.0, dt) if backlog else 0.0)
        self.attempts["error"].add_int(rate(rng, 0.1, dt) if backlog else 0.0)
        self.attempt_latency.observe(dt, scheduled, 0.6 if backlog else 0.004, 0.5)
        self.sli.observe(dt, scheduled, 30.0 if backlog else 0.02, 0.6)
        for latency, median in self.points:
            latency.observe(dt, scheduled, median * (20 if backlog else 1), 0.5)
        self.preemption.add(0)
        self.victims.emit()
        self.client.tick(w)
        self.process.tick(dt, 0.01 + scheduled * 0.05, 60e6)


class ControllerManager:
    def __init__(self, w: World) -> None:
        self.t = t = Target(w, "kube-controller-manager", f"{w.topo.control_plane.ip}:10257")
        self.process = Process(t)
        self.client = RestClient(w, t, (("GET", "200", 2.0), ("PUT", "200", 1.0), ("PATCH", "200", 0.3),
                                        ("POST", "201", 0.05)), True)
        self.queues = {name: {
            "adds": t.counter("workqueue_adds_total", name=name),
            "retries": t.counter("workqueue_retries_total", name=name),
            "depth": t.gauge("workqueue_depth", name=name),
            "unfinished": t.gauge("workqueue_unfinished_work_seconds", name=name),
            "wait": Latency(t.histogram("workqueue_queue_duration_seconds", buckets.WORKQUEUE, name=name), w.rng),
            "work": Latency(t.histogram("workqueue_work_duration_seconds", buckets.WORKQUEUE, name=name), w.rng),
        } for name in QUEUES}
        self.gc_errors = t.counter("garbagecollector_controller_resources_sync_error_total")
        self.evictions = t.counter("node_collector_evictions_total", zone="")
        self.unhealthy = t.gauge("node_collector_unhealthy_nodes_in_zone", zone="")

    def tick(self, w: World) -> None:
        t, dt, rng = self.t, w.dt, w.rng
        if not t.alive(w.knob("controller_manager.down")):
            return
        stuck = w.knob("controller_manager.workqueue")
        for name, q in self.queues.items():
            hot = stuck and name == "deployment"
            adds = 0.3 * w.load
            q["adds"].add_int(rate(rng, adds * (5 if hot else 1), dt))
            q["retries"].add_int(rate(rng, 3.0, dt) if hot else 0.0)
            q["depth"].set(150 + rng.randrange(20) if hot else rng.randrange(2))
            q["unfinished"].set(900.0 + w.elapsed if hot else 0.0)
            q["wait"].observe(dt, adds, 10.0 if hot else 0.0005, 0.6)
            q["work"].observe(dt, adds, 2.0 if hot else 0.002, 0.6)
        self.gc_errors.add(rate(rng, 0.05, dt) if stuck else 0.0)
        not_ready = w.knob("node.not_ready") and w.elapsed > 60
        # taint-based eviction of the lost node's pods, one every few minutes once tolerations run out
        self.evictions.add(1 if not_ready and w.elapsed > 300 and w.due(180, 30) else 0)
        self.unhealthy.set(1 if not_ready else 0)
        self.client.tick(w)
        self.process.tick(dt, 0.05 * w.load, 110e6)
