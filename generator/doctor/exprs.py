"""The series an expression of Stereo's own reads: each vector selector as (metric, matcher text).

Only Stereo's generated PromQL goes through here (never text from the Prometheus being examined); it is
scanned by `generator.promql_tokens`.
"""

from __future__ import annotations

from typing import NamedTuple

from generator.promql_tokens import find_selectors


class Selector(NamedTuple):
    metric: str  # "" when the selector is only `{...}`
    matchers: str  # the text inside the braces, "" when none

    @property
    def text(self) -> str:
        return f"{self.metric}{{{self.matchers}}}" if self.matchers else self.metric

    @property
    def recorded(self) -> bool:
        return ":" in self.metric


def selectors(expr: str) -> list[Selector]:
    """Vector selectors of `expr` in order of appearance, each once."""
    return list(dict.fromkeys(Selector(f.metric, f.matchers or "") for f in find_selectors(expr)))


def metric_names(expr: str) -> set[str]:
    return {s.metric for s in selectors(expr) if s.metric}
