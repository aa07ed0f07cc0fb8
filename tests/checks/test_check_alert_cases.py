from __future__ import annotations

import pytest
from checkhelpers import FIRES, QUIET, alert, entry

from generator.checks import alert_cases
from generator.model import Case


@pytest.mark.parametrize(("cases", "problems"), [
    ((FIRES, QUIET), []),
    ((QUIET, FIRES, FIRES), []),
    ((FIRES, FIRES), ["generator/catalog/toy.py: alert ToyDown: needs at least one quiet promtool case"]),
    ((QUIET,), ["generator/catalog/toy.py: alert ToyDown: needs at least one firing promtool case"]),
    ((), ["generator/catalog/toy.py: alert ToyDown: needs at least one firing and one quiet promtool case"]),
])
def test_alert_cases(cases: tuple[Case, ...], problems: list[str]) -> None:
    assert [str(p) for p in alert_cases.check([entry(alerts=(alert(cases=cases),))])] == problems
