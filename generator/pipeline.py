"""generate = config → catalog → checks → site passes → rendered files, as a pipeline of small stages.

Each stage is a function of the previous one's output; `generate()` strings them together and returns
{relative path: file text}. Writing is left to `generator.writer`, so nothing here touches the disk.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Callable

from generator import catalog, naming, promql
from generator.config import Config, ConfigError
from generator.context import Context
from generator.model import SEVERITIES, Component
from generator.render import alertmanager, dashboards, manifests, promtool_tests, provisioning, rulefiles, runbooks
from generator.render.migration import migration

# a file-producing stage added by another wing (dashboards, provisioning, alertmanager...)
Extra = Callable[[list[Component], Config], dict[str, str]]
EXTRA_STAGES: list[Extra] = [alertmanager.alertmanager, provisioning.provisioning, migration]


class CatalogError(Exception):
    """The catalog itself is inconsistent (a bug in a catalog module, not in the site settings)."""


def build(config: Config) -> tuple[list[Component], Context]:
    """Every component, whatever the profile: names in the settings are checked against the whole catalog."""
    ctx = Context(config)
    components = catalog.build_all(ctx)
    check_catalog(components)
    return components, ctx


def select_profile(components: list[Component], config: Config) -> list[Component]:
    """A managed control plane (ACK, TKE, EKS, GKE) exposes the apiserver but not etcd, scheduler, controllers."""
    if config.profile == "managed":
        return [c for c in components if not c.control_plane]
    return components


def check_catalog(components: list[Component]) -> None:
    """Conventions every module must follow; a failure here is a catalog bug."""
    alerts: set[str] = set()
    records: set[tuple[str, tuple[tuple[str, str], ...]]] = set()
    for comp in components:
        for rule in (*comp.rules, *comp.slow_rules):
            if not promql.RECORD_NAME.match(rule.record):
                raise CatalogError(f"{comp.key}: recording rule {rule.record} is not level:metric:operations")
            key = (rule.record, tuple(sorted(rule.labels.items())))
            if key in records:
                raise CatalogError(f"{comp.key}: recording rule {rule.record} {rule.labels} defined twice")
            records.add(key)
        for alert in comp.alerts:
            if not promql.ALERT_NAME.match(alert.name) or len(alert.name) > 40:
                raise CatalogError(f"{comp.key}: alert name {alert.name} must be CamelCase and at most 40 characters")
            if alert.name in alerts:
                raise CatalogError(f"{comp.key}: alert {alert.name} defined twice")
            alerts.add(alert.name)
            if alert.severity not in SEVERITIES:
                raise CatalogError(f"{alert.name}: severity {alert.severity} is not one of {SEVERITIES}")
            if not any(c.fires for c in alert.cases) or all(c.fires for c in alert.cases):
                raise CatalogError(f"{alert.name}: needs at least one firing and one quiet promtool case")
            promql.parse_duration(alert.for_)


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
            alert = dataclasses.replace(
                alert,
                for_=patch.get("for", alert.for_),
                severity=patch.get("severity", alert.severity),
                labels={**alert.labels, **patch.get("labels", {})},
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


def annotations(components: list[Component], config: Config) -> dict[str, dict[str, str]]:
    notes = {}
    for comp in components:
        dash = naming.dashboard_url(config.grafana_url, comp.key)
        for alert in comp.alerts:
            notes[alert.name] = rulefiles.annotations(alert, naming.runbook_url(config.runbook_url, alert.name), dash)
    return notes


def render(components: list[Component], config: Config, options: dict[str, object] | None = None) -> dict[str, str]:
    notes = annotations(components, config)
    interval = config.evaluation_interval
    files: dict[str, str | None] = {}
    for comp in components:
        files[naming.rule_file(comp.key)] = rulefiles.rules_file(comp, interval)
        files[naming.alert_file(comp.key)] = rulefiles.alerts_file(comp, interval, notes)
        files[naming.rule_test_file(comp.key)] = promtool_tests.test_file(comp, interval, config.cluster_label, notes)
    dash_urls = {c.key: naming.dashboard_url(config.grafana_url, c.key) for c in components}
    files.update(runbooks.runbooks(components, dash_urls, config.cluster_label))
    files["docs/alerts.md"] = runbooks.catalogue(components)
    files.update(dashboards.stage(components, config, options))  # dashboards: pairs from --correlations/--suggestions
    for stage in EXTRA_STAGES:
        files.update(stage(components, config))
    done = {path: text for path, text in files.items() if text is not None}
    if options and options.get("opt_manifests"):
        # Kubernetes objects wrap the finished files, so they come last
        done.update(manifests.manifests(done, config))
    return dict(sorted(done.items()))


def generate(config: Config, **options: object) -> dict[str, str]:
    """`options` are the CLI's `opt_*` generate options (see cli._generate_options), passed to the stages."""
    components, ctx = build(config)
    check_names(components, ctx)
    return render(apply_site(select_profile(components, config), config), config, options)
