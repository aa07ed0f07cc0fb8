"""The series an expression of Stereo's own reads: each vector selector as (metric, matcher text).

Only Stereo's generated PromQL goes through here (never text from the Prometheus being examined). A small
scanner, not a parser: it skips strings, durations in brackets, function names (an identifier before `(`),
keywords and the label lists of `by`/`without`/`on`/`ignoring`/`group_left`/`group_right`.
"""

from __future__ import annotations

from typing import NamedTuple

KEYWORDS = {"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left",
            "group_right", "inf", "nan", "atan2",
            # aggregation operators: `sum by (x) (...)` puts a label list between the word and its parenthesis
            "sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk",
            "quantile"}
LABEL_LISTS = {"by", "without", "on", "ignoring", "group_left", "group_right"}


class Selector(NamedTuple):
    metric: str  # "" when the selector is only `{...}`
    matchers: str  # the text inside the braces, "" when none

    @property
    def text(self) -> str:
        return f"{self.metric}{{{self.matchers}}}" if self.matchers else self.metric

    @property
    def recorded(self) -> bool:
        return ":" in self.metric


def _ident_char(c: str, first: bool) -> bool:
    return c.isalpha() or c == "_" or c == ":" or (not first and c.isdigit())


def _skip_string(expr: str, i: int) -> int:
    quote = expr[i]
    i += 1
    while i < len(expr) and expr[i] != quote:
        i += 2 if expr[i] == "\\" and quote != "`" else 1
    return i + 1


def _braces(expr: str, i: int) -> tuple[str, int]:
    """The text between `{` at i and its closing `}` (strings skipped), and the index after it."""
    j = i + 1
    while j < len(expr) and expr[j] != "}":
        j = _skip_string(expr, j) if expr[j] in "\"'`" else j + 1
    return expr[i + 1:j].strip(), j + 1


def _next_nonspace(expr: str, i: int) -> int:
    while i < len(expr) and expr[i].isspace():
        i += 1
    return i


def selectors(expr: str) -> list[Selector]:
    """Vector selectors of `expr` in order of appearance, each once."""
    out: list[Selector] = []
    i, n = 0, len(expr)
    while i < n:
        c = expr[i]
        if c in "\"'`":
            i = _skip_string(expr, i)
        elif c == "[":
            i = expr.find("]", i) + 1 or n
        elif c == "{":
            body, i = _braces(expr, i)
            out.append(Selector("", body))
        elif c.isdigit() or (c == "." and i + 1 < n and expr[i + 1].isdigit()):
            while i < n and (expr[i].isalnum() or expr[i] in "._"):
                i += 1  # numbers and durations (5m, 1e3, 0x1f)
        elif _ident_char(c, True):
            j = i
            while j < n and _ident_char(expr[j], False):
                j += 1
            word, k = expr[i:j], _next_nonspace(expr, j)
            if word in LABEL_LISTS:
                i = expr.find(")", k) + 1 if k < n and expr[k] == "(" else k
            elif word in KEYWORDS or (k < n and expr[k] == "("):
                i = j
            elif k < n and expr[k] == "{":
                body, i = _braces(expr, k)
                out.append(Selector(word, body))
            else:
                out.append(Selector(word, ""))
                i = j
        else:
            i += 1
    seen: set[Selector] = set()
    return [s for s in out if not (s in seen or seen.add(s))]  # type: ignore[func-returns-value]


def metric_names(expr: str) -> set[str]:
    return {s.metric for s in selectors(expr) if s.metric}
