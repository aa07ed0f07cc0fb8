"""A post-pass over finished dashboards: a time-series panel that draws a per-pod record asks Grafana for a step
no finer than that record's evaluation interval (the panel's "Min interval").

The per-pod recording groups evaluate at the site's pod interval (2m by default) while everything else evaluates
at evaluation_interval. Queried at a finer step, such a record repeats each value and its line moves in stairs;
at the pod interval each point is a new evaluation and the query returns half the points. Instant panels (stat,
gauge, bar gauge, table) ask for one point and are left alone, as are the pair view's panels, whose queries are
chosen by variables at view time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from generator.promql_tokens import find_selectors


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))  # a collapsed row holds its panels


def _reads(panel: dict[str, Any], records: frozenset[str]) -> bool:
    """One of the panel's queries selects one of `records` (a name inside a label value does not count)."""
    return any(found.metric in records for target in panel.get("targets", [])
               for found in find_selectors(str(target.get("expr", ""))))


def min_interval(dashboard: dict[str, Any], records: frozenset[str], interval: str) -> dict[str, Any]:
    """`dashboard` with `interval` set on each time-series panel that reads one of `records`."""
    if records:
        for panel in _panels(dashboard.get("panels", [])):
            if panel.get("type") == "timeseries" and _reads(panel, records):
                panel["interval"] = interval
    return dashboard
