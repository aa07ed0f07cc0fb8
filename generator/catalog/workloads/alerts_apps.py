"""Workload alerts on controllers: Deployments, StatefulSets, DaemonSets, Jobs, HorizontalPodAutoscalers, claims.

Expressions follow kubernetes-mixin's kubernetes-apps group (current form: a mismatch only counts while the
controller makes no progress). Alerts comparing two raw kube-state-metrics series keep that series' labels,
job included, as the mixin's do.
"""

from __future__ import annotations

from collections.abc import Callable

from generator.catalog.workloads.names import KSM, PHASE
from generator.catalog.workloads.rules import ksm, on
from generator.context import Context
from generator.model import Alert, Case
from generator.promql import fmt_number, format_duration, left_open


def alerts(ctx: Context) -> tuple[Alert, ...]:
    return (*_deployments(ctx), *_statefulsets(ctx), *_daemonsets(ctx), *_jobs_hpa_claims(ctx))


def _obj(ctx: Context, kind: str, name: str) -> tuple[Callable[..., str], dict[str, str]]:
    """A series builder for one object of `kind` and the labels a raw series of it keeps in an alert."""
    ns = ctx.test_namespace
    def series(metric: str, **labels: str) -> str:
        return ksm(ctx, metric, namespace=ns, **{kind: name}, **labels)
    return series, {**ctx.source_labels(KSM), "namespace": ns, kind: name}


def _deployments(ctx: Context) -> tuple[Alert, ...]:
    ns = ctx.test_namespace
    k = lambda *m: ctx.sel_ns(KSM, *m)  # noqa: E731
    c = ctx.cluster
    s, labels = _obj(ctx, "deployment", "checkout")
    where = "Deployment {{ $labels.namespace }}/{{ $labels.deployment }} in cluster {{ $labels." + c + " }}"
    gen = lambda observed, wanted: {s("kube_deployment_status_observed_generation"): observed,  # noqa: E731
                                    s("kube_deployment_metadata_generation"): wanted}
    reps = lambda spec, available: {s("kube_deployment_spec_replicas"): spec,  # noqa: E731
                                    s("kube_deployment_status_replicas_available"): available,
                                    s("kube_deployment_status_replicas_updated"): spec}
    progressing = lambda ok: {  # noqa: E731
        s("kube_deployment_status_condition", condition="Progressing", status=st,
          reason="NewReplicaSetAvailable" if ok else "ProgressDeadlineExceeded"): float((st == "true") == ok)
        for st in ("true", "false")}
    stuck = 'condition="Progressing",status="false"'
    return (
        Alert(
            name="KubeDeploymentGenerationMismatch",
            expr=f"kube_deployment_status_observed_generation{k()} != kube_deployment_metadata_generation{k()}",
            for_="15m",
            severity="warning",
            summary="A Deployment's spec change has not been observed by its controller.",
            description="The generation of " + where + " does not match the observed one: the rollout failed "
                        "and was not rolled back.",
            cases=(Case(gen(1, 2), fires=True, labels=labels), Case(gen(2, 2), fires=False)),
            meaning="The deployment controller has not processed the Deployment's latest spec.",
            impact="The change (image, config) is not being rolled out.",
            diagnosis=(f"kube_deployment_metadata_generation{k()} - kube_deployment_status_observed_generation{k()}",),
            mitigation=("Check kube-controller-manager is healthy and `kubectl rollout status` of the Deployment.",),
        ),
        Alert(
            name="KubeDeploymentReplicasMismatch",
            expr=(f"(kube_deployment_spec_replicas{k()} > kube_deployment_status_replicas_available{k()})"
                  f" and (changes(kube_deployment_status_replicas_updated{k()}[10m]) == 0)"),
            for_="15m",
            severity="warning",
            summary="A Deployment has fewer available replicas than desired.",
            description=where + " has {{ $value }} desired replicas but fewer available for 15 minutes.",
            cases=(Case(reps(3, 1), fires=True, labels=labels, value=3), Case(reps(3, 3), fires=False)),
            meaning="Fewer replicas are available than the spec asks for, and no rollout is making progress.",
            impact="The Deployment runs below its capacity; with none available its Service fails.",
            diagnosis=(f"kube_deployment_status_replicas_unavailable{k()}", f"{PHASE}"),
            mitigation=("Look at the Deployment's pods: Pending (capacity, quotas), crash looping, not ready.",),
        ),
        Alert(
            name="KubeDeploymentRolloutStuck",
            expr=f"max {ctx.by('namespace', 'deployment')} (kube_deployment_status_condition{k(stuck)}) == 1",
            for_="15m",
            severity="warning",
            summary="A Deployment rollout is not progressing.",
            description="The rollout of " + where + " exceeded its progress deadline.",
            cases=(Case(progressing(False), fires=True, labels={"namespace": ns, "deployment": "checkout"}),
                   Case(progressing(True), fires=False)),
            meaning="The Deployment's Progressing condition is False (ProgressDeadlineExceeded).",
            impact="The new version is not rolled out; old and new ReplicaSets may run side by side.",
            diagnosis=(f"kube_deployment_status_condition{k(stuck)} == 1",),
            mitigation=("`kubectl rollout status` and the new ReplicaSet's pods tell why; `kubectl rollout undo` "
                        "restores the previous version.",),
        ),
    )


