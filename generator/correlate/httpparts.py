"""HTTP plumbing of the correlation service: JSON errors, its own metrics, answer encoding, and the ASGI
middleware that checks the bearer token, counts requests and turns any uncaught exception into a JSON 500."""

from __future__ import annotations

import hmac
import json
import logging
import time
from collections.abc import Callable
from typing import Any

from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from generator.correlate.source import Hooks

LOG = logging.getLogger("stereo.serve")
OPEN_PATHS = ("/healthz", "/readyz", "/metrics")  # never behind the bearer token: probes and scrapers
JSON = "application/json"


def error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("stereo_correlation_requests", "HTTP requests served", ["endpoint", "status"],
                                registry=r)
        self.latency = Histogram("stereo_correlation_request_duration_seconds", "Time to answer a request",
                                 ["endpoint"], registry=r,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
        self.upstream_errors = Counter("stereo_correlation_upstream_errors", "Failed upstream queries by kind",
                                       ["kind"], registry=r)
        self.cache = Counter("stereo_correlation_cache_requests", "Cache lookups", ["cache", "result"], registry=r)
        self.in_flight = Gauge("stereo_correlation_upstream_in_flight", "Upstream queries in flight", registry=r)

    def hooks(self) -> Hooks:
        return Hooks(in_flight=self.in_flight.inc, error=lambda kind: self.upstream_errors.labels(kind).inc(),
                     cache=lambda hit: self.cache.labels("range", "hit" if hit else "miss").inc())


def encoded(fn: Callable[[float], Any], deadline: float) -> bytes:
    """The answer as bytes, encoded in the worker thread (memoised answers then cost no encoding at all)."""
    value = fn(deadline)
    if isinstance(value, str):
        return value.encode("utf-8")
    return "".join(json_parts(value)).encode("utf-8")


_ENCODER = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(",", ":"))


def json_parts(value: Any) -> list[str]:
    """json.dumps(value) (compact, UTF-8, no NaN) in pieces: a list an item at a time, a mapping a value at a
    time (recursively). One json.dumps of a 2,000-finding answer is one C call that holds the interpreter lock,
    and so keeps the event loop waiting, until it ends; between pieces the lock changes hands. Joined, the
    same text."""
    if isinstance(value, list):
        parts = ["["]
        for i, item in enumerate(value):
            parts += [",", _ENCODER.encode(item)] if i else [_ENCODER.encode(item)]
        return [*parts, "]"]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        parts = ["{"]
        for i, (k, item) in enumerate(value.items()):
            parts += [","] * bool(i) + [_ENCODER.encode(k), ":"] + json_parts(item)
        return [*parts, "}"]
    return [_ENCODER.encode(value)]


class Guard:
    """ASGI middleware: bearer-token check, request metrics, and a JSON 500 instead of a crash."""

    def __init__(self, app: ASGIApp, token: str | None, metrics: Metrics) -> None:
        self.app, self.metrics = app, metrics
        self.expected = token.encode() if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        began = time.perf_counter()
        status = [0]

        async def tracked(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            if self.expected is not None and scope["path"] not in OPEN_PATHS:
                scheme, _, given = dict(scope["headers"]).get(b"authorization", b"").strip().partition(b" ")
                # the scheme is case-insensitive (RFC 9110 §11.1): "bearer x" and "BEARER x" are "Bearer x"
                if scheme.lower() != b"bearer" or not hmac.compare_digest(given.strip(), self.expected):
                    denied = error(401, "missing or wrong bearer token")
                    denied.headers["WWW-Authenticate"] = "Bearer"
                    await denied(scope, receive, tracked)
                    return
            await self.app(scope, receive, tracked)
        except Exception as exc:  # never crash on a request: answer in JSON, keep serving
            LOG.exception("internal error on %s", scope.get("path"))
            if status[0] == 0:
                await error(500, f"internal error: {type(exc).__name__}")(scope, receive, tracked)
        finally:
            endpoint = getattr(scope.get("route"), "path", None) or "other"
            self.metrics.requests.labels(endpoint, str(status[0] or 500)).inc()
            self.metrics.latency.labels(endpoint).observe(time.perf_counter() - began)
