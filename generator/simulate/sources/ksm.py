"""kube-state-metrics (job kube-state-metrics): nodes and pods. Controllers, claims and quotas: `ksm_apps`.

Like the real exporter, a waiting reason or a last-terminated reason is a series only while the container has
one. Knobs: node.not_ready, node.flapping, node.cordoned, node.mem_pressure (victim node), overcommit (requests
scaled up), storage.failing (a Pending pod and claim appear).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from generator.simulate.sources.base import Target
from generator.simulate.sources.ksm_apps import Apps
from generator.simulate.topology import Node, Pod

if TYPE_CHECKING:
    from generator.simulate.world import PodState, World

PHASES = ("Pending", "Running", "Succeeded", "Failed", "Unknown")
CONDITIONS = ("Ready", "MemoryPressure", "DiskPressure", "PIDPressure")
STATUSES = ("true", "false", "unknown")
NO_SCALE = {"cpu": 1.0, "memory": 1.0}
CONTROL_PLANE_TAINT = ("node-role.kubernetes.io/control-plane", "NoSchedule")


class KubeStateMetrics:
    def __init__(self, w: World) -> None:
        ksm = next(p for p in w.topo.pods if p.role == "kube-state-metrics")
        self.t = t = Target(w, "kube-state-metrics", f"{ksm.ip}:8080")
        self.nodes = [_Node(t, n) for n in w.topo.nodes]
        self.pods = [_Pod(t, p) for p in w.topo.pods]
        self.apps = Apps(w, t)
        self.scale = NO_SCALE

    def tick(self, w: World) -> None:
        self.t.alive(False)
        for node in self.nodes:
            node.tick(w)
        self.scale = overcommit_scale(w) if w.knob("overcommit") else NO_SCALE
        for pod in self.pods:
            pod.tick(w, self.scale)
        self.apps.tick(w, self.scale)


def overcommit_scale(w: World) -> dict[str, float]:
    """How much app requests grow so that, with the system pods, they no longer fit once the biggest node is gone."""
    nodes, pods = w.topo.nodes, w.topo.pods
    scale = {}
    for resource, alloc, request in (("cpu", lambda n: n.alloc_cpu, lambda c: c.cpu_request),
                                     ("memory", lambda n: n.alloc_memory, lambda c: c.mem_request)):
        spare = sum(alloc(n) for n in nodes) - max(alloc(n) for n in nodes)
        app = sum(request(c) for p in pods if p.role == "app" for c in p.containers)
        system = sum(request(c) for p in pods if p.role != "app" for c in p.containers)
        scale[resource] = 1.3 * max(1.0, (spare - system) / app) if app else 1.0
    return scale


class _Node:
    def __init__(self, t: Target, node: Node) -> None:
        self.t, self.node = t, node
        n = node.name
        self.condition = {(c, s): t.gauge("kube_node_status_condition", condition=c, node=n, status=s)
                          for c in CONDITIONS for s in STATUSES}
        self.unschedulable = t.gauge("kube_node_spec_unschedulable", node=n)
        self.info = t.gauge("kube_node_info", node=n, internal_ip=node.ip)
        resources = (("cpu", "core", node.cpus, node.alloc_cpu), ("memory", "byte", node.memory, node.alloc_memory),
                     ("pods", "integer", 110, 110), ("ephemeral_storage", "byte", 100 * 1024**3, 92 * 1024**3))
        self.resources = [(t.gauge("kube_node_status_capacity", node=n, resource=r, unit=u),
                           t.gauge("kube_node_status_allocatable", node=n, resource=r, unit=u), cap, alloc)
                          for r, u, cap, alloc in resources]

    def tick(self, w: World) -> None:
        self.info.set(1)
        victim = self.node is w.topo.victim_node()
        state = {c: "false" for c in CONDITIONS}
        state["Ready"] = "true"
        taints = [CONTROL_PLANE_TAINT] if self.node.tainted else []
        if victim:
            if w.knob("node.not_ready") and w.elapsed > 40:
                state["Ready"] = "unknown"
                taints += [("node.kubernetes.io/unreachable", "NoSchedule"),
                           ("node.kubernetes.io/unreachable", "NoExecute")]
            if w.knob("node.flapping") and ((w.settings.anchor - w.t) // 60) % 4 == 2:
                state["Ready"] = "false"
            if w.knob("node.mem_pressure") and w.elapsed > 120:
                state["MemoryPressure"] = "true"
                taints.append(("node.kubernetes.io/memory-pressure", "NoSchedule"))
            if w.knob("node.cordoned"):
                taints.append(("node.kubernetes.io/unschedulable", "NoSchedule"))
        for (condition, status), gauge in self.condition.items():
            gauge.set(1 if state[condition] == status else 0)
        self.unschedulable.set(1 if victim and w.knob("node.cordoned") else 0)
        for key, effect in taints:
            self.t.lazy(("taint", key, effect), lambda k=key, e=effect: self.t.gauge(
                "kube_node_spec_taint", effect=e, key=k, node=self.node.name, value="")).set(1)
        for capacity, allocatable, cap, alloc in self.resources:
            capacity.set(cap)
            allocatable.set(alloc)


class _Pod:
    def __init__(self, t: Target, pod: Pod) -> None:
        self.t, self.pod = t, pod
        ident = {"namespace": pod.namespace, "pod": pod.name, "uid": pod.uid}
        self.ident = ident
        created_kind = pod.owner_kind
        self.info = t.gauge("kube_pod_info", created_by_kind=created_kind, created_by_name=pod.owner_name,
                            host_ip=pod.ip if pod.host_network else _host_ip(pod), host_network=str(pod.host_network)
                            .lower(), node=pod.node, pod_ip=pod.ip, priority_class=pod.priority_class, **ident)
        self.owner = t.gauge("kube_pod_owner", owner_is_controller="true", owner_kind=pod.owner_kind,
                             owner_name=pod.owner_name, **ident)
        self.phase = {p: t.gauge("kube_pod_status_phase", phase=p, **ident) for p in PHASES}
        self.ready = {s: t.gauge("kube_pod_status_ready", condition=s, **ident) for s in STATUSES}
        self.containers = []
        for c in pod.containers:
            lab = {"container": c.name, **ident}
            res = [(t.gauge("kube_pod_container_resource_requests", node=pod.node, resource="cpu", unit="core",
                            **lab), c.cpu_request),
                   (t.gauge("kube_pod_container_resource_requests", node=pod.node, resource="memory", unit="byte",
                            **lab), c.mem_request)]
            lim = []
            if c.cpu_limit:
                lim.append((t.gauge("kube_pod_container_resource_limits", node=pod.node, resource="cpu",
                                    unit="core", **lab), c.cpu_limit))
            if c.mem_limit:
                lim.append((t.gauge("kube_pod_container_resource_limits", node=pod.node, resource="memory",
                                    unit="byte", **lab), c.mem_limit))
            self.containers.append((c.name, lab, res, lim,
                                    t.gauge("kube_pod_container_status_restarts_total", **lab)))
        volume = "data" if pod.pvc_mode == "ReadWriteOnce" else "assets"
        self.claim = t.gauge("kube_pod_spec_volumes_persistentvolumeclaims_info", persistentvolumeclaim=pod.pvc,
                             volume=volume, **ident) if pod.pvc else None

    def tick(self, w: World, scale: dict[str, float]) -> None:
        s: PodState = w.state(self.pod)
        t = self.t
        self.info.set(1)
        self.owner.set(1)
        for phase, gauge in self.phase.items():
            gauge.set(1 if s.phase == phase else 0)
        for status, gauge in self.ready.items():
            gauge.set(1 if (status == "true") == s.ready and status != "unknown" else 0)
        app = self.pod.role == "app"
        for name, lab, requests, limits, restarts in self.containers:
            for (gauge, value), resource in zip(requests, ("cpu", "memory"), strict=True):
                factor = scale[resource] if app else 1.0
                gauge.set(round(value * factor, 3) if resource == "cpu" else round(value * factor))
            for gauge, value in limits:
                gauge.set(value)
            restarts.set(s.restarts.get(name, 0))
            reason = s.waiting.get(name)
            if reason:
                t.lazy(("waiting", name, reason), lambda r=reason, lb=lab: t.gauge(
                    "kube_pod_container_status_waiting_reason", reason=r, **lb)).set(1)
            last = s.last_terminated.get(name)
            if last:
                t.lazy(("terminated", name, last), lambda r=last, lb=lab: t.gauge(
                    "kube_pod_container_status_last_terminated_reason", reason=r, **lb)).set(1)
        if self.claim is not None:
            self.claim.set(1)


def _host_ip(pod: Pod) -> str:
    # the node's address: pod IPs are 10.244.<node index>.x, node IPs 10.0.<i // 200>.<10 + i % 200>
    index = int(pod.ip.split(".")[2])
    return f"10.0.{index // 200}.{10 + index % 200}"
