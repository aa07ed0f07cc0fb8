"""The interface every catalog check implements: entries in, problems out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from generator.model import Alert, Component, RecordingRule


@dataclass(frozen=True)
class Entry:
    """One built component and the catalog module (`generator/catalog/<module>.py`) that built it."""

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
        return f"generator/catalog/{self.module}.py: {self.obj}: {self.message}"


Check = Callable[[Sequence[Entry]], list[Problem]]


class CatalogError(Exception):
    """The catalog itself is inconsistent (a bug in a catalog module, not in the site settings)."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = tuple(problems)
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        super().__init__(f"{self.problems[0]}{more}")
