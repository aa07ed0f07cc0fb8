"""Object-scoped findings on arrays (issue 12.3, 12.4, 12.6, 12.7): the label join, derived pairs from the
catalog, BH over every test, regimes and how relations change between them."""

from __future__ import annotations

import numpy as np
import pytest

from generator.config import load
from generator.correlate import findings, pairwise, regimes, stats
from generator.correlate.candidates import Catalog
from generator.correlate.upstream import site_catalog


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return site_catalog(load(None))


@pytest.mark.parametrize(("a", "b", "derived"), [
    ("container_cpu_usage", "namespace_cpu_usage", True),  # the namespace sums the pod's series
    ("container_cpu_usage", "container_cpu_limits_ratio", True),  # usage / limit
    ("container_cpu_usage", "workload_cpu_usage", True),
    ("apiserver_request_latency_p99", "apiserver_request_latency_p50", True),  # one histogram
    ("container_cpu_usage", "pod_network_receive_bytes", False),
    ("container_memory_working_set", "service_latency_p99", False),
    ("namespace_memory_usage", "container_cpu_usage", False),
])
def test_derived_pairs_come_from_the_catalog(catalog: Catalog, a: str, b: str, derived: bool) -> None:
    assert catalog.derived(a, b) is derived


def test_raw_expression_expands_recording_rules(catalog: Catalog) -> None:
    raw = catalog.raw_signal("container_cpu_usage")
    assert raw is not None and ":" not in raw.expr.split("{")[0]
    assert "rate(container_cpu_usage_seconds_total{" in raw.expr and 'image!=""' in raw.expr
    assert catalog.raw_signal("apiserver_up") is not None
    assert catalog.raw_signal("container_cpu_usage") is raw  # expanded once, then served from the catalog


def _rows(labels: list[dict[str, str]], owner: list[int], signals: list[str], values: np.ndarray) -> findings.Rows:
    return findings.encode(values, owner, signals, labels)


def test_join_is_on_labels_that_tell_objects_apart() -> None:
    pods = [{"cluster": "c", "namespace": "ns", "pod": f"p{i}"} for i in range(12)]
    nodes = [{"cluster": "c", "instance": f"10.0.0.{i}:9100"} for i in range(12)]
    api = [{"cluster": "c", "instance": "10.0.0.3:6443"}]
    labels = [*pods, *[dict(p) for p in reversed(pods)], *nodes, *api]
    owner = [0] * 12 + [1] * 12 + [2] * 12 + [3]
    rows = _rows(labels, owner, ["cpu", "net", "node", "api"], np.zeros((len(labels), 5)))
    left, right, ra, rb, _ = findings.join(rows, 0, 1)
    pairs = sorted(zip(ra[left].tolist(), rb[right].tolist(), strict=True))
    assert pairs == [(i, 23 - i) for i in range(12)]  # same pod
    left, _, _, _, _ = findings.join(rows, 0, 2)
    assert left.size == 0  # 12 pods × 12 nodes and nothing ties a pod to a node: not compared
    left, right, ra, rb, _ = findings.join(rows, 3, 2)
    assert [(int(ra[x]), int(rb[y])) for x, y in zip(left, right, strict=True)] == [(36, 27)]  # host, not port


def test_every_compatible_series_pair_is_one_test_with_bh_over_all() -> None:
    rng = np.random.default_rng(4)
    pods = 30
    shared = rng.normal(size=(pods, 300))
    cpu = np.cumsum(shared + rng.normal(scale=0.5, size=(pods, 300)), axis=1)
    net = np.cumsum(np.where(np.arange(pods)[:, None] < 10, shared, 0) + rng.normal(size=(pods, 300)), axis=1)
    labels = [{"namespace": "ns", "pod": f"p{i}"} for i in range(pods)] * 2
    rows = _rows(labels, [0] * pods + [1] * pods, ["cpu", "net"], np.vstack([cpu, net]))
    tested, shared_keys = findings.test_all(rows, [(0, 1)], alpha=0.01, method="diff")
    assert tested.i.size == pods and (tested.j - tested.i == pods).all()
    assert set(np.flatnonzero(tested.significant).tolist()) == set(range(10))  # the ten planted pods only
    full = stats.correlate(np.vstack([cpu, net]))
    assert np.allclose(tested.rho, full.rho[np.arange(pods), np.arange(pods) + pods], atol=1e-5)  # float32 ranks
    p_all = stats.pvalue(tested.rho, tested.n_test)
    q_all = stats.benjamini_hochberg(p_all)
    sig = tested.significant
    assert np.allclose(tested.q[sig], q_all[sig]) and (q_all[~sig] > 0.01).all()
    assert [rows.keys[k] for k in shared_keys[0]] == ["namespace", "pod"]


def test_regimes_split_where_the_load_level_changes() -> None:
    rng = np.random.default_rng(8)
    quiet = rng.normal(size=(8, 400))
    busy = quiet.copy()
    busy[:4, 300:] += 5
    phases = regimes.split(busy)
    assert [p.name for p in phases] == ["smooth", "congested"]
    assert int(np.flatnonzero(phases[1].cols)[0]) == 300
    assert regimes.split(quiet) == []
    assert regimes.change(True, 0.6, False, 0.1) == "vanishes"
    assert regimes.change(True, 0.6, True, -0.5) == "flips"
    assert regimes.change(True, 0.8, True, 0.4) == "weakens"
    assert regimes.change(False, 0.1, True, 0.5) == "appears"
    assert regimes.change(True, 0.6, True, 0.55) is None


