"""Spearman rank correlation for whole matrices of monitoring series, with an honest significance test.

Layout: every function takes ``data`` shaped ``(n_series, n_points)`` — one row per series, one column per
time point, all rows on the same time grid. Non-finite values (NaN, ±Inf) are gaps.

Ranks: average ranks for ties (what scipy.stats.rankdata and spearmanr do). ρ is the Pearson correlation of
the ranks, computed for all pairs with one float64 matrix product of standardised ranks, clipped to [-1, 1].

Gaps. Pairwise-complete observations for every pair would mean re-ranking every pair; that is too slow for
thousands of series, so:

1. time points where no usable series has a value are dropped;
2. if the time points where *some* series has a gap are at most ``max_drop`` (default 5 %) of the rest, they
   are dropped for everyone: one common n, the fast path;
3. otherwise series without gaps keep the fast path over all points, and only pairs that involve a series
   with gaps use pairwise-complete observations: series sharing one gap pattern are re-ranked together against
   every series that has data wherever they do, and only what is left (gap patterns that do not nest) is done
   pair by pair. ``n`` is then a matrix of the number of points used per pair.

Undefined: a series with fewer than 3 values, or with all values equal (after the method's transform, so for
"diff" a perfectly steady counter), has no rank correlation. Its ρ and p are NaN (diagonal too), it is never
significant, and it is listed in ``CorrelationResult.undefined``; it is never a crash nor a silent 0. A pair
whose common points hold a constant stretch of one series is NaN in the same way.

Significance: two-tailed Student t with n − 2 degrees of freedom, as in the paper: critical
|ρ| = t / sqrt(n − 2 + t²) with t = t_{1−α/2, n−2}; p from t = ρ·sqrt((n − 2)/(1 − ρ²)). Pairs are declared
significant after Benjamini–Hochberg over all pairs tested (upper triangle only) at the same α.

Autocorrelation, and the methods. Monitoring series are strongly autocorrelated, and the t test assumes
independent points: on the levels of two independent random walks the paper's test calls ~90 % of pairs
significant at α = 0.01; for AR(1) series with φ = 0.9 still ~40 %, for 5-minute rates sampled every minute
~15 % (our simulations, 1,440 points). So:

* ``"diff"`` (default): ρ of the first differences — "do the changes move together" — which is what an
  operator means by "CPU moves with traffic", and which removes trends and random-walk drift. Differencing
  alone is not enough: it turns white noise into a series with lag-1 autocorrelation −0.5 and overlapping
  rate windows keep structure at several lags (both give ~3–4× the nominal false-positive rate), so p-values
  and critical values use an effective sample size (Pyper & Peterman 1998, Bartlett's formula):
  1/n_eff = 1/n + (2/n)·Σ_{k=1}^{n/5} ((n − k)/n)·r_a(k)·r_b(k), with r(k) the lag-k autocorrelations of the
  two series' ranks, n_eff clipped to [3, n] and rounded down. One matrix product gives it for all pairs.
  Calibrated (false-positive rate ≈ α) on white noise, random walks, AR(1) and rate-of-counter series.
* ``"neff"``: ρ of the levels, tested with the same n_eff. Also calibrated, but a relation between changes
  (x driven by y's increments) is invisible in levels, and trends leave almost no effective points.
* ``"levels"``: the paper's plain method (levels, n points, no correction), kept to reproduce its numbers.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import fft as sp_fft
from scipy import special

METHODS = ("diff", "levels", "neff")
DEFAULT_METHOD = "diff"
DEFAULT_ALPHA = 0.01
DEFAULT_MAX_DROP = 0.05

Array = NDArray[np.float64]


# ---------------------------------------------------------------- ranks


def _tie_average(s: Array) -> Array:
    """0-based average positions of ties in row-sorted ``s`` (NaN, sorted last, never ties)."""
    k, m = s.shape
    start = np.ones((k, m), dtype=bool)
    start[:, 1:] = s[:, 1:] != s[:, :-1]
    flat = start.ravel()
    first = np.flatnonzero(flat)
    last = np.empty_like(first)
    last[:-1] = first[1:] - 1
    last[-1] = k * m - 1
    group = np.cumsum(flat) - 1
    return ((first + last) * 0.5)[group].reshape(k, m) - (np.arange(k) * m)[:, None]


def _rank_into(x: Array, out: Array) -> None:
    k, m = x.shape
    order = np.argsort(x, axis=1)  # NaN sorts last
    s = np.take_along_axis(x, order, axis=1)
    tied = (s[:, 1:] == s[:, :-1]).any(axis=1)
    pos = np.broadcast_to(np.arange(m, dtype=np.float64), (k, m))
    if tied.any():
        pos = np.array(pos)
        pos[tied] = _tie_average(s[tied])
    np.put_along_axis(out, order, pos, axis=1)


def _ranks(x: Array, nan: NDArray[np.bool_] | None) -> Array:
    out = np.empty(x.shape)
    workers = _workers(x.shape[0])
    if x.size < 1 << 19 or workers < 2:
        _rank_into(x, out)
    else:  # argsort releases the GIL: rank row chunks on all cores
        spans = list(itertools.pairwise(np.linspace(0, x.shape[0], workers + 1).astype(int)))
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda s: _rank_into(x[s[0] : s[1]], out[s[0] : s[1]]), spans))
    if nan is not None:
        out[nan] = np.nan
    return out


def rank_rows(x: ArrayLike) -> Array:
    """Average ranks (0-based, ties averaged) along each row; NaN stays NaN and is not ranked."""
    x = _two_d(x)
    nan = np.isnan(x)
    return _ranks(x, nan if nan.any() else None)


def standardised_ranks(x: ArrayLike) -> Array:
    """Ranks per row, centred and scaled to unit norm, gaps as 0, so that Z @ Z.T is Spearman ρ.

    A row with fewer than 3 values or no variation is all NaN (its ρ is undefined)."""
    x = _two_d(x)
    nan = np.isnan(x)
    r = _ranks(x, None)
    if nan.any():
        count = (~nan).sum(axis=1)
        r -= ((count - 1) * 0.5)[:, None]  # mean of 0-based average ranks over the values present
        r[nan] = 0.0
    else:
        count = np.full(r.shape[0], r.shape[1])
        r -= (r.shape[1] - 1) * 0.5
    norm = np.sqrt(np.einsum("ij,ij->i", r, r))
    bad = (norm == 0) | (count < 3)
    r /= np.where(bad, 1.0, norm)[:, None]
    if bad.any():
        r[bad] = np.nan
    return r


def _two_d(x: ArrayLike) -> Array:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"expected a 2-D array (n_series, n_points), got shape {x.shape}")
    return x


def spearman_matrix(data: ArrayLike, *, max_drop: float = DEFAULT_MAX_DROP) -> tuple[Array, int | NDArray[np.int64]]:
    """Spearman ρ for all pairs of rows of ``data`` (n_series, n_points), as-is (no method transform).

    Returns (ρ matrix, n): n is an int when every pair used the same points, else a matrix."""
    x = _finite(data)
    plan = _plan(x, max_drop)
    idx = np.arange(x.shape[0])
    rho, n, _ = _cross(x, idx, idx, plan)
    rho = _finish_square(rho, plan.defined)
    return rho, _collapse(n, plan.defined)


# ---------------------------------------------------------------- gaps


@dataclass(frozen=True)
class _Plan:
    keep: NDArray[np.bool_]  # time points used
    defined: NDArray[np.bool_]  # series with ≥ 3 values and some variation on the kept points
    gappy: NDArray[np.bool_]  # defined series with gaps among the kept points
    n_points: int


def _varies(x: Array, valid: NDArray[np.bool_] | None = None) -> NDArray[np.bool_]:
    """Series with at least 3 values that are not all equal (``valid`` None: no gaps)."""
    if x.shape[1] == 0:
        return np.zeros(x.shape[0], dtype=bool)
    if valid is None:
        return (np.ptp(x, axis=1) > 0) & (x.shape[1] >= 3)
    hi, lo = np.fmax.reduce(x, axis=1), np.fmin.reduce(x, axis=1)  # fmax/fmin skip NaN without copying
    with np.errstate(invalid="ignore"):
        return (valid.sum(axis=1) >= 3) & (hi > lo)


def _plan(x: Array, max_drop: float) -> _Plan:
    valid = ~np.isnan(x)
    if valid.all():
        defined = _varies(x)
        return _Plan(np.ones(x.shape[1], bool), defined, np.zeros(x.shape[0], bool), x.shape[1])
    live = _varies(x, valid)
    keep = valid[live].any(axis=0) if live.any() else np.ones(x.shape[1], bool)
    cols = np.flatnonzero(keep)
    bad = ~valid[np.ix_(live, cols)].all(axis=0)
    if bad.sum() <= max_drop * cols.size:  # few holes: drop those points for everyone, keep one n
        keep[cols[bad]] = False
    vk = valid[:, keep]
    defined = live & _varies(x[:, keep], vk)
    return _Plan(keep, defined, defined & ~vk.all(axis=1), int(keep.sum()))


def _take(x: Array, idx: NDArray[np.int64]) -> Array:
    return x if idx.size == x.shape[0] and (idx == np.arange(idx.size)).all() else x[idx]


def _cross(
    x: Array, a: NDArray[np.int64], b: NDArray[np.int64], plan: _Plan
) -> tuple[Array, int | NDArray[np.int64], tuple[Array, Array]]:
    """ρ and n (an int when all pairs share the points) between rows ``a`` and rows ``b`` under ``plan``, plus
    each row's standardised ranks (for the autocorrelations behind n_eff)."""
    same = a.shape == b.shape and bool((a == b).all())
    xk = x if plan.keep.all() else x[:, plan.keep]
    m = xk.shape[1]
    ga, gb = plan.gappy[a], plan.gappy[b]
    za = standardised_ranks(_take(xk, a))  # gappy rows: ranked over their own points, for the autocorrelation
    zb = za if same else standardised_ranks(_take(xk, b))
    if not ga.any() and not gb.any():
        return za @ zb.T, m, (za, zb)
    rho = np.full((a.size, b.size), np.nan)
    n = np.zeros((a.size, b.size), dtype=np.int64)
    fa, fb = ~ga, ~gb
    rho[np.ix_(fa, fb)] = za[fa] @ zb[fb].T
    n[np.ix_(fa, fb)] = m
    done = fa[:, None] & fb[None, :]
    undefined = ~plan.defined[a][:, None] | ~plan.defined[b][None, :]
    done |= undefined
    va = ~np.isnan(xk[a])
    vb = va if same else ~np.isnan(xk[b])
    masks, owner = np.unique(np.concatenate([va[ga], vb[gb]]), axis=0, return_inverse=True)
    owner = owner.ravel()
    owner_a, owner_b = np.full(a.size, -1), np.full(b.size, -1)
    owner_a[ga], owner_b[gb] = owner[: ga.sum()], owner[ga.sum() :]
    # rows that have data wherever a gap pattern has data can be re-ranked with that whole group at once
    f = masks.T.astype(np.float32)
    cover_a = (((~va).astype(np.float32) @ f) == 0) & plan.defined[a][:, None]
    cover_b = cover_a if same else (((~vb).astype(np.float32) @ f) == 0) & plan.defined[b][:, None]

    def fill(ra: NDArray[np.bool_], rb: NDArray[np.bool_], cols: NDArray[np.bool_]) -> None:
        block = standardised_ranks(xk[a[ra]][:, cols]) @ standardised_ranks(xk[b[rb]][:, cols]).T
        rho[np.ix_(ra, rb)] = block
        n[np.ix_(ra, rb)] = int(cols.sum())
        done[np.ix_(ra, rb)] = True
        if same:
            rho[np.ix_(rb, ra)] = block.T
            n[np.ix_(rb, ra)] = int(cols.sum())
            done[np.ix_(rb, ra)] = True

    for g, cols in enumerate(masks):
        in_a, in_b = owner_a == g, owner_b == g
        if in_a.any() and cover_b[:, g].any():
            fill(in_a, cover_b[:, g], cols)
        if not same and in_b.any() and cover_a[:, g].any():
            fill(cover_a[:, g], in_b, cols)
    for i, j in zip(*np.nonzero(~done), strict=True):  # gap patterns that do not nest: pair by pair
        if same and j < i:
            continue
        both = va[i] & vb[j]
        z = standardised_ranks(np.stack([xk[a[i], both], xk[b[j], both]]))
        rho[i, j] = z[0] @ z[1]
        n[i, j] = int(both.sum())
        if same:
            rho[j, i], n[j, i] = rho[i, j], n[i, j]
    n[undefined] = 0
    return rho, n, (za, zb)


