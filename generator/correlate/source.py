"""Prometheus access for the correlate wing, through prometheus-api-client (PrometheusConnect, no pandas).

Only `/api/v1/query` and `/api/v1/query_range` are used, so any Prometheus-compatible API works (Thanos
Query, Mimir, VictoriaMetrics). What this module adds around the client:

* aligned steps: start and end are rounded down to a multiple of the step, so repeated queries hit the cache
  and every signal of one analysis lands on the same time grid;
* limits: a range longer than `max_points` steps (Prometheus refuses more than 11,000 points per series) is
  fetched in chunks; a query returning more than `max_series` series is refused with `TooManySeries`;
* deadlines, timeouts and bounded retries with exponential backoff on connection errors and 5xx;
* a semaphore bounding concurrent upstream queries across threads, and an optional LRU cache of ranges;
* errors classified into the exceptions below, each with the HTTP status the service answers with.
"""

from __future__ import annotations

import ast
import json
import re
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
from prometheus_api_client import PrometheusConnect
from prometheus_api_client.exceptions import PrometheusApiClientException
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ReadTimeoutError
from urllib3.util.retry import Retry

PROMETHEUS_MAX_POINTS = 11_000  # Prometheus refuses a range query with more points per series


class SourceError(Exception):
    """A query could not be answered; `status` is the HTTP status the service returns, `kind` a metric label."""

    status = 502
    kind = "error"


class UpstreamUnavailable(SourceError):
    """Connection refused, DNS failure, connection reset: nobody answers at the URL."""

    status = 503
    kind = "unavailable"


class UpstreamTimeout(SourceError):
    """No answer within the timeout or the request's deadline."""

    status = 504
    kind = "timeout"


