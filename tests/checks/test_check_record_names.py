from __future__ import annotations

import pytest
from checkhelpers import entry, rule

from generator.checks import record_names


@pytest.mark.parametrize(("record", "problems"), [
    ("cluster:toy_up:sum", []),
    ("cluster_namespace:container_cpu_usage_seconds:rate5m", []),
    ("toy_up", ["generator/catalog/toy.py: recording rule toy_up: name is not level:metric:operations"]),
    ("cluster:toy_up", ["generator/catalog/toy.py: recording rule cluster:toy_up: name is not "
                        "level:metric:operations"]),
    ("Cluster:toy:sum", ["generator/catalog/toy.py: recording rule Cluster:toy:sum: name is not "
                         "level:metric:operations"]),
])
def test_record_names(record: str, problems: list[str]) -> None:
    assert [str(p) for p in record_names.check([entry(rules=(rule(record),))])] == problems


def test_slow_rules_are_checked_too() -> None:
    found = record_names.check([entry(slow=(rule("slow"),))])
    assert [(p.module, p.obj) for p in found] == [("toy", "recording rule slow")]
