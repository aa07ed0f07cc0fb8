"""Build: site settings + catalog → checked components. Nothing here renders.

The builder is what the correlation service needs to know the site's signals (generator.correlate.upstream),
so it must not pull in a renderer; `generator.pipeline` builds with it, then renders.

Stages, each a function of the previous one's output:
  build(config)          the whole catalog (every profile), catalog checks passed  → Built
  check_names(built)     names in the site settings exist in the catalog          → ConfigError otherwise
  select_profile(...)    a managed control plane leaves out etcd, scheduler, controllers
  exclude_components()   whole components the site leaves out (exclude.components)
  apply_site(...)        exclusions and patches from the site settings
`site(config, built)` runs the last four.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from typing import NamedTuple

from generator import catalog, checks, gotemplate
from generator.checks import CatalogError, Problem
from generator.checks.references import recorded_names
from generator.config import Config, ConfigError
from generator.context import Context, UnknownJob, selects
from generator.model import Component


class Built(NamedTuple):
    """The whole catalog as the site's settings build it (names in the settings are checked against all of it)."""

    components: list[Component]
    ctx: Context

    def signal_names(self) -> set[str]:
        """Every signal of the whole catalog: correlations.yaml may name a signal of a component this site's
        profile leaves out (etcd on a managed cluster), which is not a mistake."""
        return {s.name for comp in self.components for s in comp.signals}


def build(config: Config) -> Built:
    ctx = Context(config)
    modules = catalog.MODULES
    try:
        components = catalog.build_all(ctx, modules)
    except UnknownJob as exc:
        raise CatalogError([Problem(exc.module, f"job {exc.job}", "has no selector; add it to "
                                    "config.DEFAULT_SELECTORS (sites override it under `selectors:`)")]) from None
    checks.ensure([checks.Entry(m, c) for m, c in zip(modules, components, strict=True)])
    return Built(components, ctx)


def select_profile(components: list[Component], config: Config) -> list[Component]:
    """A managed control plane (ACK, TKE, EKS, GKE) exposes the apiserver but not etcd, scheduler, controllers."""
    if config.profile == "managed":
        return [c for c in components if not c.control_plane]
    return components


def _unknown(config: Config, key: str, name: str, known: set[str], what: str) -> ConfigError:
    near = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.5)
    hint = f"; closest: {', '.join(near)}" if near else ""
    return ConfigError(f"{config.where(key)}: {key}: {name} is not {what}{hint}")


def check_names(components: list[Component], ctx: Context) -> None:
    """Names the site settings refer to must exist in the catalog."""
    config = ctx.config
    alerts = {a.name for c in components for a in c.alerts}
    records = {r.record for c in components for r in (*c.rules, *c.slow_rules)}
    for name in config.thresholds:
        if name not in ctx.asked_thresholds:
            known = ctx.asked_thresholds
            raise _unknown(config, f"thresholds.{name}", name, known, "an alert with a threshold")
    for i, name in enumerate(config.exclude_alerts):
        if name not in alerts:
            raise _unknown(config, f"exclude.alerts[{i}]", name, alerts, "a known alert")
    for i, name in enumerate(config.exclude_rules):
        if name not in records:
            raise _unknown(config, f"exclude.rules[{i}]", name, records, "a known recording rule")
    for name in config.patch:
        if name not in alerts:
            raise _unknown(config, f"patch.{name}", name, alerts, "a known alert")
    keys = {c.key for c in components}
    for i, name in enumerate(config.exclude_components):
        if name not in keys:
            raise _unknown(config, f"exclude.components[{i}]", name, keys, "a known component")
    _check_patch_values(components, config)
    _check_filters(config)


# what the catalog's promtool cases read through each filter: series it must keep, series it must leave out
FILTER_CASES: dict[str, tuple[tuple[dict[str, str], ...], tuple[dict[str, str], ...], str]] = {
    "fstype": (({"device": "/dev/sda1", "fstype": "ext4", "mountpoint": "/"},
                {"device": "/dev/sda2", "fstype": "ext4", "mountpoint": "/boot"}),
               ({"device": "tmpfs", "fstype": "tmpfs", "mountpoint": "/run"},),
               "keep ext4 on /dev/sda1 at / and leave out tmpfs at /run"),
    "disk_device": (({"device": "sda"},), ({"device": "loop0"},), "keep device sda and leave out loop0"),
}


def _check_filters(config: Config) -> None:
    """A site filter must still pass the disks the promtool cases use (and refuse their pseudo-filesystems)."""
    for name, (keep, drop, what) in FILTER_CASES.items():
        text = config.filters[name]
        if not all(selects(text, s) for s in keep) or any(selects(text, s) for s in drop):
            key = f"filters.{name}"
            raise ConfigError(f"{config.where(key)}: {key}: expected matchers that {what} (the promtool cases' "
                              f"series), got {text!r}")


