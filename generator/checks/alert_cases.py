"""Every alert has a promtool case where it fires and one where it stays quiet."""

from __future__ import annotations

from collections.abc import Sequence

from generator.checks.base import Entry, Problem


def check(entries: Sequence[Entry]) -> list[Problem]:
    out = []
    for e in entries:
        for alert in e.alerts():
            fires = sum(1 for case in alert.cases if case.fires)
            missing = [what for what, n in (("firing", fires), ("quiet", len(alert.cases) - fires)) if n == 0]
            if missing:
                out.append(Problem(e.module, f"alert {alert.name}",
                                   f"needs at least one {' and one '.join(missing)} promtool case"))
    return out
