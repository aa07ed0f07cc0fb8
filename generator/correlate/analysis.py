"""From fetched series to findings: signal-level (for correlations.yaml and the service's lists) and
object-scoped (one per object a relation was measured on), derived pairs apart, per regime.

See ``findings`` for how series are matched and tested, ``derived`` for what counts as the same data,
``regimes`` for phases."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from threadpoolctl import threadpool_limits

from generator.correlate import derived as definitions
from generator.correlate import findings, regimes, stats, windows
from generator.correlate.candidates import Candidate

DECIMALS = 6
PARTIAL = 0.8  # a scope spanning less than this share of the window's points was there only part of the time


@dataclass(frozen=True)
class Finding:
    """The strongest compatible series pair standing for a signal pair."""

    target: str
    partner: str
    tier: str
    rho: float
    pvalue: float
    qvalue: float
    n: int
    n_eff: int | None
    critical: float | None
    significant: bool
    stability: float | None
    short_times: tuple[int, ...]
    short_rho: tuple[float, ...]
    target_labels: dict[str, str] = field(default_factory=dict)
    partner_labels: dict[str, str] = field(default_factory=dict)
    derived: bool = False
    objects: int = 0  # objects (scopes) on which the relation is significant
    expected: bool = False  # the same activity measured twice (derived.expected): ranked after the others


@dataclass(frozen=True)
class ObjectFinding:
    """One relation measured on one object (scope), in one phase (None: the whole window)."""

    a: str
    b: str
    scope: dict[str, str]
    rho: float
    n: int
    n_eff: int | None
    p: float
    q: float
    critical: float | None
    significant: bool
    derived: bool
    phase: str | None
    start: int
    end: int
    change: str | None = None  # for a phase: how the relation differs from the other phase
    expected: bool = False  # the same activity measured twice (derived.expected)
    points: int = 0  # points of the window (phase), after the method's transform
    present: int = 0  # of those, from the scope's first value to its last

    @property
    def partial(self) -> bool:
        """The scope was there for only part of the window (a pod replaced, created or deleted during it): its
        first value comes late or its last early, so it spans less than PARTIAL of the window's points. Holes in
        the middle (missed scrapes) do not count: the object was there."""
        return self.points > 0 and self.present < PARTIAL * self.points


@dataclass
class Analysis:
    findings: dict[str, list[Finding]]
    missing: dict[str, list[tuple[str, str]]]
    objects: list[ObjectFinding]
    phases: dict[str, tuple[int, int]]  # phase -> (first, last) timestamp


def _round(value: float) -> float:
    return float("nan") if np.isnan(value) else round(float(value), DECIMALS)


def _sig(value: float) -> float:
    """p and q keep 6 significant digits (a p of 1e-30 is not 0)."""
    return float("nan") if np.isnan(value) else float(f"{float(value):.6g}")


def analyse(times: np.ndarray, fetched: dict, targets: dict[str, list[Candidate]], options,
            derived: Callable[[str, str], bool]) -> Analysis:
    """Findings of every target against its candidates over the window (and per phase).

    BLAS runs on one thread here: the products are small (a few hundred rows per target), so a second
    OpenBLAS thread saves nothing on an idle machine, and on a busy one its threads spin waiting for a core —
    over 8,000 series that was half the analysis' CPU time (bench/bench_suggest.py: 2.4 → 1.4 s)."""
    with threadpool_limits(1, "blas"):
        return _analyse(times, fetched, targets, options, derived)


