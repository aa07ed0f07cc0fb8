"""Every target row against every row, a block at a time: the top-k partners of each target.

Kept for callers that want "what moves with this series" over a whole matrix; the suggestion pipeline
(``findings``) compares only label-compatible series and no longer goes through here."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from generator.correlate.stats import (
    DEFAULT_ALPHA,
    DEFAULT_MAX_DROP,
    DEFAULT_METHOD,
    MIN_POINTS,
    _check_alpha,
    _cross,
    _Plan,
    _plan,
    autocorrelation_weights,
    benjamini_hochberg,
    default_lags,
    effective_n,
    pvalue,
    transform,
)


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
                            bool(q[r, c] <= alpha and neff_all[r, c] >= MIN_POINTS),
                            None if method == "levels" else int(neff_all[r, c]))
                    for c in order])
    return out