# ---------------------------------------------------------------- significance


def critical_value(n: ArrayLike, alpha: float = DEFAULT_ALPHA) -> Array | float:
    """Critical |ρ| at two-tailed ``alpha`` for n points: t / sqrt(n − 2 + t²), t = t_{1−α/2, n−2}; NaN for n < 3."""
    _check_alpha(alpha)
    n_arr = np.asarray(n, dtype=np.float64)
    whole = n_arr.size > 64 and bool(np.all((n_arr == np.round(n_arr)) & (n_arr >= 0)))
    if whole:  # a matrix of integer n: one table lookup instead of millions of inverse-t evaluations
        table = _critical(np.arange(int(n_arr.max()) + 1, dtype=np.float64), alpha)
        return table[n_arr.astype(np.int64)]
    crit = _critical(n_arr, alpha)
    return float(crit) if crit.ndim == 0 else crit


def _critical(n: Array, alpha: float) -> Array:
    df = n - 2
    with np.errstate(invalid="ignore"):
        t = special.stdtrit(np.where(df >= 1, df, np.nan), 1 - alpha / 2)
        return t / np.sqrt(df + t * t)


def pvalue(rho: ArrayLike, n: ArrayLike) -> Array:
    """Two-tailed p of ρ with n (or n_eff) points, from t = ρ·sqrt((n − 2)/(1 − ρ²)) with n − 2 dof."""
    rho = np.asarray(rho, dtype=np.float64)
    df = np.broadcast_to(np.asarray(n, dtype=np.float64) - 2, rho.shape)
    if rho.ndim == 1 and rho.size >= 1 << 18:  # millions of pairs: the t CDF dominates, split it over the cores
        spans = list(itertools.pairwise(np.linspace(0, rho.size, _workers(rho.size) + 1).astype(int)))
        with ThreadPoolExecutor(len(spans)) as pool:
            return np.concatenate(list(pool.map(lambda s: _pvalue(rho[s[0] : s[1]], df[s[0] : s[1]]), spans)))
    return _pvalue(rho, df)


