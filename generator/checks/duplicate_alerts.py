"""An alert name is used once in the whole catalog: runbooks, patches and exclusions address alerts by name."""

from __future__ import annotations

from collections.abc import Sequence

from generator.checks.base import Entry, Problem, module_path


def check(entries: Sequence[Entry]) -> list[Problem]:
    first: dict[str, str] = {}
    out = []
    for e in entries:
        for alert in e.alerts():
            if alert.name in first:
                out.append(Problem(e.module, f"alert {alert.name}",
                                   f"defined twice (also in {module_path(first[alert.name])})"))
            else:
                first[alert.name] = e.module
    return out
