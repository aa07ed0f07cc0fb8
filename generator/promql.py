"""Safe PromQL building and Stereo's naming conventions, in one place.

Label values are escaped before they enter a query; label names, metric names, recording-rule names and
durations are checked against the Prometheus grammar so that a typo fails at generation time, not at reload.
"""

from __future__ import annotations

import re

LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
# level:metric:operations, as the Prometheus docs recommend
RECORD_NAME = re.compile(r"^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*:[a-z0-9_]+$")
ALERT_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_DURATION = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")
_DURATION_UNITS = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001)
_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*')


class PromQLError(ValueError):
    pass


def escape(value: str) -> str:
    """Escape a label value for a double-quoted PromQL string."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def escape_regex(value: str) -> str:
    """Escape a literal for use inside a =~ matcher (RE2 metacharacters, then string quoting)."""
    return escape(re.sub(r"([\\.+*?()|\[\]{}^$])", r"\\\1", value))


def matcher(label: str, op: str, value: str) -> str:
    if not LABEL_NAME.match(label):
        raise PromQLError(f"bad label name {label!r}")
    if op not in ("=", "!=", "=~", "!~"):
        raise PromQLError(f"bad matcher operator {op!r}")
    return f'{label}{op}"{escape(value)}"'


def parse_selector(text: str) -> list[tuple[str, str, str]]:
    """Parse `job="x", instance=~"a|b"` (braces optional) into (label, op, value) triples."""
    body = text.strip()
    if body.startswith("{") and body.endswith("}"):
        body = body[1:-1]
    if not body.strip():
        raise PromQLError("empty selector")
    out: list[tuple[str, str, str]] = []
    pos = 0
    while pos < len(body):
        m = _MATCHER.match(body, pos)
        if not m:
            raise PromQLError(f"cannot parse matcher at {body[pos:]!r}")
        label, op, raw = m.groups()
        value = re.sub(r"\\(.)", r"\1", raw)
        if op in ("=~", "!~"):
            try:
                re.compile(value)
            except re.error as exc:
                raise PromQLError(f"bad regular expression {value!r}: {exc}") from None
        out.append((label, op, value))
        pos = m.end()
        if pos < len(body):
            if body[pos] != ",":
                raise PromQLError(f"expected ',' at {body[pos:]!r}")
            pos += 1
    return out


def selector(*parts: str) -> str:
    """Join matcher strings (each may itself be a comma list) into `{...}`; empty parts are dropped."""
    kept = [p.strip().strip(",") for p in parts if p and p.strip()]
    return "{" + ",".join(kept) + "}"


def parse_duration(text: str) -> float:
    """Seconds in a Prometheus duration such as `5m`, `1h30m`, `30d`."""
    m = _DURATION.match(text) if isinstance(text, str) and text else None
    if not m or not any(m.groups()):
        raise PromQLError(f"bad duration {text!r} (expected e.g. 30s, 5m, 1h30m, 7d)")
    return sum(int(g) * u for g, u in zip(m.groups(), _DURATION_UNITS, strict=True) if g)


def format_duration(seconds: float) -> str:
    """The shortest Prometheus duration for a whole number of seconds."""
    secs = round(seconds)
    if secs == 0:
        return "0s"
    out = []
    for unit, name in ((86400, "d"), (3600, "h"), (60, "m"), (1, "s")):
        if secs >= unit:
            out.append(f"{secs // unit}{name}")
            secs %= unit
    return "".join(out)


def record_name(level: str, metric: str, operations: str) -> str:
    """`level:metric:operations`, e.g. record_name("cluster_verb", "apiserver_request", "rate5m")."""
    name = f"{level}:{metric}:{operations}"
    if not RECORD_NAME.match(name):
        raise PromQLError(f"recording rule name {name!r} does not follow level:metric:operations")
    return name


def by(*labels: str) -> str:
    """`by (a, b)`, with duplicate labels dropped in order."""
    seen: list[str] = []
    for label in labels:
        for part in label.split(","):
            part = part.strip()
            if part and part not in seen:
                if not LABEL_NAME.match(part):
                    raise PromQLError(f"bad label name {part!r}")
                seen.append(part)
    return f"by ({', '.join(seen)})"


def fmt_number(value: float) -> str:
    """A threshold as PromQL writes it: integers without a fraction, others with up to 6 significant digits."""
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.6g}"


_VAR_MATCHER = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"\$\{?([a-zA-Z_][a-zA-Z0-9_]*)\}?"')


def bind(expr: str, values: dict[str, str]) -> str:
    """Fill a signal's dashboard variables (`cluster="$cluster"`) with concrete, escaped values.

    A variable with a value becomes an exact matcher (`=` keeps its meaning, `=~` matches the literal);
    a variable without one drops its matcher, so the query spans every value. Nothing from `values`
    reaches the query unescaped.
    """

    def one(m: re.Match[str]) -> str:
        label, op, var = m.groups()
        if var not in values:
            return ""
        value = values[var]
        return f'{label}{op}"{escape_regex(value) if op in ("=~", "!~") else escape(value)}"'

    out = _VAR_MATCHER.sub(one, expr)
    # tidy the commas a dropped matcher leaves behind
    out = re.sub(r"\{\s*,+\s*", "{", out)
    out = re.sub(r",\s*(,\s*)+", ",", out)
    return re.sub(r"\s*,\s*\}", "}", out)
