"""Runbooks (docs/runbooks/<Alert>.md) and the alert catalogue (docs/alerts.md), rendered with Jinja2.

Every PromQL block of a runbook is scoped to one cluster: each vector selector gets `<cluster>="$cluster"` (the
reader puts the alert's cluster there; the query parses and runs as it stands). Shell commands are fenced as `sh`.
"""

from __future__ import annotations

import re

import jinja2

from generator import promql
from generator.correlations import LIST_MIN_RHO
from generator.model import Component, Signal
from generator.promql import fmt_number
from generator.promql_tokens import find_selectors
from generator.render.related import Partner, diagnosis_query

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("generator", "templates"),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,  # Markdown, not HTML
)

SHELL = re.compile(r"^(kubectl|crictl|journalctl|etcdctl|systemctl|curl|dig|openssl|ssh|sudo)\b")


def _labels(matchers: str) -> set[str]:
    """The label names a selector's matchers read ('' reads none)."""
    return {label for label, _, _ in promql.parse_selector(matchers)} if matchers.strip() else set()


def scope(expr: str, cluster: str) -> str:
    """`expr` with `cluster="$cluster"` in every vector selector (promql_tokens' scanner) that does not match the
    cluster label already: `m` → `m{cluster="$cluster"}`, `m{job="x"}` → `m{cluster="$cluster",job="x"}`."""
    anchor = f'{cluster}="$cluster"'
    out: list[str] = []
    at = 0
    for found in find_selectors(expr):
        if found.matchers is None:
            out += [expr[at:found.end], "{" + anchor + "}"]
        else:
            brace = expr.index("{", found.start)
            inner = expr[brace + 1:found.end - 1]
            kept = inner if cluster in _labels(inner) else ",".join(p for p in (anchor, inner.strip()) if p)
            out += [expr[at:brace], "{" + kept + "}"]
        at = found.end
    return "".join(out) + expr[at:]


def _blocks(queries: tuple[str, ...], cluster: str) -> list[tuple[str, str]]:
    return [("sh", q) if SHELL.match(q) else ("promql", scope(q, cluster)) for q in queries]


def _related(found: tuple[Partner, ...], signals: dict[str, tuple[Signal, Component]], cluster: str,
             dashboard_urls: dict[str, str]) -> list[dict[str, str]]:
    """What the runbook says of each partner: its title, home, evidence and PromQL for one cluster."""
    out = []
    for partner in found:
        sig, home = signals[partner.signal]
        out.append({"name": sig.name, "title": sig.title, "own": partner.own, "home": home.title,
                    "home_url": dashboard_urls[home.key], "evidence": partner.pair.evidence(),
                    "query": scope(diagnosis_query(sig, cluster), cluster)})
    return out


def runbooks(components: list[Component], dashboard_urls: dict[str, str], cluster: str = "cluster",
             partners: dict[str, tuple[Partner, ...]] | None = None) -> dict[str, str]:
    """`partners`: what moved with each alert (render.related), listed in its diagnosis."""
    template = _ENV.get_template("runbook.md.j2")
    signals: dict[str, tuple[Signal, Component]] = {}
    for component in components:
        for sig in component.signals:
            signals.setdefault(sig.name, (sig, component))
    out = {}
    for component in components:
        for alert in component.alerts:
            moved = _related((partners or {}).get(alert.name, ()), signals, cluster, dashboard_urls)
            threshold = fmt_number(alert.threshold) if alert.threshold is not None else ""
            out[f"docs/runbooks/{alert.name}.md"] = template.render(
                alert=alert, component=component, threshold=threshold, dashboard_url=dashboard_urls[component.key],
                expr=scope(alert.expr, cluster), diagnosis=_blocks(alert.diagnosis, cluster), cluster=cluster,
                related=moved, floor=fmt_number(LIST_MIN_RHO),
            )
    return out


def catalogue(components: list[Component]) -> str:
    total = sum(len(c.alerts) for c in components)
    return _ENV.get_template("alerts.md.j2").render(components=components, total=total, fmt=fmt_number)
