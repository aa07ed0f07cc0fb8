"""Runbooks (docs/runbooks/<Alert>.md) and the alert catalogue (docs/alerts.md), rendered with Jinja2."""

from __future__ import annotations

import jinja2

from generator.model import Component
from generator.promql import fmt_number

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("generator", "templates"),
    undefined=jinja2.StrictUndefined,
    keep_trailing_newline=True,
    autoescape=False,  # Markdown, not HTML
)


def runbooks(components: list[Component], dashboard_urls: dict[str, str]) -> dict[str, str]:
    template = _ENV.get_template("runbook.md.j2")
    out = {}
    for component in components:
        for alert in component.alerts:
            threshold = fmt_number(alert.threshold) if alert.threshold is not None else ""
            out[f"docs/runbooks/{alert.name}.md"] = template.render(
                alert=alert, component=component, threshold=threshold, dashboard_url=dashboard_urls[component.key]
            )
    return out


def catalogue(components: list[Component]) -> str:
    total = sum(len(c.alerts) for c in components)
    return _ENV.get_template("alerts.md.j2").render(components=components, total=total, fmt=fmt_number)
