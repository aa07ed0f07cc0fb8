"""Catalog checks: conventions every catalog module must follow, one small check per file (pint's shape).

Each module here has `check(entries) -> list[Problem]`, where an entry is a built component and the catalog
module that built it (see base.py), and is listed in CHECKS. A Problem names the catalog module and the object
(rule, alert, panel) it is about, so a failure reads `generator/catalog/etcd/: alert EtcdX: ...` (a package) or
`generator/catalog/coredns.py: alert CoreDNSX: ...` (a module). A problem is a bug in the catalog, never in the
site settings: the builder raises CatalogError, not ConfigError.

Adding a check: a module with `check()`, its entry in CHECKS, and a table-driven test in tests/checks/.
"""

from __future__ import annotations

from collections.abc import Sequence

from generator.checks import (
    alert_cases,
    alert_durations,
    alert_names,
    duplicate_alerts,
    duplicate_records,
    record_names,
    references,
    severities,
)
from generator.checks.base import CatalogError, Check, Entry, Problem

CHECKS: tuple[Check, ...] = (
    record_names.check,
    duplicate_records.check,
    alert_names.check,
    duplicate_alerts.check,
    severities.check,
    alert_cases.check,
    alert_durations.check,
    references.check,
)


def run(entries: Sequence[Entry], checks: Sequence[Check] = CHECKS) -> list[Problem]:
    """Every problem every check finds, in check order then catalog order."""
    return [problem for check in checks for problem in check(entries)]


def ensure(entries: Sequence[Entry]) -> None:
    """Raise CatalogError naming every problem (the first in the message) when there is one."""
    problems = run(entries)
    if problems:
        raise CatalogError(problems)


__all__ = ["CHECKS", "CatalogError", "Check", "Entry", "Problem", "ensure", "run"]
