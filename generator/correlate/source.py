"""Prometheus access for the correlate wing, through prometheus-api-client (PrometheusConnect, no pandas).

Only `/api/v1/query` and `/api/v1/query_range` are used, so any Prometheus-compatible API works (Thanos
Query, Mimir, VictoriaMetrics). What this module adds around the client:

* aligned steps: start and end are rounded down to a multiple of the step, so repeated queries hit the cache
  and every signal of one analysis lands on the same time grid;
* limits: a range longer than `max_points` steps (Prometheus refuses more than 11,000 points per series) is
  fetched in chunks; a query returning more than `max_series` series is refused with `TooManySeries`;
* a total deadline per call (deadline.py: the client's timeouts bound each read, not the whole answer), and
  the client's own retries (urllib3 Retry: connection errors and 5xx, exponential backoff);
* a semaphore bounding concurrent upstream queries across threads, and an optional LRU cache of ranges;
* errors classified into the exceptions below, each with the HTTP status the service answers with.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import requests
import urllib3
from prometheus_api_client import PrometheusConnect
from prometheus_api_client.exceptions import PrometheusApiClientException
from urllib3.exceptions import DecodeError, ProtocolError, ReadTimeoutError

from generator.correlate.deadline import DeadlineAdapter, DeadlineRetry, Watch, remember_errors, total_deadline
from generator.correlate.faults import (
    QUERY_ERRORS,
    QueryRejected,
    SourceError,
    TooManySeries,
    UpstreamBadResponse,
    UpstreamTimeout,
    UpstreamUnavailable,
    http_error,
    reason,
)
from generator.correlate.rangedecode import decode_instant, decode_range
from generator.correlate.rangedecode import merge as _merge

__all__ = ["QUERY_ERRORS", "QueryRejected", "SourceError", "TooManySeries", "UpstreamBadResponse", "UpstreamTimeout",
           "UpstreamUnavailable"]

PROMETHEUS_MAX_POINTS = 11_000  # Prometheus refuses a range query with more points per series


@dataclass(frozen=True)
class Auth:
    """Optional credentials for the upstream: a bearer token or basic auth (user, password)."""

    bearer_token: str | None = None
    basic: tuple[str, str] | None = None

    def headers(self) -> dict[str, str] | None:
        return {"Authorization": f"Bearer {self.bearer_token}"} if self.bearer_token else None


@dataclass(frozen=True)
class RangeResult:
    """Series of one range query on the aligned grid `times`: `values[i]` belongs to `labels[i]`, NaN = gap."""

    query: str
    start: int
    end: int
    step: int
    times: np.ndarray
    values: np.ndarray  # (n_series, n_points)
    labels: tuple[dict[str, str], ...]


@dataclass
class Hooks:
    """Callbacks the service uses for its own metrics; all optional."""

    in_flight: Callable[[int], None] = lambda delta: None
    error: Callable[[str], None] = lambda kind: None
    cache: Callable[[bool], None] = lambda hit: None


def align(start: float, end: float, step: int) -> tuple[int, int]:
    """Start and end rounded down to a multiple of `step` (whole seconds)."""
    if step < 1 or int(step) != step:
        raise ValueError(f"step must be a whole number of seconds ≥ 1, got {step}")
    s, e = int(start // step * step), int(end // step * step)
    if e < s:
        raise ValueError("end is before start")
    return s, e


class RangeCache:
    """Thread-safe LRU of RangeResults keyed by (query, aligned start, end, step)."""

    def __init__(self, size: int) -> None:
        self.size = max(0, size)
        self._data: OrderedDict[tuple[str, int, int, int], RangeResult] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, int, int, int]) -> RangeResult | None:
        with self._lock:
            hit = self._data.get(key)
            if hit is not None:
                self._data.move_to_end(key)
            return hit

    def put(self, key: tuple[str, int, int, int], value: RangeResult) -> None:
        if self.size == 0:
            return
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)


@dataclass
class Source:
    """One upstream Prometheus-compatible API. Thread-safe; `close()` releases the HTTP connections."""

    url: str
    auth: Auth = field(default_factory=Auth)
    timeout: float = 10.0  # per socket read (the client's timeout); a call as a whole ends by its deadline
    retries: int = 2  # extra attempts on connection errors and 5xx (urllib3's Retry, as the client takes it)
    backoff: float = 0.25  # urllib3's backoff_factor: first retry delay in seconds, doubled each time
    max_concurrency: int = 4
    max_series: int = 2000
    max_points: int = 10_000
    cache: RangeCache | None = None
    hooks: Hooks = field(default_factory=Hooks)
    verify_tls: bool = True
    # runs decode_range(*args) by a deadline somewhere else (the service: in its worker processes, so that no
    # JSON decoding holds the service's interpreter lock); None: the client decodes in the calling thread
    decoder: Callable[[Callable[..., Any], tuple[Any, ...], float], Any] | None = None

    def __post_init__(self) -> None:
        if not 2 <= self.max_points <= PROMETHEUS_MAX_POINTS:
            raise ValueError(f"max_points must be in [2, {PROMETHEUS_MAX_POINTS}]")
        self.url = self.url.rstrip("/")
        self._gate = threading.BoundedSemaphore(max(1, self.max_concurrency))
        # the client's own retry setting: connection errors and 5xx, with backoff; never a read timeout again
        # (read=False re-raises it as a timeout), and none once the call's deadline has passed
        retry = DeadlineRetry(total=self.retries, connect=self.retries, read=False, status=self.retries, other=0,
                              status_forcelist=(500, 502, 503, 504), backoff_factor=self.backoff, backoff_max=2.0,
                              respect_retry_after_header=False, raise_on_status=False)
        session = requests.Session()
        session.verify = self.verify_tls  # the client sets verify only on a session it creates itself
        session.hooks["response"].append(remember_errors)
        self._session = session
        self._client = PrometheusConnect(self.url, headers=self.auth.headers(), auth=self.auth.basic,
                                         disable_ssl=not self.verify_tls, retry=retry, session=session,
                                         timeout=self.timeout)
        # The client mounts a plain HTTPAdapter(max_retries=retry) on the URL; this one, with the same retry
        # setting, is mounted on a longer prefix (requests picks the longest) so its connections are watched by
        # total_deadline and its pool holds max_concurrency connections.
        pool = max(10, self.max_concurrency)
        session.mount(self.url + "/", DeadlineAdapter(max_retries=retry, pool_connections=pool, pool_maxsize=pool))

    def close(self) -> None:
        self._client.close()

    # ------------------------------------------------------------------ queries

    def range(self, query: str, start: float, end: float, step: int, deadline: float | None = None) -> RangeResult:
        """`query` over [start, end] at `step` seconds, on the aligned grid; chunked, cached, limited."""
        s, e = align(start, end, step)
        key = (query, s, e, int(step))
        if self.cache is not None:
            hit = self.cache.get(key)
            self.hooks.cache(hit is not None)
            if hit is not None:
                return hit
        times = np.arange(s, e + step, step, dtype=np.float64)
        rows: dict[tuple[tuple[str, str], ...], np.ndarray] = {}
        span = (self.max_points - 1) * int(step)
        lo = s
        while lo <= e:
            hi = min(lo + span, e)
            if self.decoder is None:
                result = self._call(lambda t, lo=lo, hi=hi: self._client.custom_query_range(
                    query, _dt(lo), _dt(hi), str(int(step)), timeout=t), deadline)
                try:
                    _merge(result, rows, s, int(step), times.size, self.max_series, query, self.url)
                except UpstreamBadResponse:
                    self.hooks.error("bad_response")  # counted as when decoded elsewhere
                    raise
            else:
                body = self._call(lambda t, lo=lo, hi=hi: self._raw_range(query, lo, hi, int(step), t), deadline)
                self._decode(body, rows, s, int(step), times.size, query, deadline)
            lo = hi + int(step)
        keys = sorted(rows)
        values = np.vstack([rows[k] for k in keys]) if keys else np.empty((0, times.size))
        out = RangeResult(query, s, e, int(step), times, values, tuple(dict(k) for k in keys))
        if self.cache is not None:
            self.cache.put(key, out)
        return out

    def instant(self, query: str, at: float | None = None, deadline: float | None = None
                ) -> list[tuple[dict[str, str], float]]:
        """An instant query: (labels, value) per series, sorted by labels (decoded by `decoder` when set)."""
        params = {"query": query, **({"time": f"{at:.3f}"} if at is not None else {})}
        body = self._call(lambda t: self._raw("query", params, t), deadline)
        if deadline is None:
            deadline = time.monotonic() + self.timeout * (self.retries + 1)
        args = (body, self.max_series, query, self.url)
        try:
            kind, detail, out = decode_instant(*args) if self.decoder is None else self.decoder(decode_instant,
                                                                                                 args, deadline)
        except UpstreamTimeout:
            self.hooks.error("timeout")
            raise
        if kind == "too_many_series":
            raise TooManySeries(detail)
        if kind != "ok":
            self.hooks.error("bad_response")
            raise UpstreamBadResponse(detail, 200)
        return out

    def fetch_many(self, queries: Iterable[str], start: float, end: float, step: int, deadline: float | None = None,
                   on_done: Callable[[str, RangeResult | SourceError], None] | None = None
                   ) -> dict[str, RangeResult | SourceError]:
        return fetch_all(self.range, self.max_concurrency, queries, start, end, step, deadline, on_done)

    # ------------------------------------------------------------------ transport

    def _raw_range(self, query: str, lo: int, hi: int, step: int, timeout: float) -> bytes:
        """The undecoded body of the range query the client's custom_query_range sends (same session, headers,
        auth and retries); reading it waits on the socket, which releases the interpreter lock."""
        return self._raw("query_range", {"query": query, "start": lo, "end": hi, "step": str(step)}, timeout)

    def _raw(self, endpoint: str, params: dict[str, Any], timeout: float) -> bytes:
        """The body in one read (urllib3 reads to the end in C, waiting without the interpreter lock), not
        requests' 10 KB chunks: ~200 rounds of Python per 2 MB answer, each taking the lock from the event loop."""
        c = self._client
        response = self._session.request(
            "GET", f"{c.url}/api/v1/{endpoint}", params=params, stream=True,
            verify=self._session.verify, headers=c.headers, auth=c.auth, cert=self._session.cert, timeout=timeout)
        try:
            if response.status_code != 200:  # remember_errors kept status and body for _classify
                raise PrometheusApiClientException(f"HTTP Status Code {response.status_code}")
            try:
                return response.raw.read(decode_content=True)
            except ReadTimeoutError as exc:  # as requests' own reading would name them
                raise requests.exceptions.ReadTimeout(exc) from None
            except (ProtocolError, DecodeError, urllib3.exceptions.HTTPError) as exc:
                raise requests.exceptions.ConnectionError(exc) from None
        finally:
            response.close()

    def _decode(self, body: bytes, rows: dict[tuple[tuple[str, str], ...], np.ndarray], start: int, step: int,
                size: int, query: str, deadline: float | None) -> None:
        """One chunk's body decoded by `decoder` (decode_range, elsewhere) and merged into `rows`."""
        assert self.decoder is not None
        if deadline is None:
            deadline = time.monotonic() + self.timeout * (self.retries + 1)
        try:
            kind, detail, values = self.decoder(decode_range, (body, start, step, size, self.max_series, query,
                                                               self.url), deadline)
        except UpstreamTimeout:
            self.hooks.error("timeout")
            raise
        if kind == "too_many_series":  # the request's fault, not the upstream's: no upstream error counted
            raise TooManySeries(detail)
        if kind != "ok":
            self.hooks.error("bad_response")
            raise UpstreamBadResponse(detail, 200)
        for key, row in zip(detail, values, strict=True):
            old = rows.get(key)
            if old is None:
                if len(rows) >= self.max_series:
                    raise TooManySeries(f"{query} returns more than {self.max_series} series; narrow the selector")
                rows[key] = row
            else:  # a later chunk of the same series: its own part of the grid
                np.copyto(old, row, where=~np.isnan(row))

    def _call(self, fn: Callable[[float], Any], deadline: float | None) -> Any:
        """One client call (its own retries included) holding a concurrency slot, ended by the deadline."""
        if deadline is None:
            deadline = time.monotonic() + self.timeout * (self.retries + 1)
        left = deadline - time.monotonic()
        if left <= 0:
            self.hooks.error("timeout")
            raise UpstreamTimeout(f"no answer from {self.url} before the deadline")
        if not self._gate.acquire(timeout=left):
            self.hooks.error("timeout")
            raise UpstreamTimeout(f"{self.max_concurrency} queries to {self.url} already in flight; waited "
                                  f"{left:.1f}s")
        self.hooks.in_flight(1)
        try:
            if deadline <= time.monotonic():  # the slot came free too late
                self.hooks.error("timeout")
                raise UpstreamTimeout(f"no answer from {self.url} before the deadline")
            with total_deadline(deadline) as watch:
                try:
                    return fn(max(0.001, min(self.timeout, deadline - time.monotonic())))
                except Exception as exc:
                    error = self._classify(exc, watch)
                    self.hooks.error(error.kind)
                    raise error from None
        finally:
            self.hooks.in_flight(-1)
            self._gate.release()

    def _classify(self, exc: Exception, watch: Watch) -> SourceError:
        if watch.fired or isinstance(exc, requests.exceptions.Timeout):
            return UpstreamTimeout(f"no complete answer from {self.url} within the deadline")
        if isinstance(exc, PrometheusApiClientException):
            return http_error(self.url, watch.error_status, watch.error_body)
        if isinstance(exc, requests.exceptions.JSONDecodeError):  # before RequestException: it is one
            return UpstreamBadResponse(f"{self.url} answered with invalid JSON", 200)
        if isinstance(exc, requests.exceptions.RequestException):
            return UpstreamUnavailable(f"cannot connect to {self.url}: {reason(exc)}")
        if isinstance(exc, KeyError | TypeError | IndexError | ValueError):
            return UpstreamBadResponse(f"{self.url} answered with an unexpected response shape "
                                       f"({type(exc).__name__})", 200)
        raise exc


