from __future__ import annotations

import pytest
from checkhelpers import alert, entry

from generator.checks import alert_durations


@pytest.mark.parametrize(("for_", "bad"), [
    ("5m", False),
    ("1h30m", False),
    ("0s", False),
    ("5 minutes", True),
    ("", True),
    ("m5", True),
])
def test_alert_durations(for_: str, bad: bool) -> None:
    found = alert_durations.check([entry(alerts=(alert(for_=for_),))])
    assert [(p.module, p.obj) for p in found] == ([("toy", "alert ToyDown")] if bad else [])
    if bad:
        assert found[0].message.startswith("for: ") and repr(for_) in found[0].message
