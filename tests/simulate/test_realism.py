"""The simulated series are what the generated rules expect: every metric and selector, real bucket layouts,
counters that only go back at restarts, and the planted relations between catalog signals."""

from __future__ import annotations

import math
import os
import re
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr
from simhelpers import SELECTOR, by_labels, check_metric_names, rate, registry_series, rule_exprs, selector_matches

from generator import pipeline
from generator.buckets import LAYOUTS, exponential
from generator.config import load
from generator.simulate import planted_pairs
from generator.simulate.run import ClusterSpec, Simulation, Window
from generator.simulate.scenarios import SCENARIOS
from generator.simulate.series import fmt_le
from generator.simulate.topology import build

# selectors that only ever exclude (`unless`): nodes being removed, claims opted out of alerts
EXCLUSION_ONLY = ("ToBeDeletedByClusterAutoscaler", "excluded_from_alerts")
# metrics a healthy cluster does not export: kube-state-metrics shows a waiting reason or a failed Job condition
# only while there is one
EVENT_ONLY = {"kube_pod_container_status_waiting_reason", "kube_job_failed"}
# alerts no scenario must fire: growth predicted from a recorded series has no history in a backfilled test
# Prometheus; KubeletManyDown depends on the share of nodes lost (node-not-ready allows it). The heartbeat and
# the info inhibitor carry no scenario (promtool and a real Alertmanager test them). The simulated cluster has one
# control-plane node, one kube-state-metrics shard and REST client series only for the controllers, so the
# sharding alerts and KubeClientErrors have promtool cases only (the per-instance control-plane alerts fire with
# their component's Down alert in its scenario: the only instance is down); the
# cluster-wide Down alerts (every kubelet, node-exporter or kube-state-metrics gone, or vanished) are proven by
# promtool cases and, for a vanished target, by tests/e2e/test_e2e_vanished.py on a real Prometheus.
NOT_EXPECTED = {"EtcdExcessiveDatabaseGrowth", "KubeletManyDown", "Watchdog", "InfoInhibitor",
                "KubeStateMetricsShardingMismatch", "KubeStateMetricsShardsMissing", "KubeClientErrors",
                "KubeletDown", "NodeExporterDown", "KubeStateMetricsDown",
                "TargetDown"}  # a knock-on only (pods not running are application targets down), allowed not expected


@pytest.fixture(scope="module")
def healthy() -> dict:
    return registry_series(Simulation([ClusterSpec()], 1, Window(duration=3600)).run().registry)


@pytest.fixture(scope="module")
def faults() -> dict:
    """Every scenario on a small cluster, five minutes each (what appears, not how it evolves)."""
    clusters = [ClusterSpec(name=n, nodes=3, namespaces=2, pods=6, scenarios=(n,)) for n in SCENARIOS]
    return registry_series(Simulation(clusters, 1, Window(duration=300, scenario_window=300)).run().registry)


def _produced(series: dict) -> set[str]:
    return {name for name, rows in series.items() if any(np.isfinite(v).any() for _, v in rows)}


def test_every_metric_the_rules_read_is_produced(default_files: dict[str, str], healthy: dict, faults: dict) -> None:
    names = check_metric_names().metric_names
    used = {n for _, expr in rule_exprs(default_files) for n in names(expr)} | {"up"}
    assert len(used) > 150
    assert not used - _produced(healthy) - EVENT_ONLY, "healthy cluster lacks these"
    assert not used - _produced(healthy) - _produced(faults), "no scenario produces these"


def test_every_selector_matches_a_simulated_series(default_files: dict[str, str], healthy: dict,
                                                   faults: dict) -> None:
    unmatched = set()
    for rule, expr in rule_exprs(default_files):
        for metric, matchers in SELECTOR.findall(expr):
            if ":" in metric or metric == "ALERTS" or any(x in matchers for x in EXCLUSION_ONLY):
                continue  # a recorded series or Prometheus' own ALERTS; exclusion-only selectors (unless)
            rows = healthy.get(metric, []) + faults.get(metric, [])
            if not any(selector_matches(matchers, labels) for labels, _ in rows):
                unmatched.add(f"{rule}: {metric}{{{matchers}}}")
    assert not unmatched, sorted(unmatched)


def test_grouping_labels_exist_on_the_raw_series(default_files: dict[str, str], healthy: dict, faults: dict) -> None:
    names = check_metric_names().metric_names
    missing = {}
    for rule, expr in rule_exprs(default_files):
        if ":" in expr.replace("__name__", "") or "label_replace" in expr or "ALERTS{" in expr:
            continue  # reads recorded series, makes its own labels, or reads Prometheus' own ALERTS
        raw = names(expr) | ({"up"} if re.search(r"\bup\{", expr) else set())  # `up` counts as built in there
        have = {k for n in raw for labels, _ in healthy.get(n, []) + faults.get(n, []) for k in labels}
        lacking = by_labels(expr) - have - {"le"}
        if lacking:
            missing[rule] = sorted(lacking)
    assert not missing


