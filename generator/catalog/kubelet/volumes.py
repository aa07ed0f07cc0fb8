"""Kubelet, volumes: PersistentVolume space and inodes as the kubelet measures them, PV phase, volume operations;
an area with its own rules, signals, tests and alerts (its record names are in names).

`kubelet_volume_stats_*` (labels namespace, persistentvolumeclaim; names stable since Kubernetes 1.8) appear only
while a PVC is mounted on the node, so they are missing from captures of nodes without volumes. The alerts follow
kubernetes-mixin's KubePersistentVolumeFillingUp / KubePersistentVolumeInodesFillingUp; the mixin gives one name
two severities, Stereo needs one name per alert, so the "< 3% left" variants are called ...AlmostFull.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from generator import promql
from generator.catalog.helpers import gauge_ramp
from generator.catalog.kubelet.names import (
    AVAIL_RATIO,
    INODES_RATIO,
    INODES_USED,
    KSM,
    PVC,
    SRC,
    STORAGE_ERR_RATIO,
    USED,
)
from generator.context import TEST_CLUSTER, Context, selects
from generator.model import Alert, Case, RecordingRule, RuleTest, Signal
from generator.promql import fmt_number, parse_duration

ROX = 'access_mode="ReadOnlyMany"'
OPT_OUT_KEY = "filters.pv_exclude"  # the site's opt-out: matchers on kube_persistentvolumeclaim_labels

# how far kubernetes-mixin looks back and ahead for the linear prediction
PREDICT_RANGE = "6h"
PREDICT_AHEAD = "4 * 24 * 3600"
CASE_LOOKBACK = "10m"  # ten minutes of a straight ramp fit the same line as an hour (promtool evaluates each minute)
FILL_FOR = "1h"  # kubernetes-mixin's `for` on the predictive warnings
TEST_CLAIM = "data-db-0"


def test_pvc(ctx: Context) -> dict[str, str]:
    """The promtool cases' claim, in a namespace filters.namespace watches."""
    return {"namespace": ctx.test_namespace, "persistentvolumeclaim": TEST_CLAIM}
CAPACITY = 100e9  # bytes of the test volume
INODES = 1e6  # inodes of the test volume


def rules(ctx: Context, node_sum: Callable[..., str]) -> tuple[RecordingRule, ...]:
    """`node_sum(expr, *labels)` sums per node (rules.PerNode joins kubelet_node_name on instance)."""
    s = lambda *m: ctx.sel(SRC, *m)  # noqa: E731
    pvc = ctx.by(*PVC)
    failed = s('status!="success"')
    # a volume mounted on several nodes (ReadWriteMany) is reported by each kubelet with the same numbers: max
    return (
        RecordingRule(AVAIL_RATIO, f"max {pvc} (kubelet_volume_stats_available_bytes{s()})"
                                   f" / max {pvc} (kubelet_volume_stats_capacity_bytes{s()})"),
        RecordingRule(INODES_RATIO, f"max {pvc} (kubelet_volume_stats_inodes_free{s()})"
                                    f" / max {pvc} (kubelet_volume_stats_inodes{s()})"),
        RecordingRule(USED, f"max {pvc} (kubelet_volume_stats_used_bytes{s()})"),
        RecordingRule(INODES_USED, f"max {pvc} (kubelet_volume_stats_inodes_used{s()})"),
        RecordingRule(
            STORAGE_ERR_RATIO,
            node_sum(f"rate(storage_operation_duration_seconds_count{failed}[5m])", "operation_name")
            + " / " + node_sum(f"rate(storage_operation_duration_seconds_count{s()}[5m])", "operation_name"),
        ),
    )


