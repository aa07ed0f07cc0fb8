"""Spearman engine: agreement with scipy, the paper's critical values, gaps, undefined series, autocorrelation
decoys, FDR, blockwise top-k and sliding windows. Fixed seeds throughout; no timing assertions (see bench/)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sp

from generator.correlate import stats, windows

N = 1440  # a day of 1-minute points


def _walks(seed: int, count: int = 20, n: int = N) -> np.ndarray:
    return np.cumsum(np.random.default_rng(seed).standard_normal((count, n)), axis=1)


def _pairs_found(res: stats.CorrelationResult) -> int:
    return int(np.triu(res.significant, 1).sum())


# ---------------------------------------------------------------- ρ, p, critical values


@pytest.mark.parametrize(("n", "expected"), [(30, 0.462892), (60, 0.330104), (247, 0.163620), (360, 0.135602)])
def test_critical_values_reproduce_the_paper(n: int, expected: float) -> None:
    assert round(stats.critical_value(n, 0.01), 6) == expected


def test_critical_value_is_where_p_crosses_alpha() -> None:
    for n in (11, 100, 1000):
        c = stats.critical_value(n, 0.05)
        assert stats.pvalue(np.array([c]), n)[0] == pytest.approx(0.05, rel=1e-9)
    # n <= 10: the exact permutation distribution (published tables: 0.794 at n = 10, α = 0.01)
    c = stats.critical_value(10, 0.01)
    assert round(c, 3) == 0.794 and stats.pvalue(np.array([c]), 10)[0] <= 0.01
    assert stats.pvalue(np.array([c - 0.013]), 10)[0] > 0.01  # ρ moves in steps of 12/990 at n = 10
    assert np.isnan(stats.critical_value(5, 0.01))  # no ρ at n = 5 reaches p ≤ 0.01
    table = stats.critical_value(np.array([[30, 60], [2, 360]]), 0.01)
    assert np.isnan(table[1, 0]) and round(float(table[1, 1]), 6) == 0.135602


def test_rho_and_pvalue_match_scipy_with_ties() -> None:
    rng = np.random.default_rng(1)
    x = rng.standard_normal((40, 200))
    x[:10] = np.round(x[:10])  # heavy ties
    x[10] = np.repeat(np.arange(20.0), 10)
    ref = sp.spearmanr(x, axis=1)
    rho, n = stats.spearman_matrix(x)
    assert n == 200
    np.testing.assert_allclose(rho, ref.statistic, rtol=0, atol=1e-12)
    res = stats.correlate(x, method="levels")
    off = ~np.eye(40, dtype=bool)
    np.testing.assert_allclose(res.pvalue[off], ref.pvalue[off], rtol=1e-9, atol=1e-15)
    assert res.critical == pytest.approx(stats.critical_value(200, 0.01))


def test_layout_is_series_by_time() -> None:
    x = np.random.default_rng(2).standard_normal((5, 50))
    np.testing.assert_allclose(stats.spearman_matrix(x)[0], sp.spearmanr(x.T).statistic, atol=1e-12)


def test_rank_rows_average_ties_and_nan() -> None:
    x = np.array([[3.0, 1.0, 3.0, np.nan, 2.0], [1.0, 1.0, 1.0, 1.0, 0.0]])
    r = stats.rank_rows(x)
    np.testing.assert_array_equal(r[0], [2.5, 0.0, 2.5, np.nan, 1.0])
    np.testing.assert_array_equal(r[1] + 1, sp.rankdata(x[1]))


@pytest.mark.parametrize(("block", "threads"), [(7, 1), (1 << 17, 2), (1 << 17, 3)])
def test_standardised_ranks_gap_free_path_matches_average_ranks(monkeypatch: pytest.MonkeyPatch,
                                                                block: int, threads: int) -> None:
    """The gap-free fast path (one constant vector per tie-free row, per-row scaling for tied rows, in cache-sized
    blocks over row chunks on threads) gives what the definition gives: scipy's average ranks, centred, scaled to
    unit norm; constant rows NaN. Rows enough for the threaded chunks, m from 3 up, ties of every shape."""
    from generator.correlate import ranks

    monkeypatch.setattr(ranks, "BLOCK", block)  # 7: one row per block, the block loop's every edge
    monkeypatch.setattr(ranks, "_workers", lambda size: min(threads, size))  # whatever the machine's load
    rng = np.random.default_rng(30)
    for m in (3, 4, 61, 1440):
        x = rng.standard_normal((400, m))
        x[::3] = np.round(x[::3])  # ties
        x[2::11, : m // 2] = -1.0  # one long tie
        x[1::7] = 2.5  # constant rows
        x[5] = np.arange(m)[::-1]  # sorted backwards
        expected = sp.rankdata(x, axis=1) - (m + 1) / 2
        with np.errstate(invalid="ignore", divide="ignore"):
            expected /= np.linalg.norm(expected, axis=1)[:, None]
        z = stats.standardised_ranks(x)
        np.testing.assert_allclose(z, expected, rtol=0, atol=1e-14)
        assert np.isnan(z[1::7]).all() and not np.isnan(z[5]).any()
        assert (np.isnan(z).all(axis=1) == (np.ptp(x, axis=1) == 0)).all()  # NaN rows: exactly the constant ones
    assert x.size >= 1 << 19  # the last case is big enough for threaded chunks


def test_pvalue_formula_and_bh_match_scipy() -> None:
    rho = np.array([0.0, 0.1, -0.3, 0.99, 1.0, np.nan])
    t = np.abs(rho) * np.sqrt(98 / (1 - rho**2 + 1e-300))
    p = stats.pvalue(rho, 100)
    np.testing.assert_allclose(p[:4], 2 * sp.t.sf(t[:4], 98), rtol=1e-10)
    assert p[4] == 0.0 and np.isnan(p[5])
    pv = np.random.default_rng(3).uniform(size=500) ** 3
    np.testing.assert_allclose(stats.benjamini_hochberg(pv), sp.false_discovery_control(pv), rtol=1e-12)
    assert np.isnan(stats.benjamini_hochberg(np.array([0.01, np.nan]))[1])


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="method"):
        stats.correlate(np.zeros((2, 5)), method="pearson")
    with pytest.raises(ValueError, match="alpha"):
        stats.correlate(np.zeros((2, 5)), alpha=1.0)
    with pytest.raises(ValueError, match="2-D"):
        stats.spearman_matrix(np.zeros(5))


# ---------------------------------------------------------------- undefined and gaps


def test_constant_and_empty_series_are_undefined_not_zero() -> None:
    x = np.random.default_rng(4).standard_normal((4, 100))
    x[1] = 7.0
    x[2] = np.nan
    x[3, :98] = np.nan
    res = stats.correlate(x, ["a", "flat", "gone", "two"], method="levels")
    assert res.undefined == ["flat", "gone", "two"]
    assert np.isnan(res.rho[1]).all() and np.isnan(res.rho[:, 1]).all()
    assert res.rho[0, 0] == 1.0 and np.isnan(res.rho[1, 1])
    assert not res.significant.any() and res.pairs() == []
    # "diff": a perfectly steady counter has no variation in its changes
    ramp = np.vstack([np.arange(100.0), x[0]])
    assert stats.correlate(ramp, ["ramp", "a"]).undefined == ["ramp"]


def test_infinities_are_gaps() -> None:
    x = np.random.default_rng(5).standard_normal((3, 200))
    y = x.copy()
    y[1, 10] = np.inf
    y[2, 20] = -np.inf
    rho, n = stats.spearman_matrix(y)
    keep = np.ones(200, bool)
    keep[[10, 20]] = False
    assert n == 198
    np.testing.assert_allclose(rho, sp.spearmanr(x[:, keep], axis=1).statistic, atol=1e-12)


def test_few_gaps_drop_the_points_for_everyone() -> None:
    x = np.random.default_rng(6).standard_normal((6, 300))
    y = x.copy()
    y[0, [3, 50]] = np.nan
    y[4, 200] = np.nan
    rho, n = stats.spearman_matrix(y)  # 3 of 300 points: below max_drop
    keep = np.ones(300, bool)
    keep[[3, 50, 200]] = False
    assert n == 297
    np.testing.assert_allclose(rho, sp.spearmanr(x[:, keep], axis=1).statistic, atol=1e-12)


def test_many_gaps_use_pairwise_complete_points() -> None:
    rng = np.random.default_rng(7)
    x = rng.standard_normal((10, 120))
    x[2] = np.round(x[2])
    x[0, :20] = x[1, :20] = np.nan  # shared pattern
    x[3, :40] = np.nan  # nests inside the first
    x[4, rng.choice(120, 15, replace=False)] = np.nan  # random holes: pair by pair
    x[5, rng.choice(120, 15, replace=False)] = np.nan
    x[6, 80:] = np.nan
    res = stats.correlate(x, method="levels", max_drop=0.0)
    assert isinstance(res.n, np.ndarray)
    for i in range(10):
        for j in range(10):
            both = np.isfinite(x[i]) & np.isfinite(x[j])
            assert res.n[i, j] == both.sum()
            if i != j:
                ref = sp.spearmanr(x[i, both], x[j, both])
                assert res.rho[i, j] == pytest.approx(ref.statistic, abs=1e-12)
                assert res.pvalue[i, j] == pytest.approx(ref.pvalue, rel=1e-9, abs=1e-15)
    np.testing.assert_array_equal(res.rho, res.rho.T)


# ---------------------------------------------------------------- autocorrelation: decoys and a planted pair


def test_random_walk_decoys_fool_levels_but_not_the_default() -> None:
    x = _walks(seed=11)
    assert _pairs_found(stats.correlate(x, method="levels")) > 100  # of 190: spurious
    assert _pairs_found(stats.correlate(x)) <= 1
    assert _pairs_found(stats.correlate(x, method="neff")) <= 1


def test_white_noise_levels_do_not_fool_the_default() -> None:
    # differencing white noise gives lag-1 autocorrelation −0.5; without n_eff this inflates false positives
    x = np.random.default_rng(12).standard_normal((30, N))
    assert _pairs_found(stats.correlate(x)) <= 1


@pytest.mark.parametrize("form", ["walk", "stationary"])
def test_planted_pair_is_found_by_the_default(form: str) -> None:
    rng = np.random.default_rng(13)
    dy = rng.standard_normal(N)
    y = np.cumsum(dy)
    x = np.cumsum(0.4 * dy + rng.standard_normal(N)) if form == "walk" else dy + rng.standard_normal(N)
    data = np.vstack([_walks(seed=14, count=8), y, x])
    res = stats.correlate(data)
    found = [(p.i, p.j) for p in res.pairs()]
    assert found == [(8, 9)]
    assert res.n == N - 1 and res.n_eff is not None and res.n_eff[8, 9] > 0.5 * N


def test_effective_n_shrinks_for_persistent_series() -> None:
    rng = np.random.default_rng(15)
    noise = rng.standard_normal((2, N))
    for data, low, high in ((noise, 0.9 * N, N), (np.cumsum(noise, axis=1), 3, 0.05 * N)):
        z = stats.standardised_ranks(data)
        w = stats.autocorrelation_weights(z, stats.default_lags(N))
        neff = stats.effective_n(N, w, w)
        assert low <= neff[0, 1] <= high


# ---------------------------------------------------------------- results, top-k


def test_significant_pairs_sorted_by_strength() -> None:
    rng = np.random.default_rng(16)
    base = rng.standard_normal(500)
    data = np.vstack([base, base + 0.3 * rng.standard_normal(500), -base + rng.standard_normal(500),
                      rng.standard_normal(500)])
    pairs = stats.correlate(data, ["a", "b", "c", "d"], method="levels").pairs()
    assert [abs(p.rho) for p in pairs] == sorted((abs(p.rho) for p in pairs), reverse=True)
    assert (pairs[0].a, pairs[0].b) == ("a", "b") and all("d" not in (p.a, p.b) for p in pairs)
    assert all(p.qvalue <= 0.01 and p.n == 500 for p in pairs)


@pytest.mark.parametrize("with_gaps", [False, True])
def test_top_k_blocks_agree_with_the_full_matrix(with_gaps: bool) -> None:
    rng = np.random.default_rng(17)
    common = np.cumsum(rng.standard_normal(400))
    data = np.cumsum(rng.standard_normal((25, 400)), axis=1) + np.outer(rng.uniform(0, 2, 25), common)
    if with_gaps:
        data[3, :100] = np.nan
        data[9, rng.choice(400, 60, replace=False)] = np.nan
    targets = [0, 3, 9, 24]
    full = stats.correlate(data, method="neff")
    top = stats.top_k_partners(data, targets, k=6, block=7, method="neff")
    for t, partners in zip(targets, top, strict=True):
        a = np.abs(full.rho[t])
        a[t] = -1
        expected = sorted(range(25), key=lambda c: (-a[c], c))[:6]
        assert [p.index for p in partners] == expected
        for p in partners:
            assert p.rho == pytest.approx(full.rho[t, p.index], abs=1e-12)
            assert p.pvalue == pytest.approx(full.pvalue[t, p.index], rel=1e-9, abs=1e-300)
            assert p.n == np.broadcast_to(full.n, full.rho.shape)[t, p.index]
            assert p.n_eff == full.n_eff[t, p.index]
    everything = stats.top_k_partners(data, [0, 3], k=30, block=10, method="neff")
    assert len(everything[0]) == 24  # all partners, self excluded
    q = {(t, p.index): p.qvalue for t, ps in zip([0, 3], everything, strict=True) for p in ps}
    assert q[(0, 3)] == q[(3, 0)]  # one test, seen from both targets


# ---------------------------------------------------------------- sliding windows


@pytest.mark.parametrize("method", stats.METHODS)
def test_windows_batch_path_matches_per_window_analysis(method: str) -> None:
    x = _walks(seed=18, count=6, n=200)
    x[2] = np.round(x[2])
    res = windows.sliding(x, 30, method=method, timestamps=np.arange(200) * 60)
    assert res.stride == 15 and list(res.ends[:3]) == [29, 44, 59]
    np.testing.assert_array_equal(res.end_times, res.ends * 60)
    for w, end in enumerate(res.ends):
        ref = stats.correlate(x[:, end - 29 : end + 1], method=method)
        for k, (i, j) in enumerate(res.pairs):
            assert res.rho[k, w] == pytest.approx(ref.rho[i, j], abs=1e-12)
            assert res.pvalue[k, w] == pytest.approx(ref.pvalue[i, j], rel=1e-9, abs=1e-15)
    if method == "levels":
        assert np.allclose(res.critical, 0.462892, atol=1e-6)


def test_windows_with_gaps_and_selected_pairs() -> None:
    x = _walks(seed=19, count=4, n=120)
    x[1, 40] = np.nan
    res = windows.sliding(x, 60, stride=20, pairs=[(2, 0), (1, 3)], method="levels")
    assert res.pairs == [(0, 2), (1, 3)]
    assert res.n[1].tolist() == [59, 59, 59, 60]  # windows [0,59], [20,79], [40,99] hold the gap, [60,119] not
    ref = stats.correlate(x[:, 20:80], method="levels")
    assert res.rho[1, 1] == pytest.approx(ref.rho[1, 3], abs=1e-12)


@pytest.mark.parametrize("method", stats.METHODS)
def test_windows_with_gaps_measure_each_pair_on_its_common_points(method: str) -> None:
    """Holes in different places in every series (missed scrapes of different targets), a series that starts
    late, one constant where its partner has values: each pair in each window is what stats.correlate gives for
    those two series alone on that window."""
    rng = np.random.default_rng(23)
    x = np.cumsum(rng.normal(size=(8, 240)), axis=1)
    x[rng.random(x.shape) < 0.03] = np.nan
    x[3, :150] = np.nan
    x[5, 100:] = 4.0
    pairs = [(a, b) for a in range(8) for b in range(a + 1, 8)]
    res = windows.sliding(x, 30, pairs=pairs, method=method)
    gappy = 0
    for w, end in enumerate(res.ends):
        for k, (i, j) in enumerate(res.pairs):
            part = x[[i, j], end - 29: end + 1]
            gappy += bool(np.isnan(part).any())
            ref = stats.correlate(part, method=method)
            assert res.rho[k, w] == pytest.approx(ref.rho[0, 1], abs=1e-12, nan_ok=True), (i, j, w)
            if not np.isnan(ref.rho[0, 1]):
                assert res.n[k, w] == np.broadcast_to(np.asarray(ref.n), (2, 2))[0, 1], (i, j, w)
            else:
                assert res.n[k, w] == 0 and np.isnan(res.pvalue[k, w])
    assert gappy > 100 and np.isnan(res.rho).sum() > 10 and (~np.isnan(res.rho)).sum() > 200


def test_stability_separates_a_real_relation_from_decoys() -> None:
    rng = np.random.default_rng(20)
    dy = rng.standard_normal(N)
    data = np.vstack([np.cumsum(dy), np.cumsum(dy + 0.5 * rng.standard_normal(N)), _walks(seed=21, count=4)])
    both = windows.long_and_short(data, windows=(30, 60, 5000))
    assert set(both.short) == {30, 60}
    for res in both.short.values():
        planted = res.pairs.index((0, 1))
        assert res.stability[planted] > 0.9
        others = np.delete(res.stability, planted)
        assert others.max() < 0.2 and others.mean() < 0.05
    assert [(p.i, p.j) for p in both.long.pairs()] == [(0, 1)]


def test_window_must_fit() -> None:
    with pytest.raises(ValueError, match="window"):
        windows.sliding(np.zeros((2, 20)), 30)
