"""The suggestion pipeline: fetch a target and its candidates, correlate, keep what is significant.

One `measure()` serves `stereo suggest`, the service's suggestions, its matrix and its correlations.yaml:

1. every signal (targets and candidates) is fetched once over the window, on one aligned time grid, with the
   request's selector applied (`query_for`: dashboard variables bound and escaped by promql.bind, other
   matchers applied to the returned series' labels — nothing from the request is pasted into PromQL);
2. each series is a row; `stats.top_k_partners` gives ρ, p, n, n_eff of every target row against every row
   with the engine's default method (first differences, autocorrelation-corrected n_eff);
3. two signals are compared through their *compatible* series (labels they share agree: same pod, same
   namespace, same node host...), the strongest such pair stands for the signal pair;
4. Benjamini–Hochberg over every compatible series pair tested, so choosing the strongest pair per signal
   pair does not inflate significance; a signal pair is significant when its pair's q ≤ α;
5. short windows (`windows.sliding`, 30 points by default) give the short-window ρ series and stability.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from generator import correlations, promql
from generator.correlate import stats, windows
from generator.correlate.candidates import DEFAULT_LIMIT, Candidate, Catalog, candidates
from generator.correlate.source import QUERY_ERRORS, RangeResult, Source, SourceError
from generator.correlate.upstream import (
    Matcher,
    Parser,
    UsageError,
    seconds,
    site_catalog,
    upstream,
    upstream_options,
    write_atomic,
)
from generator.correlations import Pair
from generator.model import Signal

Progress = Callable[[str], None]
# labels that differ between signals describing the same thing, so they never decide compatibility
IGNORED_LABELS = frozenset({"__name__", "quantile", "le", "job", "endpoint", "service", "metrics_path"})
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
    for label, op, value in matchers:
        if label not in labels:
            continue
        have = labels[label]
        ok = {"=": have == value, "!=": have != value}.get(op)
        if ok is None:
            ok = (re.fullmatch(value, have) is not None) == (op == "=~")
        if not ok:
            return False
    return True


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


@dataclass(frozen=True)
class Finding:
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


@dataclass
class Measurement:
    start: int
    end: int
    step: int
    options: Options
    findings: dict[str, list[Finding]]  # per target: significant first, strongest first
    missing: dict[str, list[tuple[str, str]]]  # per target: (candidate, why nothing was measured)
    target_reason: dict[str, str]  # targets without usable data: why


def plan(catalog: Catalog, targets: Iterable[str], related: dict[str, list[str]] | None = None,
         limit: int = DEFAULT_LIMIT) -> dict[str, list[Candidate]]:
    """Candidates per target (topology first)."""
    related = related or {}
    return {t: candidates(catalog, t, related.get(t, ()), limit) for t in targets}


def measure(source: Source, catalog: Catalog, targets: dict[str, list[Candidate]], matchers: Sequence[Matcher],
            cluster_label: str, options: Options, end: float, deadline: float | None = None,
            progress: Progress | None = None) -> Measurement:
    options.check()
    step = int(options.step)
    e = int(end // step * step)
    s = e - int(options.window // step * step)
    names = list(dict.fromkeys([*targets, *(c.signal.name for cs in targets.values() for c in cs)]))
    times, fetched = fetch(source, [catalog.signals[n] for n in names], matchers, cluster_label, s, e, step,
                           deadline, progress)
    if progress is not None:
        rows = sum(f.values.shape[0] for f in fetched.values())
        progress(f"correlating {rows} series of {len(names)} signals over {times.size} points")
    findings, missing = analyse(times, fetched, targets, options)
    reasons = {t: fetched[t].reason for t in targets if fetched[t].reason}
    return Measurement(s, e, step, options, findings, missing, reasons)


def analyse(times: np.ndarray, fetched: dict[str, Fetched], targets: dict[str, list[Candidate]], options: Options
            ) -> tuple[dict[str, list[Finding]], dict[str, list[tuple[str, str]]]]:
    owner: list[str] = []
    labels: list[dict[str, str]] = []
    blocks = []
    for name, f in fetched.items():
        owner += [name] * f.values.shape[0]
        labels += f.labels
        blocks.append(f.values)
    data = np.vstack(blocks) if blocks else np.empty((0, times.size))
    target_rows = [r for r, name in enumerate(owner) if name in targets]
    best: dict[tuple[str, str], tuple[int, int, stats.Partner]] = {}
    tests: dict[tuple[int, int], float] = {}
    if target_rows and data.shape[0] >= 2:
        partners = stats.top_k_partners(data, target_rows, k=data.shape[0], alpha=options.alpha,
                                        method=options.method)
        tier_of = {t: {c.signal.name: c.tier for c in cs} for t, cs in targets.items()}
        for r, found in zip(target_rows, partners, strict=True):
            wanted = tier_of[owner[r]]
            for p in found:
                other = owner[p.index]
                if other not in wanted or not compatible(labels[r], labels[p.index]):
                    continue
                tests.setdefault((min(r, p.index), max(r, p.index)), p.pvalue)
                key = (owner[r], other)
                if key not in best or abs(p.rho) > abs(best[key][2].rho):
                    best[key] = (r, p.index, p)
    keys = sorted(tests)
    qs = dict(zip(keys, stats.benjamini_hochberg(np.array([tests[k] for k in keys], dtype=np.float64)),
                  strict=True)) if keys else {}
    short = _short(data, times, [(r, c) for r, c, _ in best.values()], options)
    findings: dict[str, list[Finding]] = {t: [] for t in targets}
    missing: dict[str, list[tuple[str, str]]] = {t: [] for t in targets}
    for t, cands in targets.items():
        for cand in cands:
            name = cand.signal.name
            if (t, name) not in best:
                missing[t].append((name, fetched[name].reason or _why(fetched[t], fetched[name])))
                continue
            r, c, p = best[(t, name)]
            q = qs[(min(r, c), max(r, c))]
            stability, st, sr = short.get((min(r, c), max(r, c)), (None, (), ()))
            crit = float(stats.critical_value(p.n if p.n_eff is None else p.n_eff, options.alpha))
            findings[t].append(Finding(
                t, name, cand.tier, _round(p.rho), _round(p.pvalue), _round(q), p.n, p.n_eff,
                None if np.isnan(crit) else _round(crit), bool(q <= options.alpha), stability, st, sr,
                labels[r], labels[c]))
        findings[t].sort(key=lambda f: (not f.significant, -abs(f.rho), f.partner))
    return findings, missing


def _why(target: Fetched, other: Fetched) -> str:
    if target.reason:
        return f"target has {target.reason}"
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows
        spread = np.nanmax(other.values, axis=1) - np.nanmin(other.values, axis=1)
    if not np.any(spread > 0):
        return "constant over the window"
    return "no series shares the target's labels, or too few points in common"


def _short(data: np.ndarray, times: np.ndarray, pairs: list[tuple[int, int]], options: Options
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


def _round(value: float) -> float:
    return float("nan") if np.isnan(value) else round(float(value), DECIMALS)


# ---------------------------------------------------------------- correlations.yaml


def pairs(measurement: Measurement, catalog: Catalog, prior: Sequence[Pair] = ()) -> list[Pair]:
    """Significant signal pairs, once each (a = the target, or the smaller name when both were targets).

    `n` is the effective number of points the test counted (n_eff for the autocorrelation-corrected methods),
    so that `critical` is the paper's critical value for that n."""
    relations = {frozenset((p.a, p.b)): p.relation for p in prior if p.relation}
    out: dict[frozenset[str], Pair] = {}
    window = promql.format_duration(measurement.options.window)
    for target in sorted(measurement.findings):
        for f in measurement.findings[target]:
            ident = frozenset((f.target, f.partner))
            if not f.significant or (ident in out and out[ident].a < f.target):
                continue
            titles = catalog.index.title
            relation = relations.get(ident) or f"{titles.get(f.target, f.target)} ↔ {titles.get(f.partner, f.partner)}"
            out[ident] = Pair(f.target, f.partner, rho=f.rho, n=f.n if f.n_eff is None else f.n_eff,
                              critical=f.critical, alpha=measurement.options.alpha, window=window,
                              stability=f.stability, source="measured", relation=relation)
    return sorted(out.values(), key=lambda p: (-p.strength(), p.a, p.b))


