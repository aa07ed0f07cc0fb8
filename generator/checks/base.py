"""The interface every catalog check implements: entries in, problems out."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from generator.model import Alert, Component, RecordingRule


@dataclass(frozen=True)
class Entry:
    """One built component and the catalog module (`generator/catalog/<module>.py`, or the package
    `generator/catalog/<module>/`) that built it."""

    module: str
    component: Component

    def records(self) -> tuple[RecordingRule, ...]:
        return (*self.component.rules, *self.component.slow_rules)

    def alerts(self) -> tuple[Alert, ...]:
        return self.component.alerts


@dataclass(frozen=True)
class Problem:
    module: str  # the catalog module, e.g. "kube_apiserver"
    obj: str  # what inside it, e.g. "alert KubeAPIServerDown" or "recording rule a:b:c"
    message: str

    def __str__(self) -> str:
        return f"{module_path(self.module)}: {self.obj}: {self.message}"


def module_path(module: str) -> str:
    """Where a catalog module lives: `generator/catalog/<module>/` for a package, else `generator/catalog/<module>.py`
    (also for a name the catalog does not have, e.g. a test's toy)."""
    try:
        spec = importlib.util.find_spec(f"generator.catalog.{module}")
    except (ImportError, ValueError):
        spec = None
    package = spec is not None and spec.submodule_search_locations is not None
    return f"generator/catalog/{module}/" if package else f"generator/catalog/{module}.py"


Check = Callable[[Sequence[Entry]], list[Problem]]


class CatalogError(Exception):
    """The catalog itself is inconsistent (a bug in a catalog module, not in the site settings)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(f"{self.problems[0]}{more}")
