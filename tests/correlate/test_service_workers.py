"""The service's analysis runs in worker processes (issue 11: slow work never blocks /healthz): while an analysis
is held in a worker, /healthz answers and the request is still in flight; a request whose deadline passes gets
its 504 and the worker's late result is dropped; the workers stop with the app, and die with a killed service.
Checked by state and order
(events between the processes), never by a clock."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from promlab import NAMESPACE, PLANTED, FakePrometheus, Prometheus, free_port
from serve_run import up
from test_service import client, json_error, wait_for

from generator.correlate import source, workers
from generator.correlate.analysis import Analysis
from generator.process import stop

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


DECODED_IN = _fork.Array("i", 64)  # the pid of each decoding, in order
DECODES = _fork.Value("i", 0)
BIGGEST = _fork.Value("q", 0)  # the largest body decoded, in bytes
_decode_range = source.decode_range


def spied_decode(body: bytes, *args: Any) -> Any:
    """A spy in front of the real decoding (named so): records where it runs and how large the answer was."""
    with DECODES.get_lock():
        if DECODES.value < len(DECODED_IN):
            DECODED_IN[DECODES.value] = os.getpid()
        DECODES.value += 1
        BIGGEST.value = max(BIGGEST.value, len(body))
    return _decode_range(body, *args)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def _running(pid: int) -> bool:
    """Neither gone nor a zombie (dead, waiting for whoever adopted it to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] != "Z"


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


def _children(pid: int) -> set[int]:
    """The live child processes of `pid` (Linux /proc: every thread's children)."""
    out: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            out |= {int(c) for c in (task / "children").read_text().split()}
    return out


def test_no_worker_outlives_a_killed_service(prometheus: Prometheus, tmp_path: Path) -> None:
    """The real `stereo serve`, killed with SIGKILL (no shutdown of its own) after its workers started: the
    kernel ends them (parent-death signal)."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "generator", "serve", "--prometheus", prometheus.url,
                             "--listen", f"127.0.0.1:{port}", "--log-level", "warning"],
                            cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: up(base), "stereo serve up")
        r = requests.get(f"{base}/api/v1/suggestions", params={"target": CPU, "selector": SHOP}, timeout=120)
        assert r.status_code == 200 and r.json()["suggestions"][0]["name"] == NET
        kids = _children(proc.pid)
        assert len(kids) == 2  # --analysis-workers' default
        proc.kill()
        proc.wait(timeout=30)
        wait_for(lambda: not any(_running(k) for k in kids), "the workers of a killed service end")
    finally:
        stop(proc)


def test_large_upstream_answers_are_decoded_in_the_worker_processes(fake_prometheus: FakePrometheus,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The service process only waits on sockets for the upstream's bytes: decoding the JSON (which holds an
    interpreter lock for tens of milliseconds per large answer) happens in a worker, with the same answer."""
    fake_prometheus.mode = "wide"  # 200 random walks per query at every step: a large answer
    monkeypatch.setattr(source, "decode_range", spied_decode)  # before the workers fork: they inherit the spy
    DECODES.value = BIGGEST.value = 0
    params = {"signals": f"{CPU},{NET}", "selector": SHOP, "start": "1700000000", "end": "1700021600"}
    with client(fake_prometheus.url, timeout=300, cache_size=0) as c:
        r = c.get("/api/v1/matrix", params=params)
        assert r.status_code == 200, r.text
        pids = c.app.state.analysts.pids()  # type: ignore[attr-defined]
    decoded = list(DECODED_IN[:DECODES.value])
    assert len(decoded) == 2 and BIGGEST.value > 1_000_000  # one large answer per signal ...
    assert os.getpid() not in decoded and set(decoded) <= set(pids)  # ... each decoded in a worker
    with client(fake_prometheus.url, timeout=300, cache_size=0, analysis_workers=0) as c:
        alone = c.get("/api/v1/matrix", params=params)
    assert list(DECODED_IN[2:DECODES.value]) == [os.getpid()] * 2  # without workers: in the request's thread
    assert alone.status_code == 200 and alone.content == r.content
    assert any(row["rho"] is not None for row in r.json() if row["a"] != row["b"])  # the answer has data


def test_a_worker_killed_between_requests_is_replaced_by_the_next_request(prometheus: Prometheus) -> None:
    """Decoding and analysis both need the workers; the next request forks a new pool (from the event loop's
    thread, never from a fetch thread) rather than failing."""
    params = {"target": CPU, "selector": SHOP}
    with client(prometheus.url, timeout=300, cache_size=0) as c:
        assert c.get("/api/v1/suggestions", params=params).status_code == 200
        analysts = c.app.state.analysts  # type: ignore[attr-defined]
        old = analysts.pids()
        os.kill(old[0], signal.SIGKILL)
        wait_for(lambda: getattr(analysts._pool, "_broken", False), "the pool notices its dead worker")
        r = c.get("/api/v1/suggestions", params=params)
        assert r.status_code == 200 and r.json()["suggestions"][0]["name"] == NET
        new = analysts.pids()
        assert len(new) == 2 and not set(new) & set(old)


