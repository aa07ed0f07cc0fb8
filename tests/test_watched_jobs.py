"""The jobs general's TargetDown leaves to their own components come from the built components (`Component.jobs`),
not from a table: the site's profile and exclusions drop them with their components, and a module that asks
before the others are built is built after them."""

from __future__ import annotations

import dataclasses

import pytest

from generator import catalog
from generator.config import load
from generator.context import Context, NeedsPeers
from generator.model import Component

EVERY = ("cadvisor", "coredns", "etcd", "kube-apiserver", "kube-controller-manager", "kube-proxy", "kube-scheduler",
         "kube-state-metrics", "kubelet", "node-exporter")


def _watched(**changes: object) -> tuple[str, ...]:
    config = dataclasses.replace(load(None), **changes)
    ctx = Context(config, peers=tuple(catalog.build_all(Context(config))))
    return ctx.watched_jobs()


@pytest.mark.parametrize(("changes", "gone"), [
    ({}, set()),
    ({"profile": "managed"}, {"kube-controller-manager", "kube-scheduler", "etcd"}),
    ({"exclude_components": ("kubelet",)}, {"kubelet", "cadvisor"}),
    ({"exclude_components": ("nodes", "general")}, {"node-exporter", "kube-state-metrics"}),
    ({"profile": "managed", "exclude_components": ("coredns",)},
     {"kube-controller-manager", "kube-scheduler", "etcd", "coredns"}),
])
def test_watched_jobs_follow_the_components_a_site_keeps(changes: dict, gone: set[str]) -> None:
    assert _watched(**changes) == tuple(sorted(set(EVERY) - gone))


def test_before_its_peers_are_built_a_module_cannot_ask() -> None:
    with pytest.raises(NeedsPeers):
        Context().watched_jobs()


def test_a_module_that_asks_is_built_after_the_others_whatever_the_order() -> None:
    ctx = Context()
    general, etcd = catalog.build_all(ctx, ("general", "etcd"))
    assert (general.key, etcd.key, ctx.peers) == ("general", "etcd", None)
    target_down = next(a for a in general.alerts if a.name == "TargetDown")
    # the unless names etcd's job (built after general in this order) and general's own kube-state-metrics
    assert target_down.expr.endswith('(up{job="kube-etcd"} or up{job="kube-state-metrics"})')


@pytest.mark.parametrize(("changes", "expected"), [
    ({}, ("kube-controller-manager", "kube-scheduler", "kube-proxy")),
    ({"profile": "managed"}, ("kube-proxy",)),
    ({"exclude_components": ("kube-proxy",)}, ("kube-controller-manager", "kube-scheduler")),
    ({"profile": "managed", "exclude_components": ("kube-proxy",)}, ()),
])
def test_client_jobs_come_from_the_components_a_site_keeps(changes: dict, expected: tuple[str, ...]) -> None:
    """General's KubeClientErrors leaves out the jobs whose component alerts on its own API client errors
    (`Component.client_jobs`), in catalog order; a site that drops the component gets them back."""
    config = dataclasses.replace(load(None), **changes)
    built = tuple(catalog.build_all(Context(config)))
    assert Context(config, peers=built).watched_client_jobs() == expected
    general = next(c for c in built if c.key == "general")
    client_errors = next(a for a in general.alerts if a.name == "KubeClientErrors")
    assert [job for job in EVERY if f'up{{job="{job}"}}' in client_errors.expr] == sorted(expected)


def test_a_component_declares_the_client_jobs_its_own_alerts_watch() -> None:
    built = catalog.build_all(Context())
    def alerts_on_client_errors(comp: Component) -> bool:  # an alert reads a record of rest_client_*
        records = {r.record for r in comp.rules if "rest_client_requests_total" in r.expr}
        return any(record in a.expr for a in comp.alerts for record in records)

    own = {c.key: alerts_on_client_errors(c) for c in built if c.key != "general"}
    own["general"] = False  # KubeClientErrors is the catch-all for the rest
    assert {c.key: bool(c.client_jobs) for c in built} == own
    assert sum(own.values()) == 3
    with pytest.raises(NeedsPeers):
        Context().watched_client_jobs()
