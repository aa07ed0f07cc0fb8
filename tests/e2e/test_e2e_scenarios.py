"""Each fault scenario, one simulated cluster each in one Prometheus: its alerts fire, unrelated ones do not.

A scenario may also cause the knock-on alerts it lists in `allow` (pods of a lost node become NotReady...).
InfoInhibitor is about routing, not about the fault: it fires wherever info alerts fire alone.
"""

from __future__ import annotations

import pytest
from e2e.lab import Lab

from generator.simulate.scenarios import SCENARIOS

ROUTING = {"InfoInhibitor", "Watchdog"}


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario_fires_its_alerts_and_no_others(scenario_lab: Lab, name: str) -> None:
    scenario = SCENARIOS[name]
    fired = scenario_lab.firing_in(name)
    missing = sorted(set(scenario.expect) - set(fired))
    unrelated = {alert: [{k: v for k, v in labels.items() if k not in ("alertname", "cluster", "severity")}
                         for labels in rows]
                 for alert, rows in fired.items()
                 if alert not in scenario.expect and alert not in scenario.allow and alert not in ROUTING}
    assert not missing, f"{name}: expected alerts not firing: {missing}; firing: {sorted(fired)}"
    assert not unrelated, f"{name}: unrelated alerts firing: {unrelated}"
