"""Request selectors without Python regular expressions: a hand-written parser for `label op "value"` lists
(PromQL string escapes kept: `\\n` is a newline, as in Prometheus) and label matching with RE2, the engine
Prometheus uses, which runs in time linear in the input whatever the pattern.

Nothing here runs Python's `re` on request data: a pattern RE2 refuses (backreferences, lookarounds, repeat
counts over 1000) is refused with `SelectorError`, and what RE2 accepts cannot take exponential time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import re2

Matcher = tuple[str, str, str]
OPS = ("=~", "!~", "!=", "=")
_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "\\": "\\", '"': '"',
            "'": "'"}
_HEX = {"x": 2, "u": 4, "U": 8}
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False
_OPTIONS.dot_nl = True  # Prometheus anchors patterns as ^(?s:...)$


class SelectorError(ValueError):
    """A selector that cannot be parsed, or a pattern RE2 refuses: the service answers 400."""


def _label_name(text: str) -> bool:
    return bool(text) and (text[0].isascii() and (text[0].isalpha() or text[0] == "_")) and \
        all(c.isascii() and (c.isalnum() or c == "_") for c in text)


def _string(body: str, pos: int) -> tuple[str, int]:
    """A double-quoted PromQL (Go) string starting at body[pos] == '"': (its value, index after the quote)."""
    out: list[str] = []
    i = pos + 1
    while i < len(body):
        c = body[i]
        if c == '"':
            return "".join(out), i + 1
        if c == "\n":
            break
        if c != "\\":
            out.append(c)
            i += 1
            continue
        if i + 1 >= len(body):
            break
        e = body[i + 1]
        if e in _ESCAPES:
            out.append(_ESCAPES[e])
            i += 2
        elif e in _HEX or e in "01234567":
            width, base, start = (_HEX[e], 16, i + 2) if e in _HEX else (3, 8, i + 1)
            digits = body[start:start + width]
            try:
                if len(digits) != width:
                    raise ValueError
                out.append(chr(int(digits, base)))
            except (ValueError, OverflowError):
                raise SelectorError(f"bad escape \\{body[i + 1:start + width]} in a label value") from None
            i = start + width
        else:
            raise SelectorError(f"unknown escape \\{e} in a label value (PromQL knows \\n, \\t, \\\\, \\\" ...)")
    raise SelectorError("unterminated string in the selector")


def parse(text: str) -> list[Matcher]:
    """`job="x", pod=~"web-.*"` (braces optional) as (label, op, value) triples with escapes decoded."""
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    out: list[Matcher] = []
    pos, n = 0, len(body)
    while True:
        while pos < n and body[pos].isspace():
            pos += 1
        if pos >= n:
            break
        start = pos
        while pos < n and (body[pos].isascii() and (body[pos].isalnum() or body[pos] == "_")):
            pos += 1
        label = body[start:pos]
        if not _label_name(label):
            raise SelectorError(f"expected a label name at {body[start:start + 30]!r}")
        while pos < n and body[pos].isspace():
            pos += 1
        op = next((o for o in OPS if body.startswith(o, pos)), None)
        if op is None:
            raise SelectorError(f"expected =, !=, =~ or !~ after {label!r}")
        pos += len(op)
        while pos < n and body[pos].isspace():
            pos += 1
        if pos >= n or body[pos] != '"':
            raise SelectorError(f'expected a double-quoted value after {label}{op}')
        value, pos = _string(body, pos)
        if op in ("=~", "!~"):
            compile_pattern(value)
        out.append((label, op, value))
        while pos < n and body[pos].isspace():
            pos += 1
        if pos < n:
            if body[pos] != ",":
                raise SelectorError(f"expected ',' at {body[pos:pos + 30]!r}")
            pos += 1
    if not out:
        raise SelectorError("empty selector")
    return out


@functools.lru_cache(maxsize=512)
def compile_pattern(pattern: str) -> re2._Regexp:
    """The compiled pattern (used with fullmatch: anchored as Prometheus anchors it); SelectorError naming
    RE2's reason when RE2 refuses it."""
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        reason = reason.decode("utf-8", "replace") if isinstance(reason, bytes) else str(reason)
        raise SelectorError(f"bad regular expression {pattern!r}: {reason} (selectors use RE2 syntax, as "
                            "Prometheus does)") from None


def keeper(matchers: Sequence[Matcher]) -> Callable[[dict[str, str]], bool] | None:
    """A test for returned series: every regex matcher holds, or the series lacks the label (coarser scope).

    None when there is no regex matcher to apply."""
    compiled = [(label, op == "=~", compile_pattern(value)) for label, op, value in matchers if op in ("=~", "!~")]
    if not compiled:
        return None

    def keep(labels: dict[str, str]) -> bool:
        for label, positive, rx in compiled:
            have = labels.get(label)
            if have is not None and (rx.fullmatch(have) is not None) != positive:
                return False
        return True

    return keep


def split(matchers: Sequence[Matcher]) -> tuple[list[Matcher], list[Matcher]]:
    """(exact matchers, regex matchers): the exact ones go into the query or a plain comparison."""
    exact = [m for m in matchers if m[1] in ("=", "!=")]
    return exact, [m for m in matchers if m[1] in ("=~", "!~")]
