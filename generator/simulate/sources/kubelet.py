"""The kubelet of every node (job kubelet): its own /metrics and cAdvisor's /metrics/cadvisor.

Container counters go back to zero when the container restarts (cAdvisor reads a new cgroup); series labels stay
the same, so Prometheus sees a counter reset. Knobs, all on the victim node unless said: node.not_ready (the
kubelet stops answering), kubelet.pleg, kubelet.too_many_pods, kubelet.cert_expiry, node.mem_pressure
(evictions), node.net_errors (pod drops), pvc.fill (the victim db pod's volume), storage.failing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from generator import buckets
from generator.simulate.sources.base import Latency, Process, Target, rate
from generator.simulate.topology import GIB, Node, Pod

if TYPE_CHECKING:
    from generator.simulate.world import PodState, World

DAY = 86400.0
# operation type, calls/s, median seconds, whether it has had errors (so its error counter exists)
OPERATIONS = (("list_containers", 1.0, 0.004, False), ("container_status", 0.5, 0.002, True),
              ("list_podsandbox", 1.0, 0.003, False), ("pull_image", 0.003, 4.0, True))
WORKLOAD_OPS = ("pull_image",)
PVC_BYTES = 10 * GIB
PVC_INODES = 655360


class Kubelet:
    def __init__(self, w: World) -> None:
        self.nodes = [_Node(w, node) for node in w.topo.nodes]

    def tick(self, w: World) -> None:
        for node in self.nodes:
            node.tick(w)


class _Node:
    def __init__(self, w: World, node: Node) -> None:
        self.node, self.rng = node, w.rng
        self.victim = node is w.topo.victim_node()
        # `node` from the endpoint's target, as kube-prometheus-stack relabels the kubelet targets
        self.t = t = Target(w, "kubelet", f"{node.ip}:10250", metrics_path="/metrics", node=node.name)
        self.c = Target(w, "kubelet", f"{node.ip}:10250", metrics_path="/metrics/cadvisor", node=node.name)
        self.process = Process(t)
        self.node_name = t.gauge("kubelet_node_name", node=node.name)
        self.running_pods = t.gauge("kubelet_running_pods")
        self.containers = {s: t.gauge("kubelet_running_containers", container_state=s)
                           for s in ("running", "exited", "created")}
        self.pleg = Latency(t.histogram("kubelet_pleg_relist_duration_seconds", buckets.KUBELET_PLEG), w.rng)
        self.pleg_interval = Latency(t.histogram("kubelet_pleg_relist_interval_seconds", buckets.KUBELET_PLEG), w.rng)
        self.pleg_seen = t.gauge("kubelet_pleg_last_seen_seconds")
        self.pod_start = Latency(t.histogram("kubelet_pod_start_duration_seconds", buckets.KUBELET_POD_START), w.rng)
        self.ops = [(op, per_s, median, t.counter("kubelet_runtime_operations_total", operation_type=op),
                     t.counter("kubelet_runtime_operations_errors_total", operation_type=op) if errs else None,
                     Latency(t.histogram("kubelet_runtime_operations_duration_seconds", buckets.KUBELET_RUNTIME,
                                         operation_type=op), w.rng)) for op, per_s, median, errs in OPERATIONS]
        for *_, errors, _ in self.ops:
            if errors:
                errors.total = 2  # a few failures long ago
        self.evictions = t.counter("kubelet_evictions", eviction_signal="memory.available")
        self.client_ttl = t.gauge("kubelet_certificate_manager_client_ttl_seconds")
        self.server_ttl = t.gauge("kubelet_certificate_manager_server_ttl_seconds")
        self.client_renew = t.counter("kubelet_certificate_manager_client_expiration_renew_errors")
        self.server_renew = t.counter("kubelet_server_expiration_renew_errors")
        mount = {"migrated": "false", "operation_name": "volume_mount", "volume_plugin": "kubernetes.io/projected"}
        self.mounts = Latency(t.histogram("storage_operation_duration_seconds", buckets.STORAGE_OPERATION,
                                          status="success", **mount), w.rng)
        self.mount_failures = t.histogram("storage_operation_duration_seconds", buckets.STORAGE_OPERATION,
                                          status="fail-unknown", **mount)
        self.mount_failures.counts = [0.0] * 9 + [2.0] * 5  # two slow failures long ago
        self.mount_failures.total, self.mount_failures.sum = 2, 70.0
        self.volumes = [(pod, {k: t.gauge(f"kubelet_volume_stats_{k}", namespace=pod.namespace,
                                          persistentvolumeclaim=pod.pvc)
                               for k in ("capacity_bytes", "available_bytes", "used_bytes", "inodes", "inodes_free",
                                         "inodes_used")}) for pod in w.topo.pods_on(node.name) if pod.pvc]
        self.cadvisor = [_Pod(self.c, pod, w) for pod in w.topo.pods_on(node.name)]

    def tick(self, w: World) -> None:
        dt, rng, victim = w.dt, self.rng, self.victim
        down = victim and w.knob("node.not_ready")
        alive = self.t.alive(down)
        self.c.alive(down)
        if not alive:
            return
        states = [w.state(p.pod) for p in self.cadvisor]
        running = [s for s in states if s.phase == "Running"]
        pleg_stuck = victim and w.knob("kubelet.pleg")
        self.node_name.set(1)
        self.running_pods.set(108 if victim and w.knob("kubelet.too_many_pods") else len(running))
        self.containers["running"].set(sum(len(s.pod.containers) for s in running))
        self.containers["exited"].set(sum(1 for s in states if s.phase == "Succeeded") + sum(
            1 for s in running if s.waiting))
        self.containers["created"].set(0)
        self.pleg.observe(dt, 1.0, 15.0 if pleg_stuck else 0.015, 0.3 if pleg_stuck else 0.5)
        self.pleg_interval.observe(dt, 1.0, 16.0 if pleg_stuck else 1.0, 0.02)
        seen = w.settings.scenario_start if pleg_stuck else w.t - rng.random()
        self.pleg_seen.set(round(seen, 3))
        self.pod_start.observe(dt, 0.003 + 0.02 * bool(pleg_stuck), 90.0 if pleg_stuck else 3.0, 0.5)
        for op, per_s, median, total, errors, latency in self.ops:
            n = rate(rng, per_s, dt)
            total.add_int(n)
            slow = pleg_stuck and op not in WORKLOAD_OPS
            if errors is not None or slow:
                errors = errors or self.t.lazy(op, lambda o=op: self.t.counter(
                    "kubelet_runtime_operations_errors_total", operation_type=o))
                errors.add_int(n * 0.1 if slow else 0.0)
            latency.observe(dt, per_s, 12.0 if slow else median, 0.5)
        self.evictions.add(1 if victim and w.knob("node.mem_pressure") and w.due(60, 5) else 0)
        expiring = victim and w.knob("kubelet.cert_expiry")
        age = (w.t - w.settings.start) / DAY
        self.client_ttl.set(round((0.4 if expiring else 200 - age) * DAY))
        self.server_ttl.set(round((0.45 if expiring else 300 - age) * DAY))
        self.client_renew.add(rate(rng, 0.1, dt) if expiring else 0.0)
        self.server_renew.add(rate(rng, 0.1, dt) if expiring else 0.0)
        self.mounts.observe(dt, 0.01, 0.3, 0.5)
        self.mount_failures.observe([0.0] * 13, 0.0, 0.0)
        for pod, gauges in self.volumes:
            self._volume(w, pod, gauges)
        for p in self.cadvisor:
            p.tick(w, victim)
        self.process.tick(dt, 0.05 + 0.01 * len(running), 80e6 + 2e6 * len(states))

    def _volume(self, w: World, pod: Pod, g: dict) -> None:
        hours = (w.t - w.settings.start) / 3600.0
        used = 0.35 + 0.001 * hours  # a database growing slowly
        inodes = 0.05
        if pod.pvc_mode == "ReadOnlyMany":  # written once, read by many: full is fine
            used, inodes = 0.99, 0.4
        elif w.knob("pvc.fill") and pod is w.topo.victim("db"):
            used = used + (0.98 - used) * w.progress
            inodes = inodes + (0.98 - inodes) * w.progress
        g["capacity_bytes"].set(PVC_BYTES)
        g["used_bytes"].set(round(PVC_BYTES * used))
        g["available_bytes"].set(round(PVC_BYTES * (1 - used)))
        g["inodes"].set(PVC_INODES)
        g["inodes_used"].set(round(PVC_INODES * inodes))
        g["inodes_free"].set(round(PVC_INODES * (1 - inodes)))


class _Pod:
    """cAdvisor's series of one pod: per container CPU, CFS, memory, OOM events; per pod network."""

    def __init__(self, c: Target, pod: Pod, w: World) -> None:
        self.pod = pod
        cgroup = f"/kubepods/burstable/pod{pod.uid}"
        self.containers = []
        for i, container in enumerate(pod.containers):
            cid = f"{abs(hash_text(pod.uid + container.name)):012x}"[:12]
            lab = {"container": container.name, "image": container.image, "namespace": pod.namespace,
                   "pod": pod.name, "name": cid, "id": f"{cgroup}/{cid}"}
            limited = container.cpu_limit > 0
            self.containers.append({
                "index": i,
                "cpu": c.counter("container_cpu_usage_seconds_total", cpu="total", **lab),
                "periods": c.counter("container_cpu_cfs_periods_total", **lab) if limited else None,
                "throttled": c.counter("container_cpu_cfs_throttled_periods_total", **lab) if limited else None,
                "memory": c.gauge("container_memory_working_set_bytes", **lab),
                "oom": c.counter("container_oom_events_total", **lab),
            })
        self.net = None
        if not pod.host_network:
            sandbox = f"{abs(hash_text(pod.uid)):012x}"[:12]
            lab = {"container": "", "image": "registry.k8s.io/pause:3.10", "interface": "eth0",
                   "namespace": pod.namespace, "pod": pod.name, "name": sandbox, "id": f"{cgroup}/{sandbox}"}
            self.net = {k: c.counter(f"container_network_{k}_total", **lab)
                        for k in ("receive_bytes", "transmit_bytes", "receive_packets", "transmit_packets",
                                  "receive_packets_dropped", "transmit_packets_dropped")}

    def tick(self, w: World, victim: bool) -> None:
        s: PodState = w.state(self.pod)
        if s.phase != "Running":
            return
        dt = w.dt
        for c in self.containers:
            if s.restarted:
                c["cpu"].reset()
                if c["periods"]:
                    c["periods"].reset()
                    c["throttled"].reset()
            share = 1.0 / len(self.containers)
            c["cpu"].add(s.cpu * share * dt)
            if c["periods"]:
                periods = 10.0 * dt if s.cpu > 0 else 0.0  # 100 ms CFS periods while running
                c["periods"].add_int(periods)
                c["throttled"].add_int(periods * s.throttled)
            c["memory"].set(round(s.mem * share))
            c["oom"].add(1 if s.oom_killed else 0)
        if self.net is not None:
            drop = 0.03 if victim and w.knob("node.net_errors") else 0.0
            rx_packets, tx_packets = s.rx / 800.0, s.tx / 900.0
            self.net["receive_bytes"].add_int(s.rx * dt)
            self.net["transmit_bytes"].add_int(s.tx * dt)
            self.net["receive_packets"].add_int(rx_packets * dt)
            self.net["transmit_packets"].add_int(tx_packets * dt)
            self.net["receive_packets_dropped"].add_int(rx_packets * dt * drop)
            self.net["transmit_packets_dropped"].add_int(tx_packets * dt * drop)


def hash_text(text: str) -> int:
    """A stable hash (Python's own is salted per process)."""
    value = 1469598103934665603
    for ch in text.encode():
        value = ((value ^ ch) * 1099511628211) % (1 << 64)
    return value