def _analyse(times: np.ndarray, fetched: dict, targets: dict[str, list[Candidate]], options,
             derived: Callable[[str, str], bool]) -> Analysis:
    names = list(fetched)
    sid = {n: k for k, n in enumerate(names)}
    blocks = [fetched[n].values for n in names]
    data = np.vstack(blocks) if blocks else np.empty((0, times.size))
    owner = np.concatenate([np.full(b.shape[0], k, np.int64) for k, b in enumerate(blocks)]) if blocks else \
        np.empty(0, np.int64)
    labels = [lb for n in names for lb in fetched[n].labels]
    rows = findings.encode(data, owner, names, labels)
    spairs: list[tuple[int, int]] = []
    where: dict[frozenset[int], int] = {}
    for t, cands in targets.items():
        for c in cands:
            key = frozenset((sid[t], sid[c.signal.name]))
            if len(key) == 2 and key not in where:
                where[key] = len(spairs)
                spairs.append((sid[t], sid[c.signal.name]))
    present = [n for n in names if fetched[n].values.shape[0]]
    echo = _echoes(present, {n: set(fetched[n].signal.labels) for n in names}, derived)
    is_derived = np.array([derived(names[a], names[b]) or echo(names[a], names[b]) for a, b in spairs], dtype=bool)
    is_expected = np.array([definitions.expected(fetched[names[a]].signal, fetched[names[b]].signal)
                            for a, b in spairs], dtype=bool)
    joined: dict[int, tuple] = {}  # each signal pair's join, shared by the whole window and its phases
    tested, shared = findings.test_all(rows, spairs, alpha=options.alpha, method=options.method, cache=joined)
    s, e = (int(times[0]), int(times[-1])) if times.size else (0, 0)
    objects, per_pair = _objects(rows, tested, shared, spairs, (is_derived, is_expected), None, s, e, options.alpha)
    phases: dict[str, tuple[int, int]] = {}
    if getattr(options, "regimes", True) and tested.i.size:
        target_rows = np.isin(owner, [sid[t] for t in targets])
        by_phase = {}
        # per phase, every signal pair tested over the window: a relation that flips between the phases can
        # cancel out over the whole window (+0.25 smooth, -0.2 congested: ~0 overall), so testing only what was
        # significant over the window would never see it in either phase
        only = sorted(int(k) for k in np.unique(tested.pair))
        for ph in regimes.split(data[target_rows]) if only else []:
            by_phase[ph.name] = findings.test_all(rows, spairs, alpha=options.alpha, method=options.method,
                                                  cols=ph.cols, only=only, cache=joined)[0]
            ts = times[ph.cols]
            phases[ph.name] = (int(ts[0]), int(ts[-1]))
        for name in sorted(by_phase, reverse=True):  # smooth, then congested compared with smooth
            base = by_phase.get("smooth") if name == "congested" else None
            objs, _ = _objects(rows, by_phase[name], shared, spairs, (is_derived, is_expected), name, *phases[name],
                               options.alpha, other=base)
            objects += objs
    best = _best(tested)
    pbest = dict(zip(best, tested.pvalues(np.array(list(best.values()), dtype=np.int64)), strict=True))
    short = _short(data, times, [(int(tested.i[x]), int(tested.j[x])) for x in best.values()], options)
    found: dict[str, list[Finding]] = {t: [] for t in targets}
    missing: dict[str, list[tuple[str, str]]] = {t: [] for t in targets}
    for t, cands in targets.items():
        for cand in cands:
            name = cand.signal.name
            k = where.get(frozenset((sid[t], sid[name])))
            if k is None or k not in best:
                missing[t].append((name, fetched[name].reason or _why(fetched[t], fetched[name])))
                continue
            x = best[k]
            r, c = (int(tested.i[x]), int(tested.j[x]))
            if names[owner[r]] != t:
                r, c = c, r
            n_eff = None if options.method == "levels" else int(tested.n_test[x])
            crit = float(stats.critical_value(int(tested.n_test[x]), options.alpha))
            stab, st, sr = short.get((min(r, c), max(r, c)), (None, (), ()))
            found[t].append(Finding(
                t, name, cand.tier, _round(tested.rho[x]), _sig(pbest[k]), _sig(tested.q[x]),
                int(tested.n[x]), n_eff, None if np.isnan(crit) else _round(crit), bool(tested.significant[x]),
                stab, st, sr, labels[r], labels[c], bool(is_derived[k]), per_pair.get(k, 0), bool(is_expected[k])))
        found[t].sort(key=lambda f: (f.derived, not f.significant, f.expected, -abs(f.rho), f.partner))
    objects.sort(key=_rank)
    return Analysis(found, missing, objects, phases)


def _echoes(present: list[str], labels: dict[str, set[str]], derived: Callable[[str, str], bool]
            ) -> Callable[[str, str], bool]:
    """`echo(a, b)`: a is coarser than b (its labels a strict subset) and is an aggregate of another signal
    measured at b's granularity — namespace memory ↔ pod latency echoes pod memory ↔ pod latency. Such a pair
    repeats the finer one through the definition of the sum, so it is kept apart like a derived pair."""
    family: dict[str, list[str]] = {}

    def echo(a: str, b: str) -> bool:
        coarse, fine = (a, b) if labels[a] < labels[b] else (b, a) if labels[b] < labels[a] else ("", "")
        if not coarse:
            return False
        if coarse not in family:
            family[coarse] = [c for c in present if c != coarse and labels[coarse] < labels[c] and derived(coarse, c)]
        return any(c != fine and labels[fine] <= labels[c] for c in family[coarse])

    return echo


def _rank(f: ObjectFinding) -> tuple:
    return (f.derived, f.phase is not None, f.phase or "", not f.significant, f.expected, -abs(f.rho), f.a, f.b,
            sorted(f.scope.items()))


