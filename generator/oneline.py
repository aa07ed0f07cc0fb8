"""Text from inputs and upstreams as one line: a reader (a terminal, a CI log, `str.splitlines`) must never see a
message split in two, whatever characters a config file or a Prometheus answer put into it."""

from __future__ import annotations

# every character str.splitlines() takes for a line end, written escaped
_LINE_ENDS = {ord(c): repr(c)[1:-1] for c in "\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029"}


def one_line(text: object, limit: int | None = None) -> str:
    """`text` with its line ends escaped, cut to `limit` characters when given."""
    out = str(text).translate(_LINE_ENDS)
    return out if limit is None else out[:limit]