def _pvalue(rho: Array, df: Array) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.abs(rho) * np.sqrt(df / ((1 - rho) * (1 + rho)))
        p = 2 * special.stdtr(np.where(df >= 1, df, np.nan), -t)
    return np.where(np.isnan(rho), np.nan, p)


def _workers(size: int) -> int:
    return max(1, min(os.cpu_count() or 1, 8, size))


def benjamini_hochberg(p: ArrayLike) -> Array:
    """BH-adjusted p-values (q) of a 1-D array; NaN entries are not tests and stay NaN."""
    p = np.asarray(p, dtype=np.float64)
    q = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    if ok.size:
        order = ok[np.argsort(p[ok])]  # ties end with equal q whatever their order
        ranked = p[order] * (ok.size / np.arange(1, ok.size + 1))
        q[order] = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    return q


def effective_n(n: ArrayLike, wa: Array, wb: Array) -> NDArray[np.int64]:
    """n_eff for every pair of rows of ``wa`` × ``wb`` (weighted autocorrelations, see ``autocorrelation_weights``)."""
    return neff_from_inflation(n, 1 + 2 * (wa @ wb.T))


def neff_from_inflation(n: ArrayLike, inflation: ArrayLike) -> NDArray[np.int64]:
    """n / inflation clipped to [3, n] and rounded down (0 where undefined)."""
    n = np.asarray(n, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        neff = np.floor(np.clip(n / np.maximum(inflation, 1e-12), 3, np.maximum(n, 3)))
    return np.where(np.isfinite(neff), neff, 0).astype(np.int64)


def autocorrelation_weights(z: Array, lags: int) -> Array:
    """Rows of r(k)·sqrt((n − k)/n) for k = 1..lags from standardised ranks ``z`` (gaps as 0, NaN rows stay NaN)."""
    m = z.shape[1]
    if m < 2:
        return np.zeros((z.shape[0], 1))
    lags = max(1, min(lags, m - 1))
    if lags <= 16:
        acf = np.stack([np.einsum("ij,ij->i", z[:, :-j], z[:, j:]) for j in range(1, lags + 1)], axis=1)
    else:
        size = sp_fft.next_fast_len(m + lags, real=True)  # padding by `lags` is enough: no wrap-around
        f = sp_fft.rfft(z, size, axis=1, workers=-1)
        acf = sp_fft.irfft(f.real**2 + f.imag**2, size, axis=1, workers=-1)[:, 1 : lags + 1]
    return acf * np.sqrt((m - np.arange(1, lags + 1)) / m)


def default_lags(n_points: int) -> int:
    return max(1, n_points // 5)


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    i: int
    j: int
    rho: float
    pvalue: float
    qvalue: float
    n: int
    n_eff: int | None = None  # the effective n behind p ("diff", "neff")


@dataclass
class CorrelationResult:
    series: list[str]
    rho: Array
    pvalue: Array
    qvalue: Array  # Benjamini–Hochberg over the upper triangle
    n: int | NDArray[np.int64]  # points used, per pair when it varies
    n_eff: NDArray[np.int64] | None  # effective points used by the test ("diff", "neff"), else None
    critical: float | Array  # critical |ρ| at alpha: a number for one n, else per pair
    alpha: float
    method: str
    significant: NDArray[np.bool_]  # after FDR, symmetric, diagonal False
    undefined: list[str]

    def pairs(self) -> list[Pair]:
        return significant_pairs(self)


def correlate(
    data: ArrayLike,
    series: Sequence[str] | None = None,
    *,
    alpha: float = DEFAULT_ALPHA,
    method: str = DEFAULT_METHOD,
    max_drop: float = DEFAULT_MAX_DROP,
) -> CorrelationResult:
    """Full long-window analysis of ``data`` (n_series, n_points): ρ, p, BH, significance, undefined series."""
    _check_alpha(alpha)
    x = transform(data, method)
    names = _names(series, x.shape[0])
    plan = _plan(x, max_drop)
    idx = np.arange(x.shape[0])
    rho, n, (z, _) = _cross(x, idx, idx, plan)
    rho = _finish_square(rho, plan.defined)
    n_out = _collapse(n, plan.defined)
    n_eff = None
    n_test: int | NDArray[np.int64] = n
    if method != "levels":
        w = autocorrelation_weights(z, default_lags(plan.n_points))
        n_eff = effective_n(n, w, w)
        n_eff = np.minimum(n_eff, n_eff.T)  # exact symmetry whatever the BLAS does
        np.fill_diagonal(n_eff, 0)  # a series with itself is not a test
        n_test = n_eff
    iu = np.triu_indices(len(names), 1)
    p = _mirror(pvalue(rho[iu], np.broadcast_to(n_test, rho.shape)[iu]), iu, len(names))
    q = _mirror(benjamini_hochberg(p[iu]), iu, len(names))
    return CorrelationResult(
        series=names,
        rho=rho,
        pvalue=p,
        qvalue=q,
        n=n_out,
        n_eff=n_eff,
        critical=critical_value(n_out if n_eff is None else n_eff, alpha),
        alpha=alpha,
        method=method,
        significant=np.nan_to_num(q, nan=1.0) <= alpha,
        undefined=[names[i] for i in np.flatnonzero(~plan.defined)],
    )


def significant_pairs(result: CorrelationResult) -> list[Pair]:
    """Significant pairs (after FDR), strongest |ρ| first, ties in index order."""
    i, j = np.nonzero(np.triu(result.significant, 1))
    n = np.broadcast_to(np.asarray(result.n), result.rho.shape)
    ne = result.n_eff
    out = [
        Pair(result.series[a], result.series[b], int(a), int(b), float(result.rho[a, b]),
             float(result.pvalue[a, b]), float(result.qvalue[a, b]), int(n[a, b]),
             None if ne is None else int(ne[a, b]))
        for a, b in zip(i, j, strict=True)
    ]
    return sorted(out, key=lambda pr: (-abs(pr.rho), pr.i, pr.j))


@dataclass(frozen=True)
class Partner:
    index: int
    rho: float
    pvalue: float
    qvalue: float  # BH over all pairs tested in the call (targets × all series)
    n: int
    significant: bool
    n_eff: int | None = None


def top_k_partners(
    data: ArrayLike,
    targets: Sequence[int],
    k: int = 10,
    *,
    block: int = 2048,
    alpha: float = DEFAULT_ALPHA,
    method: str = DEFAULT_METHOD,
    max_drop: float = DEFAULT_MAX_DROP,
) -> list[list[Partner]]:
    """For each target row, its k partners with the largest |ρ| (all series scanned, ``block`` rows at a time).

    Memory is O(len(targets) × block) for the products plus O(len(targets) × n_series) for ρ and p; no
    n_series² matrix is ever built. Same gaps policy, method and tests as ``correlate``; BH runs over the
    distinct pairs tested here, so q differs from a full-matrix run."""
    _check_alpha(alpha)
    x = transform(data, method)
    tg = np.asarray(targets, dtype=np.int64)
    if tg.size and (tg.min() < 0 or tg.max() >= x.shape[0]):
        raise IndexError("target index out of range")
    if np.unique(tg).size != tg.size:
        raise ValueError("duplicate targets")
    plan = _plan(x, max_drop)
    if not plan.keep.all():  # slice the time points once, not once per block
        x = x[:, plan.keep]
        plan = _Plan(np.ones(x.shape[1], bool), plan.defined, plan.gappy, plan.n_points)
    lags = default_lags(plan.n_points)
    total = x.shape[0]
    rho = np.full((tg.size, total), np.nan)
    p = np.full((tg.size, total), np.nan)
    n_all = np.zeros((tg.size, total), dtype=np.int64)
    neff_all = np.zeros((tg.size, total), dtype=np.int64)
    for lo in range(0, total, max(1, block)):
        cols = np.arange(lo, min(lo + block, total))
        r, n, (za, zb) = _cross(x, tg, cols, plan)
        n_test = n if method == "levels" else effective_n(n, *(autocorrelation_weights(z, lags) for z in (za, zb)))
        rho[:, cols] = np.clip(r, -1.0, 1.0)
        p[:, cols] = pvalue(rho[:, cols], n_test)
        n_all[:, cols] = n
        neff_all[:, cols] = n_test
    # each distinct unordered pair is one test; a target paired with itself is not a test
    tested = tg[:, None] != np.arange(total)[None, :]
    is_target = np.zeros(total, dtype=bool)
    is_target[tg] = True
    tested &= ~(is_target[None, :] & (np.arange(total)[None, :] < tg[:, None]))
    q = np.full(p.shape, np.nan)
    q[tested] = benjamini_hochberg(p[tested])
    pos = {int(t): r for r, t in enumerate(tg)}
    for r, t in enumerate(tg):  # mirror q onto the duplicate (target, smaller target) cells
        for c in np.flatnonzero(is_target[:t]):
            q[r, c] = q[pos[int(c)], t]
    out: list[list[Partner]] = []
    for r, t in enumerate(tg):
        a = np.abs(rho[r])
        a[t] = np.nan
        order = np.lexsort((np.arange(total), -np.nan_to_num(a, nan=-1.0)))  # strongest first, then by index
        order = order[~np.isnan(a[order])][:k]
        out.append([Partner(int(c), float(rho[r, c]), float(p[r, c]), float(q[r, c]), int(n_all[r, c]),
                            bool(q[r, c] <= alpha), None if method == "levels" else int(neff_all[r, c]))
                    for c in order])
    return out


# ---------------------------------------------------------------- helpers


def transform(data: ArrayLike, method: str) -> Array:
    """The values the method correlates: first differences for "diff", the levels otherwise."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}, expected one of {', '.join(METHODS)}")
    x = _finite(data)
    return np.diff(x, axis=1) if method == "diff" else x


def _finite(data: ArrayLike) -> Array:
    """``data`` as float64 with every non-finite value as NaN (copied only when something must change)."""
    x = _two_d(data)
    bad = ~np.isfinite(x)
    if bad.any() and not np.isnan(x[bad]).all():
        x = x.copy()
        x[bad] = np.nan
    return x


def _check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")


def _names(series: Sequence[str] | None, count: int) -> list[str]:
    if series is None:
        return [str(i) for i in range(count)]
    if len(series) != count:
        raise ValueError(f"{len(series)} series names for {count} rows")
    return list(series)


def _finish_square(rho: Array, defined: NDArray[np.bool_]) -> Array:
    np.clip(rho, -1.0, 1.0, out=rho)
    d = np.arange(rho.shape[0])
    rho[d, d] = np.where(defined, 1.0, np.nan)
    return rho


def _mirror(upper: Array, iu: tuple[NDArray[np.int64], NDArray[np.int64]], size: int) -> Array:
    out = np.full((size, size), np.nan)
    out[iu] = upper
    out.T[iu] = upper
    return out


def _collapse(n: int | NDArray[np.int64], defined: NDArray[np.bool_]) -> int | NDArray[np.int64]:
    """One int when every defined pair used the same points (the usual case), else the matrix."""
    if isinstance(n, int):
        return n
    used = n[np.ix_(defined, defined)]
    if used.size and (used == used.flat[0]).all():
        return int(used.flat[0])
    return n
