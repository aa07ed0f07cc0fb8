"""A recording rule (name and static labels) is defined once in the whole catalog: two definitions would
record clashing series."""

from __future__ import annotations

from collections.abc import Sequence

from generator.checks.base import Entry, Problem, module_path


def check(entries: Sequence[Entry]) -> list[Problem]:
    first: dict[tuple[str, tuple[tuple[str, str], ...]], str] = {}
    out = []
    for e in entries:
        for rule in e.records():
            key = (rule.record, tuple(sorted(rule.labels.items())))
            if key in first:
                labels = f" {dict(key[1])}" if key[1] else ""
                out.append(Problem(e.module, f"recording rule {rule.record}{labels}",
                                   f"defined twice (also in {module_path(first[key])})"))
            else:
                first[key] = e.module
    return out
