"""The catalog: one module per component, each a `build(ctx) -> Component` function.

Adding a component is adding a module and its name to MODULES; nothing else changes.
"""

from __future__ import annotations

import importlib

from generator.context import Context
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
    out = []
    for name in MODULES if modules is None else modules:
        module = importlib.import_module(f"generator.catalog.{name}")
        out.append(module.build(ctx))
    return out
