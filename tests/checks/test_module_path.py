"""A Problem names where its catalog module lives: the package directory for a package, the file for a module,
and every module of catalog.MODULES points at something that exists."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator import catalog
from generator.checks import Problem
from generator.checks.base import module_path

ROOT = Path(catalog.__file__).parents[2]


@pytest.mark.parametrize(("module", "where"), [
    ("coredns", "generator/catalog/coredns.py"),  # one module
    ("kube_scheduler", "generator/catalog/kube_scheduler.py"),
    ("kubelet", "generator/catalog/kubelet/"),  # packages
    ("kube_apiserver", "generator/catalog/kube_apiserver/"),
    ("general", "generator/catalog/general/"),
    ("toy", "generator/catalog/toy.py"),  # not in the catalog (a test's toy): the module form
    ("no.such", "generator/catalog/no.such.py"),
])
def test_module_path(module: str, where: str) -> None:
    assert module_path(module) == where
    assert str(Problem(module, "alert X", "bad")) == f"{where}: alert X: bad"


def test_every_catalog_module_is_named_where_it_is() -> None:
    paths = [module_path(m) for m in catalog.MODULES]
    assert all((ROOT / p).exists() for p in paths)
    assert sum(p.endswith("/") for p in paths) >= 5 and sum(p.endswith(".py") for p in paths) >= 5
