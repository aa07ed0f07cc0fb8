"""Regimes: split a window where the load level changes, so relations are measured per phase.

The paper (§2.2) saw correlations weaken or flip under congestion; one number over a window that mixes a
smooth and a congested phase hides that. The load level of the scope is read from the target series: each row
is put on a robust scale (median 0, interquartile range 1), clipped to ±CLIP, and the mean over rows gives one
load curve (a mean, so that a congested subset of the scope's objects moves it). One
change point splits it where the within-segment squared error is smallest; the split is kept when both
segments hold at least ``min_share`` of the points (and ``MIN_SEGMENT`` points) and the means differ by at least
``min_shift`` pooled standard deviations. The segment with the higher load is "congested", the other "smooth".

Relations are then compared between phases (``changes``): one that is significant in one phase only
"vanishes" (or "appears"), one significant in both with opposite signs "flips", one whose |ρ| drops by more
than ``WEAKEN`` "weakens".
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

MIN_SEGMENT = 30
CLIP = 10.0
WEAKEN = 0.2


@dataclass(frozen=True)
class Phase:
    name: str
    cols: NDArray[np.bool_]  # time points of the window in this phase


def load_curve(values: NDArray[np.float64]) -> NDArray[np.float64]:
    """Mean over rows of each row's clipped robust z-score; NaN where no row has a value."""
    if values.size == 0:
        return np.empty(values.shape[1] if values.ndim == 2 else 0)
    gaps = np.isnan(values).any()
    percentile = np.nanpercentile if gaps else np.percentile
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows and columns
        lo, mid, hi = percentile(values, [25, 50, 75], axis=1, keepdims=True)
        z = np.clip((values - mid) / np.where(hi > lo, hi - lo, np.nan), -CLIP, CLIP)
        return np.nanmean(z, axis=0)


def split(values: NDArray[np.float64], *, min_share: float = 0.1, min_shift: float = 1.0) -> list[Phase]:
    """Two phases ("smooth", "congested") when the load level changes once clearly, else []."""
    load = load_curve(values)
    total = load.size
    ok = ~np.isnan(load)
    if ok.sum() < 2 * MIN_SEGMENT:
        return []
    y = np.where(ok, load, np.nanmedian(load))
    least = max(MIN_SEGMENT, int(np.ceil(min_share * total)))
    if total < 2 * least:
        return []
    c1, c2 = np.cumsum(y), np.cumsum(y * y)
    k = np.arange(least, total - least + 1)  # first segment = points [0, k)
    left_sse = c2[k - 1] - c1[k - 1] ** 2 / k
    right_n = total - k
    right_sum, right_sq = c1[-1] - c1[k - 1], c2[-1] - c2[k - 1]
    sse = left_sse + right_sq - right_sum**2 / right_n
    best = int(k[np.argmin(sse)])
    a, b = y[:best], y[best:]
    pooled = np.sqrt((a.var() * a.size + b.var() * b.size) / total)
    if not pooled > 0 or abs(a.mean() - b.mean()) < min_shift * pooled:
        return []
    first = np.zeros(total, bool)
    first[:best] = True
    high_first = a.mean() > b.mean()
    return [Phase("congested" if high_first else "smooth", first), Phase("smooth" if high_first else "congested",
                                                                        ~first)]


def change(sig_a: bool, rho_a: float, sig_b: bool, rho_b: float) -> str | None:
    """How a relation changes from phase a to phase b: vanishes, appears, flips, weakens, or None."""
    if sig_a and not sig_b:
        return "vanishes"
    if sig_b and not sig_a:
        return "appears"
    if not sig_a:
        return None
    if np.sign(rho_a) != np.sign(rho_b):
        return "flips"
    if abs(rho_b) < abs(rho_a) - WEAKEN:
        return "weakens"
    return None
