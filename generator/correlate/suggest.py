"""The suggestion pipeline: fetch a target and its candidates, correlate, keep what is significant.

One `measure()` serves `stereo suggest`, the service's suggestions, its matrix and its correlations.yaml:

1. every signal (targets and candidates) is fetched once over the window, on one aligned time grid, with the
   request's selector applied (`query_for`: dashboard variables bound and escaped by promql.bind, other
   matchers applied to the returned series' labels — nothing from the request is pasted into PromQL);
   A signal whose recorded series has no samples in the window is evaluated from its raw expression (the
   catalog's recording rules expanded), and `Measurement.raw` says so; every signal that stays empty is named
   with its query in `Measurement.empty`; points a missed scrape reaches (a gauge's stale lookback, a rate
   draining into a hole and ramping up after it) are made missing (`gaps`), so shared outages make no pairs;
2. each series is a row; two signals are compared through their *compatible* series only (labels they share
   agree: same pod, same namespace, same node host...), found by a join on integer-coded labels
   (`findings`); every such series pair is one test (ρ, p — exact for small n —, n, n_eff);
3. Benjamini–Hochberg over every compatible series pair tested; nothing with fewer than `stats.MIN_POINTS`
   effective points is significant;
4. object-scoped findings (`analysis.ObjectFinding`): per signal pair and object (the shared labels' values,
   e.g. {namespace, pod}); pairs that are the same data by definition are `derived` (`derived`) and kept apart;
5. regimes (`regimes`): when the targets' load level changes once clearly, every finding is also measured per
   phase ("smooth", "congested") and the congested phase's findings say how each relation changed;
6. the strongest pair stands for the signal pair (`analysis.Finding`, correlations.yaml with how many objects
   support it); short windows (`windows.sliding`) give its short-window ρ series and stability.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from generator import promql
from generator.correlate import gaps, stats, windows
from generator.correlate.analysis import Analysis, Finding, ObjectFinding, analyse
from generator.correlate.candidates import DEFAULT_LIMIT, Candidate, Catalog, candidates
from generator.correlate.findings import IGNORED_LABELS
from generator.correlate.source import QUERY_ERRORS, RangeResult, Source, SourceError
from generator.correlate.upstream import (
    Matcher,
)
from generator.correlations import Pair
from generator.model import Signal

Progress = Callable[[str], None]
MIN_POINTS = 10
MAX_WINDOW = 366 * 86400  # a year of history is more than any relation an operator acts on
DECIMALS = 6


@dataclass(frozen=True)
class Options:
    window: int = 6 * 3600  # seconds
    step: int = 60
    alpha: float = stats.DEFAULT_ALPHA
    method: str = stats.DEFAULT_METHOD
    short_window: int = windows.DEFAULT_WINDOWS[0]  # points
    max_candidates: int = DEFAULT_LIMIT
    regimes: bool = True  # also measure per phase when the load level changes
    # count raw samples per step to find single missed scrapes (gaps.coverage): one more query per signal, so
    # `stereo suggest` does (unless --no-scrape-check) and the live service does not
    scrape_check: bool = False

    def check(self) -> None:
        """ValueError naming what is wrong (the CLI and the service report it as bad input)."""
        if self.step < 1 or int(self.step) != self.step:
            raise ValueError(f"step must be a whole number of seconds, got {self.step}")
        if self.window > MAX_WINDOW:
            raise ValueError(f"window {promql.format_duration(self.window)} is longer than "
                             f"{promql.format_duration(MAX_WINDOW)}")
        if self.window // self.step + 1 < MIN_POINTS:
            raise ValueError(f"window {promql.format_duration(self.window)} at step {promql.format_duration(self.step)}"
                             f" gives {self.window // self.step + 1} points; need at least {MIN_POINTS}")
        if not 0 < self.alpha < 1:
            raise ValueError(f"alpha must be between 0 and 1, got {self.alpha}")
        if self.method not in stats.METHODS:
            raise ValueError(f"method must be one of {', '.join(stats.METHODS)}")


# ---------------------------------------------------------------- queries from a request


def query_for(signal: Signal, matchers: Sequence[Matcher], cluster_label: str) -> str:
    """The signal's PromQL with the selector's exact `cluster`/`namespace`/`pod` values bound (escaped)."""
    variables = {cluster_label: "cluster", "namespace": "namespace", "pod": "pod"}
    values = {variables[label]: value for label, op, value in matchers if op == "=" and label in variables}
    return promql.bind(signal.expr, values)


def keep(labels: dict[str, str], matchers: Sequence[Matcher]) -> bool:
    """Whether a returned series satisfies the selector; a series without a label is at a coarser scope: kept."""
    return all(promql.matches(op, labels[label], value) for label, op, value in matchers if label in labels)


def _host(value: str) -> str:
    return value.rsplit(":", 1)[0] if ":" in value and not value.endswith("]") else value


def compatible(a: dict[str, str], b: dict[str, str]) -> bool:
    """Two series describe the same place when every label they share agrees (`instance` by host, not port)."""
    for key in a.keys() & b.keys():
        if key in IGNORED_LABELS:
            continue
        if a[key] != b[key] and not (key == "instance" and _host(a[key]) == _host(b[key])):
            return False
    return True


# ---------------------------------------------------------------- fetching


@dataclass
class Fetched:
    signal: Signal
    values: np.ndarray  # (n_series, n_points) after the selector's filter
    labels: list[dict[str, str]]
    reason: str = ""  # why there is nothing to correlate, when empty


def fetch(source: Source, signals: Sequence[Signal], matchers: Sequence[Matcher], cluster_label: str,
          start: int, end: int, step: int, deadline: float | None = None, progress: Progress | None = None
          ) -> tuple[np.ndarray, dict[str, Fetched]]:
    """Every signal over [start, end]: (time grid, fetched by signal name). Raises SourceError for upstream faults."""
    queries = {s.name: query_for(s, matchers, cluster_label) for s in signals}
    by_query: dict[str, list[str]] = {}
    for name, q in queries.items():
        by_query.setdefault(q, []).append(name)
    done = [0]

    def report(query: str, _: RangeResult | SourceError) -> None:
        done[0] += 1
        if progress is not None:
            progress(f"[{done[0]}/{len(by_query)}] fetched {', '.join(by_query[query])}")

    results = source.fetch_many(list(by_query), start, end, step, deadline, report)
    times = np.arange(*source_grid(start, end, step), dtype=np.float64)
    out: dict[str, Fetched] = {}
    for sig in signals:
        res = results[queries[sig.name]]
        if isinstance(res, QUERY_ERRORS):
            out[sig.name] = Fetched(sig, np.empty((0, times.size)), [], str(res))
            continue
        assert isinstance(res, RangeResult)
        kept = [i for i, lb in enumerate(res.labels) if keep(lb, matchers)]
        values = res.values[kept] if kept else np.empty((0, times.size))
        out[sig.name] = Fetched(sig, values, [res.labels[i] for i in kept], "" if kept else "no data")
    return times, out


def source_grid(start: int, end: int, step: int) -> tuple[int, int, int]:
    """arange arguments of the aligned grid Source.range uses."""
    s, e = start // step * step, end // step * step
    return s, e + step, step


# ---------------------------------------------------------------- analysis


@dataclass
class Measurement:
    start: int
    end: int
    step: int
    options: Options
    findings: dict[str, list[Finding]]  # per target: significant first, strongest first
    missing: dict[str, list[tuple[str, str]]]  # per target: (candidate, why nothing was measured)
    target_reason: dict[str, str]  # targets without usable data: why
    objects: list[ObjectFinding] = field(default_factory=list)  # object-scoped, ranked; derived last
    phases: dict[str, tuple[int, int]] = field(default_factory=dict)  # regime -> (first, last) timestamp
    empty: list[str] = field(default_factory=list)  # "signal: query" for every signal that came back empty
    raw: dict[str, str] = field(default_factory=dict)  # signal -> raw query used instead of its recorded one


def window_bounds(start: float | None, end: float, options: Options) -> tuple[int, int]:
    """The aligned [start, end] of a measurement; ValueError (one line) when it cannot be measured."""
    step = int(options.step)
    e = int(end // step * step)
    if start is None:
        return e - int(options.window // step * step), e
    s = int(-(-start // step) * step)
    if s >= e:
        raise ValueError(f"start {int(start)} is not before end {int(end)}")
    if e - s > MAX_WINDOW:
        raise ValueError(f"start..end is longer than {promql.format_duration(MAX_WINDOW)}")
    if (e - s) // step + 1 < MIN_POINTS:
        raise ValueError(f"start..end at step {promql.format_duration(step)} gives {(e - s) // step + 1} points; "
                         f"need at least {MIN_POINTS}")
    return s, e


def plan(catalog: Catalog, targets: Iterable[str], related: dict[str, list[str]] | None = None,
         limit: int = DEFAULT_LIMIT) -> dict[str, list[Candidate]]:
    """Candidates per target (topology first)."""
    related = related or {}
    return {t: candidates(catalog, t, related.get(t, ()), limit) for t in targets}


def measure(source: Source, catalog: Catalog, targets: dict[str, list[Candidate]], matchers: Sequence[Matcher],
            cluster_label: str, options: Options, end: float, deadline: float | None = None,
            progress: Progress | None = None, *, start: float | None = None,
            analyser: Callable[..., Analysis] = analyse) -> Measurement:
    """Fetch, then `analyser(times, fetched, targets, options, catalog.derived)` (analysis.analyse; the service
    runs it in a worker process: workers.py)."""
    options.check()
    step = int(options.step)
    s, e = window_bounds(start, end, options)
    names = list(dict.fromkeys([*targets, *(c.signal.name for cs in targets.values() for c in cs)]))
    signals = [catalog.signals[n] for n in names]
    times, fetched = fetch(source, signals, matchers, cluster_label, s, e, step, deadline, progress)
    raw: dict[str, str] = {}
    empty = [sig for sig in signals if fetched[sig.name].reason == "no data"]
    fallback = {sig.name: catalog.raw_signal(sig.name) for sig in empty}
    fallback = {n: r for n, r in fallback.items() if r is not None}
    if fallback:  # recorded series without history: evaluate the rules' raw expressions instead
        _, again = fetch(source, list(fallback.values()), matchers, cluster_label, s, e, step, deadline, progress)
        for name, f in again.items():
            if not f.reason:
                fetched[name] = Fetched(catalog.signals[name], f.values, f.labels)
                raw[name] = query_for(fallback[name], matchers, cluster_label)
    _missed_scrapes(source, catalog, fetched, matchers, cluster_label, (s, e, step), deadline, options.scrape_check)
    if progress is not None:
        rows = sum(f.values.shape[0] for f in fetched.values())
        progress(f"correlating {rows} series of {len(names)} signals over {times.size} points")
        for name in raw:
            progress(f"{name}: no recorded samples in the window, used its raw expression")
    result = analyser(times, fetched, targets, options, catalog.derived)
    reasons = {t: fetched[t].reason for t in targets if fetched[t].reason}
    still = [f"{n}: {query_for(catalog.signals[n], matchers, cluster_label)}" for n in names
             if fetched[n].reason == "no data"]
    return Measurement(s, e, step, options, result.findings, result.missing, reasons, result.objects,
                       result.phases, still, raw)


def _missed_scrapes(source: Source, catalog: Catalog, fetched: dict[str, Fetched], matchers: Sequence[Matcher],
                    cluster_label: str, grid: tuple[int, int, int], deadline: float | None, count: bool) -> None:
    """Points a missed scrape reaches are made missing (gaps.py): holes widened by each signal's reach, and the
    points where a rate signal's raw metric has fewer samples than usual (one `coverage` query per signal)."""
    start, end, step = grid
    cover: dict[str, Signal] = {}
    reach: dict[str, int] = {}
    for name, f in fetched.items():
        if f.values.size:
            expr = (catalog.raw_signal(name) or f.signal).expr
            reach[name] = gaps.points(expr, step)
            fetched[name] = Fetched(f.signal, gaps.widen(f.values, reach[name]), f.labels, f.reason)
            query = gaps.coverage(expr, f.signal.labels, step) if count else None
            if query is not None:
                cover[name] = replace(f.signal, expr=query)
    if not cover:
        return
    _, counts = fetch(source, list(cover.values()), matchers, cluster_label, start, end, step, deadline)
    for name, c in counts.items():
        f = fetched[name]
        if c.reason:
            continue  # no counts (an engine without count_over_time, too many series): holes only
        keys = f.signal.labels
        at = {tuple(lb.get(k, "") for k in keys): i for i, lb in enumerate(c.labels)}
        rows = np.array([at.get(tuple(lb.get(k, "") for k in keys), -1) for lb in f.labels], np.int64)
        aligned = np.where((rows >= 0)[:, None], c.values[np.maximum(rows, 0)], np.nan)
        mask = gaps.missed(aligned, reach[name])
        if mask.any():
            values = f.values.copy()
            values[mask] = np.nan
            fetched[name] = Fetched(f.signal, values, f.labels, f.reason)


