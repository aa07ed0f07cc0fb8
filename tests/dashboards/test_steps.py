"""Per-pod records are evaluated at the pod interval: the time-series panels that draw them ask Grafana for no
finer a step (generator.render.dashboards.steps), and nothing else does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from generator import pipeline
from generator.config import load
from generator.render.dashboards import steps


def _panels(panels: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for panel in panels:
        yield panel
        yield from _panels(panel.get("panels", []))


def _per_pod_records() -> set[str]:
    components, _ = pipeline.build(load(None))
    return {r.record for c in components if c.per_pod for r in c.rules}


def _by_interval(files: dict[str, str]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    """dashboard -> the panel's interval ('' for none) -> its panels."""
    out: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for path, text in files.items():
        if path.startswith("dashboards/"):
            for panel in _panels(json.loads(text)["panels"]):
                out.setdefault(path, {}).setdefault(panel.get("interval", ""), []).append(panel)
    return out


def test_panels_of_per_pod_records_step_at_the_pod_interval(default_files: dict[str, str]) -> None:
    records = _per_pod_records()
    reads = lambda panel: any(r in str(t.get("expr", "")) for t in panel.get("targets", []) for r in records)  # noqa: E731
    boards = _by_interval(default_files)
    stepped = [p for by in boards.values() for p in by.get("2m", [])]
    assert {i for by in boards.values() for i in by} == {"", "2m"}
    assert len(stepped) >= 20
    assert all(p["type"] == "timeseries" and reads(p) for p in stepped)
    # every other time series reads no per-pod record (the pair view's are chosen by variables)
    plain = [p for path, by in boards.items() if path != "dashboards/pair.json" for p in by.get("", [])
             if p["type"] == "timeseries"]
    assert plain and not [p["title"] for p in plain if reads(p)]
    titles = {p["title"] for p in boards["dashboards/workloads.json"]["2m"]}
    assert {"CPU usage per pod", "Response time p99 per pod", "CPU throttling"} <= titles
    assert "2m" not in boards["dashboards/nodes.json"]


@pytest.mark.parametrize("site", ["pod_evaluation_interval: 1m\n",
                                  "evaluation_interval: 60s\npod_evaluation_interval: 1m\n"])
def test_no_min_interval_when_every_group_evaluates_alike(tmp_path: Path, site: str) -> None:
    config = tmp_path / "stereo.yaml"
    config.write_text(site, encoding="utf-8")
    boards = _by_interval(pipeline.generate(load(config)))
    assert {i for by in boards.values() for i in by} == {""}


@pytest.mark.parametrize(("expr", "found"), [
    ("sum by (cluster) (ns:cpu:rate5m)", True),
    ('ns:cpu:rate5m{cluster="$cluster"} / 2', True),
    ("ns:cpu:rate5m offset 1d", True),
    ("ns:cpu:rate5m_total", False),  # another name that starts alike
    ("cluster_ns:cpu:rate5m", False),  # another name that ends alike
    ('rate(x_total{rule="ns:cpu:rate5m"}[$__rate_interval])', False),  # the name in a label value
])
def test_a_panel_reading_a_record_by_name_gets_the_interval(expr: str, found: bool) -> None:
    board = {"panels": [{"type": "timeseries", "targets": [{"expr": "up"}, {"expr": expr}]}]}
    steps.min_interval(board, frozenset({"ns:cpu:rate5m", "ns:cpu"}), "2m")
    assert board["panels"][0].get("interval") == ("2m" if found else None)


def test_instant_panels_and_sites_without_slower_records_are_left_alone() -> None:
    records = frozenset({"ns:cpu:rate5m"})
    board = {"panels": [{"type": "stat", "targets": [{"expr": "ns:cpu:rate5m"}]},
                        {"type": "row", "panels": [{"type": "timeseries", "targets": [{"expr": "ns:cpu:rate5m"}]}]},
                        {"type": "timeseries", "targets": [{"expr": "up"}]}]}
    out = steps.min_interval(board, records, "2m")
    assert [p.get("interval") for p in _panels(out["panels"])] == [None, None, "2m", None]
    plain = {"panels": [{"type": "timeseries", "targets": [{"expr": "ns:cpu:rate5m"}]}]}
    assert steps.min_interval(plain, frozenset(), "2m") == {"panels": [{"type": "timeseries",
                                                                          "targets": [{"expr": "ns:cpu:rate5m"}]}]}
