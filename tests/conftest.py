"""Shared fixtures: the repository root, a generated tree built once per session, and one promtool run over the
committed rules and their tests per session (`committed_promtool`), which every test about them reads.

The committed promtool run is about a minute of one core and needs nothing from the tests before it: it starts
(as promtool processes, see promtool_run.PendingRun) as soon as collection finds a test that asks for it, and
works on the second core while pytest runs the tests that come first on the other. The fixture waits for it.

Under pytest-xdist (`make test`, see the Makefile) every worker collects every test: the tests that share one
expensive thing (a session or module fixture of ours, the promtool trees) are put in one group (see `_groups`),
which the scheduler of tests/xdist_groups.py runs on one worker, so the thing is built once in the whole session;
a worker starts that work when its first test asks for it, not at collection (it does not know yet which groups
it will run). A serial run (`-p no:xdist`, `-n 0`) starts it at collection as before."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from promtool_run import PROMTOOL, PendingRun, PendingTree, PromtoolRun, TreeRun

ROOT = Path(__file__).resolve().parent.parent
# the Go servers the suite starts (Prometheus, Alertmanager, VictoriaMetrics, vmalert) collect garbage a quarter
# as often, under a soft ceiling far above any lab's live heap (~50-150 MB): a quarter less CPU on their rule rounds
# (a 10-cluster scenario batch's server: 3.5-4.1 → 2.6-2.7 s CPU at GOGC 200 → 400; RSS ~200 → ~290 MB), which no
# test measures. promtool and amtool get generator.process.GO_BATCH over it.
os.environ.setdefault("GOGC", "400")
os.environ.setdefault("GOMEMLIMIT", "512MiB")
_pending: list[PendingRun] = []
# trees other than the committed one, their promtool loops started at collection (see `tree_promtool`)
_trees: dict[object, PendingTree] = {}
_builders: dict[object, Callable[[Path], Path]] = {}
_stems: dict[object, set[str]] = {}
_TREE = pytest.StashKey[object]()  # a test's key in _builders
_GROUP = pytest.StashKey[str]()  # a test's group on an xdist worker (see _groups)
_xdist: list[object] = []  # the controller's xdist_groups.Controller, once xdist starts a worker
_tmp: list[tempfile.TemporaryDirectory[str]] = []
# settings sections whose keys name one alert or component: two sites merge when no key has two values
_KEYED = ("selectors", "thresholds", "patch", "slo")


def _committed() -> PendingRun:
    if not _pending:
        _pending.append(PendingRun(ROOT))
    return _pending[0]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "promtool_site(settings, only): the test's promtool cases run over a site "
                            "generated from `settings` (stereo.yaml text), merged with other tests' compatible "
                            "settings into as few trees as possible; `only` names its tests/rules files")
    config.addinivalue_line("markers", "promtool_tree(build, only): the test's promtool cases run over the tree "
                            "`build(dir)` writes (it returns the tree's root); `only` names its tests/rules files")


def _background(item: pytest.Item) -> bool:
    return bool({"committed_promtool", "tree_promtool"} & set(getattr(item, "fixturenames", ())))


def on_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


# session fixtures of ours that are cheap enough to build on every worker that needs them (not worth a group)
CHEAP = frozenset({"root", "default_files"})


# the groups whose shared work runs in processes of its own (see the fixtures below and tests/e2e/conftest.py)
_BACKGROUND = ("committed_promtool", "tree:", "scenario_lab")


_SCOPES = ("package", "module", "class")


def _tree_name(key: object) -> str:
    return f"site{key[1]}" if isinstance(key, tuple) else getattr(key, "__qualname__", str(key))


def _shared(item: pytest.Item) -> list[str]:
    """What `item` shares with other tests: our session fixtures (by name), our module fixtures (by module), the
    promtool trees."""
    keys = [f"tree:{_tree_name(item.stash[_TREE])}"] if _TREE in item.stash else []
    info = getattr(item, "_fixtureinfo", None)
    for name, defs in (info.name2fixturedefs.items() if info else ()):
        fixture = defs[-1]
        if not fixture.baseid or name in CHEAP:  # pytest's and plugins' own (tmp_path_factory...) have no baseid
            continue
        if fixture.scope == "session":
            keys.append(name)
        elif fixture.scope in _SCOPES:
            keys.append(f"{fixture.scope}:{item.nodeid.split('::')[0]}")  # one of _SCOPES
    return keys


def _groups(items: list[pytest.Item]) -> None:
    """One group per set of tests linked by what they share (union-find over `_shared`), in `_GROUP`."""
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        while parent.setdefault(key, key) != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    shared = {item: _shared(item) for item in items}
    for keys in shared.values():
        for other in keys[1:]:
            a, b = find(keys[0]), find(other)
            if a != b:  # a group is named after its session fixture, if it has one
                first, second = sorted((a, b), key=lambda k: (k.split(":")[0] in _SCOPES, k))
                parent[second] = first
    groups: dict[str, list[pytest.Item]] = {}
    background: set[str] = set()
    for item, keys in shared.items():
        if keys:
            name = find(keys[0])
            item.stash[_GROUP] = name
            groups.setdefault(name, []).append(item)
            if any(k.startswith(_BACKGROUND) for k in keys):
                background.add(name)
    # xdist hands the groups out in this order (`--no-loadscope-reorder`): first those whose work runs in a
    # process beside the tests (promtool, the scenario labs) so that it starts early, then the other groups, the
    # bigger first; the tests of no group fill the gaps
    rank = {name: (name not in background, -len(group)) for name, group in groups.items()}
    order = {id(item): rank[name] for name, group in groups.items() for item in group}
    items.sort(key=lambda item: order.get(id(item), (True, 0)))


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Serial: tests that read a background promtool run go last, so the run has the rest of the session to
    finish. On an xdist worker: the groups, and their order (see `_groups`)."""
    items.sort(key=_background)  # stable: each part keeps its order
    if on_xdist_worker(config):
        _plan_trees(items)
        _groups(items)


