"""The checks each stereo.yaml key is put through: small functions (value, dotted key) -> checked value that raise
`Invalid(key, expected, got)`; `generator.config` composes them into the schema and places the error on its line.
Kept apart from config.py so that other settings modules (manifests, the Alertmanager model) use them too."""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable
from typing import Any

from generator import gotemplate, promql, validate


class ConfigError(Exception):
    """A mistake in the site settings; str() is the one line the CLI prints."""


Check = Callable[[Any, str], Any]


Invalid = validate.Invalid
_Bad = Invalid


def _shown(value: Any) -> str:
    text = f'"{value}"' if isinstance(value, str) and value.isprintable() else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# lengths past any real use: a setting is copied into every rule, test and dashboard that uses it
MAX_NAME, MAX_TEXT = 100, 1024


def string(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Bad(key, "a non-empty string", value)
    if len(value) > MAX_TEXT:
        raise _Bad(key, f"at most {MAX_TEXT} characters ({len(value)} given)", show_got=False)
    return value


def label_name(value: Any, key: str) -> str:
    if not isinstance(value, str) or not promql.LABEL_NAME.match(value) or value.startswith("__"):
        raise _Bad(key, "a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)", value)
    if len(value) > MAX_NAME:
        raise _Bad(key, f"a label name of at most {MAX_NAME} characters ({len(value)} given)", show_got=False)
    return value


def duration_upto(most: str, least: str = "1ms") -> Check:
    """A Prometheus duration between `least` and `most` (`least` 0s: zero allowed)."""
    low, high = promql.parse_duration(least) if least != "0s" else 0, promql.parse_duration(most)
    # examples the range allows (a range of 1s–4m is not told "such as 1h")
    examples = [e for e, secs in (("0s", 0), ("30s", 30), ("5m", 300), ("1h", 3600)) if low <= secs <= high]
    expected = f"a Prometheus duration from {least} to {most}, such as {', '.join(examples or (least, most))}"

    def check(value: Any, key: str) -> str:
        try:
            seconds = promql.parse_duration(value)
        except promql.PromQLError:
            raise _Bad(key, expected, value) from None
        if not low <= seconds <= high:
            raise _Bad(key, expected, value)
        return value

    return check


duration = duration_upto("1y")
# an alert's `for`, 0s included (fire on the first evaluation); 6h at most keeps its promtool tests under seconds
for_duration = duration_upto("6h", "0s")


def number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Bad(key, "a number", value)
    if not math.isfinite(value) or abs(value) > 1e15:
        raise _Bad(key, "a finite number of at most 1e15", value)
    return float(value)


def threshold(value: Any, key: str) -> float:
    v = number(value, key)
    if v < 0:
        raise _Bad(key, "a number ≥ 0", value)
    return v


def ratio(value: Any, key: str) -> float:
    v = number(value, key)
    if not 0 < v < 1:
        raise _Bad(key, "a number strictly between 0 and 1", value)
    return v


def url(value: Any, key: str) -> str:
    if isinstance(value, str) and len(value) > MAX_TEXT:
        raise _Bad(key, f"a URL of at most {MAX_TEXT} characters ({len(value)} given)", show_got=False)
    if not isinstance(value, str) or not re.match(r"^https?://[^\s/]+[^\s]*$", value):
        raise _Bad(key, "an http:// or https:// URL", value)
    return value.rstrip("/")


def annotation_url(value: Any, key: str) -> str:
    """A URL that ends up in alert annotations, which Prometheus expands as Go templates."""
    value = url(value, key)
    try:
        gotemplate.check(value)
    except gotemplate.TemplateError as exc:
        raise _Bad(key, f"a URL without Go-template syntax other than {{{{ $labels.name }}}} ({exc})", value) from None
    return value


RUNBOOK_PLACEHOLDERS = ("alert", "component")
_PLACEHOLDER = re.compile(r"{([^{}]*)}")
_GO_ACTION = re.compile(r"{{.*?}}")


def runbook_pattern(value: Any, key: str) -> str:
    """A runbook base URL, or a pattern with {alert} / {component} placeholders (Go-template actions pass)."""
    value = annotation_url(value, key)
    plain = _GO_ACTION.sub("", value)
    for name in _PLACEHOLDER.findall(plain):
        if name not in RUNBOOK_PLACEHOLDERS:
            raise _Bad(key, "a URL whose placeholders are {alert} or {component}, not {" + name + "}", show_got=False)
    if "{" in _PLACEHOLDER.sub("", plain) or "}" in _PLACEHOLDER.sub("", plain):
        raise _Bad(key, "a URL with each { closed by } around a placeholder ({alert} or {component})", value)
    return value


def annotation_text(value: Any, key: str) -> str:
    """An annotation value: Go-template text Stereo can render in its promtool cases ($labels, $value)."""
    text = string(value, key)
    try:
        gotemplate.check(text, value=True)
    except gotemplate.TemplateError as exc:
        raise _Bad(key, f"annotation text whose templates are {{{{ $labels.name }}}} or {{{{ $value }}}} ({exc})",
                   value, show_got=False) from None
    return text


# an example of each filter's matchers, for its error messages
FILTER_EXAMPLES = {"namespace": 'namespace=~"prod-.*"'}


def filter_selector(value: Any, key: str) -> str:
    """Label matchers added to series the catalog reads; '' adds none (a job selector's rules, no braces)."""
    if isinstance(value, str) and not value.strip():
        return ""
    try:
        return selector(value, key)
    except _Bad as bad:
        example = FILTER_EXAMPLES.get(key.rsplit(".", 1)[-1], 'fstype=~"ext4|xfs"')
        why = bad.expected.replace('a label selector such as job="apiserver"', f"label matchers such as {example}")
        raise _Bad(key, why, value, show_got=bad.show_got) from None


RESERVED_LABELS = {"severity": "set patch.<alert>.severity instead", "component": "set by Stereo",
                   "alertname": "set by Prometheus"}


def patch_label_name(value: Any, key: str) -> str:
    name = label_name(value, key)
    if name in RESERVED_LABELS:
        raise _Bad(key, f"a label other than {name} ({RESERVED_LABELS[name]})", show_got=False)
    return name


def label_value(value: Any, key: str) -> str:
    """An alert label value: Prometheus expands `{{ }}` in it, so template syntax is refused here."""
    text = string(value, key)
    if "{{" in text or "}}" in text:
        raise _Bad(key, "a label value without Go-template syntax ({{ or }})", value)
    return text


def selector(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise _Bad(key, 'a label selector such as job="apiserver"', value)
    if len(value) > MAX_TEXT:
        raise _Bad(key, f"a label selector of at most {MAX_TEXT} characters ({len(value)} given)", show_got=False)
    if not value.strip().removeprefix("{").removesuffix("}").strip():
        return ""  # an empty selector: any series
    try:
        for label, op, regex in promql.parse_selector(value):
            if label.startswith("__"):
                raise promql.PromQLError(f"{label} is reserved; select the job or other labels")
            if op == "=~":
                promql.example_of(regex)  # the promtool tests need a value the regex matches
    except promql.PromQLError as exc:
        raise _Bad(key, f'a label selector such as job="apiserver" ({exc})', value, show_got=False) from None
    return value.strip().removeprefix("{").removesuffix("}").strip()


def one_of(*choices: str) -> Check:
    def check(value: Any, key: str) -> str:
        if value not in choices:
            raise _Bad(key, "one of " + ", ".join(choices), value)
        return value

    return check


def list_of(item: Check) -> Check:
    def check(value: Any, key: str) -> list[Any]:
        if not isinstance(value, list):
            raise _Bad(key, "a list", value)
        return [item(v, f"{key}[{i}]") for i, v in enumerate(value)]

    return check


def _entries(value: Any, key: str, entry: Callable[[Any, Any, str], Any]) -> dict[str, Any]:
    """A mapping checked entry by entry (None is an empty one): entry(name, value, dotted key) -> checked value."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise _Bad(key, "a mapping", value)
    return {k: entry(k, v, f"{key}.{k}" if key else str(k)) for k, v in value.items()}


def map_of(value_check: Check, key_check: Check = string, keys: tuple[str, ...] | None = None) -> Check:
    def entry(k: Any, v: Any, sub: str) -> Any:
        if keys is not None and k not in keys:
            raise _Bad(sub, "a known key (" + ", ".join(keys) + ")", show_got=False)
        key_check(k, sub)
        return value_check(v, sub)

    return lambda value, key: _entries(value, key, entry)


def record(schema: dict[str, Check]) -> Check:
    def entry(k: Any, v: Any, sub: str) -> Any:
        if k not in schema:
            near = _closest(str(k), schema)
            hint = f"; did you mean {near}?" if near else ""
            raise _Bad(sub, "a known key (" + ", ".join(sorted(schema)) + ")" + hint, show_got=False)
        return schema[k](v, sub)

    return lambda value, key: _entries(value, key, entry)


def _closest(name: str, known: Any) -> str:
    return ", ".join(difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.6))
