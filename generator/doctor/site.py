"""What doctor expects of a site: each component's scrape selectors, raw inputs, records, alerts, rule groups.

Built from the site settings with the generator's own builder; the selectors a component uses are found by
building its catalog module with a Context that notes every scrape source it asks for.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from generator import catalog, naming, promql
from generator.build import build, site
from generator.config import Config
from generator.context import Context
from generator.doctor.exprs import Selector, selectors
from generator.model import Component
from generator.render import rulefiles


class _Noting(Context):
    """A Context that notes the scrape sources a catalog module asks for."""

    def __init__(self, config: Config) -> None:
        super().__init__(config)
        self.sources: list[str] = []

    def _selector(self, source: str) -> str:
        if source not in self.sources:
            self.sources.append(source)
        return super()._selector(source)

    def containers(self, *matchers: str) -> str:
        self._selector("cadvisor")
        return super().containers(*matchers)


@dataclass
class Part:
    """One component as doctor examines it."""

    key: str
    sources: dict[str, str]  # scrape source -> its selector text (site settings), non-empty only
    records: dict[str, str] = field(default_factory=dict)  # record -> expr
    slow: set[str] = field(default_factory=set)  # records of the long-window groups
    alerts: dict[str, str] = field(default_factory=dict)  # alert -> expr
    heartbeats: set[str] = field(default_factory=set)  # alerts that always fire while alerting works
    groups: list[str] = field(default_factory=list)  # rule group names in the generated files

    def readers(self) -> list[tuple[str, str]]:
        """(what, expr) for every recording rule and alert."""
        return ([(f"rule {r}", e) for r, e in self.records.items()] +
                [(f"alert {a}", e) for a, e in self.alerts.items()])

    def raw_selectors(self) -> dict[Selector, list[str]]:
        """Each raw (not recorded) selector the component's rules and alerts read -> who reads it."""
        out: dict[Selector, list[str]] = {}
        for what, expr in self.readers():
            for sel in selectors(expr):
                if sel.metric and not sel.recorded and sel.metric not in naming.PROMETHEUS_SERIES:
                    out.setdefault(sel, []).append(what)
        return out


@dataclass
class Site:
    config: Config
    parts: list[Part]
    # once per Site: inputs_of() reads it per expression, and walking every record each time made `stereo doctor`
    # spend ~30 s of CPU re-reading the same rules (tests/e2e/test_doctor_vm.py under cProfile)
    @functools.cached_property
    def record_inputs(self) -> dict[str, set[Selector]]:
        """Each record -> the raw selectors it reads, through the records it reads (transitively)."""
        exprs = {r: e for p in self.parts for r, e in p.records.items()}
        memo: dict[str, set[Selector]] = {}

        def walk(record: str, trail: frozenset[str]) -> set[Selector]:
            if record in memo:
                return memo[record]
            out: set[Selector] = set()
            for sel in selectors(exprs.get(record, "")):
                if sel.recorded and sel.metric not in trail:
                    out |= walk(sel.metric, trail | {sel.metric})
                elif sel.metric and not sel.recorded:
                    out.add(sel)
            memo[record] = out
            return out

        return {r: walk(r, frozenset({r})) for r in exprs}

    def inputs_of(self, expr: str) -> set[Selector]:
        inputs = self.record_inputs
        out: set[Selector] = set()
        for sel in selectors(expr):
            if sel.recorded:
                out |= inputs.get(sel.metric, set())
            elif sel.metric and sel.metric not in naming.PROMETHEUS_SERIES:
                out.add(sel)
        return out


def source_matchers(selector_text: str) -> set[tuple[str, str, str]]:
    return set(promql.parse_selector(selector_text)) if selector_text.strip() else set()


def rule_groups(components: list[Component]) -> list[tuple[str, set[str]]]:
    """(group name, the records and alerts it holds) of every group the site's rule and alert files hold, in
    the order of the files' paths: what `stereo generate` writes, taken from the components it writes them from
    (rendering every file and parsing its YAML back was most of a doctor run's CPU)."""
    files: dict[str, list[tuple[str, set[str]]]] = {}
    for comp in components:
        if comp.rules or comp.slow_rules:
            files[naming.rule_file(comp.key)] = [(name, set(records))
                                                 for name, records in rulefiles.group_records(comp)]
        if comp.alerts:
            files[naming.alert_file(comp.key)] = [(rulefiles.alert_group(comp), {a.name for a in comp.alerts})]
    return [group for path in sorted(files) for group in files[path]]


def load_site(config: Config) -> Site:
    built = build(config)
    components = site(config, built)
    noted: dict[str, list[str]] = {}
    for module in catalog.MODULES:
        ctx = _Noting(config)
        ctx.peers = tuple(built.components)  # general reads the others' jobs
        comp = catalog.build_all(ctx, (module,))[0]
        noted.setdefault(comp.key, [])
        noted[comp.key] += [s for s in ctx.sources if s not in noted[comp.key]]
    groups = rule_groups(components)
    parts = []
    for comp in components:
        # scrape jobs only: a selector with a `job` matcher (cadvisor_containers filters series, it is no job)
        sources = {s: config.selectors[s] for s in noted.get(comp.key, [])
                   if any(label == "job" for label, _, _ in source_matchers(config.selectors.get(s, "")))}
        part = Part(comp.key, sources)
        part.records = {r.record: r.expr for r in (*comp.rules, *comp.slow_rules)}
        part.slow = {r.record for r in comp.slow_rules}
        part.alerts = {a.name: a.expr for a in comp.alerts}
        part.heartbeats = {a.name for a in comp.alerts if a.heartbeat}
        names = set(part.records) | set(part.alerts)
        part.groups = [g for g, held in groups if held & names]
        parts.append(part)
    return Site(config, parts)
