"""Shared by the dashboard tests: generate the dashboards of the full catalog, walk their panels."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from generator import build, correlations
from generator.config import Config, load
from generator.correlations import Pair
from generator.model import Component
from generator.render import dashboards


def site(config: Config | None = None) -> tuple[list[Component], Config]:
    config = config or load(None)
    return build.site(config, build.build(config)), config


def prior(components: list[Component]) -> list[Pair]:
    return correlations.prior({s.name for c in components for s in c.signals})


def render(components: list[Component], config: Config, pairs: list[Pair]) -> dict[str, dict[str, Any]]:
    return {path: json.loads(text) for path, text in dashboards.dashboards(components, config, pairs).items()}


def panels(dash: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Every panel, rows included, collapsed rows' panels too."""
    for panel in dash.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def leaves(dash: dict[str, Any]) -> list[dict[str, Any]]:
    return [p for p in panels(dash) if p["type"] != "row"]


def walk(value: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    yield path, value
    if isinstance(value, dict):
        for k, v in value.items():
            yield from walk(v, f"{path}/{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from walk(v, f"{path}/{i}")


def row_of(dash: dict[str, Any], panel: dict[str, Any]) -> dict[str, Any]:
    """The row panel a panel sits under (the last row above it)."""
    row = {}
    for p in dash["panels"]:
        if p["type"] == "row":
            row = p
            if any(inner is panel for inner in p.get("panels", [])):
                return row  # a collapsed row holds its panels
        if p is panel:
            return row
    raise AssertionError(f"panel {panel['title']} not found")


def pair_links(panel: dict[str, Any]) -> list[str]:
    return [link["url"] for link in panel.get("fieldConfig", {}).get("defaults", {}).get("links", [])
            if link["url"].startswith("/d/stereo-pair/")]


def _shows(panel: dict[str, Any], signal: str) -> bool:
    return any(f"var-a={signal}&" in url for url in pair_links(panel))


def assert_adjacent(dash: dict[str, Any], pair: Pair, home_a: str, home_b: str) -> None:
    """The two panels of `pair` stand side by side in one relation row, each linking to the pair view."""
    pa = next((p for p in leaves(dash) if _shows(p, pair.a) and any(f"var-b={pair.b}&" in u for u in pair_links(p))),
              None)
    pb = next((p for p in leaves(dash) if _shows(p, pair.b) and any(f"var-b={pair.a}&" in u for u in pair_links(p))),
              None)
    assert pa is not None and pb is not None, (dash["uid"], pair.a, pair.b)
    ga, gb = pa["gridPos"], pb["gridPos"]
    assert ga["y"] == gb["y"], (dash["uid"], pair.a, pair.b)
    assert ga["x"] + ga["w"] == gb["x"] or gb["x"] + gb["w"] == ga["x"], (dash["uid"], pair.a, pair.b)
    assert row_of(dash, pa) is row_of(dash, pb)
    if pair.relation:
        assert pair.relation in row_of(dash, pa)["title"]
    for panel, own, other in ((pa, pair.a, pair.b), (pb, pair.b, pair.a)):
        url = next(u for u in pair_links(panel) if f"var-a={own}&var-b={other}&" in u)
        assert f"var-a_home={home_a if own == pair.a else home_b}" in url
        assert f"var-b_home={home_b if own == pair.a else home_a}" in url
        assert "${__url_time_range}" in url
