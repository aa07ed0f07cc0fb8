"""The service's analysis runs in worker processes (issue 11: slow work never blocks /healthz): while an analysis
is held in a worker, /healthz answers and the request is still in flight; a request whose deadline passes gets
its 504 and the worker's late result is dropped; the workers stop with the app. Checked by state and order
(events between the processes), never by a clock."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from promlab import NAMESPACE, PLANTED, Prometheus
from test_service import client, json_error

from generator.correlate import workers
from generator.correlate.analysis import Analysis

CPU, NET = PLANTED
SHOP = f'namespace="{NAMESPACE}"'
_fork = multiprocessing.get_context("fork")
STARTED, RELEASE = _fork.Event(), _fork.Event()  # inherited by the workers, which fork from this process
WHERE = _fork.Value("i", 0)  # the pid the held analysis ran in


def held_analysis(*args: Any) -> Analysis:
    """A fault injector in front of the real analysis (named so): says where it runs, waits to be released,
    then analyses as the service would."""
    WHERE.value = os.getpid()
    STARTED.set()
    assert RELEASE.wait(300), "never released"
    return workers.analyse_job(*args)


@pytest.fixture
def held() -> Iterator[None]:
    STARTED.clear()
    RELEASE.clear()
    WHERE.value = 0
    try:
        yield
    finally:
        RELEASE.set()  # never leave a worker waiting


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_healthz_answers_while_an_analysis_runs_in_a_worker_process(prometheus: Prometheus, held: None) -> None:
    with client(prometheus.url, timeout=300, cache_size=0) as c, ThreadPoolExecutor(1) as pool:
        analysts = c.app.state.analysts  # type: ignore[attr-defined]
        assert analysts.pids() == []  # started lazily, on the first analysis
        analysts.job = held_analysis
        heavy = pool.submit(c.get, "/api/v1/suggestions", params={"target": CPU, "selector": SHOP})
        assert STARTED.wait(300), "the analysis never started"
        assert c.get("/healthz").json() == {"status": "ok"}
        assert c.get("/api/v1/signals").status_code == 200  # the event loop serves other requests too
        assert not heavy.done()  # ... while the heavy one is still being analysed
        pids = analysts.pids()
        assert WHERE.value != os.getpid() and WHERE.value in pids and 1 <= len(pids) <= 2
        RELEASE.set()
        r = heavy.result(timeout=300)
        assert r.status_code == 200 and r.json()["suggestions"][0]["name"] == NET  # the same answer as in-process
    assert not any(_alive(p) for p in pids)  # stopped with the app


def test_a_deadline_passing_during_the_analysis_is_504_and_the_late_result_is_dropped(prometheus: Prometheus,
                                                                                    held: None) -> None:
    with client(prometheus.url, timeout=20, cache_size=0) as c:
        analysts = c.app.state.analysts  # type: ignore[attr-defined]
        analysts.job = held_analysis
        json_error(c.get("/api/v1/suggestions", params={"target": CPU, "selector": SHOP}), 504)
        assert STARTED.is_set() and WHERE.value in analysts.pids()  # it was the analysis that was late
        analysts.job = workers.analyse_job
        RELEASE.set()  # the held worker finishes; nobody takes its result
        r = c.get("/api/v1/suggestions", params={"target": CPU, "selector": SHOP})
        assert r.status_code == 200 and r.json()["suggestions"][0]["name"] == NET


def test_without_workers_the_analysis_runs_in_the_request_thread(prometheus: Prometheus) -> None:
    with client(prometheus.url, timeout=300, cache_size=0, analysis_workers=0) as c:
        r = c.get("/api/v1/suggestions", params={"target": CPU, "selector": SHOP})
        assert r.status_code == 200 and r.json()["suggestions"][0]["name"] == NET
        assert c.app.state.analysts.pids() == []  # type: ignore[attr-defined]
