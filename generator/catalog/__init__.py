"""The catalog: one component per entry of MODULES, each a module or package with `build(ctx) -> Component`
(see generator.model).

A catalog module is a function of a Context (generator.context): selectors, the cluster label, thresholds and
the few site settings a component needs all come through it, never from the config (a test scans for that).
Names the component defines (recording rules, alerts, signals) are constants other modules and the dashboards
import, never copy.

Layout. A small component (under ~300 lines) is one module, `catalog/<name>.py`. A bigger one is a package with
the same module names everywhere (tests/catalog/test_catalog_layout.py holds the shape):

    catalog/<name>/__init__.py   build(ctx) -> Component: puts the parts below together, nothing else
                   names.py      record names, scrape sources, bucket layouts (from generator.buckets), test
                                 fixtures: what the other modules and the dashboards import
                                 (`from generator.catalog.<name>.names import X`)
                   rules.py      rules(ctx), rule_tests(ctx) and the test-input helpers the alerts share
                   alerts.py     alerts(ctx); past ~350 lines split by area into alerts_<area>.py, which
                                 alerts.py (or __init__) lists
                   panels.py     signals(ctx) and panels(): what the dashboard and the correlation engine read
                   <area>.py     an area with its own rules, tests and alerts the rest does not read (kubelet's
                                 volumes, kube_apiserver's slo)

Imports go one way, names <- rules <- alerts/panels <- __init__: no circles, and no import inside a function to
dodge one (test_catalog_layout checks both). Shared builders live beside the components: helpers.py (quantile
records `Quantiles`, promtool inputs, `quantile_cases` for a quantile alert's firing and quiet observations),
targets.py (Down alerts), workqueue.py (what client-go binaries expose), control_plane.py (the skeleton
kube-controller-manager and kube-scheduler share: a `ControlPlane` declaration plus the component's own parts).

Adding a component — what it really takes (docs/extending.md says the same with the commands):

1. `generator/catalog/<name>.py` (or the package above) with `build(ctx) -> Component`: a unique `key` (its file
   names: rules/<key>.yaml, alerts/<key>.yaml, tests/rules/<key>.yaml, dashboards/<key>.json), signals,
   recording rules with rule tests, alerts each with a firing and a quiet promtool Case, panels;
   `control_plane=True` when a managed cluster does not let you scrape it; `jobs=` the scrape jobs whose targets
   its own alerts watch (general's TargetDown leaves those out), `client_jobs=` those whose API client errors
   they watch (general's KubeClientErrors leaves those out); `AFTER_PEERS = True` at module level when it
   reads the other components (ctx.watched_jobs). The catalog checks (generator/checks/) must pass: names,
   duplicates, severities, cases, and every recorded series, signal and alert referred to must exist.
2. Its name in MODULES below (the order of files, dashboards and the alert catalogue).
3. Its scrape job in `config.DEFAULT_SELECTORS` when it reads a new job (ctx.sel(<job>) fails otherwise); sites
   override it under `selectors:`.
4. The simulator: a source in generator/simulate/sources/ (a Target per instance, every metric the rules read)
   added to `SOURCES`, and to the topology when it runs as pods. Each histogram's layout is written once, in
   generator/buckets.py (and its metric in `LAYOUTS`), taken from a real /metrics capture, never guessed: the
   catalog's test inputs and the simulator both read it, and tests/simulate/test_realism.py holds it against the
   real captures and checks every metric and selector the rules read is produced.
5. A fault scenario in generator/simulate/scenarios.py whose `expect` names each new alert (or the alert in
   test_realism.NOT_EXPECTED with the reason); the e2e tests run it against a real Prometheus, and the healthy
   run must fire none of them.
6. `make generate` and commit the regenerated rules/, alerts/, tests/rules/, dashboards/, docs/ (runbooks and
   the alert catalogue); `stereo generate --check` fails CI until then.

tests/test_extending.py proves steps 1–2 and 6 with a toy component in a temporary catalog, as a module and as
a package.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from generator.context import Context, UnknownJob
from generator.model import Component

# order is the order of files, dashboards and the alert catalogue
MODULES: tuple[str, ...] = (
    "kube_apiserver",
    "kube_controller_manager",
    "kube_scheduler",
    "etcd",
    "kubelet",
    "kube_proxy",
    "coredns",
    "nodes",
    "workloads",
    "services",
    "general",
)


def build_all(ctx: Context, modules: tuple[str, ...] | None = None) -> list[Component]:
    """Each module's component, in order (`modules`: the names to build, MODULES by default). A module with
    `AFTER_PEERS = True` (it reads the others through ctx.watched_jobs) is built after the others, with
    `ctx.peers` the components built before it unless the caller set `ctx.peers`; each module is built once."""
    names = MODULES if modules is None else modules
    loaded = {name: importlib.import_module(f"generator.catalog.{name}") for name in names}
    late = {name for name, module in loaded.items() if getattr(module, "AFTER_PEERS", False)}
    built = {name: _build(ctx, name, loaded[name]) for name in names if name not in late}
    if late:
        given = ctx.peers
        ctx.peers = tuple(built.values()) if given is None else given
        try:
            built.update((name, _build(ctx, name, loaded[name])) for name in names if name in late)
        finally:
            ctx.peers = given
    return [built[name] for name in names]


def _build(ctx: Context, name: str, module: ModuleType) -> Component:
    try:
        return module.build(ctx)
    except UnknownJob as exc:
        exc.module = name
        raise
