from __future__ import annotations

import pytest
from checkhelpers import entry, rule

from generator.checks import Entry, duplicate_records


@pytest.mark.parametrize(("entries", "problems"), [
    ([entry(rules=(rule(), rule("cluster:toy_down:sum")))], []),
    # the same name with different static labels records different series
    ([entry(rules=(rule(slo="read"), rule(slo="write")))], []),
    ([entry(rules=(rule(), rule()))],
     ["generator/catalog/toy.py: recording rule cluster:toy_up:sum: defined twice (also in generator/catalog/toy.py)"]),
    ([entry(rules=(rule(slo="read"),), slow=(rule(slo="read"),))],
     ["generator/catalog/toy.py: recording rule cluster:toy_up:sum {'slo': 'read'}: defined twice "
      "(also in generator/catalog/toy.py)"]),
    ([entry("etcd", rules=(rule(),)), entry("nodes", rules=(rule(),))],
     ["generator/catalog/nodes/: recording rule cluster:toy_up:sum: defined twice "
      "(also in generator/catalog/etcd/)"]),
])
def test_duplicate_records(entries: list[Entry], problems: list[str]) -> None:
    assert [str(p) for p in duplicate_records.check(entries)] == problems
