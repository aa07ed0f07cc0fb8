"""Session fixtures: real Prometheus servers over simulated clusters, with Stereo's generated rules loaded.

`simulated_lab` (and `prometheus_url`): one healthy cluster "healthy" (3 nodes, 3 namespaces, 12 pods) with
six hours of history at one-minute steps — a shortened day: backfill time grows with the samples, and 360
points is already one of the paper's sample sizes. The last quarter is the congested phase. Other tests (such
as `stereo suggest` against a live Prometheus) can use it;
`e2e.lab.simulated_prometheus(workdir, [e2e.lab.cluster(scenario, size)], seed=...)` builds others.

`recorded_lab`: the same server once its recording rules have a history over the six hours (backfilled with
`promtool tsdb create-blocks-from rules`, see `e2e.history`; about half a minute more): what signals — and
`stereo suggest` — read.

`scenario_lab`: one cluster per fault scenario (cluster label = scenario name), each four minutes of healthy
history and then the scenario for as long as it needs (`Scenario.minutes`); ten clusters to a server, the
servers one after the other, each stopped once its snapshot of firing alerts is taken.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import replace

import pytest
from e2e.history import backfill_recording_rules
from e2e.lab import Lab, cluster, simulated_prometheus, snapshots_in_batches

from generator.simulate.scenarios import SCENARIOS

HEALTHY = cluster()
HEALTHY_HOURS = 6


def need_prometheus() -> None:
    if not (shutil.which("prometheus") and shutil.which("promtool")):
        message = "prometheus and promtool are not installed (apt-get install prometheus)"
        if os.environ.get("CI"):  # .ci/run installs them: missing there is a failure, not a skip
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def simulated_lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    need_prometheus()
    with simulated_prometheus(tmp_path_factory.mktemp("healthy-lab"), [HEALTHY],
                              duration=HEALTHY_HOURS * 3600) as lab:
        yield lab


@pytest.fixture(scope="session")
def prometheus_url(simulated_lab: Lab) -> str:
    return simulated_lab.url


@pytest.fixture(scope="session")
def recorded_lab(simulated_lab: Lab) -> Lab:
    lab = simulated_lab
    lab.timings["rule_history"] = backfill_recording_rules(lab, lab.end - HEALTHY_HOURS * 3600 + 600, lab.end - 60)
    return lab


@pytest.fixture(scope="session")
def scenario_lab(tmp_path_factory: pytest.TempPathFactory) -> Lab:
    need_prometheus()
    clusters = [replace(cluster(name), duration=(s.minutes + 4) * 60, scenario_window=s.minutes * 60)
                for name, s in SCENARIOS.items()]
    # a few clusters per server, one server after the other: see e2e.lab.snapshots_in_batches
    return snapshots_in_batches(tmp_path_factory.mktemp("scenario-lab"), clusters)