# ---------------------------------------------------------------- correlations.yaml


def pairs(measurement: Measurement, catalog: Catalog, prior: Sequence[Pair] = (), include_derived: bool = False
          ) -> list[Pair]:
    """Significant signal pairs, once each (a = the target, or the smaller name when both were targets), with
    how many objects support each; derived pairs (the same data by definition) only when asked.

    `n` is the effective number of points the test counted (n_eff for the autocorrelation-corrected methods),
    so that `critical` is the paper's critical value for that n."""
    relations = {frozenset((p.a, p.b)): p.relation for p in prior if p.relation}
    out: dict[frozenset[str], Pair] = {}
    window = promql.format_duration(measurement.options.window)
    for target in sorted(measurement.findings):
        for f in measurement.findings[target]:
            ident = frozenset((f.target, f.partner))
            if not f.significant or (ident in out and out[ident].a < f.target) or (f.derived and not include_derived):
                continue
            titles = catalog.index.title
            relation = relations.get(ident) or f"{titles.get(f.target, f.target)} ↔ {titles.get(f.partner, f.partner)}"
            out[ident] = Pair(f.target, f.partner, rho=f.rho, n=f.n if f.n_eff is None else f.n_eff,
                              critical=f.critical, alpha=measurement.options.alpha, window=window,
                              stability=f.stability, source="measured", relation=relation, objects=f.objects,
                              derived=True if f.derived else None)
    _phase_pairs(measurement, catalog, relations, out)
    return sorted(out.values(), key=lambda p: (-p.strength(), p.a, p.b))


