"""Why a signal came back empty (issue 12.2: "a window with no data names every signal and series selector that
came back empty"): `stereo suggest` checks each raw series selector the empty signals read, over the window.

For every distinct `metric{matchers}` (from the signal's raw expression, recording rules expanded):

- the metric has no series at all in the window → "no series in the window";
- it has series but none match the selector → each matcher that alone matches nothing is named, with the
  stereo.yaml setting it comes from (`selectors.cadvisor`, `selectors.cadvisor_containers`, ...) — e.g. data
  without `job` or `image` labels under the default selectors;
- the selector matches series → the emptiness is elsewhere (a join, a filter): nothing to name here.

Existence is asked with instant queries at the window's end over `last_over_time(...[window])`; one query
finds which metrics exist at all, so a site without a control plane costs one query for all of its metrics.
Best effort: an upstream fault ends the diagnosis, never the run.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from generator import promql
from generator.correlate.source import SourceError
from generator.model import Signal
from generator.promql_tokens import find_selectors

MAX_SELECTORS = 80  # distinct selectors checked per run (each costs at most 1 + its matchers instant queries)
Matcher = tuple[str, str, str]


@dataclass(frozen=True)
class Selector:
    metric: str
    matchers: tuple[Matcher, ...]

    def text(self, only: Sequence[Matcher] | None = None) -> str:
        ms = self.matchers if only is None else only
        return f"{self.metric}{{{', '.join(promql.matcher(*m) for m in ms)}}}"


def selectors_of(expr: str) -> list[Selector]:
    """The raw series selectors of an expression (names with braces, not recorded series), in order, once."""
    out: dict[Selector, None] = {}
    for found in find_selectors(expr):
        name, body = found.metric, found.matchers
        if not name or body is None or ":" in name:
            continue
        try:
            matchers = tuple(promql.parse_selector(body)) if body.strip() else ()
        except promql.PromQLError:
            continue
        out[Selector(name, matchers)] = None
    return list(out)


def settings_of(selectors: Mapping[str, str]) -> dict[str, tuple[Matcher, ...]]:
    """Each stereo.yaml selector setting's matchers."""
    out: dict[str, tuple[Matcher, ...]] = {}
    for name, text in selectors.items():
        try:
            out[f"selectors.{name}"] = tuple(promql.parse_selector(text)) if text.strip(" {}") else ()
        except promql.PromQLError:
            continue
    return out


def _origin(sel: Selector, settings: Mapping[str, tuple[Matcher, ...]]) -> dict[Matcher, str]:
    """Which setting each matcher of `sel` comes from: the settings wholly inside the selector, largest first
    (`job="kubelet"` of a cAdvisor read is selectors.cadvisor's, not selectors.kubelet's)."""
    inside = sorted((name for name, ms in settings.items() if ms and set(ms) <= set(sel.matchers)),
                    key=lambda name: (-len(settings[name]), name))
    out: dict[Matcher, str] = {}
    for name in inside:
        for m in settings[name]:
            out.setdefault(m, name)
    return out


def diagnose(source, readers: Mapping[Selector, Sequence[str]], settings: Mapping[str, tuple[Matcher, ...]],
             start: int, end: int) -> list[str]:
    """One line per selector that matches nothing over [start, end] because of its matchers, then one per metric
    with no series at all, each naming the signals that read it."""
    window = f"{max(int(end - start), 1)}s"
    chosen = list(readers)[:MAX_SELECTORS]
    if not chosen:
        return []

    def count(sel: str) -> int:
        got = source.instant(f"count(last_over_time({sel}[{window}]))", at=end)
        return int(got[0][1]) if got else 0

    lines: list[str] = []
    absent: dict[str, set[str]] = {}
    try:
        names = sorted({s.metric for s in chosen})
        pattern = "|".join(re.escape(n) for n in names)
        present = {lb.get("__name__", "") for lb, _ in source.instant(
            f'count by (__name__) (last_over_time({{__name__=~"{pattern}"}}[{window}]))', at=end)}
        for sel in chosen:
            if sel.metric not in present:
                absent.setdefault(sel.metric, set()).update(readers[sel])
                continue
            if not sel.matchers or count(sel.text()):
                continue
            origin = _origin(sel, settings)
            culprits = [m for m in sel.matchers if not count(sel.text([m]))]
            named = [promql.matcher(*m) + (f" ({origin[m]})" if m in origin else "") for m in culprits]
            what = " or ".join(named) if named else "all of these matchers together"
            lines.append(f"{sel.text()}: {sel.metric} has {count(sel.metric)} series, none with {what} "
                         f"(read by {', '.join(sorted(readers[sel]))})")
    except SourceError:
        pass
    lines += [f"{metric}: no series in the window (read by {', '.join(sorted(who))})"
              for metric, who in absent.items()]
    return lines


def explain(source, catalog, empty: Sequence[str], config_selectors: Mapping[str, str], start: int,
            end: int, bind: Callable[[Signal], str] = lambda sig: sig.expr) -> list[str]:
    """The diagnosis lines for the signals `empty` (names) of a measurement; `bind` turns a signal into the
    query that was run (dashboard variables bound or removed)."""
    readers: dict[Selector, list[str]] = {}
    for name in empty:
        sig = catalog.raw_signal(name) or catalog.signals[name]
        for sel in selectors_of(bind(sig)):
            readers.setdefault(sel, []).append(name)
    return diagnose(source, readers, settings_of(config_selectors), start, end)
