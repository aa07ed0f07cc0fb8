"""One simulated cluster ticking through time: shared drivers, pod lifecycles, and the scrape sources.

Each tick: the active scenarios give their knobs, the drivers take their random shocks (the planted relations
live here), pods restart / crash / get OOM-killed as the knobs say, then every source sets its series.

Planted relations (`PLANTED`), each on the changes of both signals:
- per app pod, container CPU and received network bytes share the traffic shock;
- per HTTP pod, container memory and response time share a shock;
- apiserver request latency and etcd backend commit latency share the storage shock;
- CoreDNS latency and CoreDNS CPU share the DNS load shock.
In the congested phase (from `congested_from`) CPU hits its limit and decouples from traffic (weak), memory moves
against response time (GC under pressure: negative), CoreDNS CPU is throttled flat while latency climbs
(negative), and apiserver latency follows etcd even more closely (stronger).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from generator.simulate import scenarios as registry_of_scenarios
from generator.simulate import shapes
from generator.simulate.labels import Labels
from generator.simulate.series import Registry
from generator.simulate.sources import SOURCES
from generator.simulate.topology import Pod, Topology

# (signal, signal): relation in the smooth phase, relation in the congested phase
PLANTED: dict[tuple[str, str], tuple[str, str]] = {
    ("container_cpu_usage", "pod_network_receive_bytes"): ("positive", "weak"),
    ("container_memory_working_set", "service_latency_p99"): ("positive", "negative"),
    ("apiserver_request_latency_p99", "etcd_backend_commit_p99"): ("positive", "positive"),
    ("coredns_latency_p99", "coredns_cpu"): ("positive", "negative"),
}

@dataclass(frozen=True)
class Settings:
    start: int
    step: int
    end: int
    congested_from: float  # absolute time
    scenario_start: float  # absolute time the scenarios begin
    scenario_window: float  # seconds over which ramps (filling disks...) progress from 0 to 1
    anchor: float  # periodic fault events (restarts, OOM kills) are placed at anchor − offset − k·period


@dataclass
class PodState:
    pod: Pod
    traffic: shapes.AR1
    memory: shapes.AR1
    own: list[shapes.AR1]
    restarts: dict[str, int] = field(default_factory=dict)
    waiting: dict[str, str] = field(default_factory=dict)
    last_terminated: dict[str, str] = field(default_factory=dict)
    phase: str = "Running"
    ready: bool = True
    restarted: bool = False  # restarted on this tick: process counters go back to zero
    oom_killed: bool = False
    last_restart: float = -math.inf
    cpu: float = 0.0  # cores
    mem: float = 0.0  # bytes, working set of the first container
    rx: float = 0.0  # bytes/s
    tx: float = 0.0
    rps: float = 0.0
    latency: float = 0.0  # median response time, seconds
    throttled: float = 0.0  # share of CFS periods throttled


class World:
    """One cluster: its topology, shared drivers, pod states and sources, all writing into `registry`."""

    def __init__(self, topo: Topology, registry: Registry, seed: int, settings: Settings,
                 scenarios: tuple[str, ...] = (), cluster_label: str = "cluster") -> None:
        self.topo, self.reg, self.settings = topo, registry, settings
        self.scenarios = scenarios
        self._knob_table = registry_of_scenarios.knobs_for(scenarios)
        self.rng = random.Random(f"world:{seed}:{topo.cluster}")
        self.cluster: Labels = ((cluster_label, topo.cluster),)
        self.t = float(settings.start)
        self.dt = float(settings.step)
        self.ticked = False
        self.knobs: dict[str, float] = {}
        rng = self.rng
        self.load_noise = shapes.AR1(rng, 0.98, 0.02)
        self.storage = shapes.AR1(rng, 0.9)  # etcd commit ↔ apiserver latency
        self.dns = shapes.AR1(rng, 0.9)  # CoreDNS latency ↔ CPU
        self.dns_own = [shapes.AR1(rng, 0.9) for _ in range(4)]
        self.load = 1.0
        self.pods = {(p.namespace, p.name): PodState(p, shapes.AR1(rng, 0.9), shapes.AR1(rng, 0.95),
                                      [shapes.AR1(rng, 0.9) for _ in range(4)]) for p in topo.pods}
        self._history()
        self.sources = [cls(self) for cls in SOURCES]

    def state(self, pod: Pod) -> PodState:
        return self.pods[(pod.namespace, pod.name)]

    # ---- time and knobs ----------------------------------------------------------------------------------
    @property
    def congested(self) -> bool:
        return self.t >= self.settings.congested_from

    @property
    def elapsed(self) -> float:
        """Seconds since the scenarios started (negative before)."""
        return self.t - self.settings.scenario_start

    @property
    def progress(self) -> float:
        return min(1.0, max(0.0, self.elapsed / self.settings.scenario_window))

    def knob(self, name: str, default: float = 0.0) -> float:
        return self.knobs.get(name, default)

    def due(self, period: float, offset: float = 0.0) -> bool:
        """A periodic fault event (kept clear of the scenario start) falls in this tick."""
        return self.elapsed > 0 and shapes.due(self.t, self.dt, self.settings.anchor, period, offset)

    # ---- the tick ----------------------------------------------------------------------------------------
    def tick(self, t: float) -> None:
        """Move to time t; counters grow by what happened since the previous tick (steps may vary)."""
        if self.ticked:
            self.dt = t - self.t
        self.t, self.ticked = t, True
        self.knobs = self._knob_table if t >= self.settings.scenario_start else {}
        rng = self.rng
        self.load = shapes.daily(t) * math.exp(self.load_noise.step(rng.gauss(0, 1)))
        self.storage.step(rng.gauss(0, 1))
        self.dns.step(rng.gauss(0, 1))
        for own in self.dns_own:
            own.step(rng.gauss(0, 1))
        for state in self.pods.values():
            self._pod(state)
        for source in self.sources:
            source.tick(self)

    def _history(self) -> None:
        """Before the window: one worker container restarted once long ago, so its last state is on record."""
        for state in self.pods.values():
            for c in state.pod.containers:
                state.restarts[c.name] = 0
        worker = next((s for s in self.pods.values() if s.pod.workload == "worker"), None)
        if worker:
            worker.restarts[worker.pod.containers[0].name] = 1
            worker.last_terminated[worker.pod.containers[0].name] = "Error"

    def _pod(self, s: PodState) -> None:
        rng, pod = self.rng, s.pod
        s.restarted = s.oom_killed = False
        shocks = [rng.gauss(0, 1) for _ in range(6)]
        s.traffic.step(shocks[0])
        s.memory.step(shocks[1])
        for own, shock in zip(s.own, shocks[2:], strict=True):
            own.step(shock)
        c0 = pod.containers[0]
        load = self.load
        x, y = s.traffic.z, s.memory.z
        if pod.role == "app":
            base_cpu = c0.cpu_request * 0.5
            if self.congested:  # saturated: CPU high and stuck there, traffic hardly shows in it any more
                cpu = base_cpu * 1.3 * load * math.exp(0.1 * x + 0.2 * s.own[0].z)
                mem_factor = 1.0 - 0.12 * math.tanh(y / 2.0)
            else:
                cpu = base_cpu * load * math.exp(0.3 * x + 0.08 * s.own[0].z)
                mem_factor = 1.0 + 0.12 * math.tanh(y / 2.0)
            s.rx = 2.0e5 * load * math.exp(0.3 * x + 0.08 * s.own[1].z)
            s.tx = 1.2e5 * load * math.exp(0.25 * s.own[2].z)
            s.rps = 40.0 * load * math.exp(0.1 * s.own[3].z) if pod.http else 0.0
            s.latency = 0.045 * math.exp(0.3 * y)
            s.mem = c0.mem_request * 0.8 * mem_factor
        else:
            cpu = c0.cpu_request * 0.3 * load * math.exp(0.2 * s.own[0].z)
            s.rx = 2.0e4 * load * math.exp(0.2 * s.own[1].z)
            s.tx = 2.5e4 * load * math.exp(0.2 * s.own[2].z)
            s.mem = c0.mem_request * 0.7 * (1.0 + 0.05 * math.tanh(y))
        limit = c0.cpu_limit
        s.throttled = 0.02 * max(0.0, min(1.0, cpu / limit)) if limit else 0.0
        # CFS throttling keeps a healthy container's average below 80% of its limit
        s.cpu = min(cpu, limit * 0.8) if limit else cpu
        self._faults(s)

    def _faults(self, s: PodState) -> None:
        """Pod-level scenario effects: crash loops, OOM kills, image pulls, throttling, nodes going away."""
        pod, name = s.pod, s.pod.containers[0].name
        topo = self.topo
        job = pod.owner_kind == "Job"  # finished: Succeeded, not ready, nothing running
        s.waiting, s.ready, s.phase = {}, not job, "Succeeded" if job else "Running"
        if job:
            s.cpu = s.rx = s.tx = s.rps = 0.0
            return
        if self.knob("pod.crashloop") and pod is topo.victim("web"):
            if self.due(180, 60):
                self._restart(s, "Error")
            running = self.t - s.last_restart < 40
            s.waiting = {} if running else {name: "CrashLoopBackOff"}
            s.ready = False
        if self.knob("pod.oom") and pod is topo.victim("worker"):
            if self.due(240, 90):
                self._restart(s, "OOMKilled")
                s.oom_killed = True
            since = self.t - s.last_restart
            s.mem = pod.containers[0].mem_limit * min(0.99, 0.6 + 0.35 * since / 60.0)
            s.ready = since > 30
        if self.knob("pod.image_pull") and pod is topo.victim("worker"):
            s.waiting = {name: "ImagePullBackOff" if int(self.elapsed // 120) % 2 else "ErrImagePull"}
            s.ready, s.cpu, s.rps = False, 0.0, 0.0
        if self.knob("pod.throttled") and pod is topo.victim("web"):
            s.cpu = pod.containers[0].cpu_limit * (0.96 + 0.02 * math.tanh(s.own[0].z))
            s.throttled = 0.45
        if self.knob("pod.readiness_failing") and pod is topo.victim("db"):
            s.ready = False
        if self.knob("pod.container_creating") and pod is topo.victim("db"):
            s.waiting, s.phase, s.ready = {name: "ContainerCreating"}, "Pending", False
            s.cpu = s.rx = s.tx = s.rps = 0.0
        if self.knob("node.not_ready") and pod.node == topo.victim_node().name and self.elapsed > 60:
            s.ready = False

    def _restart(self, s: PodState, reason: str) -> None:
        name = s.pod.containers[0].name
        s.restarts[name] = s.restarts.get(name, 0) + 1
        s.last_terminated[name] = reason
        s.restarted = True
        s.last_restart = self.t
