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

Small samples: for n ≤ ``exact.EXACT_MAX`` (10) p and the critical value come from the exact permutation
distribution of ρ (``exact``), not the t approximation — at n = 3 no p is below 1/3. And nothing with fewer
than ``MIN_POINTS`` (10) points counted by the test (n, or n_eff for "diff"/"neff") is ever significant.

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

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from generator.correlate.ranks import Array, _two_d, rank_rows, standardised_ranks  # noqa: F401 - re-exported
from generator.correlate.significance import (  # noqa: F401 - re-exported: callers use stats.*
    DEFAULT_ALPHA,
    MIN_POINTS,
    _check_alpha,
    autocorrelation_weights,
    benjamini_hochberg,
    critical_value,
    default_lags,
    effective_n,
    neff_from_inflation,
    pvalue,
    significant_mask,
)

METHODS = ("diff", "levels", "neff")
DEFAULT_METHOD = "diff"
DEFAULT_MAX_DROP = 0.05

# ---------------------------------------------------------------- ranks


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


def __getattr__(name: str) -> object:  # top_k_partners moved to partners.py; old imports keep working
    if name in ("top_k_partners", "Partner"):
        from generator.correlate import partners

        return getattr(partners, name)
    raise AttributeError(name)


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
        significant=significant_mask(q, np.broadcast_to(n_test, q.shape), alpha),
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