def signals(ctx: Context) -> tuple[Signal, ...]:
    c = ctx.cluster
    f = ctx.dash()
    lab = (c, *PVC)
    return (
        Signal("kubelet_volume_usage_ratio", f"1 - {AVAIL_RATIO}{f}", "percentunit", lab,
               "PersistentVolume space used", "Share of each mounted PVC's capacity in use, as the kubelet sees it.",
               kind="resource"),
        Signal("kubelet_volume_available_ratio", f"{AVAIL_RATIO}{f}", "percentunit", lab,
               "PersistentVolume space free", "Share of each mounted PVC's capacity still free.",
               kind="resource", alert="KubePersistentVolumeFillingUp"),
        Signal("kubelet_volume_used_bytes", f"{USED}{f}", "bytes", lab,
               "PersistentVolume bytes used", "Bytes used on each mounted PVC.", kind="resource"),
        Signal("kubelet_volume_inodes_available_ratio", f"{INODES_RATIO}{f}", "percentunit", lab,
               "PersistentVolume inodes free", "Share of each mounted PVC's inodes still free.",
               kind="resource", alert="KubePersistentVolumeInodesFillingUp"),
        Signal("kubelet_storage_operation_error_ratio", f"{STORAGE_ERR_RATIO}{f}", "percentunit",
               (c, "node", "operation_name"), "Volume operation errors",
               "Share of volume operations (attach, mount, unmount…) each kubelet failed, by operation."),
    )


def rule_tests(ctx: Context) -> tuple[RuleTest, ...]:
    pvc = test_pvc(ctx)
    vol = lambda metric, v: {ctx.series(SRC, metric, instance="10.0.0.1:10250", **pvc): v}  # noqa: E731
    return (
        RuleTest(inputs={**vol("kubelet_volume_stats_available_bytes", 25e9),
                         **vol("kubelet_volume_stats_capacity_bytes", 100e9)},
                 expr=AVAIL_RATIO, expected=((pvc, 0.25),), note="free share of the PVC"),
        RuleTest(inputs={**vol("kubelet_volume_stats_inodes_free", 1000), **vol("kubelet_volume_stats_inodes", 8000)},
                 expr=INODES_RATIO, expected=((pvc, 0.125),), note="free inode share of the PVC"),
    )


def _on(ctx: Context) -> str:
    return "on " + ctx.by(*PVC).removeprefix("by ")


def _filling(ctx: Context, ratio: str, used: str, raw_free: str, threshold: float, predict: bool) -> str:
    """kubernetes-mixin's shape: free share under the threshold, something written, optionally a falling trend,
    and never for claims mounted ReadOnlyMany (they cannot fill up)."""
    on = _on(ctx)
    # filters.namespace: the claims of the watched namespaces only (kubernetes-mixin's namespaceSelector)
    parts = [f"{ctx.in_namespaces(ratio)} < {fmt_number(threshold)}", f"and {on} {used} > 0"]
    if predict:
        parts.append(f"and {on} max {ctx.by(*PVC)} (predict_linear({raw_free}{ctx.sel(SRC)}[{PREDICT_RANGE}], "
                     f"{PREDICT_AHEAD})) < 0")
    # no job matcher: only kube-state-metrics exposes these, and an exclusion must not depend on its job name
    parts.append(f"unless {on} max {ctx.by(*PVC)} (kube_persistentvolumeclaim_access_mode{{{ROX}}}) == 1")
    if ctx.pv_exclude:
        parts.append(f"unless {on} max {ctx.by(*PVC)} (kube_persistentvolumeclaim_labels{{{ctx.pv_exclude}}}) == 1")
    return "\n".join(parts)


def opt_out_claim(ctx: Context) -> dict[str, str] | None:
    """Labels of a kube_persistentvolumeclaim_labels series the site's opt-out selects (the quiet case's claim);
    None without an opt-out. Refused: an opt-out that also selects a claim without labels (every claim would be
    left out), or one no claim can be built for."""
    text = ctx.pv_exclude
    if not text:
        return None
    plain = {ctx.cluster: TEST_CLUSTER, **test_pvc(ctx)}
    if selects(text, plain):
        raise ctx.setting_error(OPT_OUT_KEY, "expected matchers that select labelled claims only (such as "
                                'label_excluded_from_alerts="true"); '
                                f"{text!r} also selects a claim without labels, so no volume would ever alert")
    labels = dict(plain)
    for label, op, value in promql.parse_selector(text):
        choices = [value] if op == "=" else ["x", "true", ""]
        if op == "=~":
            with contextlib.suppress(promql.PromQLError):  # not a simple alternation: try the plain choices
                choices.insert(0, promql.example_of(value))
        have = labels.get(label, "")
        labels[label] = next((v for v in [have, *choices] if _passes(op, value, v)), have)
    if labels[ctx.cluster] != TEST_CLUSTER:
        raise ctx.setting_error(OPT_OUT_KEY, f"expected matchers on the claims' labels, not on {ctx.cluster} "
                                f"(the volume alerts already run per {ctx.cluster}), got {text!r}")
    if not selects(text, labels):
        raise ctx.setting_error(OPT_OUT_KEY, "expected matchers a claim's labels can satisfy with one plain value "
                                f'each (such as label_tier=~"scratch|tmp"), got {text!r}')
    return labels