def test_aggregates_that_echo_a_finer_pair_are_kept_apart(catalog: Catalog) -> None:
    from generator.correlate.analysis import _echoes

    names = ["namespace_memory_usage", "container_memory_working_set", "service_latency_p99", "container_cpu_usage"]
    labels = {n: set(catalog.signals[n].labels) for n in names}
    echo = _echoes(names, labels, catalog.derived)
    assert echo("namespace_memory_usage", "service_latency_p99")  # pod memory ↔ pod latency, summed
    assert not echo("container_memory_working_set", "service_latency_p99")  # the measured pair itself
    assert not echo("container_cpu_usage", "service_latency_p99")
    alone = _echoes(["namespace_memory_usage", "service_latency_p99"], labels, catalog.derived)
    assert not alone("namespace_memory_usage", "service_latency_p99")  # no finer pair measured: not an echo


def _one_pair_at_a_time(x: np.ndarray, i: np.ndarray, j: np.ndarray, autocorrelated: bool
                        ) -> tuple[list[float], list[int], list[int]]:
    """What pairwise.measure computes for all pairs at once, one pair at a time: the pair's common points
    taken out and ranked on their own (the engine's per-pair path before it was batched)."""
    rho, n, n_test = [], [], []
    for a, b in zip(i, j, strict=True):
        both = ~np.isnan(x[a]) & ~np.isnan(x[b])
        k = int(both.sum())
        n.append(k)
        if k < 3:
            rho.append(float("nan"))
            n_test.append(0)
            continue
        zz = np.nan_to_num(stats.standardised_ranks(np.stack([x[a, both], x[b, both]])))
        rho.append(float(zz[0] @ zz[1]))
        if autocorrelated:
            ww = stats.autocorrelation_weights(zz, stats.default_lags(k))
            n_test.append(int(stats.neff_from_inflation(k, 1 + 2 * ww[0] @ ww[1])))
        else:
            n_test.append(k)
    return rho, n, n_test


@pytest.mark.parametrize("autocorrelated", [True, False])
def test_pairs_with_gaps_are_measured_on_their_common_points_all_at_once(autocorrelated: bool) -> None:
    """Series with holes (missed scrapes widened, pods created late, nearly empty series, ties, a series
    constant where its partner has values) give the same ρ, n and n_eff batched as pair by pair, across more
    pairs than one batch holds."""
    rng = np.random.default_rng(7)
    rows, points = 80, 150
    x = np.cumsum(rng.normal(size=(rows, points)), axis=1)
    x[::3] = np.round(x[::3])  # ties
    x[rng.random(x.shape) < 0.05] = np.nan  # scattered holes
    x[1, :100] = np.nan  # created late
    x[2, 3:] = np.nan  # three points only
    x[4, :] = np.nan
    x[4, [10, 20]] = 1.0  # two points: never measured
    x[5, :] = 7.0
    x[5, 50:] = np.linspace(0, 1, points - 50)  # constant where row 1 has no values
    x[6, :] = x[7, :] * 2 + 1  # the same series, different holes
    i, j = np.triu_indices(rows, 1)
    assert i.size > pairwise.BATCH
    rho, n, n_test = pairwise.measure(x, i, j, autocorrelated)
    want_rho, want_n, want_test = _one_pair_at_a_time(x, i, j, autocorrelated)
    np.testing.assert_allclose(rho, want_rho, rtol=0, atol=1e-12)  # NaN where the reference has NaN
    assert n.tolist() == want_n and n_test.tolist() == want_test
    assert np.isnan(rho[(i == 4) | (j == 4)]).all() and (n[i == 2] <= 3).all()
    ok = ~np.isnan(rho)
    assert ok.sum() > 0.9 * i.size and (n_test[ok] < n[ok]).any() == autocorrelated


def test_series_with_gaps_in_every_row_are_tested_without_a_loop_per_pair() -> None:
    """Every row gappy (holes at different points in each): test_all measures each pair on its common points."""
    rng = np.random.default_rng(3)
    values = np.cumsum(rng.normal(size=(40, 200)), axis=1)
    values[20:] = values[:20] + 0.3 * np.cumsum(rng.normal(size=(20, 200)), axis=1)
    values[rng.random(values.shape) < 0.04] = np.nan
    labels = [{"pod": f"p{r % 20}"} for r in range(40)]
    rows = findings.encode(values, [0] * 20 + [1] * 20, ["a", "b"], labels)
    tested, _ = findings.test_all(rows, [(0, 1)], alpha=0.05, method="levels")
    assert tested.i.size == 20 and (tested.n < 200).all() and (tested.n > 150).all()
    want, n, _ = _one_pair_at_a_time(values, tested.i, tested.j, False)
    np.testing.assert_allclose(tested.rho, want, atol=1e-12)
    assert tested.n.tolist() == n and tested.significant.sum() >= 15


@pytest.mark.parametrize("keys, largest", [(3, 50), (2, 2**40), (5, 2**20)])  # the last does not fit in 63 bits
def test_join_groups_are_those_of_a_unique_over_rows(keys: int, largest: int) -> None:
    rng = np.random.default_rng(keys)
    raw = rng.integers(-1, 4, size=(500, keys))
    codes = np.where(raw < 0, -1, raw * (largest // 4))  # repeats, and -1 where a row lacks the label
    want = np.unique(codes, axis=0, return_inverse=True)[1].ravel()
    assert findings._groups(codes).tolist() == want.tolist()
    assert findings._groups(codes[:0]).size == 0