# where the real /metrics captures are (tests/simulate reads them, never copies them into the project)
CAPTURES = Path(os.environ.get("STEREO_REAL_METRICS", "/work/shared/real-metrics")) / "captures"
# layouts no capture prints, and why (these come from the component's source)
NOT_CAPTURED = {
    "apiserver_admission_webhook_admission_duration_seconds": "the captured apiserver had no webhooks",
    "etcd_network_peer_round_trip_time_seconds": "the captured etcd is a single member: no peers",
    "grpc_server_handling_seconds": "etcd prints it only with --metrics=extensive",
    "kubelet_pod_start_duration_seconds": "the kubelet capture is v1.21, before podStartupDurationBuckets (1.27)",
    "http_request_duration_seconds": "an application's histogram (the client libraries' defaults)",
    "nginx_ingress_controller_request_duration_seconds": "no ingress-nginx capture",
}
# histograms the catalog reads that the simulated cluster does not export, and why
NOT_SIMULATED = {
    "nginx_ingress_controller_request_duration_seconds": "the simulated cluster has no ingress-nginx",
}
_BUCKET = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)_bucket\{(.*)\}\s')
_LE = re.compile(r'(?:^|,)le="([^"]*)"')


def captured_layouts(directory: Path) -> dict[str, list[list[str]]]:
    """metric -> the `le` lists a capture prints for it, one per capture and label set, in printed order."""
    found: dict[str, dict[tuple[str, str], list[str]]] = {}
    for path in sorted(directory.glob("*.prom")):
        for line in path.read_text(encoding="utf-8").splitlines():
            m = _BUCKET.match(line)
            le = _LE.search(m.group(2)) if m else None
            if m and le:
                rest = _LE.sub("", m.group(2))
                found.setdefault(m.group(1), {}).setdefault((path.name, rest), []).append(le.group(1))
    return {metric: list(lists.values()) for metric, lists in found.items()}


@pytest.fixture(scope="module")
def captured() -> dict[str, list[list[str]]]:
    if not CAPTURES.is_dir():
        pytest.skip(f"no real /metrics captures at {CAPTURES} (set STEREO_REAL_METRICS)")
    return captured_layouts(CAPTURES)


def printed(layout: tuple[float, ...]) -> list[str]:
    return [*map(fmt_le, layout), "+Inf"]


@pytest.mark.parametrize("metric", sorted(LAYOUTS))
def test_the_layouts_are_the_real_ones(captured: dict[str, list[list[str]]], metric: str) -> None:
    """Each layout of generator/buckets.py is what a real component prints (exactly, `le` text and order)."""
    if metric in NOT_CAPTURED:
        assert printed(LAYOUTS[metric]) not in captured.get(metric, []), f"{metric}: take it out of NOT_CAPTURED"
        return
    assert printed(LAYOUTS[metric]) in captured[metric]


def test_a_wrong_layout_is_caught(tmp_path: Path) -> None:
    (tmp_path / "x.prom").write_text('# TYPE d histogram\nd_bucket{le="0.1"} 1\nd_bucket{le="1"} 2\n'
                                     'd_bucket{le="+Inf"} 2\nd_bucket{code="200",le="0.5"} 0\n'
                                     'd_bucket{code="200",le="+Inf"} 0\nd_count 2\n')
    seen = captured_layouts(tmp_path)
    assert seen == {"d": [["0.1", "1", "+Inf"], ["0.5", "+Inf"]]}
    assert printed((0.1, 1)) in seen["d"] and printed((0.1, 1.0, 10)) not in seen["d"]
    assert printed(exponential(1e-08, 10, 4)) == ["1e-08", "1e-07", "1e-06", "9.999999999999999e-06", "+Inf"]


@pytest.mark.parametrize("metric", sorted(LAYOUTS))
def test_the_simulator_prints_the_shared_layouts(healthy: dict, metric: str) -> None:
    rows = healthy.get(f"{metric}_bucket")
    if metric in NOT_SIMULATED:
        assert rows is None, f"{metric} is simulated now: take it out of NOT_SIMULATED"
        return
    assert rows, f"the simulated cluster does not export {metric}"
    by_set: dict[tuple, list[str]] = {}
    for labels, _ in rows:
        by_set.setdefault(tuple(sorted((k, v) for k, v in labels.items() if k != "le")), []).append(labels["le"])
    assert all(les == printed(LAYOUTS[metric]) for les in by_set.values())


