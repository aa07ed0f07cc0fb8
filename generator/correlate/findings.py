"""Object-scoped findings on arrays: which series of two signals describe the same object, and how they move.

Input: one matrix of every fetched series (rows) on one time grid, the signal each row belongs to, and each
row's labels. Labels are integer-coded once (one column per label name, −1 where a row lacks the label), so
which series of two signals are compared — the ones whose shared labels agree (same namespace and pod, same
node host...) — is a sort-and-join on codes, never a Python call per candidate pair.

Every compatible row pair is one test: ρ is the dot product of the rows' standardised ranks, n_eff comes from
the rows' autocorrelation weights, p from ``stats.pvalue`` (exact for small n), q from Benjamini–Hochberg
over all tests of the call; significant means q ≤ α with at least ``stats.MIN_POINTS`` effective points.
A row pair's *scope* is the shared labels' values (e.g. {namespace, pod}); when several row pairs share a
scope (containers of one pod) the strongest stands for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from generator.correlate import stats

# labels that differ between signals describing the same thing, so they never decide compatibility
IGNORED_LABELS = frozenset({"__name__", "quantile", "le", "job", "endpoint", "service", "metrics_path"})
_CHUNK = 1 << 14


@dataclass
class Rows:
    """The fetched series as arrays: values (rows × points), owner signal per row, integer-coded labels."""

    values: NDArray[np.float64]
    owner: NDArray[np.int64]  # index into `signals`
    signals: list[str]
    labels: list[dict[str, str]]
    keys: list[str]  # label names, one column of `codes` each
    codes: NDArray[np.int64]  # (rows, keys), -1 where the row lacks the label
    key_sets: list[NDArray[np.bool_]]  # per signal: which keys any of its rows carries


def _host(value: str) -> str:
    return value.rsplit(":", 1)[0] if ":" in value and not value.endswith("]") else value


def encode(values: NDArray[np.float64], owner: Sequence[int], signals: list[str], labels: list[dict[str, str]]
           ) -> Rows:
    keys = sorted({k for lb in labels for k in lb} - IGNORED_LABELS)
    col = {k: i for i, k in enumerate(keys)}
    vocab: dict[str, int] = {}
    codes = np.full((len(labels), len(keys)), -1, dtype=np.int64)
    for r, lb in enumerate(labels):
        for k, v in lb.items():
            if k in col:
                codes[r, col[k]] = vocab.setdefault(_host(v) if k == "instance" else v, len(vocab))
    own = np.asarray(owner, dtype=np.int64)
    key_sets = [(codes[own == s] >= 0).any(axis=0) if (own == s).any() else np.zeros(len(keys), bool)
                for s in range(len(signals))]
    return Rows(values, own, signals, labels, keys, codes, key_sets)


def join(rows: Rows, a: int, b: int) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64]]:
    """Compatible row pairs of signals a and b: (rows of a, rows of b, shared key columns)."""
    ra, rb = np.flatnonzero(rows.owner == a), np.flatnonzero(rows.owner == b)
    shared = np.flatnonzero(rows.key_sets[a] & rows.key_sets[b])
    if ra.size == 0 or rb.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.int64), shared
    ka, kb = rows.codes[np.ix_(ra, shared)], rows.codes[np.ix_(rb, shared)]
    _, inv = np.unique(np.concatenate([ka, kb]), axis=0, return_inverse=True)
    ga, gb = inv.ravel()[: ra.size], inv.ravel()[ra.size:]
    order = np.argsort(gb, kind="stable")
    gb_sorted = gb[order]
    lo, hi = np.searchsorted(gb_sorted, ga, "left"), np.searchsorted(gb_sorted, ga, "right")
    count = hi - lo
    left = np.repeat(ra, count)
    starts = np.repeat(lo - np.cumsum(count) + count, count) + np.arange(count.sum())
    right = rb[order[starts]] if starts.size else np.empty(0, np.int64)
    return left, right, shared


@dataclass
class Tested:
    """Every tested row pair, as arrays."""

    i: NDArray[np.int64]
    j: NDArray[np.int64]
    pair: NDArray[np.int64]  # index of the signal pair
    rho: NDArray[np.float64]
    n: NDArray[np.int64]
    n_test: NDArray[np.int64]
    p: NDArray[np.float64]
    q: NDArray[np.float64]
    significant: NDArray[np.bool_]


def measure_pairs(values: NDArray[np.float64], i: NDArray[np.int64], j: NDArray[np.int64], *,
                  alpha: float, method: str, cols: NDArray[np.bool_] | None = None) -> tuple[
                      NDArray[np.float64], NDArray[np.int64], NDArray[np.int64]]:
    """ρ, n and the n the test counts (n_eff unless "levels") of row pairs (i, j), on time columns `cols`."""
    rho = np.full(i.size, np.nan)
    n = np.zeros(i.size, np.int64)
    n_test = np.zeros(i.size, np.int64)
    if i.size == 0:
        return rho, n, n_test
    used = np.unique(np.concatenate([i, j]))
    x = values[used] if cols is None else values[used][:, cols]
    x = stats.transform(x, method)
    plan = stats._plan(x, stats.DEFAULT_MAX_DROP)
    xk = x[:, plan.keep]
    m = xk.shape[1]
    z = stats.standardised_ranks(xk)
    w = stats.autocorrelation_weights(np.nan_to_num(z), stats.default_lags(plan.n_points)) \
        if method != "levels" else None
    li, lj = np.searchsorted(used, i), np.searchsorted(used, j)
    defined = plan.defined[li] & plan.defined[lj]
    gappy = plan.gappy[li] | plan.gappy[lj]
    fast = np.flatnonzero(defined & ~gappy)
    for lo in range(0, fast.size, _CHUNK):
        s = fast[lo: lo + _CHUNK]
        rho[s] = np.einsum("pk,pk->p", z[li[s]], z[lj[s]])
        n[s] = m
        n_test[s] = m if w is None else stats.neff_from_inflation(m, 1 + 2 * np.einsum("pk,pk->p", w[li[s]],
                                                                                          w[lj[s]]))
    valid = ~np.isnan(xk)
    for s in np.flatnonzero(defined & gappy):  # series with many gaps: pairwise-complete points, pair by pair
        both = valid[li[s]] & valid[lj[s]]
        if both.sum() < 3:
            continue
        zz = stats.standardised_ranks(np.stack([xk[li[s], both], xk[lj[s], both]]))
        rho[s] = zz[0] @ zz[1]
        n[s] = int(both.sum())
        n_test[s] = n[s]
        if w is not None:
            ww = stats.autocorrelation_weights(np.nan_to_num(zz), stats.default_lags(n[s]))
            n_test[s] = stats.neff_from_inflation(n[s], 1 + 2 * ww[0] @ ww[1])
    np.clip(rho, -1.0, 1.0, out=rho)
    return rho, n, n_test


def test_all(rows: Rows, signal_pairs: Sequence[tuple[int, int]], *, alpha: float, method: str,
             cols: NDArray[np.bool_] | None = None) -> tuple[Tested, list[NDArray[np.int64]]]:
    """Every compatible row pair of every signal pair; returns the tests and each signal pair's shared keys."""
    parts_i, parts_j, parts_p, shared = [], [], [], []
    for k, (a, b) in enumerate(signal_pairs):
        left, right, keys = join(rows, a, b)
        keep = left != right
        parts_i.append(left[keep])
        parts_j.append(right[keep])
        parts_p.append(np.full(int(keep.sum()), k, np.int64))
        shared.append(keys)
    i = np.concatenate(parts_i) if parts_i else np.empty(0, np.int64)
    j = np.concatenate(parts_j) if parts_j else np.empty(0, np.int64)
    pair = np.concatenate(parts_p) if parts_p else np.empty(0, np.int64)
    rho, n, n_test = measure_pairs(rows.values, i, j, alpha=alpha, method=method, cols=cols)
    p = stats.pvalue(rho, n_test) if rho.size else np.empty(0)
    # one test per unordered row pair (two targets of each other are tested once)
    q = np.full(p.shape, np.nan)
    if i.size:
        _, first, inv = np.unique(np.stack([np.minimum(i, j), np.maximum(i, j)], axis=1), axis=0,
                                  return_index=True, return_inverse=True)
        q = stats.benjamini_hochberg(p[first])[inv.ravel()]
    sig = stats.significant_mask(q, n_test, alpha)
    return Tested(i, j, pair, rho, n, n_test, p, q, sig), shared

