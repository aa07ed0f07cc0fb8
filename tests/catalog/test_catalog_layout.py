"""The catalog's shape: every big component is a package with the same module names, no catalog module imports
in a circle, and none imports inside a function (the usual way a circle is dodged instead of removed)."""

from __future__ import annotations

import ast
import importlib
import types
from pathlib import Path

import pytest

import generator.catalog
from generator import catalog

CATALOG = Path(generator.catalog.__file__).parent
PREFIX = "generator.catalog"
LAYOUT = {"__init__", "names", "rules", "alerts", "panels"}
# areas with their own rules and alerts that the rest of the package does not read (docs/extending.md)
AREAS = {"kubelet": {"volumes"}, "kube_apiserver": {"slo"}}


def module_name(path: Path, root: Path = CATALOG, prefix: str = PREFIX) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join((prefix, *parts[:-1])) if parts[-1] == "__init__" else ".".join((prefix, *parts))


def imports(source: str, known: set[str]) -> list[str]:
    """The modules of `known` a source imports: `from pkg import sub` names the submodule when it is one."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names if a.name in known]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            subs = [f"{node.module}.{a.name}" for a in node.names if f"{node.module}.{a.name}" in known]
            found += subs or ([node.module] if node.module in known else [])
    return found


def cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Each import circle once, as the path that closes it (depth-first, in sorted order)."""
    found: list[list[str]] = []
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> None:
        for nxt in sorted(graph.get(node, ())):
            if nxt in path:
                found.append([*path[path.index(nxt):], nxt])
            elif nxt not in done:
                visit(nxt, [*path, nxt])
        done.add(node)

    for start in sorted(graph):
        if start not in done:
            visit(start, [start])
    return found


def nested_imports(source: str) -> list[int]:
    """Lines of imports inside a function or class (an `if TYPE_CHECKING:` block at module level is fine)."""
    tree = ast.parse(source)
    top = {id(n) for n in tree.body}
    top |= {id(n) for stmt in tree.body if isinstance(stmt, ast.If) for n in stmt.body}
    return sorted(n.lineno for n in ast.walk(tree)
                  if isinstance(n, ast.Import | ast.ImportFrom) and id(n) not in top)


@pytest.mark.parametrize(("graph", "expected"), [
    ({"a": ["b"], "b": ["c"], "c": []}, []),
    ({"a": ["b"], "b": ["a"]}, [["a", "b", "a"]]),
    ({"a": ["b"], "b": ["c"], "c": ["a"], "d": ["a"]}, [["a", "b", "c", "a"]]),
    ({"a": ["a"]}, [["a", "a"]]),
    ({"x": ["y", "z"], "y": ["z"], "z": []}, []),  # a diamond is no circle
])
def test_cycles_finds_every_circle_once(graph: dict[str, list[str]], expected: list[list[str]]) -> None:
    assert cycles(graph) == expected


@pytest.mark.parametrize(("source", "expected"), [
    ("from generator.catalog.etcd import names as n\n", ["generator.catalog.etcd.names"]),
    ("from generator.catalog.etcd.names import SRC, UP_SUM\n", ["generator.catalog.etcd.names"]),
    ("from generator.catalog import etcd, targets\n", ["generator.catalog.etcd", "generator.catalog.targets"]),
    ("import generator.catalog.targets\n", ["generator.catalog.targets"]),
    ("from generator.model import Alert\n", []),
])
def test_imports_resolve_submodules(source: str, expected: list[str]) -> None:
    known = {"generator.catalog.etcd", "generator.catalog.etcd.names", "generator.catalog.targets"}
    assert imports(source, known) == expected


@pytest.mark.parametrize(("source", "expected"), [
    ("from a import b\n", []),
    ("def f():\n    from a import b\n", [2]),
    ("class K:\n    import os\n", [2]),
    ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from a import b\n", []),
])
def test_nested_imports_are_found(source: str, expected: list[int]) -> None:
    assert nested_imports(source) == expected


def _sources() -> dict[str, str]:
    return {module_name(p): p.read_text(encoding="utf-8") for p in sorted(CATALOG.rglob("*.py"))}


def test_no_catalog_module_imports_in_a_circle() -> None:
    sources = _sources()
    graph = {name: imports(text, set(sources)) for name, text in sources.items()}
    assert len(graph) > 30 and "generator.catalog.nodes.names" in graph
    assert cycles(graph) == []


def test_no_catalog_module_imports_inside_a_function() -> None:
    found = {name: lines for name, text in _sources().items() if (lines := nested_imports(text))}
    assert found == {}


def test_every_package_has_the_shared_layout() -> None:
    packages = sorted(p.parent.name for p in CATALOG.glob("*/__init__.py"))
    assert packages == ["etcd", "general", "kube_apiserver", "kubelet", "nodes", "workloads"]
    for name in packages:
        modules = {p.stem for p in (CATALOG / name).glob("*.py")}
        odd = {m for m in modules - LAYOUT - AREAS.get(name, set()) if not m.startswith("alerts_")}
        assert odd == set(), name
        assert {"__init__", "names", "alerts"} <= modules, name
        package = importlib.import_module(f"{PREFIX}.{name}")
        assert callable(package.build)
        # `pkg.alerts` is the module alerts.py, not a function of that name shadowing it
        shadowed = {m for m in modules - {"__init__"} if not isinstance(getattr(package, m, types), types.ModuleType)}
        assert shadowed == set(), name
    assert set(packages) <= set(catalog.MODULES)


def test_single_module_components_stay_small() -> None:
    """A component that stays one module is a small one; past ~300 lines it becomes a package."""
    singles = {p.stem: len(p.read_text(encoding="utf-8").splitlines()) for p in CATALOG.glob("*.py")
               if p.stem in catalog.MODULES}
    assert singles and all(n <= 300 for n in singles.values()), singles
