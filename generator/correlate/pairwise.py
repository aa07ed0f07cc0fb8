"""Spearman ρ of many row pairs with gaps, each on the points both rows have, all pairs at once.

A pair of series with holes (missed scrapes widened by `gaps`, a pod created or deleted during the window) is
measured on its common points: ranked over those points alone, ρ the product of the standardised ranks, and
n_eff from the lag-k autocorrelations of those points in time order. Done pair by pair in Python this cost
~0.2–0.6 ms a pair — minutes once many series of a large cluster have a hole somewhere. Here:

* what one side of a pair contributes depends only on its row and the pair's common points (its mask), and
  many pairs share both — a pod created late against every node series, each signal of one pod against the
  others (the same holes) — so each distinct (row, mask) is ranked once: pairs are sorted by mask and taken
  in chunks, and a chunk's distinct (row, mask) keys are found with one unique;
* ranking: each key's points are moved to the front of its row (time order kept, NaN after them) and the
  rows ranked with NaN last (`standardised_ranks` ranks only the values present); the autocorrelation of the
  packed rows is taken by FFT (the NaN tail counts as 0 and adds nothing to any lag), weighted so that a
  pair's inflation is one product; ρ and the inflation of a pair are then two dot products.

The result is the pair-by-pair one (to ~1e-15; tests/correlate/test_findings.py).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import fft as sp_fft

from generator.correlate import significance
from generator.correlate.ranks import standardised_ranks

BATCH = 2048  # row pairs per chunk (their distinct (row, mask) keys: a few MB of float64 for 6 h at 60 s)


def measure(x: NDArray[np.float64], i: NDArray[np.int64], j: NDArray[np.int64], autocorrelated: bool,
            constant_nan: bool = False) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]:
    """ρ, n (common points) and n_test (n_eff when `autocorrelated`, else n) of the row pairs (x[i], x[j]).

    Fewer than 3 common points: ρ NaN, n_test 0. A row constant on the common points gives ρ 0 (a test that
    can never be significant), or NaN with `constant_nan`."""
    valid = ~np.isnan(x)
    width = (x.shape[1] + 7) // 8
    packed = np.empty((i.size, width), np.uint8)
    for lo in range(0, i.size, BATCH):
        s = slice(lo, lo + BATCH)
        packed[s] = np.packbits(valid[i[s]] & valid[j[s]], axis=1)
    order = np.argsort(np.ascontiguousarray(packed).view(np.dtype((np.void, width))).ravel(), kind="stable")
    rho = np.empty(i.size)
    n = np.empty(i.size, np.int64)
    n_test = np.empty(i.size, np.int64)
    for lo in range(0, i.size, BATCH):
        s = order[lo: lo + BATCH]
        rho[s], n[s], n_test[s] = _chunk(x, i[s], j[s], packed[s], autocorrelated, constant_nan)
    return rho, n, n_test


def _chunk(x: NDArray[np.float64], i: NDArray[np.int64], j: NDArray[np.int64], packed: NDArray[np.uint8],
           autocorrelated: bool, constant_nan: bool
           ) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]:
    k = i.size
    rows = np.concatenate([i, j]).astype("<i8")
    masks = np.concatenate([packed, packed])
    key = np.concatenate([rows.view(np.uint8).reshape(-1, 8), masks], axis=1)
    _, first, inv = np.unique(key.view(np.dtype((np.void, key.shape[1]))).ravel(), return_index=True,
                              return_inverse=True)
    inv = inv.ravel()
    z, w, count, flat = _keys(x[rows[first]], np.unpackbits(masks[first], axis=1, count=x.shape[1]).astype(bool),
                              autocorrelated)
    a, b = inv[:k], inv[k:]
    rho = np.einsum("pk,pk->p", z[a], z[b])
    n = count[a]
    n_test = n.copy()
    if w is not None:
        n_test = significance.neff_from_inflation(n, 1 + 2 * np.einsum("pk,pk->p", w[a], w[b]))
    few = n < 3
    rho[few | (constant_nan & (flat[a] | flat[b]))] = np.nan
    return rho, n, np.where(few, 0, n_test)


def _keys(xr: NDArray[np.float64], mask: NDArray[np.bool_], autocorrelated: bool
          ) -> tuple[NDArray[np.float64], NDArray[np.float64] | None, NDArray[np.int64], NDArray[np.bool_]]:
    """Per (row, mask): standardised ranks of the row's points under the mask, packed to the front (0 after);
    the lag weights acf(k)·sqrt((n − k)/n) for k up to the pair's lags (0 beyond), so that a pair's inflation is
    1 + 2·(wa · wb); the number of points; and whether the row is constant (or has < 3 points) there."""
    count = mask.sum(axis=1)
    order = np.argsort(~mask, axis=1, kind="stable")  # the mask's points first, in time order
    packed = np.take_along_axis(xr, order, axis=1)
    packed[np.arange(mask.shape[1]) >= count[:, None]] = np.nan
    z = standardised_ranks(packed)
    flat = np.isnan(z[:, 0]) if z.shape[1] else np.ones(z.shape[0], bool)
    z = np.nan_to_num(z)
    if not autocorrelated or not count.size:
        return z, None, count, flat
    lags = np.maximum(1, np.minimum(significance.default_lags(count), count - 1))  # capped as autocorrelation_weights
    top = int(lags.max())
    size = sp_fft.next_fast_len(z.shape[1] + top, real=True)
    f = sp_fft.rfft(z, size, axis=1)
    acf = sp_fft.irfft(f.real**2 + f.imag**2, size, axis=1)[:, 1: top + 1]
    lag = np.arange(1, top + 1)
    scale = np.where(lag <= lags[:, None], (count[:, None] - lag) / np.maximum(count, 1)[:, None], 0.0)
    np.maximum(scale, 0.0, out=scale)  # fewer than 2 points: no lag (and never a test)
    return z, acf * np.sqrt(scale), count, flat
