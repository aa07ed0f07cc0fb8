"""Short sliding windows against the long window, as in the paper (whole range vs 30- and 60-point windows).

Data layout as in ``stats``: ``(n_series, n_points)``. A window of w points ends at point ``e`` and covers
points e − w + 1 … e; for method "diff" it holds the w − 1 changes inside it. Windows start every ``stride``
points (default w // 2) from the first point.

Per pair and window we keep ρ, p, n, n_eff and whether p < α. That per-window test uses no FDR across
pairs: "stability" — the fraction of windows (where ρ is defined) in which the pair is significant — is itself
a rate to compare with α (about α for an unrelated pair, near 1 for a relation that holds all the time).

Windows without gaps are ranked and correlated all at once (one batched rank + one product per pair chunk);
in a window with gaps each pair is measured on the points both its series have there (``pairwise``: ranks,
ρ and n_eff of those points alone, all pairs at once), which is what ``stats.correlate`` does for a pair with
gaps; ``max_drop`` (dropping a point for every series when few have a hole there) does not apply to windows.
Before, such a window went through ``stats.correlate`` on every series of the call, a square of pairs with a
Python step per pair whose gaps differ: minutes for the few thousand chosen pairs of a large cluster with
missed scrapes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from numpy.typing import ArrayLike, NDArray

from generator.correlate import pairwise, stats
from generator.correlate.stats import Array

DEFAULT_WINDOWS = (30, 60)
_PAIR_CHUNK = 4096


@dataclass
class WindowResult:
    series: list[str]
    pairs: list[tuple[int, int]]  # (i, j), i < j, rows of the arrays below
    window: int
    stride: int
    ends: NDArray[np.int64]  # index of each window's last point
    end_times: NDArray | None  # timestamps[ends] when timestamps were given
    rho: Array  # (n_pairs, n_windows)
    pvalue: Array
    n: NDArray[np.int64]  # points used (changes for "diff")
    n_eff: NDArray[np.int64] | None  # effective points behind p ("diff", "neff")
    critical: Array  # critical |ρ| per pair and window
    significant: NDArray[np.bool_]  # p < alpha in that window
    stability: Array  # (n_pairs,) fraction of defined windows where significant; NaN if never defined
    alpha: float
    method: str


@dataclass
class LongShort:
    long: stats.CorrelationResult
    short: dict[int, WindowResult]


def sliding(
    data: ArrayLike,
    window: int = 30,
    stride: int | None = None,
    *,
    series: Sequence[str] | None = None,
    pairs: Sequence[tuple[int, int]] | None = None,
    timestamps: ArrayLike | None = None,
    alpha: float = stats.DEFAULT_ALPHA,
    method: str = stats.DEFAULT_METHOD,
) -> WindowResult:
    """ρ over time in windows of ``window`` points for ``pairs`` (default: all i < j) and their stability."""
    x = stats._finite(data)
    stats.transform(x[:1], method)  # validates the method name
    stats._check_alpha(alpha)
    names = stats._names(series, x.shape[0])
    total = x.shape[1]
    if not 3 + (method == "diff") <= window <= total:
        raise ValueError(f"window of {window} points does not fit {total} points (method {method})")
    stride = stride or max(1, window // 2)
    starts = np.arange(0, total - window + 1, stride)
    pair_list = _pairs(pairs, x.shape[0])
    pi = np.array([p[0] for p in pair_list], dtype=np.int64)
    pj = np.array([p[1] for p in pair_list], dtype=np.int64)
    shape = (len(pair_list), starts.size)
    rho, pval = np.full(shape, np.nan), np.full(shape, np.nan)
    n, n_test = np.zeros(shape, dtype=np.int64), np.zeros(shape, dtype=np.int64)

    rows = np.unique(np.concatenate([pi, pj]))
    holes = np.concatenate([[0], np.cumsum(np.isnan(x[rows]).any(axis=0))])
    clean = holes[starts + window] == holes[starts]
    if clean.any():
        sub = np.searchsorted(rows, pi), np.searchsorted(rows, pj)
        batch = _batched(x[rows], starts[clean], window, method, sub)
        rho[:, clean], n[:, clean], n_test[:, clean] = batch
    for w in np.flatnonzero(~clean):  # windows with gaps: each pair on the points both series have there
        xw = stats.transform(x[:, starts[w] : starts[w] + window], method)
        r, c, t = pairwise.measure(xw, pi, pj, method != "levels", constant_nan=True)
        ok = ~np.isnan(r)
        rho[:, w], n[:, w], n_test[:, w] = np.clip(r, -1.0, 1.0), np.where(ok, c, 0), np.where(ok, t, 0)
    pval = stats.pvalue(rho, n_test)
    significant = np.nan_to_num(pval, nan=1.0) < alpha
    defined = (~np.isnan(rho)).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        stability = np.where(defined > 0, significant.sum(axis=1) / defined, np.nan)
    ends = starts + window - 1
    return WindowResult(
        series=names,
        pairs=pair_list,
        window=window,
        stride=stride,
        ends=ends,
        end_times=None if timestamps is None else np.asarray(timestamps)[ends],
        rho=rho,
        pvalue=pval,
        n=n,
        n_eff=None if method == "levels" else n_test,
        critical=np.asarray(stats.critical_value(n_test, alpha), dtype=np.float64).reshape(shape),
        significant=significant,
        stability=stability,
        alpha=alpha,
        method=method,
    )


def long_and_short(
    data: ArrayLike,
    series: Sequence[str] | None = None,
    *,
    windows: Sequence[int] = DEFAULT_WINDOWS,
    stride: int | None = None,
    pairs: Sequence[tuple[int, int]] | None = None,
    timestamps: ArrayLike | None = None,
    alpha: float = stats.DEFAULT_ALPHA,
    method: str = stats.DEFAULT_METHOD,
    max_drop: float = stats.DEFAULT_MAX_DROP,
) -> LongShort:
    """The whole range (``stats.correlate``) plus each short window size; windows longer than the data are skipped."""
    long = stats.correlate(data, series, alpha=alpha, method=method, max_drop=max_drop)
    total = np.asarray(data).shape[1]
    short = {
        w: sliding(data, w, stride, series=series, pairs=pairs, timestamps=timestamps, alpha=alpha, method=method)
        for w in windows
        if w <= total
    }
    return LongShort(long=long, short=short)


def _pairs(pairs: Sequence[tuple[int, int]] | None, count: int) -> list[tuple[int, int]]:
    if pairs is None:
        i, j = np.triu_indices(count, 1)
        return [(int(a), int(b)) for a, b in zip(i, j, strict=True)]
    out = []
    for a, b in pairs:
        if not (0 <= a < count and 0 <= b < count) or a == b:
            raise ValueError(f"bad pair ({a}, {b}) for {count} series")
        out.append((min(int(a), int(b)), max(int(a), int(b))))
    return out


def _batched(
    x: Array, starts: NDArray[np.int64], window: int, method: str, sub: tuple[NDArray[np.int64], NDArray[np.int64]]
) -> tuple[Array, NDArray[np.int64], NDArray[np.int64]]:
    """ρ, n, n_test for gap-free windows: every (window, series) row ranked in one go."""
    v = np.diff(x, axis=1) if method == "diff" else x
    size = window - 1 if method == "diff" else window
    views = sliding_window_view(v, size, axis=1)[:, starts]  # (series, windows, size), starts line up after diff
    count, nw = views.shape[0], views.shape[1]
    z = stats.standardised_ranks(views.transpose(1, 0, 2).reshape(nw * count, size)).reshape(nw, count, size)
    a, b = sub
    rho = np.empty((a.size, nw))
    infl = np.ones((a.size, nw))
    w = None
    if method != "levels":
        lags = stats.default_lags(size)
        w = stats.autocorrelation_weights(z.reshape(nw * count, size), lags).reshape(nw, count, -1)
    if a.size * 4 >= count * count:  # most pairs wanted: a product per window beats gathering rows
        step = max(1, (1 << 24) // (count * count))
        for lo in range(0, nw, step):
            s = slice(lo, lo + step)
            rho[:, s] = (z[s] @ z[s].transpose(0, 2, 1))[:, a, b].T
            if w is not None:
                infl[:, s] = 1 + 2 * (w[s] @ w[s].transpose(0, 2, 1))[:, a, b].T
    else:
        for lo in range(0, a.size, _PAIR_CHUNK):
            s = slice(lo, lo + _PAIR_CHUNK)
            rho[s] = np.einsum("wpk,wpk->pw", z[:, a[s]], z[:, b[s]])
            if w is not None:
                infl[s] = 1 + 2 * np.einsum("wpk,wpk->pw", w[:, a[s]], w[:, b[s]])
    np.clip(rho, -1.0, 1.0, out=rho)
    n = np.full(rho.shape, size, dtype=np.int64)
    n[np.isnan(rho)] = 0
    n_test = n if w is None else stats.neff_from_inflation(n, infl)
    return rho, n, n_test
