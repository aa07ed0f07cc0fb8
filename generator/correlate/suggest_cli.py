"""`stereo suggest`: measure on a live Prometheus, write correlations.yaml (and, with --json, every
object-scoped finding)."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from generator import correlations, promql
from generator.correlate import stats
from generator.correlate.candidates import DEFAULT_LIMIT
from generator.correlate.source import Source, SourceError
from generator.correlate.suggest import (
    Options,
    default_targets,
    findings_json,
    header,
    measure,
    pairs,
    partial_scopes,
    plan,
    query_for,
    related,
    window_bounds,
)
from generator.correlate.suggest_empty import explain
from generator.correlate.upstream import (
    Parser,
    UsageError,
    seconds,
    site_catalog,
    upstream,
    upstream_options,
    write_atomic,
)

PROG = "stereo suggest"


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
    p.add_argument("--start", default="",
                   help="start of the window: unix seconds (default: --end minus --window)")
    p.add_argument("--json", metavar="FILE", help="also write every object-scoped finding as a JSON list")
    p.add_argument("--include-derived", action="store_true",
                   help="also write pairs that are the same data by definition to correlations.yaml")
    p.add_argument("--no-regimes", action="store_true", help="do not split the window into regimes")
    p.add_argument("--no-scrape-check", action="store_true",
                   help="do not count raw samples per step to leave out points a single missed scrape biased "
                        "(one query fewer per signal; outages are still left out)")
    return p


def _end(text: str, flag: str = "--end") -> float:
    if text == "now":
        return time.time()
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{flag}: expected unix seconds or now, got {text!r}") from None
    if not 0 < value <= time.time() + 3600:
        raise UsageError(f"{flag}: {text} is not a time in the past")
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
        start = _end(args.start, "--start") if args.start else None
        window = seconds(args.window, "--window") if start is None else max(int(end - start), 0)
        options = Options(window, seconds(args.step, "--step"), args.alpha, args.method,
                          max_candidates=max(1, args.max_candidates), regimes=not args.no_regimes,
                          scrape_check=not args.no_scrape_check)
        try:
            window_bounds(start, end, options)
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
            m = measure(source, catalog, todo, matchers, config.cluster_label, options, end, progress=progress,
                        start=start)
            why = explain(source, catalog, [line.split(":", 1)[0] for line in m.empty], config.selectors,
                          m.start, m.end, lambda sig: query_for(sig, matchers, config.cluster_label))
        finally:
            source.close()
        found = pairs(m, catalog, prior, include_derived=args.include_derived)
        out = Path(args.out)
        writes = [(out, "--out", correlations.dump(found, header(options)))]
        if args.json:
            doc = json.dumps(findings_json(m), indent=1, sort_keys=True, ensure_ascii=False, allow_nan=False)
            writes.append((Path(args.json), "--json", doc + "\n"))
        for path, flag, text in writes:
            try:
                write_atomic(path, text)
            except OSError as exc:
                raise UsageError(f"{flag} {path}: cannot write: {exc.strerror or exc}") from None
    except (UsageError, SourceError) as exc:
        print(f"{chr(13) + chr(27) + '[K' if tty else ''}{PROG}: {exc}", file=sys.stderr)
        return 2
    for line in m.empty:
        progress(f"no data: {line}")
    for line in why:
        progress(f"matched nothing: {line}")
    empty = sorted(t for t in m.target_reason)
    note = f"; {len(empty)} target(s) without data: {', '.join(empty)}" if empty else ""
    derived = sum(1 for f in m.objects if f.derived and f.significant and f.phase is None)
    measured = sum(1 for f in m.objects if not f.derived and f.significant and f.phase is None)
    expected = sum(1 for f in m.objects if f.expected and not f.derived and f.significant and f.phase is None)
    note += f"; {measured} object findings ({expected} expected, {derived} derived kept apart)"
    for scope, n, points in partial_scopes(m):
        what = ", ".join(f"{k}={v}" for k, v in scope.items())
        progress(f"partly present: {what}: there for {n} of the window's {points} points "
                 "(replaced, created or deleted during it)")
    changes: dict[tuple[str, str, str, str], int] = {}
    for f in m.objects:
        if f.change and not f.derived:
            key = (f.phase or "", f.a, f.b, f.change)
            changes[key] = changes.get(key, 0) + 1
    for (phase, a, b, how), count in sorted(changes.items()):
        progress(f"phase {phase}: {a} ↔ {b} {how} on {count} object(s)")
    for name, (s, e) in sorted(m.phases.items()):
        changed = sum(1 for f in m.objects if f.phase == name and f.change)
        note += f"; phase {name} {s}..{e}" + (f" ({changed} relations changed)" if changed else "")
    progress(f"wrote {out}: {len(found)} significant pairs among {len(targets)} targets "
             f"({promql.format_duration(options.window)} at {promql.format_duration(options.step)}, "
             f"α = {options.alpha:g}){note}")
    return 0
