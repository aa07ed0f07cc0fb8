"""Series about the monitoring itself and the cluster's make-up: kube-state-metrics' own telemetry port (list and
watch calls, sharding), `kubernetes_build_info` of every Kubernetes component, and the link state of each node's
NIC (node-exporter's `node_network_up`).

Also the series kube-state-metrics and node-exporter export that only matter when something is odd: pod status
reasons (Evicted, SchedulingGated…), claim labels, software RAID, bonding and systemd unit states.

Knobs: ksm.list_errors (a tenth of list and watch calls fail), version.skew (the victim node's kubelet and
kube-proxy run the previous minor version), node.link_flapping (the victim node's eth0 goes down and up every
minute), node.hardware (on the victim node a RAID member disk fails, a bond loses a link and containerd's unit
fails).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from generator.simulate.labels import labels
from generator.simulate.sources.base import Target

if TYPE_CHECKING:
    from generator.simulate.series import Series
    from generator.simulate.world import World

VERSION, OLD_VERSION = "v1.31.4", "v1.30.9"
RESOURCES = ("*v1.Pod", "*v1.Node", "*v1.Deployment", "*v1.Namespace")
CALLS_PER_MINUTE = 2.0  # list/watch calls per resource: reflectors re-watch every few minutes
POD_REASONS = ("Evicted", "NodeLost", "SchedulingGated", "UnexpectedAdmissionError")
UNITS = ("containerd.service", "kubelet.service")
UNIT_STATES = ("activating", "active", "deactivating", "failed", "inactive")


class Telemetry:
    def __init__(self, w: World) -> None:
        ksm = next(p for p in w.topo.pods if p.role == "kube-state-metrics")
        self.t = t = Target(w, "kube-state-metrics", f"{ksm.ip}:8081")
        self.calls = {(kind, r, result): t.counter(f"kube_state_metrics_{kind}_total", resource=r, result=result)
                      for kind in ("list", "watch") for r in RESOURCES for result in ("success", "error")}
        self.shards = (t.gauge("kube_state_metrics_total_shards"), t.gauge("kube_state_metrics_shard_ordinal",
                                                                            shard_ordinal="0"))
        cp = w.topo.control_plane
        self.components = [({"job": "apiserver", "instance": f"{cp.ip}:6443"}, False),
                           ({"job": "kube-scheduler", "instance": f"{cp.ip}:10259"}, False),
                           ({"job": "kube-controller-manager", "instance": f"{cp.ip}:10257"}, False)]
        victim = w.topo.victim_node()
        for node in w.topo.nodes:
            self.components.append(({"job": "kubelet", "instance": f"{node.ip}:10250", "metrics_path": "/metrics",
                                     "node": node.name}, node is victim))
            self.components.append(({"job": "kube-proxy", "instance": f"{node.ip}:10249"}, node is victim))
        ksm_target = {"job": "kube-state-metrics", "instance": f"{ksm.ip}:8080"}.items()
        kg = lambda metric, **lb: w.reg.gauge(metric, labels(w.cluster, ksm_target, **lb))  # noqa: E731
        self.reasons = [kg("kube_pod_status_reason", namespace=p.namespace, pod=p.name, uid=p.uid, reason=r)
                        for p in w.topo.pods for r in POD_REASONS]
        self.claim_labels = [kg("kube_persistentvolumeclaim_labels", namespace=p.namespace,
                                persistentvolumeclaim=p.pvc, label_app=p.workload) for p in w.topo.pods if p.pvc]
        self.hosts = []
        for node in w.topo.nodes:
            ng = lambda metric, n=node, **lb: w.reg.gauge(metric, labels(  # noqa: E731
                w.cluster, {"job": "node-exporter", "instance": n.name}.items(), **lb))
            self.hosts.append((node is victim, {
                "required": ng("node_md_disks_required", device="md0"),
                "active": ng("node_md_disks", device="md0", state="active"),
                "failed": ng("node_md_disks", device="md0", state="failed"),
                "slaves": ng("node_bonding_slaves", master="bond0"),
                "bond_active": ng("node_bonding_active", master="bond0"),
                "units": {(u, st): ng("node_systemd_unit_state", name=u, state=st, type="simple")
                          for u in UNITS for st in UNIT_STATES}}))
        self.links: list[tuple[Series, bool]] = [
            (w.reg.gauge("node_network_up", labels(w.cluster, {"job": "node-exporter", "instance": node.name,
                                                               "device": "eth0"}.items())), node is victim)
            for node in w.topo.nodes]

    def tick(self, w: World) -> None:
        self.t.alive(False)
        failing = 0.1 if w.knob("ksm.list_errors") else 0.0
        dt = w.dt
        for (_, _, result), counter in self.calls.items():
            share = failing if result == "error" else 1 - failing
            counter.add(CALLS_PER_MINUTE / 60 * share * dt)
        self.shards[0].set(1)
        self.shards[1].set(0)
        skew = bool(w.knob("version.skew"))
        for ident, victim in self.components:
            version = OLD_VERSION if skew and victim else VERSION
            w.reg.gauge("kubernetes_build_info", labels(w.cluster, ident.items(), git_version=version,
                                                        major="1", minor=version.split(".")[1])).set(1)
        for series in (*self.reasons,):
            series.set(0)
        for series in self.claim_labels:
            series.set(1)
        broken = bool(w.knob("node.hardware"))
        for victim, host in self.hosts:
            bad = broken and victim
            host["required"].set(2)
            host["active"].set(1 if bad else 2)
            host["failed"].set(1 if bad else 0)
            host["slaves"].set(2)
            host["bond_active"].set(1 if bad else 2)
            for (unit, state), series in host["units"].items():
                now = "failed" if bad and unit == "containerd.service" else "active"
                series.set(1 if state == now else 0)
        flapping = bool(w.knob("node.link_flapping"))
        minute = int(w.elapsed // 60)
        for series, victim in self.links:
            series.set(0 if flapping and victim and minute % 2 else 1)
