"""The cross-component views read recorded series the workloads catalog names: they import the names, so a rename
in the catalog renames the views' queries instead of silently dropping their panels."""

from __future__ import annotations

import dataclasses
import json

from dashboard_helpers import leaves, prior, render, site

from generator.catalog.workloads import names as workloads_rules
from generator.render.dashboards import views

READ = {"overview": (views.REQUESTS, views.ALLOCATABLE, views.NS_CPU, views.NS_MEMORY), "workload": (views.OWNER,)}


def _exprs(dash: dict) -> str:
    return "\n".join(t.get("expr", "") for p in leaves(dash) for t in p.get("targets", []))


def test_the_views_read_what_the_catalog_records() -> None:
    components, config = site()
    recorded = {r.record for c in components for r in c.rules}
    assert {name for names in READ.values() for name in names} <= recorded
    assert views.OWNER is workloads_rules.OWNER and views.NS_CPU is workloads_rules.NS_CPU
    dashboards = render(components, config, prior(components))
    for view, names in READ.items():
        text = json.dumps(dashboards[f"dashboards/{view}.json"])  # panel queries and variable queries
        for name in names:
            assert name in text, (view, name)


def test_a_view_leaves_out_what_the_site_does_not_record() -> None:
    """Without the allocatable rule (an exclusion), the overview drops its headroom panels rather than querying
    a series that does not exist."""
    components, config = site()
    before = render(components, config, prior(components))["dashboards/overview.json"]
    trimmed = [dataclasses.replace(c, rules=tuple(r for r in c.rules if r.record != views.ALLOCATABLE))
               for c in components]
    after = render(trimmed, config, prior(trimmed))["dashboards/overview.json"]
    assert views.ALLOCATABLE in _exprs(before)
    assert views.ALLOCATABLE not in _exprs(after)
    assert len(leaves(after)) < len(leaves(before))