def _check_patch_values(components: list[Component], config: Config) -> None:
    """A patched annotation using $value needs every firing case of its alert to give a value."""
    for alert in (a for c in components for a in c.alerts if a.name in config.patch):
        for name, text in config.patch[alert.name].get("annotations", {}).items():
            if gotemplate.uses_value(text) and any(c.fires and c.value is None for c in alert.cases):
                key = f"patch.{alert.name}.annotations.{name}"
                raise ConfigError(f"{config.where(key)}: {key}: {alert.name} has no single value to show "
                                  "(its expression is not a number per series); use {{ $labels.name }} only")


def _readers(comp: Component) -> list[tuple[str, str]]:
    return [*((f"alert {a.name}", a.expr) for a in comp.alerts), *((f"signal {s.name}", s.expr) for s in comp.signals),
            *((f"recording rule {r.record}", r.expr) for r in (*comp.rules, *comp.slow_rules))]


def exclude_components(components: list[Component], config: Config) -> list[Component]:
    """Drop whole components; refuse when a kept component reads a record, signal or alert of a dropped one."""
    dropped = set(config.exclude_components)
    if not dropped:
        return components
    kept = [c for c in components if c.key not in dropped]
    if not kept:
        key = "exclude.components"
        raise ConfigError(f"{config.where(key)}: {key}: leaves no component to generate; keep at least one")
    for i, name in enumerate(config.exclude_components):
        comp = next((c for c in components if c.key == name), None)
        if comp is None:  # already left out by the profile
            continue
        owned = {r.record for r in (*comp.rules, *comp.slow_rules)}
        signals = {s.name for s in comp.signals}
        alerts = {a.name for a in comp.alerts}
        users: set[str] = set()
        for other in kept:
            users |= {f"{other.key} {what}" for what, expr in _readers(other) if recorded_names(expr) & owned}
            users |= {f"{other.key} panel {p.title!r}" for p in other.panels if set(p.signals) & signals}
            users |= {f"{other.key} signal {s.name}" for s in other.signals if s.alert in alerts}
        if users:
            key = f"exclude.components[{i}]"
            raise ConfigError(f"{config.where(key)}: {key}: {name} is read by {', '.join(sorted(users))}; "
                              "exclude those components as well")
    return kept


def _uses(expr: str, record: str) -> bool:
    return re.search(rf"(?<![\w:]){re.escape(record)}(?![\w:])", expr) is not None


def apply_site(components: list[Component], config: Config) -> list[Component]:
    """Exclusions and patches from the site settings, as one pass over the finished catalog."""
    dropped_rules = set(config.exclude_rules)
    out = []
    for comp in components:
        rules = tuple(r for r in comp.rules if r.record not in dropped_rules)
        slow = tuple(r for r in comp.slow_rules if r.record not in dropped_rules)
        alerts = []
        for alert in comp.alerts:
            if alert.name in config.exclude_alerts:
                continue
            patch = config.patch.get(alert.name, {})
            notes = patch.get("annotations", {})
            alert = dataclasses.replace(
                alert,
                for_=patch.get("for", alert.for_),
                severity=patch.get("severity", alert.severity),
                labels={**alert.labels, **patch.get("labels", {})},
                summary=notes.get("summary", alert.summary),
                description=notes.get("description", alert.description),
            )
            alerts.append(alert)
        tests = tuple(t for t in comp.rule_tests if t.expr not in dropped_rules)
        out.append(dataclasses.replace(comp, rules=rules, slow_rules=slow, alerts=tuple(alerts), rule_tests=tests))
    # an excluded recording rule must not leave a dangling reference behind
    for i, record in enumerate(config.exclude_rules):
        for comp in out:
            users = [a.name for a in comp.alerts if _uses(a.expr, record)]
            users += [r.record for r in (*comp.rules, *comp.slow_rules) if _uses(r.expr, record)]
            if users:
                raise ConfigError(
                    f"{config.where(f'exclude.rules[{i}]')}: exclude.rules[{i}]: {record} is used by "
                    f"{', '.join(sorted(set(users)))}; exclude those as well"
                )
    return out


def site(config: Config, built: Built) -> list[Component]:
    """What this site keeps of the built catalog: names checked, profile selected, exclusions and patches."""
    check_names(built.components, built.ctx)
    return apply_site(exclude_components(select_profile(built.components, config), config), config)


__all__ = ["Built", "CatalogError", "apply_site", "build", "check_names", "exclude_components", "select_profile",
           "site"]