def _statefulsets(ctx: Context) -> tuple[Alert, ...]:
    ns = ctx.test_namespace
    k = lambda *m: ctx.sel_ns(KSM, *m)  # noqa: E731
    c = ctx.cluster
    s, labels = _obj(ctx, "statefulset", "redis")
    where = "StatefulSet {{ $labels.namespace }}/{{ $labels.statefulset }} in cluster {{ $labels." + c + " }}"
    sts = ctx.by("namespace", "statefulset")
    on_sts = on(ctx, "namespace", "statefulset")
    reps = lambda ready, created=3: {s("kube_statefulset_replicas"): 3,  # noqa: E731
                                     s("kube_statefulset_status_replicas"): created,
                                     s("kube_statefulset_status_replicas_ready"): ready,
                                     s("kube_statefulset_status_replicas_updated"): created}
    gen = lambda observed: {s("kube_statefulset_status_observed_generation"): observed,  # noqa: E731
                            s("kube_statefulset_metadata_generation"): 2}
    rollout = lambda updated: {  # noqa: E731
        s("kube_statefulset_status_current_revision", revision="redis-5d8c7f9b6"): 1,
        s("kube_statefulset_status_update_revision", revision="redis-6f4b8d7c9"): 1,
        s("kube_statefulset_replicas"): 3, s("kube_statefulset_status_replicas_updated"): updated}
    not_rolled = (
        f"(max {sts} (kube_statefulset_status_current_revision{k()}"
        f" unless kube_statefulset_status_update_revision{k()})"
        f" * {on_sts} (kube_statefulset_replicas{k()} != kube_statefulset_status_replicas_updated{k()}))"
        f" and {on_sts} (changes(kube_statefulset_status_replicas_updated{k()}[5m]) == 0)"
    )
    return (
        Alert(
            name="KubeStatefulSetReplicasMismatch",
            expr=(f"(kube_statefulset_status_replicas_ready{k()} != kube_statefulset_replicas{k()})"
                  f" and (changes(kube_statefulset_status_replicas_updated{k()}[10m]) == 0)"),
            for_="15m",
            severity="warning",
            summary="A StatefulSet has fewer ready replicas than it asks for.",
            description=where + " has only {{ $value }} ready replicas for 15 minutes.",
            cases=(Case(reps(1), fires=True, labels=labels, value=1), Case(reps(3), fires=False),
                   Case(reps(0, created=0), fires=True, labels=labels, value=0,
                        note="no pod created at all (quota, a missing ServiceAccount)")),
            meaning="Fewer of the StatefulSet's pods are ready than its spec asks for (pods not ready, or never "
                    "created) and no update is progressing.",
            impact="StatefulSets start pods in order: one not ready blocks the next ones and updates.",
            diagnosis=(f"kube_statefulset_status_replicas{k()} - kube_statefulset_status_replicas_ready{k()}",),
            mitigation=("Check the StatefulSet's pods and their PersistentVolumeClaims.",),
        ),
        Alert(
            name="KubeStatefulSetGenerationMismatch",
            expr=f"kube_statefulset_status_observed_generation{k()} != kube_statefulset_metadata_generation{k()}",
            for_="15m",
            severity="warning",
            summary="A StatefulSet's spec change has not been observed by its controller.",
            description="The generation of " + where + " does not match the observed one.",
            cases=(Case(gen(1), fires=True, labels=labels), Case(gen(2), fires=False)),
            meaning="The statefulset controller has not processed the latest spec.",
            impact="The change is not being applied.",
            diagnosis=(f"kube_statefulset_metadata_generation{k()}",),
            mitigation=("Check kube-controller-manager and `kubectl rollout status statefulset/<name>`.",),
        ),
        Alert(
            name="KubeStatefulSetUpdateNotRolledOut",
            expr=not_rolled,
            for_="15m",
            severity="warning",
            summary="A StatefulSet update has not been rolled out.",
            description="The update of " + where + " is not rolled out and makes no progress.",
            cases=(Case(rollout(1), fires=True, labels={"namespace": ns, "statefulset": "redis"}),
                   Case(rollout(3), fires=False, note="every replica updated, revision not yet switched")),
            meaning="The current revision differs from the update revision, not every replica is updated, and "
                    "the updated count did not change for 5 minutes.",
            impact="Replicas run mixed versions.",
            diagnosis=(f"kube_statefulset_status_replicas_updated{k()}",),
            mitigation=("An OnDelete update strategy needs pods deleted by hand; otherwise a pod of the new "
                        "revision is not becoming ready — check it.",),
        ),
    )


