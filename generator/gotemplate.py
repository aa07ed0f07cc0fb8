"""Render the small subset of Prometheus alert templating Stereo's annotations use, as Prometheus would.

promtool compares annotations exactly, so the expected text of a firing case is computed here from the
case's labels and value. Supported: `{{ $labels.name }}` (piped through `urlquery`, Go's url.QueryEscape, inside
links), `{{ $value }}` piped through humanize,
humanize1024, humanizePercentage or humanizeDuration, and `{{ printf "%.2f" $value }}`.
Anything else is an error, so an annotation cannot silently drift from what its test expects.
"""

from __future__ import annotations

import math
import re
from urllib.parse import quote_plus

_ACTION = re.compile(r"{{-?\s*(.*?)\s*-?}}")
_SMALL = ("m", "u", "n", "p", "f", "a", "z", "y")


class TemplateError(ValueError):
    pass


def _g4(v: float) -> str:
    """Go's fmt %.4g."""
    if math.isnan(v):
        return "NaN"
    if math.isinf(v):
        return "+Inf" if v > 0 else "-Inf"
    return f"{v:.4g}"


def humanize(v: float) -> str:
    if v == 0 or math.isnan(v) or math.isinf(v):
        return _g4(v)
    prefix = ""
    if abs(v) >= 1:
        for p in ("k", "M", "G", "T", "P", "E", "Z", "Y"):
            if abs(v) < 1000:
                break
            prefix, v = p, v / 1000
        return f"{_g4(v)}{prefix}"
    for p in _SMALL:
        if abs(v) >= 1:
            break
        prefix, v = p, v * 1000
    return f"{_g4(v)}{prefix}"


def humanize1024(v: float) -> str:
    if abs(v) <= 1 or math.isnan(v) or math.isinf(v):
        return _g4(v)
    prefix = ""
    for p in ("ki", "Mi", "Gi", "Ti", "Pi", "Ei", "Zi", "Yi"):
        if abs(v) < 1024:
            break
        prefix, v = p, v / 1024
    return f"{_g4(v)}{prefix}"


def humanize_percentage(v: float) -> str:
    return f"{_g4(v * 100)}%"


