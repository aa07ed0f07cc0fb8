from __future__ import annotations

import pytest
from checkhelpers import alert, entry

from generator.checks import Entry, duplicate_alerts


@pytest.mark.parametrize(("entries", "problems"), [
    ([entry(alerts=(alert("ToyDown"), alert("ToyUp")))], []),
    ([entry(alerts=(alert("ToyDown"), alert("ToyDown")))],
     ["generator/catalog/toy.py: alert ToyDown: defined twice (also in generator/catalog/toy.py)"]),
    ([entry("kubelet", alerts=(alert("ToyDown"),)), entry("nodes"), entry("nodes_two", alerts=(alert("ToyDown"),))],
     ["generator/catalog/nodes_two.py: alert ToyDown: defined twice (also in generator/catalog/kubelet/)"]),
])
def test_duplicate_alerts(entries: list[Entry], problems: list[str]) -> None:
    assert [str(p) for p in duplicate_alerts.check(entries)] == problems
