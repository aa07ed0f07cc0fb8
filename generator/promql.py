"""Safe PromQL building and Stereo's naming conventions, in one place.

Label values are escaped before they enter a query; label names, metric names, recording-rule names and
durations are checked against the Prometheus grammar so that a typo fails at generation time, not at reload.
"""

from __future__ import annotations

import functools
import re

import re2

LABEL_NAME = re.compile(r"^[a-zA-Z_][a-zA-Z0-9_]*$")
METRIC_NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")
# level:metric:operations, as the Prometheus docs recommend
RECORD_NAME = re.compile(r"^[a-z][a-z0-9_]*:[a-z][a-z0-9_]*:[a-z0-9_]+$")
ALERT_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_DURATION = re.compile(r"^(?:(\d+)y)?(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?(?:(\d+)ms)?$")
_DURATION_UNITS = (365 * 86400, 7 * 86400, 86400, 3600, 60, 1, 0.001)
_MATCHER = re.compile(r'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*')
# the escapes a double-quoted PromQL string knows (Go's strconv.Unquote)
_ESCAPE = re.compile(
    r'\\(?:([abfnrtv\\"])|x([0-9a-fA-F]{2})|([0-7]{3})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|(.?))', re.S)
_SIMPLE_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
                   "\\": "\\", '"': '"'}
MAX_DURATION = 292 * 365 * 86400  # Prometheus keeps durations as int64 milliseconds
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # errors are reported as one line by the caller, not logged to stderr


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
        value = unquote(raw)
        if op in ("=~", "!~"):
            compile_regex(value)
        out.append((label, op, value))
        pos = m.end()
        if pos < len(body):
            if body[pos] != ",":
                raise PromQLError(f"expected ',' at {body[pos:]!r}")
            pos += 1
    return out


def unquote(raw: str) -> str:
    """The value of a double-quoted PromQL string body; an escape PromQL does not know is an error."""

    def one(m: re.Match[str]) -> str:
        simple, hex2, octal, u4, u8, bad = m.groups()
        if simple is not None:
            return _SIMPLE_ESCAPES[simple]
        if bad is not None:
            raise PromQLError(f"unknown escape \\{bad} in a string (PromQL knows \\n \\t \\\\ \\\" \\xNN \\uNNNN ...)")
        code = int(hex2 or octal or u4 or u8, 8 if octal else 16)
        if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF or (octal and code > 255):
            raise PromQLError(f"escape {m.group(0)} is not a valid character")
        return chr(code)

    if "\n" in raw or "\r" in raw:
        raise PromQLError("a line break inside a quoted string; write \\n")
    return _ESCAPE.sub(one, raw)


_NOT_GO = re.compile(r"\\\\|(\\C|\(\?<(?![=!]))")  # RE2 takes these, Go's regexp (Prometheus) does not


@functools.lru_cache(maxsize=2048)
def compile_regex(value: str) -> re2._Regexp:
    """An anchored RE2 regular expression, as Prometheus compiles a =~ matcher (never Python's `re`). The value
    is parsed alone first, as Prometheus does: anchoring `)(` gives `^(?:)()$`, which would pass. Remembered per
    value (label matching asks for the same few many times)."""
    for m in _NOT_GO.finditer(value):
        if m.group(1):
            raise PromQLError(f"regular expression {value!r} uses {m.group(1)}, which Prometheus (Go) does not know")
    try:
        re2.compile(value, _RE2_OPTIONS)
        return re2.compile(f"^(?:{value})$", _RE2_OPTIONS)
    except re2.error as exc:
        detail = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise PromQLError(f"regular expression {value!r} is not RE2 syntax: {detail}") from None


def matches(op: str, have: str, value: str) -> bool:
    """Whether the label value `have` passes the matcher `label<op>"value"`, as Prometheus decides (anchored RE2)."""
    if op == "=":
        return have == value
    if op == "!=":
        return have != value
    return (compile_regex(value).fullmatch(have) is not None) == (op == "=~")


def example_of(regex: str) -> str:
    """A string the regex fully matches, for simple alternations such as `kube-etcd|etcd` or `.*etcd.*`."""
    compiled = compile_regex(regex)
    for candidate in regex.split("|"):
        plain = candidate.replace(".*", "").replace(".+", "x").replace("\\", "")
        plain = re.sub(r"[\^$()?]", "", plain)
        if compiled.fullmatch(plain):
            return plain
    raise PromQLError(f"cannot derive a test label value matching the regular expression {regex!r}; "
                      "use a simple alternation such as a|b or .*name.*")


def selector(*parts: str) -> str:
    """Join matcher strings (each may itself be a comma list) into `{...}`; empty parts are dropped."""
    kept = [p.strip().strip(",") for p in parts if p and p.strip()]
    return "{" + ",".join(kept) + "}"


def parse_duration(text: str) -> float:
    """Seconds in a Prometheus duration such as `5m`, `1h30m`, `30d`."""
    m = _DURATION.match(text) if isinstance(text, str) and text else None
    if not m or not any(m.groups()):
        raise PromQLError(f"bad duration {text!r} (expected e.g. 30s, 5m, 1h30m, 7d)")
    seconds = sum(int(g) * u for g, u in zip(m.groups(), _DURATION_UNITS, strict=True) if g)
    if seconds > MAX_DURATION:
        raise PromQLError(f"duration {text!r} is past Prometheus' range (292y)")
    return seconds


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


def left_open(duration: str) -> str:
    """A range for `changes()`/`max_over_time()` whose outcome does not hinge on the sample exactly `duration` old.

    Prometheus 2 holds [t-d, t] in a range selector, Prometheus 3 holds (t-d, t]: on scrapes aligned with the
    evaluation (promtool's series, a steady scrape phase) the two differ by the boundary sample, and an alert on one
    sample's change fires or resolves an interval apart. Five seconds shorter, the closed window holds exactly the
    samples of Prometheus 3's left-open one on every scrape grid of 5 s or coarser that divides `duration`, on both.
    On a scrape phase not aligned with the evaluation the window is simply 5 s shorter: a sample in its oldest 5 s is
    missed at some evaluations, which alerts that hold for many minutes do not notice.
    """
    seconds = parse_duration(duration)
    if seconds <= 5:
        raise PromQLError(f"left_open: duration {duration!r} must be longer than 5s")
    return format_duration(seconds - 5)


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
