"""Wide inputs in bounded time and memory: significant pairs of thousands of series, a block of rows at a time.

`stats.correlate` keeps several n_series² matrices (ρ, p, q, n_eff): for 10,000 series that is gigabytes. Here
ρ and n_eff are computed for ``block`` rows against the rows after them (the upper triangle), p only where
|ρ| reaches the critical value of the pair's n_eff (p ≤ α), and Benjamini–Hochberg runs over those with the
number of all defined pairs as m — exact for every q ≤ α, since a pair with p > α cannot reach q ≤ α. Memory
is O(block × n_series); a progress line per block. Same methods, gaps policy and small-sample rules as
`stats.correlate`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from generator.correlate import stats

WIDE = 2000  # more series than this: `stereo correlate` takes this path and prints no matrix
BLOCK = 64  # rows per block: each block holds a few (64 × n_series) float arrays at once


@dataclass
class WideResult:
    series: list[str]
    pairs: list[stats.Pair]  # significant after BH, strongest first
    tests: int  # defined pairs tested
    n_points: int
    alpha: float
    method: str
    undefined: list[str]


def correlate_wide(data: ArrayLike, series: Sequence[str], *, alpha: float = stats.DEFAULT_ALPHA,
                   method: str = stats.DEFAULT_METHOD, block: int = BLOCK,
                   progress: Callable[[str], None] | None = None) -> WideResult:
    stats._check_alpha(alpha)
    x = stats.transform(data, method)
    names = stats._names(series, x.shape[0])
    plan = stats._plan(x, stats.DEFAULT_MAX_DROP)
    total = x.shape[0]
    lags = stats.default_lags(plan.n_points)
    crit = np.asarray(stats.critical_value(np.arange(plan.n_points + 1, dtype=np.float64), alpha))
    crit = np.where(np.isnan(crit), 2.0, crit)
    fast = not plan.gappy.any()
    if fast:  # no series with gaps: rank once, each block is one product against the rows after it
        xk = x[:, plan.keep] if not plan.keep.all() else x
        z_all = np.nan_to_num(stats.standardised_ranks(xk))
        w_all = None if method == "levels" else stats.autocorrelation_weights(z_all, lags)
    found_i, found_j, found_r, found_n, found_ne = [], [], [], [], []
    tests = 0
    starts = list(range(0, total, max(1, block)))
    for k, lo in enumerate(starts, 1):
        a = np.arange(lo, min(lo + block, total))
        b = np.arange(lo, total)
        if fast:
            rho = z_all[a] @ z_all[b].T
            n = np.broadcast_to(np.asarray(plan.n_points), rho.shape)
        else:
            rho, n, (za, zb) = stats._cross(x, a, b, plan)
            n = np.broadcast_to(np.asarray(n), rho.shape)
        if method == "levels":
            n_test = n
        elif fast:
            n_test = stats.effective_n(n, w_all[a], w_all[b])
        else:
            wa, wb = stats.autocorrelation_weights(np.nan_to_num(za), lags), \
                stats.autocorrelation_weights(np.nan_to_num(zb), lags)
            n_test = np.where(n > 0, stats.effective_n(n, wa, wb), 0)
        upper = b[None, :] > a[:, None]
        ok = upper & ~np.isnan(rho) & plan.defined[a][:, None] & plan.defined[b][None, :]
        tests += int(ok.sum())
        hit = ok & (np.abs(np.nan_to_num(rho)) >= crit[np.minimum(n_test, plan.n_points)] - 1e-9) & \
            (n_test >= stats.MIN_POINTS)
        r, c = np.nonzero(hit)
        found_i.append(a[r])
        found_j.append(b[c])
        found_r.append(np.clip(rho[r, c], -1.0, 1.0))
        found_n.append(n[r, c])
        found_ne.append(n_test[r, c])
        if progress is not None:
            progress(f"[{k}/{len(starts)}] rows {lo}-{a[-1]} of {total}: {int(hit.sum())} candidate pairs")
    i, j, rho, n, ne = (np.concatenate(v) if v else np.empty(0) for v in
                        (found_i, found_j, found_r, found_n, found_ne))
    p = stats.pvalue(rho, ne) if rho.size else np.empty(0)
    q = np.empty(0)
    if p.size:
        order = np.argsort(p, kind="stable")
        ranked = p[order] * (tests / np.arange(1, p.size + 1))
        q = np.empty(p.shape)
        q[order] = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    keep = np.flatnonzero(q <= alpha) if q.size else np.empty(0, np.int64)
    out = [stats.Pair(names[int(i[t])], names[int(j[t])], int(i[t]), int(j[t]), float(rho[t]), float(p[t]),
                      float(q[t]), int(n[t]), None if method == "levels" else int(ne[t])) for t in keep]
    out.sort(key=lambda pr: (-abs(pr.rho), pr.i, pr.j))
    return WideResult(names, out, tests, plan.n_points, alpha, method,
                      [names[k] for k in np.flatnonzero(~plan.defined)])