def _daemonsets(ctx: Context) -> tuple[Alert, ...]:
    k = lambda *m: ctx.sel_ns(KSM, *m)  # noqa: E731
    c = ctx.cluster
    s, labels = _obj(ctx, "daemonset", "node-agent")
    where = "DaemonSet {{ $labels.namespace }}/{{ $labels.daemonset }} in cluster {{ $labels." + c + " }}"
    ds = lambda m: f"kube_daemonset_status_{m}{k()}"  # noqa: E731
    desired = ds("desired_number_scheduled")
    state = lambda current=5, updated=5, available=5, mis=0: {  # noqa: E731
        s("kube_daemonset_status_desired_number_scheduled"): 5,
        s("kube_daemonset_status_current_number_scheduled"): current,
        s("kube_daemonset_status_updated_number_scheduled"): updated,
        s("kube_daemonset_status_number_available"): available,
        s("kube_daemonset_status_number_misscheduled"): mis}
    stuck = (f"(({ds('current_number_scheduled')} != {desired}) or ({ds('number_misscheduled')} != 0)"
             f" or ({ds('updated_number_scheduled')} != {desired}) or ({ds('number_available')} != {desired}))"
             f" and (changes({ds('updated_number_scheduled')}[{left_open('5m')}]) == 0)")
    stalled = {**state(), s("kube_daemonset_status_updated_number_scheduled"): "2 3 4x{n}"}
    return (
        Alert(
            name="KubeDaemonSetRolloutStuck",
            expr=stuck,
            for_="15m",
            severity="warning",
            summary="A DaemonSet rollout is stuck.",
            description="The rollout of " + where + " has not progressed for 15 minutes.",
            cases=(Case(state(updated=2), fires=True, labels=labels),
                   Case(state(available=4), fires=True, labels=labels, note="a pod unavailable"),
                   Case(state(), fires=False),
                   # updated 2, 3, then 4 of 5 from 2m on: no change in the last 5 minutes from 6m, firing 15m later
                   # (at 21m, not 22m: the 1m sample, exactly 5 minutes old at 6m, is out of the window)
                   Case(stalled, fires=True, labels=labels, lookback="6m", note="15 minutes after its last progress"),
                   Case(stalled, fires=False, lookback="5m", note="one minute before")),
            meaning="Not every node runs an updated, available pod of the DaemonSet and the update makes no "
                    "progress.",
            impact="Nodes run an old version or none of the node agent (CNI, log shipper, exporter).",
            diagnosis=(f"{desired} - {ds('number_available')}", f"{desired} - {ds('updated_number_scheduled')}"),
            mitigation=("Find the DaemonSet's pods that are not ready (`kubectl get pods -o wide`); check their "
                        "nodes' taints and resources.",),
        ),
        Alert(
            name="KubeDaemonSetNotScheduled",
            expr=f"{desired} - {ds('current_number_scheduled')} > 0",
            for_="10m",
            severity="warning",
            summary="Pods of a DaemonSet are not scheduled.",
            description="{{ $value }} pods of " + where + " are not scheduled.",
            cases=(Case(state(current=3), fires=True, labels=labels, value=2), Case(state(), fires=False)),
            meaning="Nodes that should run the DaemonSet's pod do not have one.",
            impact="Those nodes lack the node agent.",
            diagnosis=(f"{desired} - {ds('current_number_scheduled')}",),
            mitigation=("Check node resources and taints against the DaemonSet's tolerations.",),
        ),
        Alert(
            name="KubeDaemonSetMisScheduled",
            expr=f"{ds('number_misscheduled')} > 0",
            for_="15m",
            severity="warning",
            summary="Pods of a DaemonSet run where they should not.",
            description="{{ $value }} pods of " + where + " run on nodes they are not supposed to run on.",
            cases=(Case(state(mis=1), fires=True, labels=labels, value=1), Case(state(), fires=False)),
            meaning="Pods of the DaemonSet run on nodes its node selector or tolerations exclude.",
            impact="Usually harmless but wastes resources; may follow a label or taint change.",
            diagnosis=(f"{ds('number_misscheduled')}",),
            mitigation=("Check recent node label and taint changes; delete the misscheduled pods.",),
        ),
    )


