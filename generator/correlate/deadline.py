"""A total deadline for HTTP calls made through requests (and so through prometheus-api-client).

Why this exists: requests' and urllib3's timeouts bound each socket operation — the connect and every single
read — never the whole response. An upstream that dribbles one byte a second answers every read in time and
keeps a call (and the concurrency slot it holds) for as long as it likes. prometheus-api-client takes its
`timeout` and `retry` settings straight from requests and urllib3, so it cannot express a total deadline either.

The smallest addition that can: inside `total_deadline(t)`, each connection the calling thread uses is
remembered, and a timer shuts its socket down at `t`; the blocked read then fails at once and the call ends with
`watch.fired` set, which the caller reports as a timeout. `DeadlineRetry` stops urllib3's retries once the
deadline has passed. Everything else — the session, retries, backoff, per-read timeouts — stays the client's.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.retry import Retry

_local = threading.local()


class Watch:
    """The deadline of one call: connections in use, whether the deadline passed, the last error response."""

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.fired = False
        self.error_status: int | None = None  # status and body of the last non-200 answer (response hook)
        self.error_body = b""
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()

    def attach(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            self._socks.append(sock)
            fired = self.fired
        if fired:
            _shutdown(sock)

    def fire(self) -> None:
        with self._lock:
            self.fired = True
            socks = list(self._socks)
        for sock in socks:
            _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    # wakes the thread blocked in recv() (the socket, not the connection: a response that closes the connection
    # after it keeps reading from the socket the connection no longer holds); urllib3 then drops the connection
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


def current() -> Watch | None:
    return getattr(_local, "watch", None)


@contextmanager
def total_deadline(deadline: float) -> Iterator[Watch]:
    """Calls made by this thread inside the block end by `deadline` (time.monotonic()), answered or not."""
    watch = Watch(deadline)
    timer = threading.Timer(max(0.0, deadline - time.monotonic()), watch.fire)
    timer.daemon = True
    previous = current()
    _local.watch = watch
    timer.start()
    try:
        yield watch
    finally:
        timer.cancel()
        _local.watch = previous


class _Watched:
    """A urllib3 connection that tells the calling thread's Watch about its socket: a reused one when a request
    starts, a new one when it connects."""

    def connect(self) -> None:
        super().connect()  # type: ignore[misc]
        watch = current()
        if watch is not None:
            watch.attach(self.sock)  # type: ignore[attr-defined]

    def request(self, *args: Any, **kwargs: Any) -> Any:
        watch = current()
        if watch is not None:
            watch.attach(self.sock)  # type: ignore[attr-defined]
        return super().request(*args, **kwargs)  # type: ignore[misc]


class _WatchedHTTP(_Watched, HTTPConnection):
    pass


class _WatchedHTTPS(_Watched, HTTPSConnection):
    pass


class _Pool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTP


class _SPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPS


class DeadlineRetry(Retry):
    """urllib3's Retry, exhausted once the calling thread's deadline has passed (no retry after the deadline)."""

    def is_exhausted(self) -> bool:
        watch = current()
        if watch is not None and (watch.fired or time.monotonic() >= watch.deadline):
            return True
        return super().is_exhausted()


class DeadlineAdapter(HTTPAdapter):
    """requests' HTTPAdapter whose connections are watched by `total_deadline`."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _Pool, "https": _SPool}


def remember_errors(response: requests.Response, *args: Any, **kwargs: Any) -> requests.Response:
    """A requests response hook: keep the status and body of an error answer for the caller (the client's
    exception carries them only as text)."""
    watch = current()
    if watch is not None and response.status_code != 200:
        watch.error_status, watch.error_body = response.status_code, response.content[:4096]
    return response
