"""The catalog's promtool inputs use the bucket layouts of generator/buckets.py (the ones the simulator prints and
tests/simulate/test_realism.py holds against real captures): every histogram input, every label set."""

from __future__ import annotations

import re
from pathlib import Path

from generator.buckets import LAYOUTS
from generator.catalog import build_all
from generator.config import load
from generator.context import Context
from generator.promql import fmt_number

_BUCKET = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)_bucket\{(.*)\}$')
_LE = re.compile(r'(?:^|,)le="([^"]*)"')


def input_layouts(inputs: list[str]) -> dict[str, list[list[str]]]:
    """metric -> the `le` lists of its _bucket inputs, one per label set, in input order."""
    found: dict[str, dict[str, list[str]]] = {}
    for series in inputs:
        m = _BUCKET.match(series)
        le = _LE.search(m.group(2)) if m else None
        if m and le:
            found.setdefault(m.group(1), {}).setdefault(_LE.sub("", m.group(2)), []).append(le.group(1))
    return {metric: list(sets.values()) for metric, sets in found.items()}


def test_the_scan_groups_by_label_set() -> None:
    assert input_layouts(['d_bucket{a="1",le="0.1"}', 'd_bucket{a="1",le="+Inf"}', 'd_bucket{a="2",le="1"}',
                          'd_count{a="1"}', 'x{le="3"}']) == {"d": [["0.1", "+Inf"], ["1"]]}


def test_every_histogram_input_has_its_shared_layout(tmp_path: Path) -> None:
    path = tmp_path / "stereo.yaml"
    path.write_text("services:\n  - preset: http\n  - preset: ingress-nginx\n")
    cases = [list(given) for comp in build_all(Context(load(path)))
             for given in (*(t.inputs for t in comp.rule_tests), *(c.inputs for a in comp.alerts for c in a.cases))]
    seen = [input_layouts(inputs) for inputs in cases]
    metrics = {metric for one in seen for metric in one}
    assert len(metrics) >= 15
    assert sorted(metrics - set(LAYOUTS)) == []  # a histogram the catalog tests has its layout there
    # a whole histogram has the whole layout; a few buckets alone (the SLO's threshold bucket) are its bounds
    layout = {metric: [*map(fmt_number, bounds), "+Inf"] for metric, bounds in LAYOUTS.items()}
    wrong = {metric: les for one in seen for metric, lists in one.items() for les in lists
             if (les != layout[metric] if "+Inf" in les else not set(les) <= set(layout[metric]))}
    assert wrong == {}
