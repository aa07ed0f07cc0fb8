"""Decoding a Prometheus range answer onto an aligned time grid (source.py's parsing).

`decode_range` takes the raw JSON body and returns plain values, never an exception, so that it can run in a
worker process (workers.py): the service's own process then spends no interpreter-lock time on JSON."""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np

from generator.correlate.faults import TooManySeries, UpstreamBadResponse


def labels_of(metric: Any) -> dict[str, str]:
    if not isinstance(metric, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in metric.items()):
        raise TypeError("metric is not a mapping of strings")
    return metric


def decode_range(body: bytes, start: int, step: int, size: int, max_series: int, query: str, url: str
                 ) -> tuple[str, Any, np.ndarray | None]:
    """A range query's JSON body on the grid, as ("ok", label keys, values (n_series, size)), or (kind, message,
    None) for an answer that cannot be used (kinds: "bad_response", "too_many_series"). Runs in a worker process
    (picklable arguments and result, no exception to carry across), so the service's process decodes nothing."""
    result = _fast_result(body)
    if result is None:
        try:
            result = json.loads(body)["data"]["result"]
        except (ValueError, RecursionError):  # JSONDecodeError, invalid UTF-8, nesting past the parser's depth
            return "bad_response", f"{url} answered with invalid JSON", None
        except (KeyError, TypeError) as exc:
            return "bad_response", f"{url} answered with an unexpected response shape ({type(exc).__name__})", None
    rows: dict[tuple[tuple[str, str], ...], np.ndarray] = {}
    try:
        merge(result, rows, start, step, size, max_series, query, url)
    except TooManySeries as exc:
        return "too_many_series", str(exc), None
    except UpstreamBadResponse as exc:
        return "bad_response", str(exc), None
    keys = list(rows)
    return "ok", keys, np.vstack([rows[k] for k in keys]) if keys else np.empty((0, size))


_VALUES = b'"values":[['


def _fast_result(body: bytes) -> list[Any] | None:
    """The range answer's result with each series' values as an (n, 2) array, parsed by numpy rather than as
    one Python list and string per point (json.loads was ~3 s of CPU for 8,000 series of 6 h at 60 s); None
    when the body is not in Prometheus' compact shape or anything does not check out (the caller then parses
    it all with json, which also words the error). The sequence `"values":[[` cannot occur inside a JSON
    string (its quote would be escaped), so each occurrence starts a series' values; each is cut out up to its
    first `]]`, replaced by its index, and parsed by np.fromstring after brackets and quotes are dropped."""
    parts = body.split(_VALUES)
    if len(parts) < 2:
        return None
    skeleton, arrays = [parts[0]], []
    for k, part in enumerate(parts[1:]):
        end = part.find(b"]]")
        if end < 0:
            return None
        seg = part[:end]
        pairs = seg.count(b"],[") + 1
        if seg.count(b"[") != pairs - 1 or seg.count(b"]") != pairs - 1 or seg.count(b",") != 2 * pairs - 1:
            return None
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # a token numpy cannot read: a warning and a short array
                flat = np.fromstring(seg.translate(None, b'[]"').decode("ascii"), sep=",")
        except (ValueError, UnicodeDecodeError, DeprecationWarning):
            return None
        if flat.size != 2 * pairs:
            return None
        arrays.append(flat.reshape(pairs, 2))
        skeleton.append(b'"values":%d' % k + part[end + 2:])
    try:
        result = json.loads(b"".join(skeleton))["data"]["result"]
        seen = []
        for item in result:
            if type(item["values"]) is int:  # ours (not a bool, nor a list)
                seen.append(item["values"])
                item["values"] = arrays[item["values"]]
    except (ValueError, RecursionError, KeyError, TypeError, IndexError):
        return None
    return result if isinstance(result, list) and sorted(seen) == list(range(len(arrays))) else None


def decode_instant(body: bytes, max_series: int, query: str, url: str
                   ) -> tuple[str, Any, list[tuple[dict[str, str], float]] | None]:
    """An instant query's JSON body as ("ok", None, [(labels, value), ...] sorted by labels), or (kind, message,
    None) as decode_range; run in a worker process too, so the service's process decodes no instant answer."""
    try:
        result = json.loads(body)["data"]["result"]
    except (ValueError, RecursionError):
        return "bad_response", f"{url} answered with invalid JSON", None
    except (KeyError, TypeError) as exc:
        return "bad_response", f"{url} answered with an unexpected response shape ({type(exc).__name__})", None
    if not isinstance(result, list):
        return "bad_response", f"{url} answered with an unexpected response shape (result)", None
    out = []
    for item in result:
        try:
            labels, (_, raw) = labels_of(item["metric"]), item["value"]
            out.append((labels, float(raw)))
        except (KeyError, TypeError, ValueError) as exc:
            return "bad_response", f"{url} answered with an unexpected response shape ({exc})", None
    if len(out) > max_series:
        return "too_many_series", f"{query}: more than {max_series} series", None
    return "ok", None, sorted(out, key=lambda p: sorted(p[0].items()))


def merge(result: Any, rows: dict[tuple[tuple[str, str], ...], np.ndarray], start: int, step: int, size: int,
           max_series: int, query: str, url: str) -> None:
    """Place one chunk's series on the grid (values off the grid are rounded to the nearest point).

    Each series' [[t, "v"], ...] is converted by numpy in one call per column ("NaN" and "+Inf" parse as
    floats), not by a Python float() per point."""
    if not isinstance(result, list):
        raise UpstreamBadResponse(f"{url} answered with an unexpected response shape (result)", 200)
    for item in result:
        try:
            key = tuple(sorted(labels_of(item["metric"]).items()))
            pairs = item["values"]
            if isinstance(pairs, np.ndarray):  # parsed by _fast_result
                ts, vals = pairs[:, 0], pairs[:, 1]
            else:
                if not isinstance(pairs, list):
                    raise TypeError("values is not a list")
                ts_col, val_col = zip(*pairs, strict=True) if pairs else ((), ())
                ts = np.array(ts_col, dtype=np.float64)
                vals = np.array(val_col, dtype=np.float64)
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
