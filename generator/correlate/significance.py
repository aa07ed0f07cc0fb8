"""Significance of Spearman's ρ: critical values, p (t approximation, exact for small n), Benjamini–Hochberg,
the autocorrelation-corrected effective n. See ``stats`` for the method."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import fft as sp_fft
from scipy import special

from generator.correlate.exact import EXACT_MAX, exact_critical, exact_pvalue
from generator.correlate.ranks import Array, _workers

DEFAULT_ALPHA = 0.01
MIN_POINTS = 10  # fewer (effective) points than this: never significant


def critical_value(n: ArrayLike, alpha: float = DEFAULT_ALPHA) -> Array | float:
    """Critical |ρ| at two-tailed ``alpha`` for n points: t / sqrt(n − 2 + t²), t = t_{1−α/2, n−2}; NaN for n < 3."""
    _check_alpha(alpha)
    n_arr = np.asarray(n, dtype=np.float64)
    whole = n_arr.size > 64 and bool(np.all((n_arr == np.round(n_arr)) & (n_arr >= 0)))
    if whole:  # a matrix of integer n: one table lookup instead of millions of inverse-t evaluations
        table = _critical(np.arange(int(n_arr.max()) + 1, dtype=np.float64), alpha)
        return table[n_arr.astype(np.int64)]
    crit = _critical(n_arr, alpha)
    return float(crit) if crit.ndim == 0 else crit


def _critical(n: Array, alpha: float) -> Array:
    df = n - 2
    with np.errstate(invalid="ignore"):
        t = special.stdtrit(np.where(df >= 1, df, np.nan), 1 - alpha / 2)
        out = t / np.sqrt(df + t * t)
    small = (n >= 3) & (n <= EXACT_MAX)
    if np.any(small):
        out = np.array(out, dtype=np.float64)
        for k in range(3, EXACT_MAX + 1):
            out[n == k] = exact_critical(k, alpha)
    return out


def pvalue(rho: ArrayLike, n: ArrayLike) -> Array:
    """Two-tailed p of ρ with n (or n_eff) points, from t = ρ·sqrt((n − 2)/(1 − ρ²)) with n − 2 dof."""
    rho = np.asarray(rho, dtype=np.float64)
    df = np.broadcast_to(np.asarray(n, dtype=np.float64) - 2, rho.shape)
    if rho.ndim == 1 and rho.size >= 1 << 18:  # millions of pairs: the t CDF dominates, split it over the cores
        spans = list(itertools.pairwise(np.linspace(0, rho.size, _workers(rho.size) + 1).astype(int)))
        with ThreadPoolExecutor(len(spans)) as pool:
            return np.concatenate(list(pool.map(lambda s: _pvalue(rho[s[0] : s[1]], df[s[0] : s[1]]), spans)))
    return _pvalue(rho, df)


def _pvalue(rho: Array, df: Array) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.abs(rho) * np.sqrt(df / ((1 - rho) * (1 + rho)))
        p = 2 * special.stdtr(np.where(df >= 1, df, np.nan), -t)
    small = (df >= 1) & (df <= EXACT_MAX - 2)
    if small.any():  # few points: the exact permutation distribution, not the t approximation
        p = np.where(small, exact_pvalue(rho, np.floor(df + 2)), p)
    return np.where(np.isnan(rho), np.nan, p)


def significant_mask(q: ArrayLike, n_test: ArrayLike, alpha: float, min_points: int = MIN_POINTS
                     ) -> NDArray[np.bool_]:
    """q ≤ alpha with at least ``min_points`` (effective) points behind the test."""
    q = np.nan_to_num(np.asarray(q, dtype=np.float64), nan=1.0)
    return (q <= alpha) & (np.asarray(n_test) >= min_points)


def benjamini_hochberg(p: ArrayLike) -> Array:
    """BH-adjusted p-values (q) of a 1-D array; NaN entries are not tests and stay NaN."""
    p = np.asarray(p, dtype=np.float64)
    q = np.full(p.shape, np.nan)
    ok = np.flatnonzero(~np.isnan(p))
    if ok.size:
        order = ok[np.argsort(p[ok])]  # ties end with equal q whatever their order
        ranked = p[order] * (ok.size / np.arange(1, ok.size + 1))
        q[order] = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    return q


def effective_n(n: ArrayLike, wa: Array, wb: Array) -> NDArray[np.int64]:
    """n_eff for every pair of rows of ``wa`` × ``wb`` (weighted autocorrelations, see ``autocorrelation_weights``)."""
    return neff_from_inflation(n, 1 + 2 * (wa @ wb.T))


def neff_from_inflation(n: ArrayLike, inflation: ArrayLike) -> NDArray[np.int64]:
    """n / inflation clipped to [3, n] and rounded down (0 where undefined)."""
    n = np.asarray(n, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        neff = np.floor(np.clip(n / np.maximum(inflation, 1e-12), 3, np.maximum(n, 3)))
    return np.where(np.isfinite(neff), neff, 0).astype(np.int64)


def autocorrelation_weights(z: Array, lags: int) -> Array:
    """Rows of r(k)·sqrt((n − k)/n) for k = 1..lags from standardised ranks ``z`` (gaps as 0, NaN rows stay NaN)."""
    m = z.shape[1]
    if m < 2:
        return np.zeros((z.shape[0], 1))
    lags = max(1, min(lags, m - 1))
    if lags <= 16:
        acf = np.stack([np.einsum("ij,ij->i", z[:, :-j], z[:, j:]) for j in range(1, lags + 1)], axis=1)
    else:
        size = sp_fft.next_fast_len(m + lags, real=True)  # padding by `lags` is enough: no wrap-around
        f = sp_fft.rfft(z, size, axis=1, workers=-1)
        acf = sp_fft.irfft(f.real**2 + f.imag**2, size, axis=1, workers=-1)[:, 1 : lags + 1]
    return acf * np.sqrt((m - np.arange(1, lags + 1)) / m)


def default_lags(n_points: int | NDArray[np.int64]) -> int | NDArray[np.int64]:
    """Lags of the autocorrelation correction for n points: a fifth of them, at least 1 (per element of an array)."""
    return np.maximum(1, np.asarray(n_points) // 5) if isinstance(n_points, np.ndarray) else max(1, n_points // 5)


def _check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
