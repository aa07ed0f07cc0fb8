"""Shared fixtures: the repository root, a generated tree built once per session, and one promtool run over the
committed rules and their tests per session (`committed_promtool`), which every test about them reads.

The committed promtool run is about a minute of one core and needs nothing from the tests before it: it starts
(as promtool processes, see promtool_run.PendingRun) as soon as collection finds a test that asks for it, and
works on the second core while pytest runs the tests that come first on the other. The fixture waits for it."""

from __future__ import annotations

import contextlib
import io
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from promtool_run import PROMTOOL, PendingRun, PendingTree, PromtoolRun, TreeRun

ROOT = Path(__file__).resolve().parent.parent
_pending: list[PendingRun] = []
# trees other than the committed one, their promtool loops started at collection (see `tree_promtool`)
_trees: dict[object, PendingTree] = {}
_tree_of: dict[str, object] = {}
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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests that read a background promtool run go last, so the run has the rest of the session to finish."""
    items.sort(key=_background)  # stable: each part keeps its order


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


def _start_trees(items: list[pytest.Item]) -> None:
    sites: list[dict] = []
    builders: dict[object, Callable[[Path], Path]] = {}
    stems: dict[object, set[str]] = {}
    for item in items:
        if "tree_promtool" not in getattr(item, "fixturenames", ()):
            continue
        site, tree = item.get_closest_marker("promtool_site"), item.get_closest_marker("promtool_tree")
        assert bool(site) != bool(tree), f"{item.nodeid}: tree_promtool needs one promtool_site or promtool_tree"
        if site:
            key: object = ("site", _merge(sites, yaml.safe_load(site.args[0]) or {}))
        else:
            key = builders.setdefault(tree.args[0], tree.args[0])
        _tree_of[item.nodeid] = key
        stems.setdefault(key, set()).update((site or tree).kwargs["only"])
    for i, settings in enumerate(sites):
        builders[("site", i)] = _site_builder(settings)
    if builders:
        _tmp.append(tempfile.TemporaryDirectory(prefix="stereo-trees-lock-"))
    lock = Path(_tmp[-1].name) / "promtool.lock" if builders else Path()
    for key, build in builders.items():
        _tmp.append(tempfile.TemporaryDirectory(prefix="stereo-tree-"))
        with contextlib.redirect_stdout(io.StringIO()):  # `stereo generate`'s summary line, outside any test
            tree = build(Path(_tmp[-1].name))
        _trees[key] = PendingTree(tree, stems[key], lock)


def pytest_collection_finish(session: pytest.Session) -> None:
    if not PROMTOOL or session.config.option.collectonly:
        return
    if any("committed_promtool" in getattr(item, "fixturenames", ()) for item in session.items):
        _committed()
    _start_trees(session.items)


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
    return TreeRun(_trees[_tree_of[request.node.nodeid]], tuple(marker.kwargs["only"]))