def _passes(op: str, value: str, have: str) -> bool:
    if op in ("=", "!="):
        return (have == value) == (op == "=")
    return (promql.compile_regex(value).fullmatch(have) is not None) == (op == "=~")


def _opt_out_meaning(ctx: Context) -> str:
    if ctx.pv_exclude_is_default:
        return (' Claims mounted ReadOnlyMany, and claims labelled `excluded_from_alerts: "true"` (exported by '
                "kube-state-metrics with --metric-labels-allowlist), are left out.")
    if not ctx.pv_exclude:
        return " Claims mounted ReadOnlyMany are left out."
    return (" Claims mounted ReadOnlyMany, and claims whose `kube_persistentvolumeclaim_labels` match "
            f"`{ctx.pv_exclude}` (site setting {OPT_OUT_KEY}), are left out.")


Volume = Callable[..., dict[str, float | str]]


def _ramp(start: float, per_minute: float, stop: int | None) -> str:
    """gauge_ramp, optionally held flat after `stop` minutes."""
    if stop is None:
        return gauge_ramp(start, per_minute)
    return gauge_ramp(start, per_minute).replace("{n}", str(stop)) + f" {fmt_number(start + per_minute * stop)}+0x{{n}}"


def _volume(ctx: Context, free: str, total: str, used: str, size: float) -> Volume:
    """Inputs for one PVC: the free series starts at `start` and moves by `per_minute` (for `stop` minutes, or
    throughout); used mirrors it."""
    def make(start: float, per_minute: float = 0, stop: int | None = None,
             pvc: dict[str, str] | None = None) -> dict[str, float | str]:
        labels = pvc or test_pvc(ctx)
        series = lambda m: ctx.series(SRC, m, instance="10.0.0.1:10250", **labels)  # noqa: E731
        if per_minute == 0:
            return {series(free): start, series(total): size, series(used): size - start}
        return {series(free): _ramp(start, per_minute, stop), series(total): size,
                series(used): _ramp(size - start, -per_minute, stop)}
    return make


