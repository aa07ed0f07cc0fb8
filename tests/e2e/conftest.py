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
servers one after the other, each stopped once its snapshot of firing alerts is taken. Built by a process of its
own started at the end of collection (e2e.scenario_snapshots), beside the tests that come first.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e.history import backfill_recording_rules
from e2e.lab import SMALL_LAB_INTERVAL, Lab, cluster, simulated_prometheus
from e2e.scenario_snapshots import Pending

TESTS = Path(__file__).resolve().parent.parent
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
    # the same three rounds as at the scenario labs' interval, sooner; no rule runs after them
    with simulated_prometheus(tmp_path_factory.mktemp("healthy-lab"), [HEALTHY],
                              duration=HEALTHY_HOURS * 3600, interval=SMALL_LAB_INTERVAL) as lab:
        yield lab


@pytest.fixture(scope="session")
def prometheus_url(simulated_lab: Lab) -> str:
    return simulated_lab.url


@pytest.fixture(scope="session")
def recorded_lab(simulated_lab: Lab) -> Lab:
    lab = simulated_lab
    lab.timings["rule_history"] = backfill_recording_rules(lab, lab.end - HEALTHY_HOURS * 3600 + 600, lab.end - 60)
    return lab


_snapshots: list[Pending] = []


def _scenarios() -> Pending:
    if not _snapshots:
        _snapshots.append(Pending(Path(tempfile.mkdtemp(prefix="stereo-scenario-lab-")), TESTS))
    return _snapshots[0]


def pytest_collection_finish(session: pytest.Session) -> None:
    """Start the scenario snapshots now when a collected test asks for them (see e2e.scenario_snapshots)."""
    tools = shutil.which("prometheus") and shutil.which("promtool")
    wanted = any("scenario_lab" in getattr(item, "fixturenames", ()) for item in session.items)
    worker = hasattr(session.config, "workerinput")  # an xdist worker starts them when a test asks (tests/conftest)
    if tools and wanted and not session.config.option.collectonly and not worker:
        _scenarios()


def pytest_sessionfinish(session: pytest.Session) -> None:
    for pending in _snapshots:
        pending.stop()
        shutil.rmtree(pending.workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def scenario_lab() -> Lab:
    need_prometheus()
    return _scenarios().lab()
