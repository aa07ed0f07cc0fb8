"""Spearman ρ of many row pairs with gaps, each on the points both rows have, all pairs at once.

A pair of series with holes (missed scrapes widened by `gaps`, a pod created or deleted during the window) is
measured on its common points: ranked over those points alone, ρ the product of the standardised ranks, and
n_eff from the lag-k autocorrelations of those points in time order. Done pair by pair in Python this cost
~0.2–0.6 ms a pair — minutes once most series of a large cluster have a hole somewhere. Here a batch of pairs is
a few array operations: each pair's common points are moved to the front of its row (time order kept, NaN
after them), the rows ranked with NaN last (`standardised_ranks` ranks only the values present), and the
autocorrelation of the packed rows taken by FFT (the NaN tail counts as 0 and adds nothing to any lag), so the
result is the pair-by-pair one (to ~1e-15).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import fft as sp_fft

from generator.correlate import significance
from generator.correlate.ranks import standardised_ranks

BATCH = 1024  # row pairs packed and ranked at a time (a few MB of float64 for 6 h at 60 s)


def measure(xi: NDArray[np.float64], xj: NDArray[np.float64], autocorrelated: bool, constant_nan: bool = False
            ) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]:
    """ρ, n (common points) and n_test (n_eff when `autocorrelated`, else n) of row pairs (xi[k], xj[k]).

    Fewer than 3 common points: ρ NaN, n_test 0. A row constant on the common points gives ρ 0 (as a test that
    can never be significant), or NaN with `constant_nan`."""
    rho = np.empty(xi.shape[0])
    n = np.empty(xi.shape[0], np.int64)
    n_test = np.empty(xi.shape[0], np.int64)
    for lo in range(0, xi.shape[0], BATCH):
        s = slice(lo, lo + BATCH)
        rho[s], n[s], n_test[s] = _batch(xi[s], xj[s], autocorrelated, constant_nan)
    return rho, n, n_test


def _batch(xi: NDArray[np.float64], xj: NDArray[np.float64], autocorrelated: bool, constant_nan: bool
           ) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]:
    both = ~np.isnan(xi) & ~np.isnan(xj)
    count = both.sum(axis=1)
    order = np.argsort(~both, axis=1, kind="stable")  # common points first, in time order
    tail = np.arange(both.shape[1]) >= count[:, None]
    packed = np.concatenate([np.take_along_axis(xi, order, axis=1), np.take_along_axis(xj, order, axis=1)])
    packed[np.concatenate([tail, tail])] = np.nan
    z = standardised_ranks(packed)
    flat = np.isnan(z[:, 0]) if z.shape[1] else np.ones(z.shape[0], bool)  # < 3 values or no variation
    z = np.nan_to_num(z)
    k = count.size
    rho = np.einsum("pk,pk->p", z[:k], z[k:])
    n_test = count.copy()
    if autocorrelated and k:
        lags = np.maximum(1, np.minimum(count // 5, count - 1))  # default_lags, capped as autocorrelation_weights
        top = int(lags.max())
        size = sp_fft.next_fast_len(z.shape[1] + top, real=True)
        f = sp_fft.rfft(z, size, axis=1)
        acf = sp_fft.irfft(f.real**2 + f.imag**2, size, axis=1)[:, 1: top + 1]
        lag = np.arange(1, top + 1)
        scale = np.where(lag <= lags[:, None], (count[:, None] - lag) / np.maximum(count, 1)[:, None], 0.0)
        n_test = significance.neff_from_inflation(count, 1 + 2 * np.einsum("pk,pk->p", acf[:k] * acf[k:], scale))
    few = count < 3
    rho[few | (constant_nan & (flat[:k] | flat[k:]))] = np.nan
    return rho, count, np.where(few, 0, n_test)
