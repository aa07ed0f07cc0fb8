"""Pairs that are the same data by definition, found from the catalog's expressions.

Two signals are *derived* from each other when one aggregates the other, is a ratio of the other, or both
are computed from a common recording rule or a common measured metric: pod CPU and namespace CPU (a sum of
it), usage and usage/limit, a container and its workload's sum, p50 and p99 of one histogram. Measured over
the same scope such a pair correlates by construction, so it is reported apart (``derived: true``) and never
ranked among measured findings.

Each signal's *ancestors* are the metric names its expression reads, recording rules expanded recursively
(the catalog's `record: expr` map). Metrics only used to select series — `*_info`, `*_labels`,
`kube_pod_status_phase`, `kube_pod_owner` — carry no value of their own and do not make a pair derived.

*Expected* pairs (``expected``) are the same activity measured twice, not the same data: a pod's request rate
and its network bytes, or its bytes received and sent, are both volumes of one stream of requests. They are read
from different metrics and can come apart (payload sizes change, health checks and uploads add bytes), so they
are measured and tested like any pair — but a relation between them tells an operator nothing new, so they are
flagged ``expected: true`` and ranked after the unexpected measured findings. The rule: both signals are traffic
volumes (unit requests/s or bytes/s) and they share an object label besides the cluster label every signal
leads with (pod, instance, ingress, ...). CPU against traffic is not expected in this sense: it is the cost of
the traffic, and it comes apart exactly when it matters (CPU pinned at its limit).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache

from generator.model import Signal

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
_BRACES = re.compile(r"\{[^{}]*\}")
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_RANGE = re.compile(r"\[[^\]]*\]")
_NAME = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_KEYWORDS = frozenset({
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless", "bool", "offset",
    "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values",
    "group", "inf", "nan", "e",
})
FILTER_METRICS = frozenset({"kube_pod_status_phase", "kube_pod_owner", "up"})
TRAFFIC_UNITS = frozenset({"reqps", "Bps", "binBps", "bps", "binbps"})  # volumes of one stream of requests


def metric_names(expr: str) -> set[str]:
    """Metric names an expression reads (functions, keywords, label names and literals left out)."""
    text = _STRINGS.sub('""', expr)
    while True:
        stripped = _BRACES.sub(" ", text)
        if stripped == text:
            break
        text = stripped
    text = _RANGE.sub(" ", _GROUPING.sub(" ", text))
    out = set()
    for m in _NAME.finditer(text):
        name = m.group(0)
        rest = text[m.end():].lstrip()
        if name.lower() in _KEYWORDS or rest.startswith("("):
            continue
        if m.start() > 0 and (text[m.start() - 1].isdigit() or text[m.start() - 1] == "."):
            continue  # the exponent or unit of a number
        out.add(name)
    return out


def _valued(name: str) -> bool:
    return not (name.endswith("_info") or name.endswith("_labels") or name in FILTER_METRICS)


class Lineage:
    """Ancestors of signals through the catalog's recording rules (record name → expression)."""

    def __init__(self, rules: Mapping[str, str]) -> None:
        self.rules = dict(rules)
        self._ancestors = cache(self._compute)

    def _compute(self, name: str) -> frozenset[str]:
        out = {name}
        expr = self.rules.get(name)
        if expr is not None:
            for m in metric_names(expr):
                if m != name:
                    out |= self._ancestors(m)
        return frozenset(out)

    def ancestors(self, expr: str) -> frozenset[str]:
        """Every metric and recorded name behind `expr` that carries a value."""
        out: set[str] = set()
        for m in metric_names(expr):
            out |= self._ancestors(m)
        return frozenset(n for n in out if _valued(n))

    def derived(self, a: str, b: str) -> bool:
        """Whether the signals with expressions `a` and `b` share a valued ancestor (same data by definition)."""
        return bool(self.ancestors(a) & self.ancestors(b))


def expected(a: Signal, b: Signal) -> bool:
    """Whether two signals are the same activity measured twice (see the module's doc): both traffic volumes, tied
    to one object by a label other than the cluster label."""
    if a.unit not in TRAFFIC_UNITS or b.unit not in TRAFFIC_UNITS or not a.labels or not b.labels:
        return False
    return bool((set(a.labels) & set(b.labels)) - {a.labels[0], b.labels[0]})
