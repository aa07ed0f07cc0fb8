"""Every alert's severity is one the Alertmanager routes know: critical, warning or info."""

from __future__ import annotations

from collections.abc import Sequence

from generator.checks.base import Entry, Problem
from generator.model import SEVERITIES


def check(entries: Sequence[Entry]) -> list[Problem]:
    known = ", ".join(SEVERITIES)
    return [Problem(e.module, f"alert {alert.name}", f"severity {alert.severity!r} is not one of {known}")
            for e in entries for alert in e.alerts() if alert.severity not in SEVERITIES]