def _best(tested: findings.Tested) -> dict[int, int]:
    """Per signal pair: the index of its strongest defined row pair (significant ones first). Row pairs of one
    signal pair are contiguous, so this is a maximum per segment."""
    if not tested.pair.size:
        return {}
    key = np.where(np.isnan(tested.rho), -1.0, np.abs(tested.rho) + 2.0 * tested.significant)
    starts = np.flatnonzero(np.r_[True, tested.pair[1:] != tested.pair[:-1]])
    top = np.maximum.reduceat(key, starts)
    seg = np.repeat(np.arange(starts.size), np.diff(np.r_[starts, key.size]))
    hit = np.flatnonzero(key == top[seg])
    first = hit[np.r_[True, seg[hit][1:] != seg[hit][:-1]]]
    return {int(tested.pair[x]): int(x) for x in first if key[x] >= 0}


def _objects(rows: findings.Rows, tested: findings.Tested, shared: list[np.ndarray], spairs: list[tuple[int, int]],
             kinds: tuple[np.ndarray, np.ndarray], phase: str | None, start: int, end: int, alpha: float,
             other: findings.Tested | None = None) -> tuple[list[ObjectFinding], dict[int, int]]:
    """Significant findings per (signal pair, scope), the strongest row pair standing for a scope; and how many
    scopes support each signal pair. With `other` (the smooth phase), each finding says how it changed from there,
    and relations significant there but not here are kept too (they vanished)."""
    is_derived, is_expected = kinds
    out: list[ObjectFinding] = []
    support: dict[int, int] = {}
    interesting = tested.significant if other is None else (tested.significant | other.significant)
    for k in np.unique(tested.pair[interesting]):
        idx = np.flatnonzero((tested.pair == k) & interesting)
        keys = shared[k]
        scope_codes = rows.codes[tested.i[idx]][:, keys]
        _, group = np.unique(scope_codes, axis=0, return_inverse=True)
        group = group.ravel()
        order = np.lexsort((-np.abs(tested.rho[idx]), ~tested.significant[idx], group))
        first = np.ones(order.size, bool)
        first[1:] = group[order][1:] != group[order][:-1]
        a, b = spairs[k]
        count = 0
        chosen = idx[order[first]]
        pvals = tested.pvalues(chosen)
        for x, pv in zip(chosen, pvals, strict=True):
            sig = bool(tested.significant[x])
            change = None
            if other is not None:
                # an object measured in one phase only (a pod replaced by a rollout, or too few points to test
                # there) did not change: it is absent
                if min(tested.n[x], other.n[x]) < stats.MIN_POINTS or np.isnan(tested.rho[x] + other.rho[x]):
                    if not sig:
                        continue
                else:
                    change = regimes.change(bool(other.significant[x]), float(other.rho[x]), sig,
                                            float(tested.rho[x]))
                if not sig and change is None:
                    continue
            count += sig
            r = int(tested.i[x])
            scope = {rows.keys[c]: rows.labels[r].get(rows.keys[c], "") for c in keys if rows.codes[r, c] >= 0}
            crit = float(stats.critical_value(int(tested.n_test[x]), alpha))
            out.append(ObjectFinding(
                rows.signals[a], rows.signals[b], scope, _round(tested.rho[x]), int(tested.n[x]),
                int(tested.n_test[x]), _sig(pv), _sig(tested.q[x]),
                None if np.isnan(crit) else _round(crit), sig, bool(is_derived[k]), phase, start, end, change,
                bool(is_expected[k]), tested.points, int(tested.span[x]) if tested.span is not None else 0))
        support[int(k)] = count
    return out, support


def _why(target, other) -> str:
    if target.reason:
        return f"target has {target.reason}"
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows
        spread = np.nanmax(other.values, axis=1) - np.nanmin(other.values, axis=1)
    if not np.any(spread > 0):
        return "constant over the window"
    return "no series shares the target's labels, or too few points in common"


def _short(data: np.ndarray, times: np.ndarray, pairs: list[tuple[int, int]], options
           ) -> dict[tuple[int, int], tuple[float | None, tuple[int, ...], tuple[float, ...]]]:
    """Stability and the short-window ρ series of each chosen pair (rows of `data`)."""
    unique = sorted({(min(a, b), max(a, b)) for a, b in pairs})
    if not unique or data.shape[1] < options.short_window:
        return {}
    rows = sorted({r for pr in unique for r in pr})
    pos = {r: i for i, r in enumerate(rows)}
    try:
        res = windows.sliding(data[rows], options.short_window, pairs=[(pos[a], pos[b]) for a, b in unique],
                              timestamps=times, alpha=options.alpha, method=options.method)
    except ValueError:
        return {}
    ends = tuple(int(t) for t in res.end_times) if res.end_times is not None else ()
    out = {}
    for k, pr in enumerate(unique):
        stab = res.stability[k]
        out[pr] = (None if np.isnan(stab) else _round(float(stab)), ends, tuple(_round(float(v)) for v in res.rho[k]))
    return out
