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

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import special, stats

from generator.correlate import gaps

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


def _rank_chunk(x: Array) -> Array:
    k, m = x.shape
    order = np.argsort(x, axis=1)  # NaN sorts last
    s = np.take_along_axis(x, order, axis=1)
    tied = (s[:, 1:] == s[:, :-1]).any(axis=1)
    pos = np.broadcast_to(np.arange(m, dtype=np.float64), (k, m))
    if tied.any():
        pos = np.array(pos)
        pos[tied] = _tie_average(s[tied])
    out = np.empty((k, m))
    np.put_along_axis(out, order, pos, axis=1)
    return out


def rank_rows(x: ArrayLike) -> Array:
    """Average ranks (0-based, ties averaged) along each row; NaN stays NaN and is not ranked."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"expected a 2-D array (n_series, n_points), got shape {x.shape}")
    workers = min(os.cpu_count() or 1, 8, x.shape[0])
    if x.size < 1 << 19 or workers < 2:
        out = _rank_chunk(x)
    else:  # argsort releases the GIL: rank row chunks on all cores
        out = np.empty(x.shape)
        bounds = np.linspace(0, x.shape[0], workers + 1).astype(int)
        with ThreadPoolExecutor(workers) as pool:
            parts = pool.map(lambda b: _rank_chunk(x[b[0] : b[1]]), zip(bounds[:-1], bounds[1:], strict=True))
            for (lo, hi), part in zip(zip(bounds[:-1], bounds[1:], strict=True), parts, strict=True):
                out[lo:hi] = part
    nan = np.isnan(x)
    if nan.any():
        out[nan] = np.nan
    return out


def standardised_ranks(x: ArrayLike) -> Array:
    """Ranks per row, centred and scaled to unit norm, gaps as 0, so that Z @ Z.T is Spearman ρ.

    A row with fewer than 3 values or no variation is all NaN (its ρ is undefined)."""
    r = rank_rows(x)
    nan = np.isnan(r)
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
    r[bad] = np.nan
    return r


def spearman_matrix(data: ArrayLike, *, max_drop: float = DEFAULT_MAX_DROP) -> tuple[Array, int | NDArray[np.int64]]:
    """Spearman ρ for all pairs of rows of ``data`` (n_series, n_points), as-is (no method transform).

    Returns (ρ matrix, n): n is an int when every pair used the same points, else a matrix."""
    x = _finite(data)
    plan = gaps.plan(x, max_drop)
    idx = np.arange(x.shape[0])
    rho, n, _ = gaps.cross(x, idx, idx, plan, _zrank=standardised_ranks)
    rho = _finish_square(rho, plan.defined)
    return rho, _collapse(n, plan.defined)


# ---------------------------------------------------------------- significance


def critical_value(n: ArrayLike, alpha: float = DEFAULT_ALPHA) -> Array | float:
    """Critical |ρ| at two-tailed ``alpha`` for n points: t / sqrt(n − 2 + t²), t = t_{1−α/2, n−2}; NaN for n < 3."""
    _check_alpha(alpha)
    n_arr = np.asarray(n, dtype=np.float64)
    uniq, inverse = np.unique(n_arr, return_inverse=True)  # n_eff has few distinct values: evaluate each once
    df = uniq - 2
    with np.errstate(invalid="ignore"):
        t = special.stdtrit(np.where(df >= 1, df, np.nan), 1 - alpha / 2)
        crit = (t / np.sqrt(df + t * t))[inverse].reshape(n_arr.shape)
    return float(crit) if crit.ndim == 0 else crit


def pvalue(rho: ArrayLike, n: ArrayLike) -> Array:
    """Two-tailed p of ρ with n (or n_eff) points, from t = ρ·sqrt((n − 2)/(1 − ρ²)) with n − 2 dof."""
    rho = np.asarray(rho, dtype=np.float64)
    df = np.asarray(n, dtype=np.float64) - 2
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.abs(rho) * np.sqrt(df / ((1 - rho) * (1 + rho)))
        p = 2 * special.stdtr(np.where(df >= 1, df, np.nan), -t)
    return np.where(np.isnan(rho), np.nan, p)


def benjamini_hochberg(p: ArrayLike) -> Array:
    """BH-adjusted p-values (q) of a 1-D array; NaN entries are not tests and stay NaN."""
    p = np.asarray(p, dtype=np.float64)
    q = np.full(p.shape, np.nan)
    ok = ~np.isnan(p)
    if ok.any():
        q[ok] = stats.false_discovery_control(p[ok], method="bh")
    return q


def effective_n(n: ArrayLike, wa: Array, wb: Array) -> NDArray[np.int64]:
    """n_eff per pair from weighted autocorrelations (see ``autocorrelation_weights``), in [3, n], floored."""
    n = np.asarray(n, dtype=np.float64)
    inflation = 1 + 2 * (wa @ wb.T)
    with np.errstate(invalid="ignore", divide="ignore"):
        neff = np.floor(np.clip(n / np.maximum(inflation, 1e-12), 3, np.maximum(n, 3)))
    return np.where(np.isfinite(neff), neff, 0).astype(np.int64)


def autocorrelation_weights(z: Array, lags: int) -> Array:
    """Rows of r(k)·sqrt((n − k)/n) for k = 1..lags from standardised ranks ``z`` (gaps as 0, NaN rows stay NaN)."""
    k, m = z.shape
    lags = max(1, min(lags, m - 1))
    if lags <= 16:
        acf = np.stack([np.einsum("ij,ij->i", z[:, :-j], z[:, j:]) for j in range(1, lags + 1)], axis=1)
    else:
        size = 1 << int(np.ceil(np.log2(2 * m)))
        f = np.fft.rfft(z, size, axis=1)
        acf = np.fft.irfft(f * np.conj(f), size, axis=1)[:, 1 : lags + 1]
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
    plan = gaps.plan(x, max_drop)
    idx = np.arange(x.shape[0])
    rho, n, z = gaps.cross(x, idx, idx, plan, _zrank=standardised_ranks)
    rho = _finish_square(rho, plan.defined)
    iu = np.triu_indices(len(names), 1)
    n_eff = None
    n_test: NDArray[np.int64] = n
    if method != "levels":
        w = autocorrelation_weights(z, default_lags(plan.n_points))
        n_eff = effective_n(n, w, w)
        n_eff = np.triu(n_eff) + np.triu(n_eff, 1).T  # exact symmetry
        n_test = n_eff
    p = np.full(rho.shape, np.nan)
    p[iu] = pvalue(rho[iu], n_test[iu])
    p.T[iu] = p[iu]
    q = np.full(rho.shape, np.nan)
    q[iu] = benjamini_hochberg(p[iu])
    q.T[iu] = q[iu]
    n_out = _collapse(n, plan.defined)
    crit_n = n_out if n_eff is None else n_eff
    return CorrelationResult(
        series=names,
        rho=rho,
        pvalue=p,
        qvalue=q,
        n=n_out,
        n_eff=n_eff,
        critical=critical_value(crit_n, alpha),
        alpha=alpha,
        method=method,
        significant=np.nan_to_num(q, nan=1.0) <= alpha,
        undefined=[names[i] for i in np.flatnonzero(~plan.defined)],
    )


def significant_pairs(result: CorrelationResult) -> list[Pair]:
    """Significant pairs (after FDR), strongest |ρ| first, ties in index order."""
    i, j = np.nonzero(np.triu(result.significant, 1))
    n = np.broadcast_to(np.asarray(result.n), result.rho.shape)
    out = [
        Pair(result.series[a], result.series[b], int(a), int(b), float(result.rho[a, b]),
             float(result.pvalue[a, b]), float(result.qvalue[a, b]), int(n[a, b]))
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
    plan = gaps.plan(x, max_drop)
    lags = default_lags(plan.n_points)
    total = x.shape[0]
    rho = np.full((tg.size, total), np.nan)
    p = np.full((tg.size, total), np.nan)
    n_all = np.zeros((tg.size, total), dtype=np.int64)
    for lo in range(0, total, max(1, block)):
        cols = np.arange(lo, min(lo + block, total))
        r, n, (za, zb) = gaps.cross(x, tg, cols, plan, _zrank=standardised_ranks, pair_z=True)
        n_test = n if method == "levels" else effective_n(n, *(autocorrelation_weights(z, lags) for z in (za, zb)))
        rho[:, cols] = np.clip(r, -1.0, 1.0)
        p[:, cols] = pvalue(rho[:, cols], n_test)
        n_all[:, cols] = n
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
        order = [int(c) for c in np.lexsort((np.arange(total), -np.nan_to_num(a, nan=-1.0))) if not np.isnan(a[c])]
        out.append([Partner(c, float(rho[r, c]), float(p[r, c]), float(q[r, c]), int(n_all[r, c]),
                            bool(q[r, c] <= alpha)) for c in order[:k]])
    return out


# ---------------------------------------------------------------- helpers


def transform(data: ArrayLike, method: str) -> Array:
    """The values the method correlates: first differences for "diff", the levels otherwise."""
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}, expected one of {', '.join(METHODS)}")
    x = _finite(data)
    return np.diff(x, axis=1) if method == "diff" else x


def _finite(data: ArrayLike) -> Array:
    x = np.array(data, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"expected a 2-D array (n_series, n_points), got shape {x.shape}")
    x[~np.isfinite(x)] = np.nan
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


def _collapse(n: NDArray[np.int64], defined: NDArray[np.bool_]) -> int | NDArray[np.int64]:
    """One int when every defined pair used the same points (the usual case), else the matrix."""
    used = n[np.ix_(defined, defined)]
    if used.size and (used == used.flat[0]).all():
        return int(used.flat[0])
    return n