def test_counters_only_go_back_when_a_container_restarts() -> None:
    spec = ClusterSpec(scenarios=("pod-crash-loop", "oom-kills"))
    series = registry_series(Simulation([spec], 1, Window(duration=2400, scenario_window=1800)).run().registry)
    topo = build("sim", 3, 3, 12, 1)
    restarted = {topo.victim("web").name, topo.victim("worker").name}
    went_back = set()
    for name, rows in series.items():
        if not name.endswith(("_total", "_bucket", "_count", "_sum")) and name not in ("kubelet_evictions",):
            continue
        for labels, values in rows:
            present = values[np.isfinite(values)]
            if (np.diff(present) < 0).any():
                went_back.add((name, labels.get("pod", "")))
    assert went_back, "no counter reset at all: restarts are not simulated"
    assert {pod for _, pod in went_back} <= restarted, sorted(went_back)
    assert ("container_cpu_usage_seconds_total", topo.victim("worker").name) in went_back
    assert ("http_request_duration_seconds_count", topo.victim("web").name) in went_back
    histograms: dict[tuple, list[tuple[float, float]]] = {}
    for name in [n for n in series if n.endswith("_bucket")]:
        for labels, values in series[name]:
            key = (name, *sorted((k, v) for k, v in labels.items() if k != "le"))
            histograms.setdefault(key, []).append((float(labels["le"]), values[-1]))
    for key, buckets in histograms.items():
        counts = [count for _, count in sorted(buckets) if np.isfinite(count)]
        assert counts == sorted(counts), f"{key}: buckets are not cumulative"


def _rho(a: np.ndarray, b: np.ndarray, part: slice) -> float:
    return float(spearmanr(np.diff(a)[part], np.diff(b)[part])[0])


def _mean(series: dict, metric: str, window: int = 5, **match: str) -> np.ndarray:
    """Mean observed value over `window` ticks, summed over the matching label sets: Δsum / Δcount."""
    pick = lambda suffix: sum(v for labels, v in series[metric + suffix]  # noqa: E731
                              if all(labels.get(k) == want for k, want in match.items()))
    total, count = pick("_sum"), pick("_count")
    return (total[window:] - total[:-window]) / np.maximum(count[window:] - count[:-window], 1e-9)


def _one(series: dict, metric: str, **match: str) -> np.ndarray:
    found = [v for labels, v in series[metric] if all(labels.get(k) == want for k, want in match.items())]
    assert len(found) == 1, (metric, match, len(found))
    return found[0]


def test_planted_pairs_move_together_and_change_when_congested(default_files: dict[str, str]) -> None:
    components, _ = pipeline.build(load(None))
    signals = {s.name for c in components for s in c.signals}
    assert planted_pairs() and all(a in signals and b in signals for a, b in planted_pairs())
    sim = Simulation([ClusterSpec()], 1, Window(duration=4 * 3600, congested_from=0.5)).run()
    s = registry_series(sim.registry)
    half = (len(sim.stamps) - 6) // 2
    smooth, congested = slice(5, half - 5), slice(half + 5, None)  # clear of the switch and of rate windows
    pods = [p for p in sim.worlds[0].topo.app_pods() if p.owner_kind != "Job"]
    cpu_net, decoys, mem_latency = [], [], []
    for p in pods:
        ident = {"namespace": p.namespace, "pod": p.name}
        cpu = rate(_one(s, "container_cpu_usage_seconds_total", **ident))
        rx = rate(_one(s, "container_network_receive_bytes_total", **ident))
        tx = rate(_one(s, "container_network_transmit_bytes_total", **ident))
        cpu_net.append((_rho(cpu, rx, smooth), _rho(cpu, rx, congested)))
        decoys.append(_rho(cpu, tx, smooth))
        if p.http:
            mem = _one(s, "container_memory_working_set_bytes", **ident)[5:]
            latency = _mean(s, "http_request_duration_seconds", **ident)
            mem_latency.append((_rho(mem, latency, smooth), _rho(mem, latency, congested)))
    assert min(a for a, _ in cpu_net) > 0.7 and all(b < a - 0.2 for a, b in cpu_net), cpu_net  # weaker
    assert float(np.median(np.abs(decoys))) < 0.2, decoys
    assert min(a for a, _ in mem_latency) > 0.25 and max(b for _, b in mem_latency) < -0.2, mem_latency  # flips
    api = _mean(s, "apiserver_request_duration_seconds")
    commit = _mean(s, "etcd_disk_backend_commit_duration_seconds", instance=sim.worlds[0].topo.etcd[0])
    assert _rho(api, commit, smooth) > 0.7 and _rho(api, commit, congested) > 0.7
    dns = next(p for p in sim.worlds[0].topo.pods if p.role == "coredns")
    latency = _mean(s, "coredns_dns_request_duration_seconds", pod=dns.name)
    cores = rate(_one(s, "process_cpu_seconds_total", job="coredns", pod=dns.name))
    assert _rho(latency, cores, smooth) > 0.5 and _rho(latency, cores, congested) < -0.5


def test_scenarios_name_real_alerts_and_cover_the_catalog() -> None:
    components, _ = pipeline.build(load(None))
    alerts = {a.name for c in components for a in c.alerts}
    named = {a for s in SCENARIOS.values() for a in (*s.expect, *s.allow)}
    assert named <= alerts, sorted(named - alerts)
    expected = {a for s in SCENARIOS.values() for a in s.expect}
    assert alerts - expected == NOT_EXPECTED
    assert all(math.isfinite(v) for s in SCENARIOS.values() for v in s.knobs.values())
