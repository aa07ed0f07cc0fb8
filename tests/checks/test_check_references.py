from __future__ import annotations

import pytest
from checkhelpers import alert, entry, rule, signal

from generator.checks import Entry, references
from generator.model import Panel, RuleTest

UP = rule("cluster:toy_up:sum")


@pytest.mark.parametrize(("expr", "names"), [
    ("cluster:toy_up:sum < 1", {"cluster:toy_up:sum"}),
    ('sum by (cluster) (a:b:rate5m{job="x:y:z"}) / b:c:d', {"a:b:rate5m", "b:c:d"}),
    ("rate(apiserver_request_total[5m:1m])", set()),  # a subquery step is not a series
    ('histogram_quantile(0.99, x:y:z{le=~"1:2:3"})', {"x:y:z"}),
    ("up{job='a:b:c'} + `q:r:s`", set()),  # quoted label values are skipped whatever the quote
    ("count(ALERTS) or vector(0)", set()),
])
def test_recorded_names(expr: str, names: set[str]) -> None:
    assert references.recorded_names(expr) == names


@pytest.mark.parametrize(("entries", "problems"), [
    # everything refers to something that exists
    ([entry(rules=(UP,), alerts=(alert(expr="cluster:toy_up:sum == 0"),), signals=(signal(alert="ToyDown"),),
            panels=(Panel("Up", ("toy_up",)),), tests=(RuleTest({}, "cluster:toy_up:sum", ()),))], []),
    # an alert reads a series nobody records (a renamed rule)
    ([entry(alerts=(alert(expr="cluster:toy_upp:sum == 0"),), rules=(UP,))],
     ["generator/catalog/toy.py: alert ToyDown: reads cluster:toy_upp:sum, which no recording rule records"]),
    # a signal (what a panel draws) reads one recorded in another module: fine
    ([entry("nodes", signals=(signal(),)), entry("workloads", rules=(UP,))], []),
    # a rule built from another rule that is missing
    ([entry(rules=(rule("cluster:toy_ratio:sum", "cluster:toy_up:sum / 2"),))],
     ["generator/catalog/toy.py: recording rule cluster:toy_ratio:sum: reads cluster:toy_up:sum, which no "
      "recording rule records"]),
    # a rule test queries a series nobody records
    ([entry(tests=(RuleTest({}, "cluster:toy_gone:sum", ()),))],
     ["generator/catalog/toy.py: rule test of cluster:toy_gone:sum: reads cluster:toy_gone:sum, which no "
      "recording rule records"]),
    # a managed cluster keeps coredns but drops etcd: coredns may not read what only etcd records
    ([entry("coredns", signals=(signal(),)), entry("etcd", rules=(UP,), control_plane=True)],
     ["generator/catalog/coredns.py: signal toy_up: reads cluster:toy_up:sum, which only control-plane components "
      "record (left out on a managed cluster)"]),
    ([entry("etcd_extra", signals=(signal(),), control_plane=True), entry("etcd", rules=(UP,), control_plane=True)],
     []),
    # a panel shows a signal that does not exist
    ([entry(panels=(Panel("Up", ("toy_up", "toy_gone")),), signals=(signal(),), rules=(UP,))],
     ["generator/catalog/toy.py: panel 'Up': shows signal toy_gone, which no component defines"]),
    # a signal draws the threshold of an alert that does not exist
    ([entry(signals=(signal(alert="ToyGone"),), rules=(UP,))],
     ["generator/catalog/toy.py: signal toy_up: draws the threshold of alert ToyGone, which no component defines"]),
])
def test_references(entries: list[Entry], problems: list[str]) -> None:
    assert [str(p) for p in references.check(entries)] == problems
