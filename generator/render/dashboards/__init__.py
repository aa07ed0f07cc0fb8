"""dashboards/: one Grafana dashboard per component, the cluster overview, the namespace and workload views, the
node → pods and networking boards, and the pair view, laid out from correlations (see generator.layout) and
built with grafanalib behind `normalise`, which turns its output into the current Grafana JSON model.

`stage()` is the pipeline stage: it keeps the pairs whose signals are both on this site and renders every
dashboard; `dashboards()` renders for exactly the pairs given. Both are pure: the pairs were read and checked
before rendering (generator.pairsource, generator.pipeline.generate).
"""

from __future__ import annotations

from collections.abc import Sequence

from generator.config import Config
from generator.correlations import Pair
from generator.model import Component
from generator.promql import parse_duration
from generator.render.dashboards import kube, pair, steps, views
from generator.render.dashboards.component import component_dashboard
from generator.render.dashboards.lookup import Lookup
from generator.render.dashboards.normalise import dumps

VIEWS = {**views.TITLES, **kube.TITLES, pair.KEY: pair.TITLE}


def dashboards(components: list[Component], config: Config, pairs: list[Pair]) -> dict[str, str]:
    """{"dashboards/<name>.json": JSON text} for the components the site keeps and the given pairs."""
    clash = sorted(set(VIEWS) & {c.key for c in components})
    if clash:
        raise ValueError(f"component key {clash[0]} is also the name of a Stereo view")
    lk = Lookup(components, config, pairs)
    lk.titles.update(VIEWS)
    lk.boards = kube.available(lk)
    # a component without panels (services with no preset) has nothing to show
    out = {f"dashboards/{comp.key}.json": component_dashboard(lk, comp) for comp in components if comp.panels}
    out["dashboards/overview.json"] = views.overview(lk)
    out["dashboards/namespace.json"] = views.namespace(lk)
    out["dashboards/workload.json"] = views.workload(lk)
    if sum(len(c.signals) for c in components) >= 2:  # a site of general alerts only has no pair to show
        out["dashboards/pair.json"] = pair.pair_view(lk)
    out.update({f"dashboards/{key}.json": dash for key, dash in kube.boards(lk).items()})
    uids = [d["uid"] for d in out.values()]
    if len(set(uids)) != len(uids):
        raise ValueError(f"two dashboards share a uid: {sorted(u for u in uids if uids.count(u) > 1)[0]}")
    # per-pod records are evaluated less often than the rest: their panels ask for no finer a step
    slower = parse_duration(config.pod_interval) > parse_duration(config.evaluation_interval)
    records = frozenset(r.record for c in components if c.per_pod for r in c.rules) if slower else frozenset()
    return {path: dumps(steps.min_interval(dash, records, config.pod_interval)) for path, dash in sorted(out.items())}


def stage(components: list[Component], config: Config, pairs: Sequence[Pair]) -> dict[str, str]:
    """The pipeline stage: the pairs whose signals are both on this site (a pair may name a signal of a component
    the site's profile leaves out), laid out on every dashboard."""
    present = {s.name for comp in components for s in comp.signals}
    kept = [p for p in pairs if p.a in present and p.b in present]
    return dashboards(components, config, kept)


__all__ = ["dashboards", "stage"]