class UpstreamBadResponse(SourceError):
    """A 5xx, an unexpected status, invalid JSON or a response of the wrong shape."""

    status = 502
    kind = "bad_response"

    def __init__(self, message: str, http_status: int | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status


class QueryRejected(UpstreamBadResponse):
    """Prometheus refused this one query (HTTP 400/422): a problem of the query, not of the upstream."""

    kind = "rejected"


class TooManySeries(SourceError):
    """The query matched more series than the limit allows: narrow the selector."""

    status = 422
    kind = "too_many_series"


# errors that say something about one query only; any other SourceError means the upstream itself is in trouble
QUERY_ERRORS = (QueryRejected, TooManySeries)


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
    timeout: float = 10.0  # per HTTP request, also bounded by the caller's deadline
    retries: int = 2  # extra attempts on connection errors and 5xx
    backoff: float = 0.25  # first retry delay in seconds, doubled each time
    max_concurrency: int = 4
    max_series: int = 2000
    max_points: int = 10_000
    cache: RangeCache | None = None
    hooks: Hooks = field(default_factory=Hooks)
    verify_tls: bool = True

    def __post_init__(self) -> None:
        if not 2 <= self.max_points <= PROMETHEUS_MAX_POINTS:
            raise ValueError(f"max_points must be in [2, {PROMETHEUS_MAX_POINTS}]")
        self.url = self.url.rstrip("/")
        self._gate = threading.BoundedSemaphore(max(1, self.max_concurrency))
        # retries are ours (bounded by the deadline, classified): urllib3 must not retry on its own
        no_retry = Retry(total=None, connect=0, read=0, status=0, other=0, redirect=5, raise_on_status=False)
        session = requests.Session()
        self._client = PrometheusConnect(self.url, headers=self.auth.headers(), auth=self.auth.basic,
                                         disable_ssl=not self.verify_tls, retry=no_retry, session=session,
                                         timeout=self.timeout)
        pool = max(10, self.max_concurrency)
        session.mount(self.url, HTTPAdapter(max_retries=no_retry, pool_connections=pool, pool_maxsize=pool))

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
            result = self._call(lambda t, lo=lo, hi=hi: self._client.custom_query_range(
                query, _dt(lo), _dt(hi), str(int(step)), timeout=t), deadline)
            _merge(result, rows, s, int(step), times.size, self.max_series, query, self.url)
            lo = hi + int(step)
        keys = sorted(rows)
        values = np.vstack([rows[k] for k in keys]) if keys else np.empty((0, times.size))
        out = RangeResult(query, s, e, int(step), times, values, tuple(dict(k) for k in keys))
        if self.cache is not None:
            self.cache.put(key, out)
        return out

    def instant(self, query: str, at: float | None = None, deadline: float | None = None
                ) -> list[tuple[dict[str, str], float]]:
        """An instant query: (labels, value) per series, sorted by labels."""
        params = {"time": f"{at:.3f}"} if at is not None else None
        result = self._call(lambda t: self._client.custom_query(query, params=params, timeout=t), deadline)
        if not isinstance(result, list):
            raise UpstreamBadResponse(f"{self.url} answered with an unexpected response shape (result)", 200)
        out = []
        for item in result:
            try:
                labels, (_, raw) = _labels(item["metric"]), item["value"]
                out.append((labels, float(raw)))
            except (KeyError, TypeError, ValueError) as exc:
                raise UpstreamBadResponse(f"{self.url} answered with an unexpected response shape ({exc})",
                                          200) from None
        if len(out) > self.max_series:
            raise TooManySeries(f"{query}: more than {self.max_series} series")
        return sorted(out, key=lambda p: sorted(p[0].items()))

    def fetch_many(self, queries: Iterable[str], start: float, end: float, step: int, deadline: float | None = None,
                   on_done: Callable[[str, RangeResult | SourceError], None] | None = None
                   ) -> dict[str, RangeResult | SourceError]:
        """Several range queries at once (at most `max_concurrency` in flight).

        Errors of one query (QUERY_ERRORS) are returned in its place; any other error means the upstream is
        down or misbehaving: pending queries are cancelled and it is raised at once."""
        unique = list(dict.fromkeys(queries))
        out: dict[str, RangeResult | SourceError] = {}
        pool = ThreadPoolExecutor(max_workers=max(1, min(self.max_concurrency, len(unique))),
                                  thread_name_prefix="stereo-fetch")
        try:
            futures: dict[Future, str] = {pool.submit(self.range, q, start, end, step, deadline): q for q in unique}
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

    # ------------------------------------------------------------------ transport

    def _call(self, fn: Callable[[float], Any], deadline: float | None) -> Any:
        """Run one client call with the semaphore, timeouts, classified errors and bounded retries."""
        attempt = 0
        while True:
            try:
                return self._attempt(fn, deadline)
            except SourceError as exc:
                retry = isinstance(exc, UpstreamUnavailable) or (
                    isinstance(exc, UpstreamBadResponse) and not isinstance(exc, QueryRejected)
                    and (exc.http_status or 0) >= 500)
                delay = self.backoff * (2**attempt)
                left = None if deadline is None else deadline - time.monotonic()
                if not retry or attempt >= self.retries or (left is not None and left < delay + 0.05):
                    self.hooks.error(exc.kind)
                    raise
                attempt += 1
                time.sleep(delay)

    def _attempt(self, fn: Callable[[float], Any], deadline: float | None) -> Any:
        timeout = self.timeout
        if deadline is not None:
            timeout = min(timeout, deadline - time.monotonic())
            if timeout <= 0:
                raise UpstreamTimeout(f"no answer from {self.url} before the deadline")
        if not self._gate.acquire(timeout=timeout):
            raise UpstreamTimeout(f"{self.max_concurrency} queries to {self.url} already in flight; waited "
                                  f"{timeout:.1f}s")
        self.hooks.in_flight(1)
        try:
            if deadline is not None:
                timeout = min(self.timeout, deadline - time.monotonic())
                if timeout <= 0:
                    raise UpstreamTimeout(f"no answer from {self.url} before the deadline")
            return fn(timeout)
        except requests.exceptions.JSONDecodeError:  # before RequestException: it is one
            raise UpstreamBadResponse(f"{self.url} answered with invalid JSON", 200) from None
        except (KeyError, TypeError, IndexError, ValueError) as exc:
            raise UpstreamBadResponse(f"{self.url} answered with an unexpected response shape ({type(exc).__name__})",
                                      200) from None
        except requests.exceptions.Timeout:
            raise UpstreamTimeout(f"no answer from {self.url} within {timeout:.1f}s") from None
        except requests.exceptions.ConnectionError as exc:
            # with urllib3 retries off, a read timeout arrives as a ConnectionError wrapping MaxRetryError
            if isinstance(getattr(exc.args[0] if exc.args else None, "reason", None), ReadTimeoutError):
                raise UpstreamTimeout(f"no answer from {self.url} within {timeout:.1f}s") from None
            raise UpstreamUnavailable(f"cannot connect to {self.url}: {_reason(exc)}") from None
        except requests.exceptions.RequestException as exc:
            raise UpstreamUnavailable(f"connection to {self.url} failed: {_reason(exc)}") from None
        except PrometheusApiClientException as exc:
            raise _http_error(self.url, str(exc)) from None
        finally:
            self.hooks.in_flight(-1)
            self._gate.release()


# ---------------------------------------------------------------------- parsing


def _dt(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, tz=UTC)


def _labels(metric: Any) -> dict[str, str]:
    if not isinstance(metric, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in metric.items()):
        raise TypeError("metric is not a mapping of strings")
    return metric


def _merge(result: Any, rows: dict[tuple[tuple[str, str], ...], np.ndarray], start: int, step: int, size: int,
           max_series: int, query: str, url: str) -> None:
    """Place one chunk's series on the grid (values off the grid are rounded to the nearest point)."""
    if not isinstance(result, list):
        raise UpstreamBadResponse(f"{url} answered with an unexpected response shape (result)", 200)
    for item in result:
        try:
            key = tuple(sorted(_labels(item["metric"]).items()))
            pairs = item["values"]
            ts = np.array([float(p[0]) for p in pairs], dtype=np.float64)
            vals = np.array([float(p[1]) for p in pairs], dtype=np.float64)  # "NaN", "+Inf" parse as floats
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise UpstreamBadResponse(f"{url} answered with an unexpected response shape ({type(exc).__name__} in a "
                                      "series)", 200) from None
        row = rows.get(key)
        if row is None:
            if len(rows) >= max_series:
                raise TooManySeries(f"{query} returns more than {max_series} series; narrow the selector")
            row = rows[key] = np.full(size, np.nan)
        idx = np.rint((ts - start) / step).astype(np.int64)
        ok = (idx >= 0) & (idx < size)
        row[idx[ok]] = vals[ok]


_REASONS = (
    ("Connection refused", "connection refused"),
    ("Name or service not known", "unknown host"),
    ("nodename nor servname", "unknown host"),
    ("Temporary failure in name resolution", "unknown host"),
    ("Connection reset", "connection reset"),
    ("RemoteDisconnected", "connection closed"),
)


def _reason(exc: BaseException) -> str:
    """The innermost cause of a requests error, in a few words (no URL with credentials, no traceback)."""
    text = str(exc)
    return next((reason for pattern, reason in _REASONS if pattern in text), type(exc).__name__)


def _http_error(url: str, message: str) -> UpstreamBadResponse:
    """Classify the client's "HTTP Status Code N (b'body')" exception, keeping Prometheus's own error text."""
    m = re.match(r"HTTP Status Code (\d+) \((.*)\)$", message, re.S)
    if not m:
        return UpstreamBadResponse(f"{url}: {message[:200]}")
    status = int(m.group(1))
    detail = ""
    try:
        body = ast.literal_eval(m.group(2))
        text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
        try:
            parsed = json.loads(text)
            detail = str(parsed.get("error", "")) if isinstance(parsed, dict) else ""
        except ValueError:
            detail = text.strip()
    except (ValueError, SyntaxError):
        pass
    detail = detail[:300]
    if status in (400, 422):
        return QueryRejected(f"query rejected by {url} (HTTP {status}): {detail}", status)
    if status in (401, 403):
        return UpstreamBadResponse(f"{url} refused the credentials (HTTP {status})", status)
    return UpstreamBadResponse(f"{url} answered HTTP {status}" + (f": {detail}" if detail else ""), status)