_decode_instant = source.decode_instant


def spied_decode_instant(body: bytes, *args: Any) -> Any:
    """A spy in front of the real instant decoding (named so): records the pid it runs in."""
    with DECODES.get_lock():
        DECODED_IN[0] = os.getpid()
        DECODES.value += 1
    return _decode_instant(body, *args)


def test_instant_answers_are_decoded_in_the_worker_processes_too(prometheus: Prometheus,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """/readyz's instant query (and any other) is decoded where range answers are: not in the service process."""
    monkeypatch.setattr(source, "decode_instant", spied_decode_instant)  # before the workers fork
    DECODES.value = DECODED_IN[0] = 0
    with client(prometheus.url, timeout=60, cache_size=0) as c:
        assert c.get("/readyz").json() == {"status": "ready"}
        pids = c.app.state.analysts.pids()  # type: ignore[attr-defined]
        assert DECODES.value == 1 and DECODED_IN[0] in pids and DECODED_IN[0] != os.getpid()
        assert c.app.state.source.instant("vector(7)") == [({}, 7.0)]  # the same decoding, through a worker
    with client(prometheus.url, timeout=60, cache_size=0, analysis_workers=0) as c:
        assert c.get("/readyz").json() == {"status": "ready"}
    assert DECODES.value == 3 and DECODED_IN[0] == os.getpid()  # without workers: in the request's thread


def _spills() -> list[Path]:
    return sorted(workers.SPILL_DIR.glob(f"{workers.SPILL_PREFIX}{os.getpid()}-*"))


def test_analysis_inputs_travel_through_a_spill_file_removed_when_the_job_ends(prometheus: Prometheus,
                                                                              held: None) -> None:
    """The fetched series are not pickled in the service (one C call holding its interpreter lock for tens of
    milliseconds): they wait in a file while the analysis runs, the answer is the in-process one, and the file
    is gone afterwards; a file left by a dead service is removed when workers start."""
    stale = workers.SPILL_DIR / f"{workers.SPILL_PREFIX}999999999-x.f64"  # no such pid (above Linux's pid_max)
    stale.write_bytes(b"\0" * 8)
    # one window for both analyses: on a loaded machine the second can start after the minute turns (seen: every
    # short-window time 60 s later, rho 0.851 vs 0.853)
    params = {"target": CPU, "selector": SHOP, "end": str(int(time.time()) // 60 * 60)}
    with client(prometheus.url, timeout=300, cache_size=0) as c, ThreadPoolExecutor(1) as pool:
        c.app.state.analysts.job = held_analysis  # type: ignore[attr-defined]
        heavy = pool.submit(c.get, "/api/v1/suggestions", params=params)
        assert STARTED.wait(300), "the analysis never started"
        assert not stale.exists()
        spilled = _spills()
        assert len(spilled) == 1 and spilled[0].stat().st_size > 8 * 100  # the series, as float64
        RELEASE.set()
        r = heavy.result(timeout=300)
        assert r.status_code == 200 and _spills() == []
    with client(prometheus.url, timeout=300, cache_size=0, analysis_workers=0) as c:
        alone = c.get("/api/v1/suggestions", params=params)
    assert alone.status_code == 200 and alone.json()["suggestions"] == r.json()["suggestions"]


def test_spill_round_trip_keeps_every_field() -> None:
    import numpy as np

    from generator.correlate.suggest import Fetched

    signal = object.__new__(type("S", (), {}))  # any picklable value stands for the signal
    fetched = {"a": Fetched(signal, np.arange(6, dtype=float).reshape(2, 3), [{"pod": "p0"}, {"pod": "p1"}]),
               "b": Fetched(signal, np.empty((0, 3)), [], "no data"),
               "c": Fetched(signal, np.array([[np.nan, 1.5, -np.inf]]), [{"pod": "x"}])}
    path, layout = workers.spill(fetched)
    try:
        back = workers.unspill(path, layout)
    finally:
        path.unlink()
    assert list(back) == ["a", "b", "c"]
    for k, f in fetched.items():
        np.testing.assert_array_equal(back[k].values, f.values)
        assert back[k].labels == f.labels and back[k].reason == f.reason and back[k].values.shape == f.values.shape


def test_the_built_app_is_out_of_the_garbage_collectors_full_collections() -> None:
    """After workers.settle (stereo serve calls it once the app is built), a full collection has the
    ~80,000 objects of the catalog and app no longer to walk (it took 130-170 ms holding the interpreter lock).
    In a child process: freezing this test process's objects would outlive the test."""
    code = ("import gc; from generator.correlate.server import create_app, Settings; "
            "from generator.correlate import workers; app = create_app(Settings('http://127.0.0.1:1')); "
            "before = len(gc.get_objects()); workers.settle(); "
            "print(before, len(gc.get_objects()), gc.get_freeze_count())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    before, after, frozen = map(int, out.stdout.split())
    assert before > 20_000 and frozen > before * 0.9 and after < 1_000