def header(options: Options) -> dict[str, object]:
    return {"generated_by": "stereo suggest", "window": promql.format_duration(options.window),
            "step": promql.format_duration(options.step), "alpha": options.alpha, "method": options.method}


# ---------------------------------------------------------------- `stereo suggest`

PROG = "stereo suggest"


def default_targets(catalog: Catalog, prior: Sequence[Pair]) -> list[str]:
    """The signals of the prior pairs, then every "resource" signal, in catalog order."""
    return list(dict.fromkeys([*(n for p in prior for n in (p.a, p.b)), *catalog.of_kind("resource")]))


def related(prior: Sequence[Pair]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for p in prior:
        out.setdefault(p.a, []).append(p.b)
        out.setdefault(p.b, []).append(p.a)
    return out


def _parser() -> argparse.ArgumentParser:
    p = Parser(prog=PROG, description="Measure correlations on a live Prometheus and write correlations.yaml.")
    upstream_options(p)
    p.add_argument("--window", default="6h", help="range to correlate over (default 6h)")
    p.add_argument("--step", default="60s", help="resolution (default 60s)")
    p.add_argument("--alpha", type=float, default=stats.DEFAULT_ALPHA, help="significance level (default 0.01)")
    p.add_argument("--method", choices=stats.METHODS, default=stats.DEFAULT_METHOD, help="see stereo correlate")
    p.add_argument("--targets", default="", help="comma-separated signals (default: prior pairs + resource signals)")
    p.add_argument("--max-candidates", type=int, default=DEFAULT_LIMIT, help="candidates per target (default 40)")
    p.add_argument("--timeout", default="30s", help="per upstream request (default 30s)")
    p.add_argument("--max-concurrency", type=int, default=4, help="upstream queries in flight (default 4)")
    p.add_argument("--max-series", type=int, default=1000, help="series one signal may return (default 1000)")
    p.add_argument("--out", default="correlations.yaml", help="file to write (default correlations.yaml)")
    p.add_argument("--end", default="now",
                   help="end of the window: unix seconds or now (default) — e.g. to measure before an incident")
    return p


def _end(text: str) -> float:
    if text == "now":
        return time.time()
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"--end: expected unix seconds or now, got {text!r}") from None
    if not 0 < value <= time.time() + 3600:
        raise UsageError(f"--end: {text} is not a time in the past")
    return value