def humanize_duration(v: float) -> str:
    if math.isnan(v) or math.isinf(v):
        return _g4(v)
    if v == 0:
        return "0s"
    if abs(v) >= 1:
        sign = "-" if v < 0 else ""
        whole = int(abs(v))
        seconds, minutes = whole % 60, (whole // 60) % 60
        hours, days = (whole // 3600) % 24, whole // 86400
        if days:
            return f"{sign}{days}d {hours}h {minutes}m {seconds}s"
        if hours:
            return f"{sign}{hours}h {minutes}m {seconds}s"
        if minutes:
            return f"{sign}{minutes}m {seconds}s"
        return f"{sign}{_g4(abs(v))}s"
    prefix = ""
    for p in _SMALL:
        if abs(v) >= 1:
            break
        prefix, v = p, v * 1000
    return f"{_g4(v)}{prefix}s"


_PIPES = {
    "humanize": humanize,
    "humanize1024": humanize1024,
    "humanizePercentage": humanize_percentage,
    "humanizeDuration": humanize_duration,
}


def _plain(v: float) -> str:
    """Go's %v for a float64 ($value without a pipe)."""
    if float(v).is_integer() and abs(v) < 1e21:
        return str(int(v))
    return repr(float(v))


def uses_value(template: str) -> bool:
    return "$value" in template


def urlquery(text: str) -> str:
    """Go's url.QueryEscape (text/template's `urlquery`): letters, digits and `-_.~` kept, space as `+`, every
    other byte of the UTF-8 text as %XX."""
    return quote_plus(text, safe="")


def _label(body: str) -> tuple[str, bool] | None:
    """`$labels.name` or `$labels.name | urlquery` → (name, escaped); None for anything else."""
    parts = [p.strip() for p in body.split("|")]
    name = parts[0].removeprefix("$labels.")
    if not parts[0].startswith("$labels.") or not _LABEL_NAME.fullmatch(name) or len(parts) > 2:
        return None
    if len(parts) == 2 and parts[1] != "urlquery":
        return None
    return name, len(parts) == 2


def render(template: str, labels: dict[str, str], value: float | None) -> str:
    def action(m: re.Match[str]) -> str:
        body = m.group(1)
        if body.startswith("$labels."):
            label = _label(body)
            if label is None:
                raise TemplateError(f"unsupported template action {{{{ {body} }}}}")
            text = labels.get(label[0], "")
            return urlquery(text) if label[1] else text
        if value is None:
            raise TemplateError(f"template {template!r} uses {body!r} but the case gives no value")
        pf = re.fullmatch(r'printf\s+"(%\.\d+f)"\s+\$value', body)
        if pf:
            return pf.group(1) % value
        parts = [p.strip() for p in body.split("|")]
        if parts[0] != "$value":
            raise TemplateError(f"unsupported template action {{{{ {body} }}}}")
        if len(parts) == 1:
            return _plain(value)
        if len(parts) != 2 or parts[1] not in _PIPES:
            raise TemplateError(f"unsupported template action {{{{ {body} }}}}")
        return _PIPES[parts[1]](value)

    return _ACTION.sub(action, template)


def check(template: str, value: bool = False) -> None:
    """Raise TemplateError unless `template` is Go-template text Stereo can render (and Prometheus parses):
    every `{{` closed, every action one of the supported forms; `$value` only where a value exists."""
    if "{{" in _ACTION.sub("", template):
        raise TemplateError("an unclosed {{ (Go-template syntax)")
    for m in _ACTION.finditer(template):
        body = m.group(1)
        if body.startswith("$labels."):
            if _label(body) is None:
                raise TemplateError(f"unsupported template action {{{{ {body} }}}}")
        elif not value:
            raise TemplateError(f"unsupported template action {{{{ {body} }}}} (only {{{{ $labels.name }}}} here)")
    if value:
        render(template, {}, 1.0)


_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


_OPENERS = ("if", "range", "with", "define", "block")
_LEXEME = re.compile(r'"(?:[^"\\\n]|\\.)*"|`[^`]*`|\'(?:[^\'\\\n]|\\.)+\'|/\*.*?\*/|[()]|}}|[^"`\'()/}]+|.', re.S)


def check_syntax(template: str) -> None:
    """Raise TemplateError unless `template` is well-formed Go-template text (what Alertmanager parses when it
    sends a notification): every action closed, strings and parentheses inside actions closed, every
    if/range/with/define/block matched by an end. Function names are not checked."""
    stack: list[str] = []
    pos = 0
    while (start := template.find("{{", pos)) >= 0:
        depth, i, body = 0, start + 2, []
        for m in _LEXEME.finditer(template, start + 2):
            lexeme, i = m.group(0), m.end()
            if lexeme == "}}":
                break
            if lexeme[0] in "\"'`" and (len(lexeme) < 2 or lexeme[-1] != lexeme[0]):
                raise TemplateError(f"an unterminated string in the action at character {start}")
            depth += {"(": 1, ")": -1}.get(lexeme, 0)
            if depth < 0:
                raise TemplateError(f"an unopened ) in the action at character {start}")
            body.append(lexeme)
        else:
            raise TemplateError(f"an unclosed {{{{ at character {start}")
        if depth:
            raise TemplateError(f"an unclosed ( in the action at character {start}")
        words = "".join(body).strip().lstrip("-").strip().split()
        if words and words[0] in _OPENERS:
            stack.append(words[0])
        elif words and words[0] == "end":
            if not stack:
                raise TemplateError(f"an {{{{end}}}} without an opening action at character {start}")
            stack.pop()
        pos = i
    if stack:
        raise TemplateError(f"{{{{{stack[-1]}}}}} is never closed with {{{{end}}}}")
