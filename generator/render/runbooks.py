"""Runbooks (docs/runbooks/<Alert>.md) and the alert catalogue (docs/alerts.md), rendered with Jinja2.

Every PromQL block of a runbook is scoped to one cluster: each vector selector gets `<cluster>="$cluster"` (the
reader puts the alert's cluster there; the query parses and runs as it stands). Shell commands are fenced as `sh`.
"""

from __future__ import annotations

import re

import jinja2

from generator.correlations import LIST_MIN_RHO
from generator.model import Component, Signal
from generator.promql import fmt_number
from generator.render.related import Partner, diagnosis_query

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("generator", "templates"),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,  # Markdown, not HTML
)

SHELL = re.compile(r"^(kubectl|crictl|journalctl|etcdctl|systemctl|curl|dig|openssl|ssh|sudo)\b")
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|\[[^\]]*\]|\d[\w.]*|[a-zA-Z_:][a-zA-Z0-9_:]*|.', re.S)
# words that are never a series name: operators, modifiers, and those followed by a label list
_KEYWORDS = {"and", "or", "unless", "bool", "offset", "inf", "nan", "atan2", "start", "end"}
_LABEL_LISTS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
_AGGREGATIONS = {"sum", "avg", "min", "max", "count", "group", "stddev", "stdvar", "topk", "bottomk", "quantile",
                 "count_values", "limitk", "limit_ratio"}


def _matching(text: str, start: int, open_: str, close: str) -> int:
    """Index just past the bracket closing the one at `start`, skipping string literals."""
    depth, i = 0, start
    while i < len(text):
        ch = text[i]
        if ch in "\"'":
            i = re.compile(rf'{ch}(?:[^{ch}\\]|\\.)*{ch}').match(text, i).end()  # type: ignore[union-attr]
            continue
        depth += (ch == open_) - (ch == close)
        i += 1
        if depth == 0:
            return i
    raise ValueError(f"unbalanced {open_} in {text!r}")


def scope(expr: str, cluster: str) -> str:
    """`expr` with `cluster="$cluster"` in every vector selector that does not match the cluster label already."""
    anchor = f'{cluster}="$cluster"'
    out: list[str] = []
    i = 0
    while i < len(expr):
        tok = _TOKEN.match(expr, i)
        assert tok is not None
        word, i = tok.group(0), tok.end()
        rest = expr[i:].lstrip()
        if word == "{":
            end = _matching(expr, i - 1, "{", "}")
            inner = expr[i:end - 1]
            has = re.search(rf"(^|[,\s{{]){cluster}\s*(=|!=|=~|!~)", "{" + inner)
            out.append("{" + (inner if has else ",".join(p for p in (anchor, inner.strip()) if p)) + "}")
            i = end
        elif word in _LABEL_LISTS and rest.startswith("("):
            end = _matching(expr, expr.index("(", i), "(", ")")
            out.append(expr[tok.start():end])
            i = end
        elif (re.match(r"[a-zA-Z_:]", word) and word not in _KEYWORDS and not rest.startswith("(")
              and not (word in _AGGREGATIONS and re.match(r"(by|without)\s*\(", rest))):
            out.append(word if rest.startswith("{") else word + "{" + anchor + "}")
        else:
            out.append(word)
    return "".join(out)


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