def alerts(ctx: Context) -> tuple[Alert, ...]:
    c = ctx.cluster
    where = " in namespace {{ $labels.namespace }} (cluster {{ $labels." + c + " }})"
    claim = "PersistentVolume claimed by {{ $labels.persistentvolumeclaim }}" + where
    bytes_ = _volume(ctx, "kubelet_volume_stats_available_bytes", "kubelet_volume_stats_capacity_bytes",
                     "kubelet_volume_stats_used_bytes", CAPACITY)
    inodes = _volume(ctx, "kubelet_volume_stats_inodes_free", "kubelet_volume_stats_inodes",
                     "kubelet_volume_stats_inodes_used", INODES)
    full = ctx.threshold("KubePersistentVolumeAlmostFull", 0.03)
    filling = ctx.threshold("KubePersistentVolumeFillingUp", 0.15)
    ifull = ctx.threshold("KubePersistentVolumeInodesAlmostFull", 0.03)
    ifilling = ctx.threshold("KubePersistentVolumeInodesFillingUp", 0.15)
    ns = 'namespace="NS"'
    diag_bytes = (f'{AVAIL_RATIO}{{namespace="NS",persistentvolumeclaim="PVC"}}',
                  f"kubelet_volume_stats_available_bytes{ctx.sel(SRC, ns)}[6h]")
    diag_inodes = (f'{INODES_RATIO}{{namespace="NS",persistentvolumeclaim="PVC"}}',)
    grow = ("Expand the claim if its StorageClass allows it (`allowVolumeExpansion: true`): raise "
            "`spec.resources.requests.storage` on the PVC.",
            "Otherwise delete data, or move it to a bigger volume; for a database, check retention settings.")
    many_files = ("Find what creates many small files (caches, temporary files, unrotated logs) and clean it up.",
                  "Inodes cannot be added to most filesystems: move the data to a new, larger volume.")
    bad = ctx.sel(KSM, 'phase=~"Failed|Pending"')
    phase = lambda p, v: {ctx.series(KSM, "kube_persistentvolume_status_phase", persistentvolume="pvc-0a1b",  # noqa: E731
                                     phase=p): v}
    return (
        Alert(
            name="KubePersistentVolumeAlmostFull",
            expr=_filling(ctx, AVAIL_RATIO, USED, "kubelet_volume_stats_available_bytes", full, predict=False),
            for_="1m",
            severity="critical",
            threshold=full,
            summary="PersistentVolume is almost full.",
            description="The " + claim + " has only {{ $value | humanizePercentage }} free space left.",
            cases=_full_cases(ctx, bytes_, CAPACITY, full),
            meaning="A mounted PersistentVolume has less free space than the threshold." + _opt_out_meaning(ctx),
            impact="Writes fail with ENOSPC as soon as it is full: databases stop, applications crash.",
            diagnosis=diag_bytes,
            mitigation=grow,
        ),
        Alert(
            name="KubePersistentVolumeFillingUp",
            expr=_filling(ctx, AVAIL_RATIO, USED, "kubelet_volume_stats_available_bytes", filling, predict=True),
            for_=FILL_FOR,
            severity="warning",
            threshold=filling,
            summary="PersistentVolume is filling up.",
            # no $value: the free share keeps falling during the case, its value at evaluation depends on `for`
            description="The " + claim + " has less than " + f"{filling * 100:g}"
                        + "% free space and is predicted to fill up within four days.",
            cases=_predict_cases(ctx, bytes_, CAPACITY, filling, FILL_FOR),
            meaning="A PersistentVolume has little free space left and, at the rate of the last 6 hours, "
                    "will be full within four days.",
            impact="When full, writes fail with ENOSPC.",
            diagnosis=diag_bytes,
            mitigation=grow,
        ),
        Alert(
            name="KubePersistentVolumeInodesAlmostFull",
            expr=_filling(ctx, INODES_RATIO, INODES_USED, "kubelet_volume_stats_inodes_free", ifull, predict=False),
            for_="1m",
            severity="critical",
            threshold=ifull,
            summary="PersistentVolume is almost out of inodes.",
            description="The " + claim + " has only {{ $value | humanizePercentage }} free inodes left.",
            cases=_full_cases(ctx, inodes, INODES, ifull),
            meaning="A mounted PersistentVolume has fewer free inodes than the threshold.",
            impact="No new file can be created once inodes run out, even with free space left.",
            diagnosis=diag_inodes,
            mitigation=many_files,
        ),
        Alert(
            name="KubePersistentVolumeInodesFillingUp",
            expr=_filling(ctx, INODES_RATIO, INODES_USED, "kubelet_volume_stats_inodes_free", ifilling, predict=True),
            for_=FILL_FOR,
            severity="warning",
            threshold=ifilling,
            summary="PersistentVolume is running out of inodes.",
            description="The " + claim + " has less than " + f"{ifilling * 100:g}"
                        + "% free inodes and is predicted to run out within four days.",
            cases=_predict_cases(ctx, inodes, INODES, ifilling, FILL_FOR),
            meaning="A PersistentVolume has few free inodes and, at the rate of the last 6 hours, will run out "
                    "within four days.",
            impact="When inodes run out, no new file can be created.",
            diagnosis=diag_inodes,
            mitigation=many_files,
        ),
        Alert(
            name="KubePersistentVolumeErrors",
            expr=f"max {ctx.by('persistentvolume', 'phase')} (kube_persistentvolume_status_phase{bad}) > 0",
            for_="5m",
            severity="critical",
            summary="PersistentVolume is having issues with provisioning.",
            description="The PersistentVolume {{ $labels.persistentvolume }} in cluster {{ $labels." + c
                        + " }} has status {{ $labels.phase }}.",
            cases=(Case(phase("Failed", 1), fires=True, labels={"persistentvolume": "pvc-0a1b", "phase": "Failed"}),
                   Case(phase("Failed", 0), fires=False)),
            meaning="A PersistentVolume is in phase Failed (reclamation failed) or Pending (not yet available).",
            impact="Claims bound to it, or waiting for it, cannot be used; their pods stay Pending.",
            diagnosis=(f"kube_persistentvolume_status_phase{bad} > 0",
                       "kubectl describe pv PV  # events from the provisioner"),
            mitigation=("Read the PV's events and the CSI provisioner/attacher logs.",
                        "For Failed after release, check the reclaim policy and clean up the backing volume."),
        ),
    )


