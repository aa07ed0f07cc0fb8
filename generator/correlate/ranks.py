"""Average ranks of whole matrices (rows = series), and the standardised ranks whose product is Spearman's ρ."""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numpy.typing import ArrayLike, NDArray

Array = NDArray[np.float64]
BLOCK = 1 << 17  # values ranked at a time (about 1 MB of float64: sort order, sorted values, ranks stay in cache)


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


def _sorted(x: Array) -> tuple[NDArray[np.intp], Array, NDArray[np.bool_]]:
    """Each row's sort order (NaN last), its sorted values, and which rows hold ties."""
    order = np.argsort(x, axis=1)
    s = np.take_along_axis(x, order, axis=1)
    return order, s, (s[:, 1:] == s[:, :-1]).any(axis=1)


def _rank_into(x: Array, out: Array) -> None:
    k, m = x.shape
    order, s, tied = _sorted(x)
    pos = np.broadcast_to(np.arange(m, dtype=np.float64), (k, m))
    if tied.any():
        pos = np.array(pos)
        pos[tied] = _tie_average(s[tied])
    np.put_along_axis(out, order, pos, axis=1)


def _standardise_into(x: Array, out: Array) -> None:
    """Standardised ranks of gap-free rows straight into ``out``: a row without ties has the ordinal ranks
    0..m-1, whose mean (m-1)/2 and norm sqrt(m(m²-1)/12) are the same for every row, so its centred, scaled
    ranks are one constant vector scattered by its sort order; only rows with ties are centred and scaled one
    by one (average ranks keep the mean, not the norm). Rows with no variation become NaN. Works on blocks of
    rows small enough to stay in cache, with flat indices (numpy's flat take/put are several times faster
    than take_along_axis/put_along_axis)."""
    k, m = x.shape
    rows = max(1, min(k, BLOCK // max(1, m)))
    centre = (m - 1) * 0.5
    ordinal = np.tile((np.arange(m, dtype=np.float64) - centre) / np.sqrt(m * (m * m - 1) / 12), rows)
    offsets = (np.arange(rows) * m)[:, None]
    for i in range(0, k, rows):
        xb, ob = x[i : i + rows].reshape(-1), out[i : i + rows].reshape(-1)  # views: both C-contiguous
        n = xb.size // m
        order = np.argsort(x[i : i + rows], axis=1)
        flat = (order + offsets[:n]).reshape(-1)
        s = xb.take(flat).reshape(n, m)
        ob[flat] = ordinal[: n * m]
        tied = np.flatnonzero((s[:, 1:] == s[:, :-1]).any(axis=1))
        if tied.size:  # overwrite those rows only
            t = _tie_average(s[tied]) - centre
            norm = np.sqrt(np.einsum("ij,ij->i", t, t))
            with np.errstate(invalid="ignore", divide="ignore"):
                ob[flat.reshape(n, m)[tied]] = t / norm[:, None]  # a constant row: 0/0, NaN as it must be


def _chunked(x: Array, fill: Callable[[Array, Array], None]) -> Array:
    out = np.empty(x.shape)
    workers = _workers(x.shape[0])
    if x.size < 1 << 19 or workers < 2:
        fill(x, out)
    else:  # argsort releases the GIL: rank row chunks on all cores
        spans = list(itertools.pairwise(np.linspace(0, x.shape[0], workers + 1).astype(int)))
        with ThreadPoolExecutor(workers) as pool:
            list(pool.map(lambda s: fill(x[s[0] : s[1]], out[s[0] : s[1]]), spans))
    return out


def _ranks(x: Array, nan: NDArray[np.bool_] | None) -> Array:
    out = _chunked(x, _rank_into)
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
    if x.shape[1] >= 3 and not nan.any():  # the common case: one pass, no per-row norms
        return _chunked(np.ascontiguousarray(x), _standardise_into)
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
    """Threads worth splitting `size` rows over: the cores not already busy (1-minute load average; on a loaded
    machine extra threads only queue for the same cores, and the chunking costs more than it saves)."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    idle = usable - os.getloadavg()[0]
    return max(1, min(usable, 8, size, int(idle + 0.5) + 1))
