"""The service's analysis in worker processes, so that no analysis can keep the event loop waiting (issue 11).

`stereo serve` fetches in threads (waiting on the network releases the interpreter lock) but the analysis —
ranks, findings, regimes, much of it Python between numpy calls — holds the lock for most of its time; in a
thread it makes /healthz and every other request wait for the switch interval again and again. Here it runs in
a small pool of processes instead (each with its own interpreter and lock):

* bounded: `workers` processes, forked on the service's first computing request (not at import or app
  creation) from its event loop's thread, stopped when the app shuts down;
* forked from the service (Linux): a worker starts in milliseconds with the catalog already built, and the
  site's `derived` test (a bound method, not picklable) is inherited rather than sent; the inputs (time grid,
  fetched arrays, candidates, options) and the result are pickled;
* deadlines: the caller waits until the request's deadline and no longer; a job that has not started by then
  is cancelled, one that has keeps its worker until it ends and its result is dropped (the request has had its
  504 from the service's own deadline);
* a worker that dies (killed, out of memory) fails the requests it had with a 500 and the next request gets
  a new pool; a worker whose service dies (even by SIGKILL) is ended by the kernel (Linux's parent-death
  signal), so no worker outlives its service;
* the same workers decode the upstream's JSON answers (Analysts.run with source.decode_range): the service's
  fetch threads only wait on sockets for the bytes, and a 2 MB answer's tens of milliseconds of json.loads and
  parsing hold a worker's interpreter lock, not the event loop's;
* the analysis' inputs — every fetched series, 20+ MB for 40 signals of 200 series over 6 h — do not travel
  through pickle: ProcessPoolExecutor pickles a job in one C call in its feeder thread, which held the service's
  interpreter lock for 30-40 ms per analysis (measured), so /healthz waited that long. The arrays are written
  to a spill file (tmpfs /dev/shm where there is one: `os.write` releases the lock) and read by the worker;
  only the small rest (signals, labels, options) is pickled. The file is removed when the job ends or its
  deadline passes; files left by a killed service are removed when a later one starts its workers;
* `workers=0` analyses (and decodes) in the calling thread (as before the pool; for comparison and debugging).
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import gc
import multiprocessing
import os
import signal
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import numpy as np

from generator.correlate.analysis import Analysis, analyse
from generator.correlate.faults import UpstreamTimeout

Derived = Callable[[str, str], bool]
Job = Callable[..., Analysis]

_derived: Derived | None = None  # the catalog's test, in a worker process (set by _start)


def _start(derived: Derived, parent: int) -> None:
    """A worker's first act: the parent's signal handlers (uvicorn's) are not the worker's; Ctrl-C on the
    terminal reaches the whole process group and is the service's to handle."""
    global _derived
    _derived = derived
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    _end_with_parent(parent)


def _end_with_parent(parent: int) -> None:
    """SIGTERM this process when the thread that forked it ends (prctl PR_SET_PDEATHSIG; Linux only, a no-op
    elsewhere), and end at once if the service already died between the fork and here."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(1, signal.SIGTERM, 0, 0, 0)  # 1 = PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(0)


def analyse_job(*args: Any) -> Analysis:
    """What a worker runs: analysis.analyse with the catalog's `derived` test it inherited."""
    assert _derived is not None, "not in a worker started by Analysts"
    return analyse(*args, _derived)


SPILL_DIR = Path("/dev/shm") if os.access("/dev/shm", os.W_OK) else Path(tempfile.gettempdir())
SPILL_PREFIX = "stereo-analysis-"
Layout = dict[str, tuple[Any, int, tuple[int, ...]]]  # name -> (fetched without values, offset, shape)


def spill(fetched: dict[str, Any]) -> tuple[Path, Layout]:
    """Write every fetched item's `values` (float64) to one new file, by os.write (which releases the
    interpreter lock while the kernel copies); return the file and the rest of each item without its values."""
    fd, name = tempfile.mkstemp(prefix=f"{SPILL_PREFIX}{os.getpid()}-", suffix=".f64", dir=SPILL_DIR)
    layout: Layout = {}
    offset = 0
    try:
        for key, item in fetched.items():
            values = np.ascontiguousarray(item.values, dtype=np.float64)
            view = memoryview(values.reshape(-1).view(np.uint8))
            while view:
                view = view[os.write(fd, view):]
            layout[key] = (dataclasses.replace(item, values=None), offset, values.shape)
            offset += values.size
    except BaseException:
        os.close(fd)
        Path(name).unlink(missing_ok=True)
        raise
    os.close(fd)
    return Path(name), layout


def unspill(path: Path, layout: Layout) -> dict[str, Any]:
    """In the worker: the fetched items back, their values views of the file's one array."""
    data = np.fromfile(path, dtype=np.float64)
    return {key: dataclasses.replace(item, values=data[offset:offset + int(np.prod(shape))].reshape(shape))
            for key, (item, offset, shape) in layout.items()}


def spilled_job(job: Job, times: Any, path: Path, layout: Layout, *rest: Any) -> Analysis:
    """What a worker runs for a spilled analysis: the inputs read back, then `job` as usual."""
    return job(times, unspill(path, layout), *rest)


def settle() -> None:
    """Move everything the service has built so far (catalog, app: ~80,000 objects) out of the garbage
    collector's reach (gc.freeze). A full collection walked them all, 130-170 ms holding the interpreter lock
    (and /healthz with it), whenever a wide request's surviving objects triggered one; the workers forked later
    share those pages unchanged."""
    gc.collect()
    gc.freeze()


def _remove_stale_spills() -> None:
    """Spill files whose service is gone (killed before it could remove them)."""
    for path in SPILL_DIR.glob(f"{SPILL_PREFIX}*-*.f64"):
        pid = path.name[len(SPILL_PREFIX):].partition("-")[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            with contextlib.suppress(OSError):
                path.unlink()


class Analysts:
    """A lazily started, bounded pool of analysis processes for one app. Thread-safe."""

    def __init__(self, derived: Derived, workers: int, job: Job = analyse_job) -> None:
        self.derived, self.workers, self.job = derived, workers, job
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._closed = False

    def analyse(self, times: Any, fetched: Any, targets: Any, options: Any, deadline: float) -> Analysis:
        """analysis.analyse(times, fetched, targets, options, derived) in a worker; UpstreamTimeout (504) when
        `deadline` (time.monotonic()) passes first."""
        if self.workers < 1:
            return analyse(times, fetched, targets, options, self.derived)
        try:
            path, layout = spill(fetched)
        except OSError:  # no room for the file: the inputs are pickled as before
            return self.run(self.job, (times, fetched, targets, options), deadline, "the analysis")
        try:
            return self.run(spilled_job, (self.job, times, path, layout, targets, options), deadline, "the analysis")
        finally:
            path.unlink(missing_ok=True)  # a job that has not started by now never runs (or fails and is dropped)

    def run(self, fn: Callable[..., Any], args: tuple[Any, ...], deadline: float, what: str = "the work") -> Any:
        """`fn(*args)` in a worker (`fn` a module-level function, `args` and the result picklable), in the calling
        thread with `workers=0`; UpstreamTimeout (504) when `deadline` passes first. Source uses it to decode
        upstream answers off the service's interpreter lock."""
        if self.workers < 1:
            return fn(*args)
        # never forks here: the caller may be a short-lived fetch thread, and the workers' parent-death signal
        # is tied to the thread that forked them (start() forks, on the event loop's thread)
        pool = self._get(fork=False)
        try:
            future = pool.submit(fn, *args)
        except BrokenProcessPool:
            self._drop(pool)
            raise RuntimeError("a worker process died; the next request starts a new one") from None
        try:
            return future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FuturesTimeout:
            future.cancel()  # not started yet: never will; started: its result is dropped
            raise UpstreamTimeout(f"{what} did not finish before the request's deadline") from None
        except BrokenProcessPool:
            self._drop(pool)
            raise RuntimeError("a worker process died; the next request starts a new one") from None

    def start(self) -> None:
        """Fork the workers now, from the calling thread (the service calls this on its event loop's thread,
        which lives as long as the service: the workers' parent-death signal is tied to the forking thread)."""
        if self.workers >= 1:
            with self._lock:
                pool = self._pool
            if pool is not None and getattr(pool, "_broken", False):  # a worker died since: a new pool
                self._drop(pool)
            self._get()

    def _get(self, fork: bool = True) -> ProcessPoolExecutor:
        with self._lock:
            if self._closed:
                raise RuntimeError("the service is shutting down")
            if self._pool is None and not fork:
                raise RuntimeError("no worker processes (a worker died); the next request starts new ones")
            if self._pool is None:
                _remove_stale_spills()
                pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("fork"),
                                           initializer=_start, initargs=(self.derived, os.getpid()))
                pool.submit(int)  # forks every worker now, in this thread (a fork pool starts all on its first job)
                self._pool = pool
            return self._pool

    def _drop(self, pool: ProcessPoolExecutor) -> None:
        with self._lock:
            if self._pool is pool:
                self._pool = None
        pool.shutdown(wait=False, cancel_futures=True)

    def pids(self) -> list[int]:
        """The worker processes' pids (none before the first analysis)."""
        with self._lock:
            pool = self._pool
        return sorted(p.pid for p in (getattr(pool, "_processes", None) or {}).values() if p.pid) if pool else []

    def close(self) -> None:
        """Stop the workers: queued jobs are cancelled, running ones finish (bounded by the analysis size)."""
        with self._lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
