"""What can go wrong upstream, as exceptions each carrying the HTTP status the service answers with, and the
classification of an error answer or a requests exception into one of them."""

from __future__ import annotations

import http.client
import json
import socket
import ssl

from urllib3.exceptions import NameResolutionError


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


def reason(exc: BaseException) -> str:
    """The innermost cause of a requests error, in a few words (no URL with credentials, no traceback), found by
    walking the exception chain rather than reading its text."""
    todo: list[BaseException | None] = [exc]
    seen: set[int] = set()
    while todo:
        e = todo.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        for kind, words in _REASONS:
            if isinstance(e, kind):
                return words
        todo += [e.__cause__, e.__context__, getattr(e, "reason", None)]
        todo += [a for a in e.args if isinstance(a, BaseException)]
    return type(exc).__name__


_REASONS: tuple[tuple[type[BaseException] | tuple[type[BaseException], ...], str], ...] = (
    (http.client.RemoteDisconnected, "connection closed"),  # before ConnectionResetError: it is one
    (ConnectionRefusedError, "connection refused"),
    ((socket.gaierror, NameResolutionError), "unknown host"),
    (ConnectionResetError, "connection reset"),
    (ssl.SSLError, "TLS error"),
)


def http_error(url: str, status: int | None, body: bytes) -> UpstreamBadResponse:
    """An error answer as an exception, keeping Prometheus's own error text (its JSON `error` field)."""
    if status is None:
        return UpstreamBadResponse(f"{url} answered with an error")
    text = body.decode("utf-8", "replace")
    try:
        parsed = json.loads(text)
        detail = str(parsed.get("error", "")) if isinstance(parsed, dict) else ""
    except ValueError:
        detail = text.strip()
    detail = detail[:300]
    if status in (400, 422):
        return QueryRejected(f"query rejected by {url} (HTTP {status}): {detail}", status)
    if status in (401, 403):
        return UpstreamBadResponse(f"{url} refused the credentials (HTTP {status})", status)
    return UpstreamBadResponse(f"{url} answered HTTP {status}" + (f": {detail}" if detail else ""), status)