def _full_cases(ctx: Context, vol: Volume, size: float, threshold: float) -> tuple[Case, ...]:
    free = round(size * threshold / 2)  # whole bytes/inodes; the value is what Prometheus divides
    quiet = threshold * 2 if threshold < 0.5 else (1 + threshold) / 2
    claim = lambda metric, **lb: {_claim(ctx, metric, job="ksm", **lb): 1}  # noqa: E731 - any job name
    cases = (Case(vol(free), fires=True, labels=test_pvc(ctx), value=free / size),
             Case(vol(round(size * quiet)), fires=False),
             Case({**vol(free), **claim("kube_persistentvolumeclaim_access_mode", access_mode="ReadOnlyMany")},
                  fires=False, note="mounted read-only: it cannot fill up"))
    opted = opt_out_claim(ctx)
    if opted is None:
        return cases
    default = ctx.pv_exclude_is_default
    pvc = {k: opted[k] for k in PVC}  # the opt-out may pick claims by namespace
    return (*cases, Case({**vol(free, pvc=pvc), **claim("kube_persistentvolumeclaim_labels", **opted)}, fires=False,
                         note="the claim opts out with the label excluded_from_alerts=true" if default
                         else f"the claim opts out ({OPT_OUT_KEY})"))


def _claim(ctx: Context, metric: str, **labels: str) -> str:
    merged = {ctx.cluster: TEST_CLUSTER, **test_pvc(ctx), **labels}
    return metric + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(merged.items())) + "}"


def _predict_cases(ctx: Context, vol: Volume, size: float, threshold: float, for_: str) -> tuple[Case, ...]:
    """Fire: below the threshold and falling; quiet: below but flat, or falling but still above it.

    Evaluation comes after the lookback plus `for`; the series stay positive well past that moment, so a site
    that lengthens `for` still sees a falling, non-empty volume. No case needs the full 6h window (ten minutes of a
    straight ramp are enough to fit the line), which keeps promtool fast.
    """
    def minutes(lookback: str) -> float:
        return (parse_duration(lookback) + parse_duration(for_) + 120) / 60

    start = round(size * threshold * 0.9)
    slow = round(size * threshold * 0.4 / minutes(CASE_LOOKBACK))  # 0.9 → 0.5 of the threshold by evaluation
    # from empty to halfway to the threshold by evaluation time, then flat: a longer `for` cannot cross it
    quiet_end = int(minutes(CASE_LOOKBACK))
    fast = round(size * (1 - threshold) / 2 / quiet_end)
    return (
        Case(vol(start, -slow), fires=True, labels=test_pvc(ctx), lookback=CASE_LOOKBACK,
             note="below the threshold and falling"),
        Case(vol(start), fires=False, lookback=CASE_LOOKBACK, note="below the threshold but flat"),
        Case(vol(size, -fast, quiet_end), fires=False, lookback=CASE_LOOKBACK,
             note="falling fast but still above the threshold"),
    )
