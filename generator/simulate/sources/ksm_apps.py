"""kube-state-metrics, the controller side: Deployments, ReplicaSets, StatefulSets, DaemonSets, Jobs, HPAs,
PersistentVolumeClaims and PersistentVolumes, ResourceQuotas.

Knobs: pdb.strict (the web Deployment's budget asks for one pod more than it runs), controller_manager.down
(generations move on, observed ones do not), pod.image_pull (rollout stuck), statefulset.update_stuck,
daemonset.stuck, job.failed, hpa.maxed, quota.exhausted, overcommit, storage.failing,
node.not_ready (DaemonSet pods on the lost node unavailable).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from generator.simulate.series import Series
from generator.simulate.sources.base import Target
from generator.simulate.topology import Pod, Workload

if TYPE_CHECKING:
    from generator.simulate.world import World

STATUSES = ("true", "false", "unknown")
QUOTA_RESOURCES = ("requests.cpu", "requests.memory", "limits.cpu", "limits.memory", "pods")


class Apps:
    def __init__(self, w: World, t: Target) -> None:
        self.t = t
        topo = w.topo
        self.deployments = [w_ for w_ in topo.workloads if w_.kind == "Deployment"]
        self.statefulsets = [w_ for w_ in topo.workloads if w_.kind == "StatefulSet"]
        self.daemonsets = [w_ for w_ in topo.workloads if w_.kind == "DaemonSet"]
        self.jobs = [w_ for w_ in topo.workloads if w_.kind == "Job"]
        self.hpas = [w_ for w_ in self.deployments if w_.hpa]
        self.claims = [p for p in topo.pods if p.pvc]
        # controller revision names (current, the one an update would roll out)
        self.revisions = {(s.namespace, s.name): (f"{s.name}-{w.rng.getrandbits(40):010x}",
                                                  f"{s.name}-{w.rng.getrandbits(40):010x}") for s in self.statefulsets}
        self.job_start = w.settings.start - 3 * 3600

    def tick(self, w: World, scale: dict[str, float]) -> None:
        for d in self.deployments:
            self._deployment(w, d)
        for i, s in enumerate(self.statefulsets):
            self._statefulset(w, s, i)
        for d in self.daemonsets:
            self._daemonset(w, d)
        self._jobs(w)
        for i, d in enumerate(self.hpas):
            self._hpa(w, d, i)
        self._claims(w)
        for i, ns in enumerate(w.topo.namespaces):
            self._quota(w, ns, i, scale)

    def _g(self, name: str, **lab: str) -> Series:
        return self.t.lazy((name, *sorted(lab.items())), lambda: self.t.gauge(name, **lab))

    def _ready(self, w: World, wl: Workload) -> int:
        return sum(1 for p in wl.pods if w.pods[(wl.namespace, p)].ready)

    def _deployment(self, w: World, d: Workload) -> None:
        ident = {"namespace": d.namespace, "deployment": d.name}
        replicas = len(d.pods)
        generation = 3 + (1 if w.knob("controller_manager.down") and w.elapsed > 0 else 0)
        stuck = w.knob("pod.image_pull") and _owns(d, w.topo.victim("worker")) and w.elapsed > 60
        self._g("kube_deployment_spec_replicas", **ident).set(replicas)
        self._g("kube_deployment_status_replicas_available", **ident).set(self._ready(w, d))
        self._g("kube_deployment_status_replicas_updated", **ident).set(replicas)
        # a PodDisruptionBudget per Deployment allowing one pod down; pdb.strict: minAvailable above the replicas
        budget = {"namespace": d.namespace, "poddisruptionbudget": d.name}
        strict = w.knob("pdb.strict") and _owns(d, w.topo.victim("web"))
        self._g("kube_poddisruptionbudget_status_expected_pods", **budget).set(replicas)
        self._g("kube_poddisruptionbudget_status_desired_healthy", **budget).set(
            replicas + 1 if strict else max(0, replicas - 1))
        self._g("kube_poddisruptionbudget_status_current_healthy", **budget).set(self._ready(w, d))
        self._g("kube_deployment_metadata_generation", **ident).set(generation)
        self._g("kube_deployment_status_observed_generation", **ident).set(3)
        conditions = (("Available", "true", "MinimumReplicasAvailable"),
                      ("Progressing", "false" if stuck else "true",
                       "ProgressDeadlineExceeded" if stuck else "NewReplicaSetAvailable"))
        for condition, value, reason in conditions:
            for status in STATUSES:
                self._g("kube_deployment_status_condition", condition=condition, reason=reason, status=status,
                        **ident).set(1 if status == value else 0)
        self._g("kube_replicaset_owner", namespace=d.namespace, owner_is_controller="true", owner_kind="Deployment",
                owner_name=d.name, replicaset=d.replicaset).set(1)

    def _statefulset(self, w: World, s: Workload, index: int) -> None:
        ident = {"namespace": s.namespace, "statefulset": s.name}
        replicas = len(s.pods)
        current, update = self.revisions[(s.namespace, s.name)]
        stuck = w.knob("statefulset.update_stuck") and _owns(s, w.topo.victim("db"))
        generation = 2 + (1 if stuck or (w.knob("controller_manager.down") and index == 0) else 0)
        observed = 2 + (1 if stuck else 0)
        self._g("kube_statefulset_replicas", **ident).set(replicas)
        self._g("kube_statefulset_status_replicas", **ident).set(replicas)
        self._g("kube_statefulset_status_replicas_ready", **ident).set(self._ready(w, s))
        self._g("kube_statefulset_status_replicas_updated", **ident).set(replicas - 1 if stuck else replicas)
        self._g("kube_statefulset_metadata_generation", **ident).set(generation)
        self._g("kube_statefulset_status_observed_generation", **ident).set(observed)
        self._g("kube_statefulset_status_current_revision", revision=current, **ident).set(1)
        self._g("kube_statefulset_status_update_revision", revision=update if stuck else current,
                **ident).set(1)

    def _daemonset(self, w: World, d: Workload) -> None:
        ident = {"namespace": d.namespace, "daemonset": d.name}
        desired = len(d.pods)
        stuck = w.knob("daemonset.stuck") and d.name == "node-exporter"
        scheduled = desired - 1 if stuck else desired
        self._g("kube_daemonset_status_desired_number_scheduled", **ident).set(desired)
        self._g("kube_daemonset_status_current_number_scheduled", **ident).set(scheduled)
        self._g("kube_daemonset_status_number_misscheduled", **ident).set(1 if stuck else 0)
        self._g("kube_daemonset_status_updated_number_scheduled", **ident).set(scheduled)
        self._g("kube_daemonset_status_number_available", **ident).set(
            min(scheduled, self._ready(w, d)))

    def _jobs(self, w: World) -> None:
        for j in self.jobs:
            ident = {"namespace": j.namespace, "job_name": j.name}
            self._g("kube_job_status_active", **ident).set(0)
            self._g("kube_job_status_start_time", **ident).set(self.job_start)
        if w.knob("job.failed"):
            ns = w.topo.namespaces[0]
            failed = {"namespace": ns, "job_name": "migrate-schema-29707900"}
            for status in STATUSES:
                self._g("kube_job_failed", condition=status, **failed).set(1 if status == "true" else 0)
            self._g("kube_job_status_active", **failed).set(0)
            self._g("kube_job_status_start_time", **failed).set(w.settings.scenario_start)
            stuck = {"namespace": ns, "job_name": "backfill-29707000"}
            self._g("kube_job_status_active", **stuck).set(1)
            self._g("kube_job_status_start_time", **stuck).set(w.settings.scenario_start - 13 * 3600)

    def _hpa(self, w: World, d: Workload, index: int) -> None:
        ident = {"namespace": d.namespace, "horizontalpodautoscaler": d.name}
        current = len(d.pods)
        maxed = w.knob("hpa.maxed")
        high = current if maxed and index == 0 else current + 3
        desired = current + 2 if maxed and index == 1 else current
        self._g("kube_horizontalpodautoscaler_spec_min_replicas", **ident).set(1)
        self._g("kube_horizontalpodautoscaler_spec_max_replicas", **ident).set(high)
        self._g("kube_horizontalpodautoscaler_status_current_replicas", **ident).set(current)
        self._g("kube_horizontalpodautoscaler_status_desired_replicas", **ident).set(desired)

    def _claims(self, w: World) -> None:
        claims = [(p.namespace, p.pvc, "Bound", f"pvc-{p.uid}", p.pvc_mode) for p in self.claims]
        if w.knob("storage.failing"):
            claims.append((w.topo.namespaces[0], "import-data", "Pending", "", "ReadWriteOnce"))
            self._g("kube_persistentvolume_status_phase", persistentvolume="pvc-3f1e0c2a-released",
                    phase="Failed").set(1)
            pending = {"namespace": w.topo.namespaces[0], "pod": "import-29707950-q7xkz",
                       "uid": "5d0c8e1a-2b4f-4c3d-9e6f-7a8b9c0d1e2f"}
            self._g("kube_pod_spec_volumes_persistentvolumeclaims_info", persistentvolumeclaim="import-data",
                    volume="data", **pending).set(1)
            self._g("kube_pod_owner", owner_is_controller="true", owner_kind="Job", owner_name="import-29707950",
                    **pending).set(1)
            for phase in ("Pending", "Running", "Succeeded", "Failed", "Unknown"):
                self._g("kube_pod_status_phase", phase=phase, **pending).set(1 if phase == "Pending" else 0)
        for ns, claim, phase, volume, mode in claims:
            for p in ("Bound", "Lost", "Pending"):
                self._g("kube_persistentvolumeclaim_status_phase", namespace=ns, persistentvolumeclaim=claim,
                        phase=p).set(1 if p == phase else 0)
            self._g("kube_persistentvolumeclaim_access_mode", access_mode=mode, namespace=ns,
                    persistentvolumeclaim=claim).set(1)
            if volume:
                for p in ("Available", "Bound", "Failed", "Pending", "Released"):
                    self._g("kube_persistentvolume_status_phase", persistentvolume=volume, phase=p).set(
                        1 if p == "Bound" else 0)

    def _quota(self, w: World, ns: str, index: int, scale: dict[str, float]) -> None:
        pods = [p for p in w.topo.pods if p.namespace == ns and w.state(p).phase in ("Pending", "Running")]
        used = {
            "requests.cpu": sum(c.cpu_request for p in pods for c in p.containers) * scale["cpu"],
            "requests.memory": sum(c.mem_request for p in pods for c in p.containers) * scale["memory"],
            "limits.cpu": sum(c.cpu_limit for p in pods for c in p.containers),
            "limits.memory": sum(c.mem_limit for p in pods for c in p.containers),
            "pods": float(len(pods)),
        }
        base = {k: _round_up(v * 2.5 + (1 if k == "pods" else 0)) for k, v in used.items()}
        hard = dict(base)
        if w.knob("quota.exhausted") and index == 0:
            hard["pods"] = used["pods"]
            hard["requests.cpu"] = used["requests.cpu"] / 0.95
            hard["limits.memory"] = used["limits.memory"] / 1.1
        if w.knob("overcommit"):
            nodes = w.topo.nodes
            # every namespace may claim more than its share of the cluster, and more than it uses
            share = 1.6 / len(w.topo.namespaces)
            hard["requests.cpu"] = max(share * sum(n.alloc_cpu for n in nodes), 2 * used["requests.cpu"])
            hard["requests.memory"] = max(share * sum(n.alloc_memory for n in nodes), 2 * used["requests.memory"])
        for resource in QUOTA_RESOURCES:
            for kind, value in (("hard", hard[resource]), ("used", used[resource])):
                self._g("kube_resourcequota", namespace=ns, resource=resource, resourcequota="compute-resources",
                        type=kind).set(round(value, 3) if value < 1e6 else round(value))


def _owns(workload: Workload, pod: Pod) -> bool:
    return workload.namespace == pod.namespace and pod.name in workload.pods


def _round_up(value: float) -> float:
    """Quotas are set in round numbers: whole cores / GiB, ten pods."""
    if value >= 1024**3:
        return float(-(-value // 1024**3) * 1024**3)
    if value >= 10:
        return float(-(-value // 10) * 10)
    return float(-(-value // 1))
