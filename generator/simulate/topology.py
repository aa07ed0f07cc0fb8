"""The simulated cluster's objects: nodes, namespaces, workloads and their pods, etcd members.

`nodes` counts every node; the first is the control plane (tainted NoSchedule unless it is the only node) and
runs the static kube-apiserver, kube-controller-manager and kube-scheduler pods. etcd is an external 3-member
cluster, as the kube-prometheus `kube-etcd` job scrapes it. `pods` counts application pods only; the system
pods (CoreDNS, kube-proxy, node-exporter, kube-state-metrics, the static pods) come on top.

Application namespaces hold a StatefulSet `db` (one replica with a PersistentVolumeClaim), Deployments `web`
(serving HTTP, with a HorizontalPodAutoscaler) and `worker`, and — in the first namespace — a finished Job and a
ReadOnlyMany claim of static assets, 99% full by design.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

NAMESPACE_NAMES = ("shop", "payments", "search", "media", "auth", "billing", "catalog", "ledger")
GIB = 1024**3
MIB = 1024**2
_ALNUM = "bcdfghjklmnpqrstvwxz2456789"


@dataclass(frozen=True)
class Node:
    name: str
    ip: str
    control_plane: bool
    cpus: int
    memory: int
    zone: str
    tainted: bool = False

    @property
    def alloc_cpu(self) -> float:
        return self.cpus - 0.1

    @property
    def alloc_memory(self) -> int:
        return self.memory - GIB // 2


@dataclass(frozen=True)
class Container:
    name: str
    image: str
    cpu_request: float
    mem_request: int
    cpu_limit: float = 0.0  # 0: none
    mem_limit: int = 0


@dataclass(frozen=True)
class Pod:
    name: str
    namespace: str
    uid: str
    node: str
    ip: str
    owner_kind: str  # ReplicaSet, StatefulSet, DaemonSet, Job, Node
    owner_name: str
    workload: str  # the top-level controller (Deployment name for a ReplicaSet)
    containers: tuple[Container, ...]
    host_network: bool = False
    http: bool = False  # exports http_request_duration_seconds
    pvc: str = ""  # the PersistentVolumeClaim it mounts, if any
    pvc_mode: str = "ReadWriteOnce"
    priority_class: str = ""
    role: str = "app"  # app, coredns, kube-proxy, node-exporter, kube-state-metrics, static

    @property
    def system(self) -> bool:
        return self.role != "app"


@dataclass(frozen=True)
class Workload:
    kind: str  # Deployment, StatefulSet, DaemonSet, Job
    name: str
    namespace: str
    pods: tuple[str, ...]
    replicaset: str = ""
    hpa: bool = False


@dataclass
class Topology:
    cluster: str
    nodes: list[Node]
    namespaces: list[str]
    workloads: list[Workload] = field(default_factory=list)
    pods: list[Pod] = field(default_factory=list)
    etcd: list[str] = field(default_factory=list)  # member instances host:port

    @property
    def control_plane(self) -> Node:
        return self.nodes[0]

    @property
    def workers(self) -> list[Node]:
        return [n for n in self.nodes if not n.tainted]

    def pods_on(self, node: str) -> list[Pod]:
        return [p for p in self.pods if p.node == node]

    def app_pods(self) -> list[Pod]:
        return [p for p in self.pods if p.role == "app"]

    def victim_node(self) -> Node:
        """The node node-level faults hit: the last worker."""
        return self.workers[-1]

    def victim(self, workload: str) -> Pod:
        """The first pod of the first namespace's `workload` (web, worker, db), falling back to any app pod."""
        for name in (workload, "web", "worker", "db"):
            for pod in self.app_pods():
                if pod.workload == name:
                    return pod
        return self.app_pods()[0]


def _uid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"


def _suffix(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(_ALNUM) for _ in range(n))


