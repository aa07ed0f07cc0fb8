"""Regimes (issue 12.6) on a relation that flips: over the whole window +ρ in the smooth phase and −ρ in the
congested one cancel out, so nothing is significant over the window — yet each phase has the relation, and the
congested phase must say it flipped. A small planted copy of the held-out scenario's memory ↔ latency pair."""

from __future__ import annotations

import numpy as np
import pytest

from generator import correlations
from generator.config import load
from generator.correlate.analysis import analyse
from generator.correlate.candidates import Candidate, Catalog
from generator.correlate.suggest import Fetched, Measurement, Options, pairs
from generator.correlate.upstream import site_catalog

MEM, LAT, CPU = "container_memory_working_set", "service_latency_p99", "container_cpu_usage"
N = 1200
CONGESTED = 900  # the last quarter


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return site_catalog(load(None))


def _planted(seed: int = 3) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    pods = 4
    mem = np.cumsum(rng.normal(size=(pods, N)), axis=1)
    own = np.cumsum(rng.normal(size=(pods, N)), axis=1)
    congested = np.arange(N) >= CONGESTED
    # smooth: latency follows memory; congested: latency rises as the cache (memory) is evicted — opposite sign;
    # the smooth phase's weaker coupling makes the whole window's ρ cancel out
    lat = np.where(congested, -1.0 * mem + own, 0.35 * mem + own)
    cpu = np.cumsum(rng.normal(size=(pods, N)), axis=1) + np.where(congested, 60.0, 0.0)  # the load level jumps
    times = 1_700_000_000 + 60.0 * np.arange(N)
    return times, {MEM: mem, LAT: lat, CPU: cpu}


def test_a_relation_that_cancels_over_the_window_is_reported_per_phase(catalog: Catalog) -> None:
    times, values = _planted()
    labels = [{"cluster": "c", "namespace": "shop", "pod": f"web-{i}"} for i in range(4)]
    fetched = {name: Fetched(catalog.signals[name], v, [dict(lb) for lb in labels]) for name, v in values.items()}
    targets = {CPU: [Candidate(catalog.signals[MEM], "scope", "workloads")],
               MEM: [Candidate(catalog.signals[LAT], "prior", "workloads")]}
    result = analyse(times, fetched, targets, Options(window=int(times[-1] - times[0]), step=60), catalog.derived)
    assert set(result.phases) == {"smooth", "congested"}
    assert result.phases["congested"][0] == int(times[CONGESTED])

    def pair(f: object) -> bool:
        return {f.a, f.b} == {MEM, LAT}  # type: ignore[attr-defined]

    whole = [f for f in result.objects if pair(f) and f.phase is None]
    assert whole == []  # nothing over the window: + and − cancel
    whole_rho = next(f for f in result.findings[MEM] if f.partner == LAT)
    assert not whole_rho.significant
    smooth = {f.scope["pod"]: f for f in result.objects if pair(f) and f.phase == "smooth"}
    congested = {f.scope["pod"]: f for f in result.objects if pair(f) and f.phase == "congested"}
    pods = {f"web-{i}" for i in range(4)}
    assert set(smooth) == pods and set(congested) == pods
    assert all(f.significant and f.rho > 0 and not f.derived for f in smooth.values())
    assert all(f.significant and f.rho < 0 and f.change == "flips" for f in congested.values())
    # the unrelated pair (CPU, memory: independent walks) is reported in neither phase
    assert not [f for f in result.objects if {f.a, f.b} == {CPU, MEM} and f.significant]


def test_correlations_yaml_keeps_a_relation_seen_only_within_a_phase(catalog: Catalog) -> None:
    times, values = _planted()
    labels = [{"cluster": "c", "namespace": "shop", "pod": f"web-{i}"} for i in range(4)]
    fetched = {name: Fetched(catalog.signals[name], v, [dict(lb) for lb in labels]) for name, v in values.items()}
    targets = {CPU: [Candidate(catalog.signals[MEM], "scope", "workloads")],  # its level marks the congestion
               MEM: [Candidate(catalog.signals[LAT], "prior", "workloads")]}
    options = Options(window=int(times[-1] - times[0]), step=60)
    result = analyse(times, fetched, targets, options, catalog.derived)
    m = Measurement(int(times[0]), int(times[-1]), 60, options, result.findings, result.missing, {},
                    result.objects, result.phases)
    found = pairs(m, catalog)
    assert [(p.a, p.b) for p in found] == [(MEM, LAT)]  # CPU ↔ memory (independent) is not there
    p = found[0]
    smooth = [f for f in result.objects if f.phase == "smooth" and {f.a, f.b} == {MEM, LAT}]
    assert p.objects == 4 and p.rho == max((f.rho for f in smooth), key=abs) and p.rho > 0
    assert p.window == "15h" and p.relation.endswith("(smooth phase; under congestion it flips)")
    assert "objects: 4" in correlations.dump(found, {"generated_by": "test"})


def test_a_pod_replaced_by_a_rollout_did_not_change(catalog: Catalog) -> None:
    """web-3 is replaced as congestion begins (a rollout): the old pod has no data in the congested phase and the
    new one none in the smooth phase. Neither relation "vanishes" nor "appears": the object is absent, not changed."""
    times, values = _planted()
    _, more = _planted(seed=4)
    half = CONGESTED
    for name in values:
        old, new = values[name][3].copy(), more[name][3].copy()
        old[half:], new[:half] = np.nan, np.nan
        values[name] = np.vstack([values[name][:3], old[None], new[None]])
    labels = [{"cluster": "c", "namespace": "shop", "pod": p} for p in ("web-0", "web-1", "web-2", "old", "new")]
    fetched = {name: Fetched(catalog.signals[name], v, [dict(lb) for lb in labels]) for name, v in values.items()}
    targets = {CPU: [Candidate(catalog.signals[MEM], "scope", "workloads")],
               MEM: [Candidate(catalog.signals[LAT], "prior", "workloads")]}
    result = analyse(times, fetched, targets, Options(window=int(times[-1] - times[0]), step=60), catalog.derived)
    congested = {f.scope["pod"]: f for f in result.objects if f.phase == "congested" and {f.a, f.b} == {MEM, LAT}}
    assert "old" not in congested  # it is gone, its relation did not vanish
    assert congested["new"].significant and congested["new"].rho < 0 and congested["new"].change is None
    assert {congested[p].change for p in ("web-0", "web-1", "web-2")} == {"flips"}
    assert not [f for f in result.objects if f.scope.get("pod") in ("old", "new") and f.change]
