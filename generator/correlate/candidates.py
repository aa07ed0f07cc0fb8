"""Which signals to test against a target, topology first (as MicroRCA does).

Testing a target against every signal would drown real relations in multiple-testing corrections and cost a
query per signal, so candidates come in tiers, nearest first:

1. prior   — partners the prior (or the given pairs) already names for the target;
2. scope   — the same pod's (or namespace's) other signals: signals carrying the target's scope labels;
3. node    — the node's resource signals (node-exporter, kubelet), where a noisy neighbour shows up;
4. component — the other signals of the target's home component;
5. service — request rate and response time from the `services` presets in stereo.yaml.

The count is bounded; when the tiers hold more than the bound, every non-empty tier keeps a fair share (so
service signals, the other side of the paper's pairs, are never crowded out) and the rest goes in tier order.
Which series of two signals are compared is decided later, from their labels (see suggest.compatible).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, replace

from generator.correlate.derived import Lineage
from generator.correlate.rawexpr import Rules, expand, recorded_in
from generator.layout import Index
from generator.model import Component, Signal

TIERS = ("prior", "scope", "node", "component", "service")
DEFAULT_LIMIT = 40
NODE_COMPONENTS = ("nodes", "kubelet")
SERVICE_COMPONENT = "services"


@dataclass(frozen=True)
class Candidate:
    signal: Signal
    tier: str
    home: str  # component key of the candidate's home dashboard


class Catalog:
    """The site's signals by name, with their home component (the first component that defines them)."""

    def __init__(self, components: list[Component]) -> None:
        self.index = Index(components)
        self.signals: dict[str, Signal] = {}
        self.rules: dict[str, str] = {}  # recording rule name -> expression (the first definition)
        self.rule_list: Rules = {}  # every rule of each name, with its static labels
        for comp in components:
            for sig in comp.signals:
                self.signals.setdefault(sig.name, sig)
            for rule in (*comp.rules, *comp.slow_rules):
                self.rules.setdefault(rule.record, rule.expr)
                self.rule_list.setdefault(rule.record, []).append(rule)
        self.lineage = Lineage(self.rules)
        self._ancestors: dict[str, frozenset[str]] = {}
        self._raw: dict[str, Signal | None] = {}

    def raw_signal(self, name: str) -> Signal | None:
        """The signal with its recording rules expanded to raw metrics; None when it reads no recorded series or
        cannot be expanded. Expanded once per signal (every measurement asks for each fetched signal's reach;
        expanding all 156 default signals takes ~36 ms of interpreter time)."""
        if name not in self._raw:
            self._raw[name] = self._expand(self.signals[name])
        return self._raw[name]

    def _expand(self, sig: Signal) -> Signal | None:
        if not recorded_in(sig.expr, self.rule_list):
            return None
        try:
            return replace(sig, expr=expand(sig.expr, self.rule_list))
        except ValueError:
            return None

    def ancestors(self, name: str) -> frozenset[str]:
        if name not in self._ancestors:
            self._ancestors[name] = self.lineage.ancestors(self.signals[name].expr)
        return self._ancestors[name]

    def derived(self, a: str, b: str) -> bool:
        """Whether signals `a` and `b` are the same data by definition (see ``derived``)."""
        return bool(self.ancestors(a) & self.ancestors(b))

    def __contains__(self, name: object) -> bool:
        return name in self.signals

    def home(self, name: str) -> str:
        return self.index.home[name]

    def close(self, name: str, n: int = 5) -> list[str]:
        """Known signal names closest to a misspelt one."""
        return difflib.get_close_matches(name, sorted(self.signals), n=n, cutoff=0.5)

    def of_kind(self, kind: str) -> list[str]:
        return [s.name for s in self.signals.values() if s.kind == kind]


def _scope_tier(target: Signal, sig: Signal) -> bool:
    if "pod" in target.labels:
        return "pod" in sig.labels
    if "namespace" in target.labels or "workload" in target.labels:
        return "namespace" in sig.labels
    return False


def _node_tier(home: str, sig: Signal) -> bool:
    return home in NODE_COMPONENTS and sig.kind == "resource" and bool({"node", "instance"} & set(sig.labels))


def tiers(catalog: Catalog, target: str, related: Iterable[str] = ()) -> dict[str, list[Candidate]]:
    """Every candidate of `target` in its nearest tier, in catalog order within a tier."""
    tsig = catalog.signals[target]
    thome = catalog.home(target)
    out: dict[str, list[Candidate]] = {t: [] for t in TIERS}
    seen = {target}
    for name in related:
        if name in catalog and name not in seen:
            seen.add(name)
            out["prior"].append(Candidate(catalog.signals[name], "prior", catalog.home(name)))
    for sig in catalog.signals.values():
        if sig.name in seen:
            continue
        home = catalog.home(sig.name)
        if _scope_tier(tsig, sig):
            tier = "scope"
        elif _node_tier(home, sig):
            tier = "node"
        elif home == thome:
            tier = "component"
        elif home == SERVICE_COMPONENT:
            tier = "service"
        else:
            continue
        seen.add(sig.name)
        out[tier].append(Candidate(sig, tier, home))
    return out


def candidates(catalog: Catalog, target: str, related: Iterable[str] = (), limit: int = DEFAULT_LIMIT
               ) -> list[Candidate]:
    """At most `limit` candidates for `target`, nearest tiers first, each non-empty tier keeping a fair share."""
    by_tier = tiers(catalog, target, related)
    total = sum(len(v) for v in by_tier.values())
    if total <= limit:
        return [c for t in TIERS for c in by_tier[t]]
    filled = [t for t in TIERS if by_tier[t]]
    share = {t: min(len(by_tier[t]), limit // len(filled)) for t in filled}
    left = limit - sum(share.values())
    for t in filled:  # what the fair shares leave goes to the nearest tiers
        extra = min(left, len(by_tier[t]) - share[t])
        share[t] += extra
        left -= extra
    return [c for t in filled for c in by_tier[t][: share[t]]]