def _merge(sites: list[dict], doc: dict) -> int:
    """Index of a site in `sites` that takes `doc` without changing any of its settings (merged in), or -1."""
    for i, site in enumerate(sites):
        plain = {k for k in {*site, *doc} if k not in _KEYED}
        if any(site.get(k) != doc.get(k) for k in plain):
            continue
        if any(site.get(s, {}).get(k, v) != v for s in _KEYED for k, v in (doc.get(s) or {}).items()):
            continue
        for s in _KEYED:
            if doc.get(s):
                site[s] = {**site.get(s, {}), **doc[s]}
        return i
    sites.append(dict(doc))
    return len(sites) - 1


def _site_builder(settings: dict) -> Callable[[Path], Path]:
    def build(where: Path) -> Path:
        from generator import pipeline, writer
        from generator.config import load

        (where / "stereo.yaml").write_text(yaml.safe_dump(settings, sort_keys=True))
        writer.write(pipeline.generate(load(where / "stereo.yaml")), where / "out")
        return where / "out"
    return build


def _plan_trees(items: list[pytest.Item]) -> None:
    """Which tree each `tree_promtool` test reads (`_TREE` in its stash): compatible sites merged into one."""
    sites: list[dict] = []
    for item in items:
        if "tree_promtool" not in getattr(item, "fixturenames", ()):
            continue
        site, tree = item.get_closest_marker("promtool_site"), item.get_closest_marker("promtool_tree")
        assert bool(site) != bool(tree), f"{item.nodeid}: tree_promtool needs one promtool_site or promtool_tree"
        if site:
            key: object = ("site", _merge(sites, yaml.safe_load(site.args[0]) or {}))
        else:
            key = _builders.setdefault(tree.args[0], tree.args[0])
        item.stash[_TREE] = key
        _stems.setdefault(key, set()).update((site or tree).kwargs["only"])
    for i, settings in enumerate(sites):
        _builders[("site", i)] = _site_builder(settings)


def _start_tree(key: object) -> PendingTree:
    if key not in _trees:
        if not _tmp:
            _tmp.append(tempfile.TemporaryDirectory(prefix="stereo-trees-lock-"))
        lock = Path(_tmp[0].name) / "promtool.lock"
        _tmp.append(tempfile.TemporaryDirectory(prefix="stereo-tree-"))
        with contextlib.redirect_stdout(io.StringIO()):  # `stereo generate`'s summary line, outside any test
            tree = _builders[key](Path(_tmp[-1].name))
        _trees[key] = PendingTree(tree, _stems[key], lock)
    return _trees[key]


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: object) -> None:
    """The controller, for each xdist worker it starts: where the worker writes the tests' groups."""
    import xdist_groups

    if not _xdist:
        _xdist.append(xdist_groups.Controller())
    node.workerinput[xdist_groups.KEY] = str(_xdist[0].path)  # type: ignore[attr-defined]


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    import xdist_groups

    if not _xdist:
        _xdist.append(xdist_groups.Controller())
    return _xdist[0].scheduler(config, log)  # type: ignore[attr-defined]


def pytest_unconfigure(config: pytest.Config) -> None:
    for controller in _xdist:
        controller.cleanup()  # type: ignore[attr-defined]


@pytest.hookimpl(tryfirst=True)  # on a worker: the groups file is written before xdist reports the collection
def pytest_collection_finish(session: pytest.Session) -> None:
    if on_xdist_worker(session.config) and "stereo_groups" in session.config.workerinput:  # type: ignore[attr-defined]
        import xdist_groups

        xdist_groups.write(session.config, {i.nodeid: i.stash[_GROUP] for i in session.items if _GROUP in i.stash})
    if not PROMTOOL or session.config.option.collectonly or on_xdist_worker(session.config):
        return  # a worker starts them when a test asks (see the fixtures below)
    if any("committed_promtool" in getattr(item, "fixturenames", ()) for item in session.items):
        _committed()
    _plan_trees(session.items)
    for key in _builders:
        _start_tree(key)


def pytest_sessionfinish(session: pytest.Session) -> None:
    for run in _pending:
        run.stop()
    for tree in _trees.values():
        tree.cleanup()
    for tmp in _tmp:
        tmp.cleanup()


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def default_files() -> dict[str, str]:
    from generator import pipeline
    from generator.config import load

    return pipeline.generate(load(None))


@pytest.fixture(scope="session")
def committed_promtool() -> PromtoolRun:
    """The whole committed tests/rules set, run once per session (started at collection, see above)."""
    return _committed().result()


@pytest.fixture
def tree_promtool(request: pytest.FixtureRequest) -> TreeRun:
    """The tree of this test's `promtool_site`/`promtool_tree` marker, its promtool run started at collection."""
    marker = request.node.get_closest_marker("promtool_site") or request.node.get_closest_marker("promtool_tree")
    assert marker, "tree_promtool needs a promtool_site or promtool_tree marker"
    assert PROMTOOL, "promtool is missing: tools/setup-test-deps.sh (run by `make test`) installs it"
    return TreeRun(_start_tree(request.node.stash[_TREE]), tuple(marker.kwargs["only"]))
