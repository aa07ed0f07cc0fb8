"""Alert names are CamelCase and at most 40 characters (Grafana and Alertmanager UIs cut longer ones)."""

from __future__ import annotations

from collections.abc import Sequence

from generator import promql
from generator.checks.base import Entry, Problem

MAX_LENGTH = 40


def check(entries: Sequence[Entry]) -> list[Problem]:
    return [Problem(e.module, f"alert {alert.name}", f"name must be CamelCase and at most {MAX_LENGTH} characters")
            for e in entries for alert in e.alerts()
            if not promql.ALERT_NAME.match(alert.name) or len(alert.name) > MAX_LENGTH]
