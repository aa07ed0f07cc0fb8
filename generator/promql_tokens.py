"""A small PromQL scanner: the vector selectors of an expression, with where each one stands in the text.

Used on Stereo's own generated PromQL (doctor's input lists, suggest's raw expressions), never on text from a
Prometheus being examined. A scanner, not a parser: it skips string literals, numbers and durations, function
names (an identifier before `(`), keywords and the label lists of `by`/`without`/`on`/`ignoring`/`group_left`/
`group_right`; what remains is a vector selector (`name`, `name{...}` or `{...}`), with the range (`[5m]`)
written right after it, if any.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import NamedTuple

KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left",
            "group_right", "inf", "nan", "atan2",
            # aggregation operators: `sum by (x) (...)` puts a label list between the word and its parenthesis
            "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk",
            "quantile"}
LABEL_LISTS = {"by", "without", "on", "ignoring", "group_left", "group_right"}
QUOTES = "\"'`"


class Token(NamedTuple):
    kind: str  # string | number | range | braces | ident | punct
    start: int
    end: int  # index after the token


class Found(NamedTuple):
    """One vector selector: `metric{matchers}` at expr[start:end], then the range `[...]` (with any white space
    before it) up to `range_end`; `range_end == end` when no range follows."""

    metric: str  # "" for a selector written as `{...}` only
    matchers: str | None  # the text inside the braces, stripped; None when written without braces
    start: int
    end: int
    range_end: int


def _skip_string(expr: str, i: int) -> int:
    quote = expr[i]
    i += 1
    while i < len(expr) and expr[i] != quote:
        i += 2 if expr[i] == "\\" and quote != "`" else 1
    return min(i + 1, len(expr))


def _ident_char(c: str, first: bool) -> bool:
    return c.isalpha() or c == "_" or c == ":" or (not first and c.isdigit())


def tokens(expr: str) -> Iterator[Token]:
    """The tokens of `expr` in order, white space left out. Braces and ranges are one token each (strings
    inside braces are skipped, so `{a="}"}` is one token)."""
    i, n = 0, len(expr)
    while i < n:
        c, start = expr[i], i
        if c.isspace():
            i += 1
            continue
        if c in QUOTES:
            kind, i = "string", _skip_string(expr, i)
        elif c == "[":
            kind, i = "range", expr.find("]", i) + 1 or n
        elif c == "{":
            i += 1
            while i < n and expr[i] != "}":
                i = _skip_string(expr, i) if expr[i] in QUOTES else i + 1
            kind, i = "braces", min(i + 1, n)
        elif c.isdigit() or (c == "." and i + 1 < n and expr[i + 1].isdigit()):
            while i < n and (expr[i].isalnum() or expr[i] in "._"):
                i += 1  # numbers and durations (5m, 1e3, 0x1f)
            kind = "number"
        elif _ident_char(c, True):
            while i < n and _ident_char(expr[i], False):
                i += 1
            kind = "ident"
        else:
            kind, i = "punct", i + 1
        yield Token(kind, start, i)


def _braces_body(expr: str, tok: Token) -> str:
    return expr[tok.start + 1:tok.end - 1 if expr[tok.end - 1] == "}" else tok.end].strip()


# the generator asks for the selectors of the same rule expressions many times over (related annotations, the
# reference checks, runbooks, the doctor): up to this many short expressions keep their answer, so memory stays
# bounded whatever a site's settings hold
_CACHED, _CACHED_CHARS = 2048, 4096


def find_selectors(expr: str) -> list[Found]:
    """Every vector selector of `expr` in order of appearance (repeats included)."""
    return list(_cached_selectors(expr)) if len(expr) <= _CACHED_CHARS else _scan_selectors(expr)


@functools.lru_cache(maxsize=_CACHED)
def _cached_selectors(expr: str) -> tuple[Found, ...]:
    return tuple(_scan_selectors(expr))


def _scan_selectors(expr: str) -> list[Found]:
    toks = list(tokens(expr))
    out: list[Found] = []
    i = 0
    while i < len(toks):
        tok = toks[i]
        nxt = toks[i + 1] if i + 1 < len(toks) else None
        after = expr[nxt.start] if nxt else ""
        i += 1
        if tok.kind == "braces":
            metric, matchers, end = "", _braces_body(expr, tok), tok.end
        elif tok.kind == "ident":
            word = expr[tok.start:tok.end]
            if word in LABEL_LISTS:
                if after == "(":  # skip the label names up to the closing parenthesis
                    while i < len(toks) and expr[toks[i].start:toks[i].end] != ")":
                        i += 1
                    i += 1
                continue
            if word in KEYWORDS or after == "(":
                continue
            if nxt is not None and nxt.kind == "braces":
                metric, matchers, end = word, _braces_body(expr, nxt), nxt.end
                i += 1
            else:
                metric, matchers, end = word, None, tok.end
        else:
            continue
        range_end = end
        if i < len(toks) and toks[i].kind == "range":
            range_end = toks[i].end
            i += 1
        out.append(Found(metric, matchers, tok.start, end, range_end))
    return out
