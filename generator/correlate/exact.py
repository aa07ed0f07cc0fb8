"""Exact null distribution of Spearman's ρ for small n, so that small samples are honest.

Under independence every permutation of the ranks is equally likely, so the two-tailed p of an observed ρ at
n points is the share of the n! permutations whose |ρ| is at least as large. With D = Σ (i − π(i))²,
ρ = 1 − 6D / (n(n² − 1)); the distribution of D is counted by dynamic programming over the set of ranks used
so far (2^n states × the possible partial sums), which takes milliseconds up to n = EXACT_MAX and is cached.

The t approximation (what ``stats.pvalue`` uses for larger n) is badly anti-conservative here: at n = 3 it
gives p = 0 for ρ = 1, while no p below 1/3 exists. Ties are not enumerated (the untied distribution is used),
and where the test counts an effective n (autocorrelation) the table of floor(n_eff) is used.
"""

from __future__ import annotations

from functools import cache

import numpy as np
from numpy.typing import ArrayLike, NDArray

EXACT_MAX = 10  # n up to which p is exact (10! = 3,628,800 permutations)


@cache
def _d_counts(n: int) -> tuple[NDArray[np.int64], NDArray[np.float64]]:
    """Distinct values of D = Σ d² with the number of permutations giving each, for n ranks."""
    dist: list[dict[int, int]] = [dict() for _ in range(1 << n)]
    dist[0][0] = 1
    for mask in range(1 << n):
        here = dist[mask]
        if not here:
            continue
        pos = bin(mask).count("1")  # the next position to place a rank in
        for r in range(n):
            bit = 1 << r
            if mask & bit:
                continue
            add = (pos - r) ** 2
            nxt = dist[mask | bit]
            for d, c in here.items():
                nxt[d + add] = nxt.get(d + add, 0) + c
        if mask and mask != (1 << n) - 1:
            dist[mask] = {}  # no longer needed
    full = dist[(1 << n) - 1]
    d = np.array(sorted(full), dtype=np.int64)
    return d, np.array([full[int(v)] for v in d], dtype=np.float64)


@cache
def _table(n: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Sorted distinct |ρ| at n points and P(|ρ_perm| ≥ each)."""
    d, counts = _d_counts(n)
    rho = 1 - 6 * d / (n * (n * n - 1))
    a = np.round(np.abs(rho), 12)
    values = np.unique(a)
    mass = np.array([counts[a == v].sum() for v in values]) / counts.sum()
    tail = np.cumsum(mass[::-1])[::-1]  # P(|ρ| ≥ values[k])
    return values, np.minimum(tail, 1.0)


def exact_pvalue(rho: ArrayLike, n: ArrayLike) -> NDArray[np.float64]:
    """Two-tailed permutation p of ρ at n points (3 ≤ n ≤ EXACT_MAX); NaN elsewhere or where ρ is NaN."""
    rho = np.asarray(rho, dtype=np.float64)
    n = np.broadcast_to(np.asarray(n), rho.shape)
    out = np.full(rho.shape, np.nan)
    a = np.abs(rho)
    for k in range(3, EXACT_MAX + 1):
        sel = (n == k) & ~np.isnan(rho)
        if not sel.any():
            continue
        values, tail = _table(k)
        # the observed |ρ| falls between table values only through ties or rounding: take the next one down
        idx = np.searchsorted(values, np.round(a[sel], 9) - 1e-9, side="left")
        out[sel] = tail[np.clip(idx, 0, values.size - 1)]
    return out


def exact_critical(n: int, alpha: float) -> float:
    """Smallest |ρ| whose exact two-tailed p is ≤ alpha at n points; NaN when none is (e.g. n ≤ 5 at 0.01)."""
    values, tail = _table(n)
    ok = np.flatnonzero(tail <= alpha)
    return float(values[ok[0]]) if ok.size else float("nan")
