"""A post-pass over finished dashboards: a time-series panel that draws a per-pod record asks Grafana for a step
no finer than that record's evaluation interval (the panel's "Min interval").

The per-pod recording groups evaluate at the site's pod interval (2m by default) while everything else evaluates
at evaluation_interval. Queried at a finer step, such a record repeats each value and its line moves in stairs;
at the pod interval each point is a new evaluation and the query returns half the points. Instant panels (stat,
gauge, bar gauge, table) ask for one point and are left alone, as are the pair view's panels, whose queries are
chosen by variables at view time.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any


def reader(records: Iterable[str]) -> re.Pattern[str] | None:
    """A pattern that finds any of `records` as a whole metric name in an expression (None for no records)."""
    names = sorted(set(records), key=lambda n: (-len(n), n))
    if not names:
        return None
    return re.compile(r"(?<![\w:])(?:" + "|".join(map(re.escape, names)) + r")(?![\w:])")


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))  # a collapsed row holds its panels


def min_interval(dashboard: dict[str, Any], reads: re.Pattern[str] | None, interval: str) -> dict[str, Any]:
    """`dashboard` with `interval` set on each time-series panel one of whose targets `reads` matches."""
    if reads is None:
        return dashboard
    for panel in _panels(dashboard.get("panels", [])):
        if panel.get("type") == "timeseries" and any(reads.search(str(t.get("expr", "")))
                                                     for t in panel.get("targets", [])):
            panel["interval"] = interval
    return dashboard
