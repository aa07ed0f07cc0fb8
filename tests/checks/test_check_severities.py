from __future__ import annotations

import pytest
from checkhelpers import alert, entry

from generator.checks import severities


@pytest.mark.parametrize(("severity", "problems"), [
    ("critical", []),
    ("warning", []),
    ("info", []),
    ("page", ["generator/catalog/toy.py: alert ToyDown: severity 'page' is not one of critical, warning, info"]),
    ("Critical", ["generator/catalog/toy.py: alert ToyDown: severity 'Critical' is not one of critical, warning, "
                  "info"]),
])
def test_severities(severity: str, problems: list[str]) -> None:
    assert [str(p) for p in severities.check([entry(alerts=(alert(severity=severity),))])] == problems