def _jobs_hpa_claims(ctx: Context) -> tuple[Alert, ...]:
    ns = ctx.test_namespace
    k = lambda *m: ctx.sel_ns(KSM, *m)  # noqa: E731
    c = ctx.cluster
    in_cluster = " in cluster {{ $labels." + c + " }}"
    job, _ = _obj(ctx, "job_name", "nightly-report-29707814")
    hpa, hpa_labels = _obj(ctx, "horizontalpodautoscaler", "checkout")
    claim, _ = _obj(ctx, "persistentvolumeclaim", "data-redis-0")
    pdb, _ = _obj(ctx, "poddisruptionbudget", "checkout")
    by_pdb = ctx.by("namespace", "poddisruptionbudget")
    pdb_m = lambda m: f"kube_poddisruptionbudget_{m}{k()}"  # noqa: E731
    budget = lambda desired, current: {pdb("kube_poddisruptionbudget_status_desired_healthy"): desired,  # noqa: E731
                                       pdb("kube_poddisruptionbudget_status_current_healthy"): current,
                                       pdb("kube_poddisruptionbudget_status_expected_pods"): 3}
    by_job = ctx.by("namespace", "job_name")
    on_job = on(ctx, "namespace", "job_name")
    long_job = ctx.threshold("KubeJobNotCompleted", 43200)
    failed, pending = 'condition="true"', 'phase="Pending"'
    h = lambda m: f"kube_horizontalpodautoscaler_{m}{k()}"  # noqa: E731
    on_hpa = on(ctx, "namespace", "horizontalpodautoscaler")
    hpa_state = lambda desired, current, lo=2, hi=10: {  # noqa: E731
        hpa("kube_horizontalpodautoscaler_status_desired_replicas"): desired,
        hpa("kube_horizontalpodautoscaler_status_current_replicas"): current,
        hpa("kube_horizontalpodautoscaler_spec_min_replicas"): lo,
        hpa("kube_horizontalpodautoscaler_spec_max_replicas"): hi}
    running_job = lambda start, active=1: {job("kube_job_status_start_time"): start,  # noqa: E731
                                           job("kube_job_status_active"): active}
    claimed = lambda is_pending: {  # noqa: E731
        **{claim("kube_persistentvolumeclaim_status_phase", phase=p): float((p == "Pending") == is_pending)
           for p in ("Pending", "Bound")},
        ksm(ctx, "kube_pod_spec_volumes_persistentvolumeclaims_info", namespace=ns, pod="redis-0", uid="u-redis",
            persistentvolumeclaim="data-redis-0", volume="data"): 1}
    return (
        Alert(
            name="KubeJobFailed",
            expr=f"max {by_job} (kube_job_failed{k(failed)}) > 0",
            for_="15m",
            severity="warning",
            summary="A Job failed.",
            description="Job {{ $labels.namespace }}/{{ $labels.job_name }}" + in_cluster + " failed to complete.",
            cases=(Case({job("kube_job_failed", condition="true"): 1}, fires=True,
                        labels={"namespace": ns, "job_name": "nightly-report-29707814"}),
                   Case({job("kube_job_failed", condition="true"): 0}, fires=False)),
            meaning="The Job has the Failed condition: its pods failed more than backoffLimit times or it ran "
                    "past activeDeadlineSeconds.",
            impact="The work the Job does (backup, report, migration) did not happen.",
            diagnosis=(f"kube_job_status_failed{k()}", f"kube_job_failed{k(failed)} == 1"),
            mitigation=("Read the logs of the Job's failed pods; remove the Job once handled so the alert clears.",),
        ),
        Alert(
            name="KubeJobNotCompleted",
            expr=(f"time() - max {by_job} (kube_job_status_start_time{k()} and {on_job}"
                  f" kube_job_status_active{k()} > 0) > {fmt_number(long_job)}"),
            for_="0m",
            severity="warning",
            threshold=long_job,
            summary="A Job is taking too long to complete.",
            description="Job {{ $labels.namespace }}/{{ $labels.job_name }}" + in_cluster
                        + f" has been running for more than {format_duration(long_job)}.",
            cases=(Case(running_job(-2 * long_job), fires=True,
                        labels={"namespace": ns, "job_name": "nightly-report-29707814"}),
                   Case(running_job(f"{fmt_number(-long_job / 2)}+60x{{n}}"), fires=False,
                        note="started half the threshold before every evaluation"),
                   Case(running_job(-2 * long_job, active=0), fires=False, note="finished")),
            meaning="A Job has had active pods for longer than the threshold.",
            impact="Its result is late; a CronJob's next run may overlap or be skipped.",
            diagnosis=(f"time() - kube_job_status_start_time{k()}",),
            mitigation=("Check the Job's pods for hangs or Pending state; set activeDeadlineSeconds.",),
        ),
        Alert(
            name="KubeHpaReplicasMismatch",
            expr=(f"({h('status_desired_replicas')} != {h('status_current_replicas')})"
                  f" and ({h('status_current_replicas')} > {h('spec_min_replicas')})"
                  f" and ({h('status_current_replicas')} < {h('spec_max_replicas')})"
                  f" and changes({h('status_current_replicas')}[15m]) == 0"),
            for_="15m",
            severity="warning",
            summary="An HPA has not reached its desired number of replicas.",
            description="HPA {{ $labels.namespace }}/{{ $labels.horizontalpodautoscaler }}" + in_cluster
                        + " wants {{ $value }} replicas and has not reached them for 15 minutes.",
            cases=(Case(hpa_state(6, 4), fires=True, labels=hpa_labels, value=6, lookback="15m"),
                   Case(hpa_state(4, 4), fires=False, lookback="15m")),
            meaning="The autoscaler's desired replica count differs from the current one and nothing changes.",
            impact="The workload runs with fewer (or more) replicas than its load calls for.",
            diagnosis=(f"{h('status_desired_replicas')}", f"{h('status_condition')} == 1"),
            mitigation=("New pods may be Pending (capacity, quotas): check the target workload's pods.",),
        ),
        Alert(
            name="KubeHpaMaxedOut",
            expr=f"({h('status_current_replicas')} == {h('spec_max_replicas')}) and {on_hpa} "
                 f"({h('spec_max_replicas')} != {h('spec_min_replicas')})",
            for_="15m",
            severity="warning",
            summary="An HPA runs at its maximum replicas.",
            description="HPA {{ $labels.namespace }}/{{ $labels.horizontalpodautoscaler }}" + in_cluster
                        + " has run at its maximum of {{ $value }} replicas for 15 minutes.",
            cases=(Case(hpa_state(10, 10), fires=True, labels=hpa_labels, value=10),
                   Case(hpa_state(9, 9), fires=False),
                   Case(hpa_state(5, 5, 5, 5), fires=False, note="pinned on purpose: minReplicas == maxReplicas")),
            meaning="The autoscaler cannot add replicas: it is at maxReplicas (HPAs pinned with minReplicas == "
                    "maxReplicas are left out: they cannot scale by design).",
            impact="Further load is not absorbed: latency and errors rise.",
            diagnosis=(f"{h('status_current_replicas')}", f"{h('spec_target_metric')}"),
            mitigation=("Raise maxReplicas if the cluster has room, or make each replica handle more.",),
        ),
        Alert(
            name="KubePdbNotEnoughHealthyPods",
            expr=f"max {by_pdb} ({pdb_m('status_desired_healthy')} - {pdb_m('status_current_healthy')}) > 0",
            for_="15m",
            severity="warning",
            summary="A PodDisruptionBudget has fewer healthy pods than it requires.",
            description="PodDisruptionBudget {{ $labels.namespace }}/{{ $labels.poddisruptionbudget }}" + in_cluster
                        + " needs {{ $value }} more healthy pod(s).",
            cases=(Case(budget(3, 2), fires=True, labels={"namespace": ns, "poddisruptionbudget": "checkout"},
                        value=1),
                   Case(budget(3, 3), fires=False), Case(budget(2, 3), fires=False, note="more than enough")),
            meaning="kube_poddisruptionbudget_status_current_healthy is below desired_healthy: the budget already "
                    "allows no voluntary disruption.",
            impact="Node drains and cluster upgrades block on these pods; one more failure takes the workload below "
                   "what its owners declared it needs.",
            diagnosis=(f"{pdb_m('status_current_healthy')}", f"{pdb_m('status_desired_healthy')}",
                       f"{pdb_m('status_expected_pods')}"),
            mitigation=("Find why the selected pods are not ready (`kubectl get pdb`, then the pods' events).",),
        ),
        Alert(
            name="KubePersistentVolumeClaimPending",
            expr=(f"max {ctx.by('namespace', 'persistentvolumeclaim')}"
                  f" (kube_persistentvolumeclaim_status_phase{k(pending)}) == 1"
                  f" and {on(ctx, 'namespace', 'persistentvolumeclaim')}"
                  f" kube_pod_spec_volumes_persistentvolumeclaims_info{k()}"),
            for_="15m",
            severity="warning",
            summary="A claim a pod needs is not bound.",
            description="PersistentVolumeClaim {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }}"
                        + in_cluster + " has been Pending for 15 minutes while a pod uses it.",
            cases=(Case(claimed(True), fires=True, labels={"namespace": ns, "persistentvolumeclaim": "data-redis-0"}),
                   Case(claimed(False), fires=False)),
            meaning="The claim is not bound to a volume and a pod refers to it (claims waiting for their first "
                    "consumer are left alone until a pod uses them).",
            impact="The pod stays Pending.",
            diagnosis=(f"kube_persistentvolumeclaim_status_phase{k(pending)} == 1",
                       f"kube_persistentvolumeclaim_info{k()}"),
            mitigation=("`kubectl describe pvc` shows the provisioner's error: unknown StorageClass, quota, "
                        "zone without capacity.",),
        ),
    )