def _phase_pairs(measurement: Measurement, catalog: Catalog, relations: dict[frozenset[str], str],
                 out: dict[frozenset[str], Pair]) -> None:
    """Relations significant within a regime but not over the whole window (one that flips cancels out over
    it): the phase where the most objects show it stands for the pair, its window is that phase's length and
    the relation says which phase and how the other phase differs."""
    by: dict[tuple[frozenset[str], str], list[ObjectFinding]] = {}
    for f in measurement.objects:
        if f.phase is not None and f.significant and not f.derived and frozenset((f.a, f.b)) not in out:
            by.setdefault((frozenset((f.a, f.b)), f.phase), []).append(f)
    best: dict[frozenset[str], tuple[str, list[ObjectFinding]]] = {}
    for (ident, phase), found in sorted(by.items(), key=lambda kv: (sorted(kv[0][0]), kv[0][1] != "smooth")):
        if ident not in best or len(found) > len(best[ident][1]):  # the most objects; smooth on a tie
            best[ident] = (phase, found)
    titles = catalog.index.title
    for ident, (phase, found) in best.items():
        top = max(found, key=lambda f: (abs(f.rho), f.a, f.b))
        first, last = measurement.phases.get(phase, (top.start, top.end))
        changes = sorted({f.change for f in measurement.objects if f.change and frozenset((f.a, f.b)) == ident})
        base = relations.get(ident) or f"{titles.get(top.a, top.a)} ↔ {titles.get(top.b, top.b)}"
        note = f" ({phase} phase" + (f"; under congestion it {', '.join(changes)})" if changes else ")")
        out[ident] = Pair(top.a, top.b, rho=top.rho, n=top.n if top.n_eff is None else top.n_eff,
                          critical=top.critical, alpha=measurement.options.alpha,
                          window=promql.format_duration(max(last - first + measurement.step, measurement.step)),
                          source="measured", relation=base + note, objects=len(found))


