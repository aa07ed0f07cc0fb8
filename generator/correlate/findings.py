"""Object-scoped findings on arrays: which series of two signals describe the same object, and how they move.

Input: one matrix of every fetched series (rows) on one time grid, the signal each row belongs to, and each
row's labels. Labels are integer-coded once (one column per label name, −1 where a row lacks the label), so
which series of two signals are compared — the ones whose shared labels agree (same namespace and pod, same
node host...) — is a sort-and-join on codes, never a Python call per candidate pair.

Every compatible row pair is one test: ρ is the dot product of the rows' standardised ranks, n_eff comes from
the rows' autocorrelation weights, p from ``stats.pvalue`` (exact for small n), q from Benjamini–Hochberg
over all tests of the call; significant means q ≤ α with at least ``stats.MIN_POINTS`` effective points.
Two signals that both have more than ``MAX_UNTIED`` series and share no label telling objects apart (pod series
against node series, when the pod series carry no node label) are not compared: the test would be every pod
against every node — quadratic in the cluster's size, and about no object.
A row pair's *scope* is the shared labels' values (e.g. {namespace, pod}); when several row pairs share a
scope (containers of one pod) the strongest stands for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from generator.correlate import pairwise, stats

# labels that differ between signals describing the same thing, so they never decide compatibility
IGNORED_LABELS = frozenset({"__name__", "quantile", "le", "job", "endpoint", "service", "metrics_path"})
# two signals with more series than this each, and no shared label telling objects apart (e.g. pods and
# nodes: pod series carry no node label), are not compared series by series (quadratic, and no object)
MAX_UNTIED = 10


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


def join(rows: Rows, a: int, b: int) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.int64],
                                              NDArray[np.int64], NDArray[np.int64]]:
    """Compatible row pairs of signals a and b: (positions in ra, positions in rb, ra, rb, shared key columns)."""
    ra, rb = np.flatnonzero(rows.owner == a), np.flatnonzero(rows.owner == b)
    shared = np.flatnonzero(rows.key_sets[a] & rows.key_sets[b])
    none = np.empty(0, np.int64)
    if ra.size == 0 or rb.size == 0:
        return none, none, ra, rb, shared
    ka, kb = rows.codes[np.ix_(ra, shared)], rows.codes[np.ix_(rb, shared)]
    both = np.concatenate([ka, kb])
    tied = bool(shared.size) and bool((both != both[:1]).any())  # a shared label that tells objects apart
    if not tied and min(ra.size, rb.size) > MAX_UNTIED:
        return none, none, ra, rb, shared  # many series on both sides and nothing ties them to one object
    if shared.size == 0:  # nothing in common: every series of a against every series of b
        return np.repeat(np.arange(ra.size), rb.size), np.tile(np.arange(rb.size), ra.size), ra, rb, shared
    inv = _groups(both)
    ga, gb = inv[: ra.size], inv[ra.size:]
    order = np.argsort(gb, kind="stable")
    gb_sorted = gb[order]
    lo, hi = np.searchsorted(gb_sorted, ga, "left"), np.searchsorted(gb_sorted, ga, "right")
    count = hi - lo
    left = np.repeat(np.arange(ra.size), count)
    starts = np.repeat(lo - np.cumsum(count) + count, count) + np.arange(count.sum())
    right = order[starts] if starts.size else none
    return left, right, ra, rb, shared


def _groups(codes: NDArray[np.int64]) -> NDArray[np.int64]:
    """A group number per row of `codes` (rows × keys), equal for equal rows: the columns folded into one
    integer when that fits in 63 bits (a 1-D unique, several times faster than a unique over rows)."""
    span = codes.max(axis=0) + 2 if codes.size else np.ones(codes.shape[1], np.int64)  # codes are ≥ -1
    if float(np.prod(span.astype(np.float64))) < 2.0**62:
        key = np.zeros(codes.shape[0], np.int64)
        for c in range(codes.shape[1]):
            key = key * span[c] + (codes[:, c] + 1)
        return np.unique(key, return_inverse=True)[1].ravel()
    return np.unique(codes, axis=0, return_inverse=True)[1].ravel()


@dataclass
class Tested:
    """Every tested row pair, as arrays (row pairs of one signal pair are contiguous, in signal-pair order).

    p is computed only where it can matter (|ρ| at or above the critical value for the pair's n_test, i.e.
    p ≤ α); elsewhere it is NaN until asked for (``pvalues``). q is Benjamini–Hochberg over every defined test."""

    i: NDArray[np.int64]
    j: NDArray[np.int64]
    pair: NDArray[np.int64]  # index of the signal pair
    rho: NDArray[np.float64]
    n: NDArray[np.int64]
    n_test: NDArray[np.int64]
    p: NDArray[np.float64]
    q: NDArray[np.float64]
    significant: NDArray[np.bool_]
    points: int = 0  # time points of the window (or phase) after the method's transform
    span: NDArray[np.int64] | None = None  # per test: points from the later first value of the two rows to the
    # earlier last one (a pod replaced or created during the window spans only part of it)

    def pvalues(self, idx: NDArray[np.int64]) -> NDArray[np.float64]:
        """p of the tests `idx` (computed now where it was skipped)."""
        p = self.p[idx]
        miss = np.isnan(p) & ~np.isnan(self.rho[idx])
        if miss.any():
            p[miss] = stats.pvalue(self.rho[idx][miss], self.n_test[idx][miss])
        return p


@dataclass
class _Prepared:
    z: NDArray[np.float64]  # standardised ranks of the method's values, gaps as 0
    w: NDArray[np.float64] | None  # autocorrelation weights (None for "levels")
    x: NDArray[np.float64]  # the method's values on the kept points (for pairs with gaps)
    defined: NDArray[np.bool_]
    gappy: NDArray[np.bool_]
    m: int
    total: int  # points before any was dropped
    first: NDArray[np.int64]  # per prepared row: its first and last point with a value (-1, -1: none)
    last: NDArray[np.int64]


def _prepare(values: NDArray[np.float64], cols: NDArray[np.bool_] | None, method: str) -> _Prepared:
    """Ranks (float32: ρ to ~1e-6, half the memory traffic) and autocorrelation weights of every row."""
    x = stats.transform(values if cols is None else values[:, cols], method)
    plan = stats._plan(x, stats.DEFAULT_MAX_DROP)
    xk = x[:, plan.keep] if not plan.keep.all() else x
    z = np.nan_to_num(stats.standardised_ranks(xk))
    w = None if method == "levels" else stats.autocorrelation_weights(z, stats.default_lags(plan.n_points))
    valid = ~np.isnan(x)
    some = valid.any(axis=1)
    first = np.where(some, np.argmax(valid, axis=1), -1)
    last = np.where(some, x.shape[1] - 1 - np.argmax(valid[:, ::-1], axis=1), -2)
    return _Prepared(z.astype(np.float32), None if w is None else w.astype(np.float32), xk, plan.defined,
                     plan.gappy, xk.shape[1], x.shape[1], first, last)


def _dense(left: NDArray[np.int64], ra: NDArray[np.int64], rb: NDArray[np.int64]) -> bool:
    return left.size * 3 >= ra.size * rb.size and left.size > 64


def _finish(pr: _Prepared, i: NDArray[np.int64], j: NDArray[np.int64], rho: NDArray[np.float64],
            infl: NDArray[np.float64] | None
            ) -> tuple[NDArray[np.float64], NDArray[np.int64], NDArray[np.int64], NDArray[np.bool_]]:
    """ρ (NaN where undefined), n and n_test of row pairs (i, j) from the products and the inflation, and which
    pairs have gaps (to be measured again on their common points: `pairwise`, all of a call's at once)."""
    n = np.full(i.size, pr.m, np.int64)
    n_test = n.copy() if infl is None else stats.neff_from_inflation(n, infl)
    defined = pr.defined[i] & pr.defined[j]
    return np.where(defined, rho, np.nan), n, n_test, defined & (pr.gappy[i] | pr.gappy[j])


def test_all(rows: Rows, signal_pairs: Sequence[tuple[int, int]], *, alpha: float, method: str,
             cols: NDArray[np.bool_] | None = None, only: Sequence[int] | None = None,
             cache: dict[int, tuple] | None = None) -> tuple[Tested, list[NDArray[np.int64]]]:
    """Every compatible row pair of every signal pair (or of the signal pairs `only`); BH over all of them.
    Returns the tests and each signal pair's shared key columns. `cache` keeps each signal pair's join for
    the next call on the same rows (the phases of a window join the same series)."""
    chosen = range(len(signal_pairs)) if only is None else only
    shared: list[NDArray[np.int64]] = [np.empty(0, np.int64)] * len(signal_pairs)
    joins = {}
    dense_by_target: dict[int, list[int]] = {}
    for k in chosen:
        a, b = signal_pairs[k]
        if cache is None:
            left, right, ra, rb, keys = join(rows, a, b)
        else:
            if k not in cache:
                cache[k] = join(rows, a, b)
            left, right, ra, rb, keys = cache[k]
        shared[k] = keys
        if left.size:
            joins[k] = (left, right, ra, rb)
            if _dense(left, ra, rb):
                dense_by_target.setdefault(a, []).append(k)
    used = np.unique(np.concatenate([np.concatenate([ra, rb]) for _, _, ra, rb in joins.values()])) if joins \
        else np.empty(0, np.int64)
    pr = _prepare(rows.values[used], cols, method)  # only the rows some test needs
    at = np.full(rows.values.shape[0], -1, np.int64)
    at[used] = np.arange(used.size)
    values: dict[int, tuple[NDArray[np.float64], NDArray[np.float64] | None]] = {}
    for ks in dense_by_target.values():  # one product per target signal against all its dense partners
        ra = joins[ks[0]][2]
        rb_all = np.concatenate([joins[k][3] for k in ks])
        block = pr.z[at[ra]] @ pr.z[at[rb_all]].T
        wblock = None if pr.w is None else pr.w[at[ra]] @ pr.w[at[rb_all]].T
        off = 0
        for k in ks:
            left, right, _, rb = joins[k]
            values[k] = (block[left, off + right], None if wblock is None else 1 + 2 * wblock[left, off + right])
            off += rb.size
    parts: list[tuple] = []
    for k in chosen:
        if k not in joins:
            continue
        left, right, ra, rb = joins[k]
        i, j = ra[left], rb[right]
        li, lj = at[i], at[j]
        if k in values:
            rho, infl = values.pop(k)
        else:
            rho = np.einsum("pk,pk->p", pr.z[li], pr.z[lj])
            infl = None if pr.w is None else 1 + 2 * np.einsum("pk,pk->p", pr.w[li], pr.w[lj])
        rho, infl = rho.astype(np.float64), None if infl is None else infl.astype(np.float64)
        span = np.maximum(np.minimum(pr.last[li], pr.last[lj]) - np.maximum(pr.first[li], pr.first[lj]) + 1, 0)
        parts.append((i, j, np.full(i.size, k, np.int64), *_finish(pr, li, lj, rho, infl), span))
    if not parts:
        e = np.empty(0)
        ei = np.empty(0, np.int64)
        return Tested(ei, ei, ei, e, ei, ei, e, e, np.empty(0, bool), pr.total, ei), shared
    i, j, pair, rho, n, n_test, redo, span = (np.concatenate(c) for c in zip(*parts, strict=True))
    redo = np.flatnonzero(redo)  # many gaps: pairwise-complete points
    if redo.size:
        rho[redo], n[redo], n_test[redo] = pairwise.measure(pr.x, at[i[redo]], at[j[redo]], pr.w is not None)
    undefined = np.isnan(rho)
    rho, n, n_test = np.clip(rho, -1.0, 1.0), np.where(undefined, 0, n), np.where(undefined, 0, n_test)
    # p only where it can reach α: |ρ| at or above the critical value of the pair's n_test
    crit = np.asarray(stats.critical_value(np.arange(int(n_test.max()) + 1, dtype=np.float64), alpha))
    crit = np.where(np.isnan(crit), 2.0, crit)
    tested = ~np.isnan(rho)
    cand = np.flatnonzero(tested & (np.abs(np.nan_to_num(rho)) >= crit[n_test] - 1e-9))
    p = np.full(rho.shape, np.nan)
    p[cand] = stats.pvalue(rho[cand], n_test[cand])
    q = np.full(rho.shape, np.nan)
    q[cand] = _bh(p[cand], int(tested.sum()))
    sig = stats.significant_mask(q, n_test, alpha)
    return Tested(i, j, pair, rho, n, n_test, p, q, sig, pr.total, span), shared


def _bh(p: NDArray[np.float64], m: int) -> NDArray[np.float64]:
    """Benjamini–Hochberg q of the smallest p-values of m tests (the others are all above α, see Tested)."""
    order = np.argsort(p, kind="stable")
    ranked = p[order] * (m / np.arange(1, p.size + 1))
    q = np.empty(p.shape)
    q[order] = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    return q