def fetch_all(range_fn: Callable[..., RangeResult], concurrency: int, queries: Iterable[str], start: float,
              end: float, step: int, deadline: float | None = None,
              on_done: Callable[[str, RangeResult | SourceError], None] | None = None
              ) -> dict[str, RangeResult | SourceError]:
    """Several range queries at once (at most `concurrency` in flight).

    Errors of one query (QUERY_ERRORS) are returned in its place; any other error means the upstream is
    down or misbehaving: pending queries are cancelled and it is raised at once."""
    unique = list(dict.fromkeys(queries))
    out: dict[str, RangeResult | SourceError] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(unique))), thread_name_prefix="stereo-fetch")
    try:
        futures: dict[Future, str] = {pool.submit(range_fn, q, start, end, step, deadline): q for q in unique}
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_EXCEPTION)
            for fut in sorted(done, key=lambda f: unique.index(futures[f])):
                q = futures[fut]
                exc = fut.exception()
                if exc is not None and not isinstance(exc, QUERY_ERRORS):
                    raise exc
                out[q] = exc if exc is not None else fut.result()  # type: ignore[assignment]
                if on_done is not None:
                    on_done(q, out[q])
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
    return {q: out[q] for q in unique}


class Scoped:
    """One request's view of a Source: series that fail `keep` are dropped from every answer, and the queries
    Prometheus refused are remembered (`rejected`) so the caller can tell an upstream fault from no data."""

    def __init__(self, source: Source, keep: Callable[[dict[str, str]], bool] | None = None) -> None:
        self.source, self.keep = source, keep
        self.rejected: list[tuple[str, QueryRejected]] = []
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.source, name)

    def range(self, query: str, start: float, end: float, step: int, deadline: float | None = None) -> RangeResult:
        try:
            res = self.source.range(query, start, end, step, deadline)
        except QueryRejected as exc:
            with self._lock:
                self.rejected.append((query, exc))
            raise
        if self.keep is None:
            return res
        kept = [i for i, lb in enumerate(res.labels) if self.keep(lb)]
        return RangeResult(res.query, res.start, res.end, res.step, res.times, res.values[kept],
                           tuple(res.labels[i] for i in kept))

    def fetch_many(self, queries: Iterable[str], start: float, end: float, step: int, deadline: float | None = None,
                   on_done: Callable[[str, RangeResult | SourceError], None] | None = None
                   ) -> dict[str, RangeResult | SourceError]:
        return fetch_all(self.range, self.source.max_concurrency, queries, start, end, step, deadline, on_done)


def _dt(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)
