"""A small, bounded Prometheus HTTP API client (stdlib urllib): timeouts, a size cap, a bearer token.

Every query is built by the caller from Stereo's own PromQL and values escaped with `generator.promql.escape`;
answers are read as JSON only (no regular expression ever runs on them).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from generator.oneline import one_line

MAX_BODY = 32 * 1024 * 1024  # bytes read from one answer at most


class Unreachable(Exception):
    """The server cannot be asked (connection, HTTP error, not Prometheus' API); str() is one line."""


class Refused(Unreachable):
    """The server answered, but with an HTTP error (`code`) or something that is not JSON (code 0)."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


class NotServed(Refused):
    """The server answers, but not at this path (404, 405, 501, or a 400 that is no Prometheus API error, as
    VictoriaMetrics' "unsupported path requested"): a backend without this endpoint."""


NOT_SERVED = (404, 405, 501)


class Client:
    def __init__(self, url: str, token: str | None = None, timeout: float = 30.0, flag: str = "--prometheus") -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"{flag} {url!r}: expected an http(s) URL such as http://prometheus:9090")
        self.url = url.rstrip("/")
        self.token = token
        self.timeout = timeout
        self.requests = 0

    def get(self, path: str, params: list[tuple[str, str]] | None = None) -> Any:
        """GET `path` (under /api/v1/) and return its `data`; raises Unreachable."""
        query = urllib.parse.urlencode(params or [])
        return self._call(urllib.request.Request(f"{self.url}{path}" + (f"?{query}" if query else "")), path)

    def post(self, path: str, params: list[tuple[str, str]]) -> Any:
        body = urllib.parse.urlencode(params).encode()
        req = urllib.request.Request(f"{self.url}{path}", data=body, method="POST",
                                     headers={"Content-Type": "application/x-www-form-urlencoded"})
        return self._call(req, path)

    def _call(self, req: urllib.request.Request, path: str, whole: bool = False) -> Any:
        if self.token:
            req.add_header("Authorization", f"Bearer {self.token}")
        req.add_header("Accept", "application/json")
        self.requests += 1
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read(MAX_BODY + 1)
        except urllib.error.HTTPError as exc:
            body = exc.read(4096)
            detail = _error_of(body)
            message = f"{self.url}{path}: HTTP {exc.code}{': ' + detail if detail else ''}"
            if exc.code in NOT_SERVED or (exc.code == 400 and not detail):
                raise NotServed(message, exc.code) from None
            raise Refused(message, exc.code) from None
        except (urllib.error.URLError, OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise Unreachable(f"{self.url}{path}: {one_line(reason, 300)}") from None
        if len(raw) > MAX_BODY:
            raise Refused(f"{self.url}{path}: answer larger than {MAX_BODY} bytes")
        try:
            payload = json.loads(raw)
        except ValueError:
            raise Refused(f"{self.url}{path}: not a Prometheus API answer (not JSON)") from None
        if whole:  # the answer as it is, whatever its shape
            return payload
        if not isinstance(payload, dict) or payload.get("status") != "success":
            detail = payload.get("error", "") if isinstance(payload, dict) else ""
            raise Refused(f"{self.url}{path}: {one_line(detail, 300) or 'not a Prometheus API answer'}")
        return payload.get("data")

    def probe(self, path: str) -> Any:
        """GET `path` and return its JSON, or None when the server answers with an HTTP error or no JSON
        (for telling backends apart); raises Unreachable when the server cannot be reached or refuses us
        (401, 403: every other call would be refused too)."""
        try:
            return self._call(urllib.request.Request(f"{self.url}{path}"), path, whole=True)
        except Refused as exc:
            if exc.code in (401, 403):
                raise
            return None

    # ---- the calls doctor makes --------------------------------------------------------------------------
    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        """An instant query's vector (each row: metric labels, value)."""
        params = [("query", expr)] + ([("time", f"{at:.3f}")] if at is not None else [])
        data = self.post("/api/v1/query", params)
        if not isinstance(data, dict) or data.get("resultType") != "vector":
            raise Unreachable(f"{self.url}/api/v1/query: expected a vector for {expr[:80]!r}")
        rows = data.get("result") or []
        return [r for r in rows if isinstance(r, dict) and isinstance(r.get("metric"), dict)]

    def names(self, matcher: str, start: float, end: float) -> set[str]:
        """Metric names of series matching `matcher` with samples in [start, end] (block-granular)."""
        data = self.get("/api/v1/label/__name__/values",
                        [("match[]", matcher), ("start", f"{start:.3f}"), ("end", f"{end:.3f}")])
        return {n for n in data or () if isinstance(n, str)}

    def rule_groups(self) -> list[dict[str, Any]]:
        data = self.get("/api/v1/rules")
        groups = data.get("groups") if isinstance(data, dict) else None
        return [g for g in groups or () if isinstance(g, dict)]

    def alerts(self) -> list[dict[str, Any]]:
        data = self.get("/api/v1/alerts")
        alerts = data.get("alerts") if isinstance(data, dict) else None
        return [a for a in alerts or () if isinstance(a, dict)]

    def active_targets(self) -> list[dict[str, Any]]:
        data = self.get("/api/v1/targets", [("state", "active")])
        targets = data.get("activeTargets") if isinstance(data, dict) else None
        return [t for t in targets or () if isinstance(t, dict)]

    def now(self) -> float:
        return time.time()


def _error_of(body: bytes) -> str:
    try:
        payload = json.loads(body)
    except ValueError:
        return ""
    return one_line(payload.get("error", ""), 300) if isinstance(payload, dict) else ""