def build(cluster: str, nodes: int, namespaces: int, pods: int, seed: int) -> Topology:
    rng = random.Random(f"topology:{seed}:{cluster}")
    node_list = []
    for i in range(nodes):
        cp = i == 0
        node_list.append(Node(
            name=f"{'cp' if cp else 'worker'}-{i}", ip=f"10.0.{i // 200}.{10 + i % 200}", control_plane=cp,
            cpus=4 if cp else 8, memory=(8 if cp else 32) * GIB, zone=f"zone-{'abc'[i % 3]}",
            tainted=cp and nodes > 1))
    names = [NAMESPACE_NAMES[i] if i < len(NAMESPACE_NAMES) else f"team-{i}" for i in range(namespaces)]
    topo = Topology(cluster, node_list, names, etcd=[f"10.0.1.{11 + i}:2379" for i in range(3)])
    placer = _Placer(topo)
    # application pods, split evenly over the namespaces
    share = [pods // namespaces + (1 if i < pods % namespaces else 0) for i in range(namespaces)]
    for i, (ns, k) in enumerate(zip(names, share, strict=True)):
        used = 0
        if k >= 3:
            db = Container("postgres", "docker.io/library/postgres:16.4", 0.5, GIB, 1.0, 2 * GIB)
            _statefulset(topo, placer, rng, ns, "db", 1, (db,))
            used += 1
        if i == 0 and k >= 4:
            job = Container("report", "registry.example.com/report:1.4.2", 0.1, 128 * MIB)
            name = f"report-{29707800 + rng.randrange(100)}"
            _add(topo, placer, rng, Workload("Job", name, ns, ()), ns, name, "Job", name, (job,), pod=f"{name}-"
                 + _suffix(rng, 5))
            used += 1
        rest = k - used
        worker_n = rest // 3
        web_n = rest - worker_n
        web = Container("app", f"registry.example.com/{ns}/web:2.{i}.1", 0.25, 256 * MIB, 1.0, 512 * MIB)
        if web_n:
            _deployment(topo, placer, rng, ns, "web", web_n, (web,), http=True, hpa=True)
        if worker_n:
            worker = Container("worker", f"registry.example.com/{ns}/worker:1.{i}.0", 0.2, 256 * MIB, 0.5,
                               512 * MIB)
            _deployment(topo, placer, rng, ns, "worker", worker_n, (worker,))
    # static assets on a read-only volume, full by design (the volume alerts must leave it alone)
    web = next((p for p in topo.pods if p.workload == "web"), None)
    if web:
        topo.pods[topo.pods.index(web)] = replace(web, pvc="static-assets", pvc_mode="ReadOnlyMany")
    _system(topo, placer, rng)
    return topo


class _Placer:
    """Round-robin over the schedulable nodes."""

    def __init__(self, topo: Topology) -> None:
        self.topo, self.i = topo, 0

    def next(self) -> Node:
        workers = self.topo.workers
        node = workers[self.i % len(workers)]
        self.i += 1
        return node


def _add(topo: Topology, placer: _Placer, rng: random.Random, workload: Workload, ns: str, wl_name: str,
         owner_kind: str, owner_name: str, containers: tuple[Container, ...], pod: str, node: Node | None = None,
         **extra: object) -> Pod:
    node = node or placer.next()
    host = bool(extra.get("host_network"))
    ip = node.ip if host else f"10.244.{topo.nodes.index(node)}.{10 + len(topo.pods_on(node.name))}"
    p = Pod(pod, ns, _uid(rng), node.name, ip, owner_kind, owner_name, wl_name, containers, **extra)  # type: ignore[arg-type]
    topo.pods.append(p)
    existing = [w for w in topo.workloads if (w.kind, w.name, w.namespace) == (workload.kind, workload.name, ns)]
    if existing:
        w = existing[0]
        topo.workloads[topo.workloads.index(w)] = Workload(w.kind, w.name, ns, (*w.pods, pod), w.replicaset, w.hpa)
    else:
        topo.workloads.append(Workload(workload.kind, workload.name, ns, (pod,), workload.replicaset, workload.hpa))
    return p


def _deployment(topo: Topology, placer: _Placer, rng: random.Random, ns: str, name: str, replicas: int,
                containers: tuple[Container, ...], **extra: object) -> None:
    rs = f"{name}-{rng.choice('5678')}{_suffix(rng, 9)}"
    hpa = bool(extra.pop("hpa", False))
    wl = Workload("Deployment", name, ns, (), rs, hpa)
    for _ in range(replicas):
        _add(topo, placer, rng, wl, ns, name, "ReplicaSet", rs, containers, f"{rs}-{_suffix(rng, 5)}", **extra)


def _statefulset(topo: Topology, placer: _Placer, rng: random.Random, ns: str, name: str, replicas: int,
                 containers: tuple[Container, ...]) -> None:
    wl = Workload("StatefulSet", name, ns, ())
    for i in range(replicas):
        _add(topo, placer, rng, wl, ns, name, "StatefulSet", name, containers, f"{name}-{i}", pvc=f"data-{name}-{i}")


def _system(topo: Topology, placer: _Placer, rng: random.Random) -> None:
    cp = topo.control_plane
    static = (("kube-apiserver", 0.25, 1024), ("kube-controller-manager", 0.2, 256), ("kube-scheduler", 0.1, 128))
    for name, cpu, mem in static:
        c = Container(name, f"registry.k8s.io/{name}:v1.35.0", cpu, mem * MIB)
        _add(topo, placer, rng, Workload("Node", cp.name, "kube-system", ()), "kube-system", name, "Node", cp.name,
             (c,), f"{name}-{cp.name}", node=cp, host_network=True, role="static",
             priority_class="system-node-critical")
    dns = Container("coredns", "registry.k8s.io/coredns/coredns:v1.12.0", 0.1, 70 * MIB, 0.0, 170 * MIB)
    rs = f"coredns-{rng.choice('5678')}{_suffix(rng, 9)}"
    for _ in range(2):
        _add(topo, placer, rng, Workload("Deployment", "coredns", "kube-system", (), rs), "kube-system", "coredns",
             "ReplicaSet", rs, (dns,), f"{rs}-{_suffix(rng, 5)}", role="coredns",
             priority_class="system-cluster-critical")
    proxy = Container("kube-proxy", "registry.k8s.io/kube-proxy:v1.35.0", 0.05, 64 * MIB)
    exporter = Container("node-exporter", "quay.io/prometheus/node-exporter:v1.9.1", 0.1, 180 * MIB, 0.25, 180 * MIB)
    for node in topo.nodes:
        _add(topo, placer, rng, Workload("DaemonSet", "kube-proxy", "kube-system", ()), "kube-system", "kube-proxy",
             "DaemonSet", "kube-proxy", (proxy,), f"kube-proxy-{_suffix(rng, 5)}", node=node, host_network=True,
             role="kube-proxy", priority_class="system-node-critical")
        _add(topo, placer, rng, Workload("DaemonSet", "node-exporter", "monitoring", ()), "monitoring",
             "node-exporter", "DaemonSet", "node-exporter", (exporter,), f"node-exporter-{_suffix(rng, 5)}",
             node=node, host_network=True, role="node-exporter")
    ksm = Container("kube-state-metrics", "registry.k8s.io/kube-state-metrics/kube-state-metrics:v2.15.0", 0.1,
                    190 * MIB, 0.0, 250 * MIB)
    rs = f"kube-state-metrics-{rng.choice('5678')}{_suffix(rng, 9)}"
    _add(topo, placer, rng, Workload("Deployment", "kube-state-metrics", "monitoring", (), rs), "monitoring",
         "kube-state-metrics", "ReplicaSet", rs, (ksm,), f"{rs}-{_suffix(rng, 5)}", role="kube-state-metrics")
