"""The real catalog passes every check, and a broken module is named with its object when it does not."""

from __future__ import annotations

import dataclasses

import pytest
from checkhelpers import alert, entry

from generator import build, catalog, checks
from generator.config import Config
from generator.context import Context


def _entries() -> list[checks.Entry]:
    return [checks.Entry(m, c) for m, c in zip(catalog.MODULES, catalog.build_all(Context()), strict=True)]


def test_the_catalog_passes_every_check() -> None:
    entries = _entries()
    assert len(entries) == len(catalog.MODULES)
    assert checks.run(entries) == []


def test_the_checks_can_fail_on_the_real_catalog() -> None:
    """Rename one recorded series the way a careless edit would: the references check names every reader."""
    entries = _entries()
    workloads = next(e for e in entries if e.module == "workloads")
    renamed = tuple(dataclasses.replace(r, record=r.record + "x") if r.record.endswith(":kube_pod_owner:relabel")
                    else r for r in workloads.component.rules)
    broken = [e if e is not workloads else checks.Entry(e.module, dataclasses.replace(e.component, rules=renamed))
              for e in entries]
    found = checks.run(broken)
    assert found, "the rename must be caught"
    assert all("cluster_namespace_workload_pod:kube_pod_owner:relabel, which no recording rule records" in p.message
               for p in found)
    assert {p.module for p in found} <= set(catalog.MODULES)


def test_catalog_error_carries_every_problem_with_its_location(monkeypatch: pytest.MonkeyPatch) -> None:
    bad = [entry("coredns", alerts=(alert("corednsDown", severity="page"),))]
    monkeypatch.setattr(catalog, "build_all", lambda ctx, modules=None: [e.component for e in bad])
    monkeypatch.setattr(catalog, "MODULES", ("coredns",))
    with pytest.raises(checks.CatalogError) as caught:
        build.build(Config())
    assert [str(p) for p in caught.value.problems] == [
        "generator/catalog/coredns.py: alert corednsDown: name must be CamelCase and at most 40 characters",
        "generator/catalog/coredns.py: alert corednsDown: severity 'page' is not one of critical, warning, info",
    ]
    assert str(caught.value) == ("generator/catalog/coredns.py: alert corednsDown: name must be CamelCase and at "
                                 "most 40 characters (and 1 more)")


def test_every_check_module_is_registered() -> None:
    from pathlib import Path

    here = Path(checks.__file__).parent
    modules = {p.stem for p in here.glob("*.py")} - {"__init__", "base"}
    assert {c.__module__.rsplit(".", 1)[1] for c in checks.CHECKS} == modules
