"""Recording rule names are level:metric:operations, as the Prometheus documentation names them."""

from __future__ import annotations

from collections.abc import Sequence

from generator import promql
from generator.checks.base import Entry, Problem


def check(entries: Sequence[Entry]) -> list[Problem]:
    return [Problem(e.module, f"recording rule {rule.record}", "name is not level:metric:operations")
            for e in entries for rule in e.records() if not promql.RECORD_NAME.match(rule.record)]
