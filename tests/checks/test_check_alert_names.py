from __future__ import annotations

import pytest
from checkhelpers import alert, entry

from generator.checks import alert_names

BAD = "name must be CamelCase and at most 40 characters"


@pytest.mark.parametrize(("name", "bad"), [
    ("ToyDown", False),
    ("KubeAPIErrorBudgetBurn", False),
    ("A" + "b" * 39, False),  # exactly 40
    ("A" + "b" * 40, True),  # 41
    ("toyDown", True),
    ("Toy_Down", True),
    ("Toy Down", True),
    ("", True),
])
def test_alert_names(name: str, bad: bool) -> None:
    found = alert_names.check([entry("coredns", alerts=(alert(name),))])
    assert [str(p) for p in found] == ([f"generator/catalog/coredns.py: alert {name}: {BAD}"] if bad else [])
