"""Which promtool cases share a test group. promtool evaluates every rule of the component at every step of every
group, so a group costs its longest evaluation time whatever it holds; cases packed together cost one.

Two ways cases may share a group without changing what either checks:
- cases of the same check (one alert, or one record, at one time: a firing case and its quiet cases) are each put
  in a cluster of their own, and the rules compute per cluster; the check lists every case's expected alerts, so a
  quiet case that fires still fails;
- cases of different checks are packed together only when neither case's series can reach the other's rule: the
  metrics one case's series carry are none of those the other's alert or record reads, directly or through the
  component's records. An expression whose reads cannot be listed (a selector without a metric name, ALERTS) is
  never packed with other checks.
A case whose series or expected alert lacks the cluster label (absent(), a target gone from every cluster) needs
the whole storage and keeps a group of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from generator import promql
from generator.model import Component
from generator.naming import PROMETHEUS_SERIES
from generator.promql_tokens import Found, find_selectors

Rename = Callable[[str], str]
Reads = frozenset[str] | None  # metric names, None when they cannot be listed


@dataclass(frozen=True)
class Entry:
    """One case: the check it makes (None: a group of its own), by when, what its series are, how to render it
    under a renamed cluster."""

    check: tuple[str, ...] | None
    seconds: float
    metrics: frozenset[str]
    reads: Reads
    render: Callable[[Rename], dict[str, Any]]


def keep(value: str) -> str:
    return value


def renamer(index: int) -> Rename:
    """The cluster values of the index-th case of a group (the first keeps its own)."""
    return keep if index == 0 else lambda value: f"{value}.{index + 1}"


def _name(found: Found) -> str:
    """The metric a selector names: before its braces, or its `__name__="..."`; "" when it names none."""
    if found.metric or not found.matchers:
        return found.metric
    return next((v for label, op, v in promql.parse_selector(found.matchers) if label == "__name__" and op == "="), "")


def series_metric(series: str) -> str:
    """The metric of a promtool input series (`metric{...}` or `{__name__="metric",...}`)."""
    found = find_selectors(series)
    return _name(found[0]) if found else ""


def reader(component: Component) -> Callable[[str], Reads]:
    """reads(expr): the metric and record names `expr` reads, through the component's records."""
    records: dict[str, list[str]] = {}  # one record may be written by several rules (one per label set)
    for rule in (*component.rules, *component.slow_rules):
        records.setdefault(rule.record, []).append(rule.expr)
    seen: dict[str, Reads] = {}

    def reads(expr: str) -> Reads:
        out: set[str] = set()
        for found in find_selectors(expr):
            name = _name(found)
            if not name or name in PROMETHEUS_SERIES:  # ALERTS: written by every alert of the file
                return None
            out.add(name)
            if name in records:
                if name not in seen:
                    seen[name] = None  # a cycle reads what cannot be listed
                    parts = [reads(e) for e in records[name]]
                    seen[name] = None if None in parts else frozenset().union(*parts)
                inner = seen[name]
                if inner is None:
                    return None
                out |= inner
        return frozenset(out)

    return reads


@dataclass
class _Bundle:
    entries: list[Entry]
    seconds: float
    metrics: frozenset[str]
    reads: Reads

    def apart(self, other: _Bundle) -> bool:
        """Neither bundle's series reach the other's check."""
        if self.reads is None or other.reads is None or "" in self.metrics or "" in other.metrics:
            return False  # a check whose reads cannot be listed, or a series without a metric name
        return not (self.metrics & other.reads) and not (other.metrics & self.reads)


def pack(entries: Iterable[Entry]) -> list[list[Entry]]:
    """Entries in groups: same checks together, then bundles that stay apart, longest first (first fit)."""
    bundles: dict[object, _Bundle] = {}
    for i, e in enumerate(entries):
        key: object = e.check if e.check is not None else i
        if key in bundles:
            b = bundles[key]
            b.entries.append(e)
            b.seconds, b.metrics = max(b.seconds, e.seconds), b.metrics | e.metrics
        else:
            bundles[key] = _Bundle([e], e.seconds, e.metrics, e.reads if e.check is not None else None)
    groups: list[list[_Bundle]] = []
    for bundle in sorted(bundles.values(), key=lambda b: -b.seconds):  # stable: ties keep their order
        home = next((g for g in groups if all(bundle.apart(o) for o in g)), None)
        if home is None:
            groups.append([bundle])
        else:
            home.append(bundle)
    return [[e for b in g for e in b.entries] for g in groups]


def combine(tests: list[dict[str, Any]]) -> dict[str, Any]:
    """One promtool test group of cases rendered apart: their series, and each check once with every case's
    expectations."""
    if len(tests) == 1:
        return tests[0]
    out: dict[str, Any] = {"name": " | ".join(t["name"] for t in tests), "interval": tests[0]["interval"],
                           "input_series": [s for t in tests for s in t["input_series"]]}
    for kind, what, expected in (("alert_rule_test", "alertname", "exp_alerts"),
                                 ("promql_expr_test", "expr", "exp_samples")):
        checks: dict[tuple[str, str], dict[str, Any]] = {}
        for t in tests:
            for check in t.get(kind, ()):
                key = (check["eval_time"], check[what])
                if key in checks:
                    checks[key][expected] = [*checks[key][expected], *check[expected]]
                else:
                    checks[key] = dict(check)
        if checks:
            out[kind] = list(checks.values())
    return out