def default_targets(catalog: Catalog, prior: Sequence[Pair]) -> list[str]:
    """The signals of the prior pairs, then every "resource" signal, in catalog order."""
    return list(dict.fromkeys([*(n for p in prior for n in (p.a, p.b)), *catalog.of_kind("resource")]))


def related(prior: Sequence[Pair]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in prior:
        out.setdefault(p.a, []).append(p.b)
        out.setdefault(p.b, []).append(p.a)
    return out


def header(options: Options) -> dict[str, object]:
    return {"generated_by": "stereo suggest", "window": promql.format_duration(options.window),
            "step": promql.format_duration(options.step), "alpha": options.alpha, "method": options.method}




# ---------------------------------------------------------------- findings as JSON


def _num(v: float | None) -> float | None:
    return None if v is None or v != v else v


def finding_json(f: ObjectFinding) -> dict[str, Any]:
    """One object-scoped finding in the shape `stereo suggest --json` writes and the service returns."""
    return {"a": f.a, "b": f.b, "scope": dict(sorted(f.scope.items())), "rho": _num(f.rho), "n": f.n,
            "n_eff": f.n_eff, "p": _num(f.p), "q": _num(f.q), "critical": _num(f.critical),
            "significant": f.significant, "derived": f.derived, "expected": f.expected, "phase": f.phase,
            "change": f.change, "points": f.points, "present": f.present, "partial": f.partial,
            "window": {"start": f.start, "end": f.end}}


def partial_scopes(m: Measurement) -> list[tuple[dict[str, str], int, int]]:
    """Scopes of significant non-derived findings over the whole window that were there for only part of it
    (a pod replaced, created or deleted during the window): (scope, points it spans, the window's points), once
    each, in scope order."""
    out: dict[tuple[tuple[str, str], ...], tuple[int, int]] = {}
    for f in m.objects:
        if f.phase is None and f.significant and not f.derived and f.partial:
            key = tuple(sorted(f.scope.items()))
            out[key] = (min(f.present, out.get(key, (f.present, 0))[0]), f.points)
    return [(dict(k), n, points) for k, (n, points) in sorted(out.items())]


def findings_json(m: Measurement, include_derived: bool = True) -> list[dict[str, Any]]:
    """Every object-scoped finding of a measurement (measured first, strongest first; derived last)."""
    return [finding_json(f) for f in m.objects if include_derived or not f.derived]


def main(argv: list[str]) -> int:
    from generator.correlate.suggest_cli import main as run

    return run(argv)