def main(argv: list[str]) -> int:
    tty = sys.stderr.isatty()

    def progress(message: str) -> None:
        # on a terminal the "[i/n] fetched" lines overwrite each other; in a log every line stays
        if tty:
            end = "" if message.startswith("[") else "\n"
            print(f"\r\033[K{PROG}: {message}", end=end, file=sys.stderr, flush=True)
        else:
            print(f"{PROG}: {message}", file=sys.stderr, flush=True)

    try:
        args = _parser().parse_args(argv)
        config, url, auth, matchers = upstream(args)
        end = _end(args.end)
        options = Options(seconds(args.window, "--window"), seconds(args.step, "--step"), args.alpha, args.method,
                          max_candidates=max(1, args.max_candidates))
        try:
            options.check()
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        catalog = site_catalog(config)
        prior = correlations.prior(set(catalog.signals))
        targets = [t.strip() for t in args.targets.split(",") if t.strip()] or default_targets(catalog, prior)
        for t in targets:
            if t not in catalog:
                near = catalog.close(t)
                raise UsageError(f"--targets: unknown signal {t}" + (f"; closest: {', '.join(near)}" if near else ""))
        todo = plan(catalog, targets, related(prior), options.max_candidates)
        source = Source(url, auth, timeout=seconds(args.timeout, "--timeout"), max_series=max(1, args.max_series),
                        max_concurrency=max(1, args.max_concurrency), verify_tls=not args.insecure_skip_verify)
        try:
            m = measure(source, catalog, todo, matchers, config.cluster_label, options, end, progress=progress)
        finally:
            source.close()
        found = pairs(m, catalog, prior)
        out = Path(args.out)
        try:
            write_atomic(out, correlations.dump(found, header(options)))
        except OSError as exc:
            raise UsageError(f"--out {out}: cannot write: {exc.strerror or exc}") from None
    except (UsageError, SourceError) as exc:
        print(f"{chr(13) + chr(27) + '[K' if tty else ''}{PROG}: {exc}", file=sys.stderr)
        return 2
    empty = sorted(t for t in m.target_reason)
    note = f"; {len(empty)} target(s) without data" if empty else ""
    progress(f"wrote {out}: {len(found)} significant pairs among {len(targets)} targets "
             f"({promql.format_duration(options.window)} at {promql.format_duration(options.step)}, "
             f"α = {options.alpha:g}){note}")
    return 0
