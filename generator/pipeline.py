"""generate = build (settings + catalog → checked components) → pairs resolved → render (files).

`generate()` strings the stages together and returns {relative path: file text}. Reading the pairs (file or
HTTP) is the loader's job before it (generator.pairsource); writing is generator.writer's job after it.
`render()` is a pure function of (settings, the site's components, pairs): it reads nothing, builds nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from generator import naming
from generator.build import Built, apply_site, build, select_profile, site
from generator.config import Config
from generator.correlations import Pair
from generator.model import Component
from generator.pairsource import Document, prior
from generator.render import alertmanager, dashboards, promtool_tests, provisioning, related, rulefiles, runbooks
from generator.render.manifests import manifests as kubernetes_objects
from generator.render.migration import migration

# a file-producing stage added by another wing (provisioning, alertmanager...)
Extra = Callable[[list[Component], Config], dict[str, str]]
EXTRA_STAGES: list[Extra] = [alertmanager.alertmanager, provisioning.provisioning, migration]


def annotations(components: list[Component], config: Config,
                partners: dict[str, tuple[related.Partner, ...]] | None = None) -> dict[str, dict[str, str]]:
    """Every alert's annotations: its own, what moved with it (`partners`, see render.related), the site's patch."""
    notes = {}
    homes = related.homes(components)
    for comp in components:
        dash = naming.dashboard_url(config.grafana_url, comp.key)
        for alert in comp.alerts:
            runbook = naming.runbook_url(config.runbook_url, alert.name, comp.key)
            patched = config.patch.get(alert.name, {}).get("annotations", {})
            moved = related.annotations(alert, (partners or {}).get(alert.name, ()), config, homes)
            notes[alert.name] = {**rulefiles.annotations(alert, runbook, dash), **moved, **patched}
    return notes


def render(components: list[Component], config: Config, pairs: Sequence[Pair], *, manifests: bool = False
           ) -> dict[str, str]:
    """Every file for the site's components, the dashboards laid out from `pairs`."""
    partners = related.by_alert(components, pairs, config.cluster_label)
    notes = annotations(components, config, partners)
    interval = config.evaluation_interval
    files: dict[str, str | None] = {}
    for comp in components:
        recording = config.pod_interval if comp.per_pod else interval
        files[naming.rule_file(comp.key)] = rulefiles.rules_file(comp, recording)
        files[naming.alert_file(comp.key)] = rulefiles.alerts_file(comp, interval, notes)
        files[naming.rule_test_file(comp.key)] = promtool_tests.test_file(comp, interval, config.cluster_label, notes)
    dash_urls = {c.key: naming.dashboard_url(config.grafana_url, c.key) for c in components}
    files.update(runbooks.runbooks(components, dash_urls, config.cluster_label, partners))
    files["docs/alerts.md"] = runbooks.catalogue(components)
    files.update(dashboards.stage(components, config, pairs))
    for stage in EXTRA_STAGES:
        files.update(stage(components, config))
    done = {path: text for path, text in files.items() if text is not None}
    if manifests:
        # Kubernetes objects wrap the finished files, so they come last
        done.update(kubernetes_objects(done, config))
    return dict(sorted(done.items()))



def generate(config: Config, pairs: Document | Sequence[Pair] | None = None, *, manifests: bool = False
             ) -> dict[str, str]:
    """Build once, check the pairs' signal names against the built catalog, render.

    `pairs`: a Document the loader read (generator.pairsource), pairs already checked, or None for the prior.
    """
    built = build(config)
    components = site(config, built)
    document = prior() if pairs is None else pairs
    resolved = document.pairs(built.signal_names()) if isinstance(document, Document) else list(document)
    return render(components, config, resolved, manifests=manifests)


__all__ = ["Built", "apply_site", "build", "generate", "render", "select_profile"]
