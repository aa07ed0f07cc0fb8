"""An alert's `for` is a Prometheus duration (5m, 1h30m)."""

from __future__ import annotations

from collections.abc import Sequence

from generator import promql
from generator.checks.base import Entry, Problem


def _bad(text: str) -> str | None:
    try:
        promql.parse_duration(text)
    except promql.PromQLError as exc:
        return str(exc)
    return None


def check(entries: Sequence[Entry]) -> list[Problem]:
    return [Problem(e.module, f"alert {alert.name}", f"for: {why}")
            for e in entries for alert in e.alerts() if (why := _bad(alert.for_)) is not None]
