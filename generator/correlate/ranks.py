"""Average ranks of whole matrices (rows = series), and the standardised ranks whose product is Spearman's ρ."""

from __future__ import annotations

import itertools
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]


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


def _workers(size: int) -> int:
    return max(1, min(os.cpu_count() or 1, 8, size))
