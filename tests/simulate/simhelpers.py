"""Reading simulated output back in tests: OpenMetrics text, registry series, selectors of generated rules."""

from __future__ import annotations

import importlib.util
import re
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from types import ModuleType

import numpy as np

from generator import yamlio
from generator.simulate.series import Registry

ROOT = Path(__file__).resolve().parents[2]
LABEL = re.compile(r'([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"')
SAMPLE = re.compile(r"^([a-zA-Z_:][\w:]*)(\{[^}]*\})? (\S+)(?: (\S+))?$")
SELECTOR = re.compile(r"(?<![\w:])([a-zA-Z_:][\w:]*)\{([^{}]*)\}")
MATCHER = re.compile(r'([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')


@cache
def check_metric_names() -> ModuleType:
    """tools/check_metric_names.py, loaded from its path (tools/ is not a package)."""
    spec = importlib.util.spec_from_file_location("check_metric_names", ROOT / "tools" / "check_metric_names.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def rule_exprs(files: dict[str, str]) -> Iterator[tuple[str, str]]:
    """(rule name, expression) of every recording rule and alert in generated files."""
    for path, text in sorted(files.items()):
        if path.startswith(("rules/", "alerts/")):
            for group in yamlio.load(text)["groups"]:
                for rule in group["rules"]:
                    yield rule.get("record") or rule["alert"], rule["expr"]


def parse_text(text: str) -> dict[str, list[tuple[dict[str, str], float, str | None]]]:
    """Sample name → [(labels, value, timestamp)] from exposition text."""
    out: dict[str, list[tuple[dict[str, str], float, str | None]]] = {}
    parsed: dict[str, dict[str, str]] = {}  # a series' label text → its labels (a series has a line per time)
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, f"not a sample line: {line!r}"
        raw = m.group(2) or ""
        labels = parsed.get(raw)
        if labels is None:
            labels = parsed[raw] = dict(LABEL.findall(raw))
        out.setdefault(m.group(1), []).append((dict(labels), float(m.group(3)), m.group(4)))
    return out


def registry_series(registry: Registry) -> dict[str, list[tuple[dict[str, str], np.ndarray]]]:
    """Sample name → [(labels, values over the ticks; NaN where absent)]."""
    out: dict[str, list[tuple[dict[str, str], np.ndarray]]] = {}
    for family in registry.families.values():
        for series in family.series.values():
            name, _, rest = series.text.partition("{")
            out.setdefault(name, []).append((dict(LABEL.findall(rest)), np.array(series.values, dtype=float)))
    return out


def selector_matches(matchers: str, labels: dict[str, str]) -> bool:
    for name, op, value in MATCHER.findall(matchers):
        value = value.encode().decode("unicode_escape")
        have = labels.get(name, "")
        ok = {"=": have == value, "!=": have != value, "=~": re.fullmatch(value, have) is not None,
              "!~": re.fullmatch(value, have) is None}[op]
        if not ok:
            return False
    return True


def by_labels(expr: str) -> set[str]:
    """Label names an expression groups or matches by (by, without, on, ignoring, group_left/right)."""
    names: set[str] = set()
    for m in re.finditer(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)", expr):
        names.update(n.strip() for n in m.group(1).split(",") if n.strip())
    return names


def rate(values: np.ndarray, window: int = 5, step: float = 60.0) -> np.ndarray:
    """A rate over `window` ticks, like rate(x[5m]) on one-minute samples (no resets expected)."""
    return (values[window:] - values[:-window]) / (window * step)
