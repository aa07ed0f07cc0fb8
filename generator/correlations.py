"""correlations.yaml: which signals move together, measured by `stereo suggest` or taken from the prior.

The document is the contract between the correlate wing (which writes it) and the layout (which reads it).
Reading checks every field and reports problems as `file:line: key: what was expected`, naming the closest
known signals when a pair refers to one that does not exist.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from generator import safeload
from generator.config import ConfigError
from generator.yamlio import dump as dump_yaml

SOURCES = ("measured", "prior")
# The weakest |ρ| offered as a partner to look at (alerts' `related`, runbooks, the explorer's list). Significance
# alone is not enough: over a long window at a fine step (n in the hundreds) the critical value at α = 0.01
# falls below 0.2, where one signal's ranks explain under 4 % of the other's (ρ² < 0.04). 0.3 is the usual
# threshold of a moderate association (ρ² ≈ 0.09); a pair's own `critical`, when higher, is the floor instead.
LIST_MIN_RHO = 0.3
MAX_DEPTH = 8  # the document nests 3 levels


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    rho: float | None = None
    n: int = 0
    critical: float | None = None
    alpha: float = 0.01
    window: str = ""
    stability: float | None = None
    source: str = "prior"
    relation: str = ""
    objects: int | None = None  # how many objects (pods, nodes...) show the relation (measured pairs)
    derived: bool | None = None  # the same data by definition (written only when asked for)

    def strength(self) -> float:
        return abs(self.rho) if self.rho is not None else 0.0

    def listed(self) -> bool:
        """Strong enough to be offered as a partner: |ρ| at or above LIST_MIN_RHO and the pair's critical value.
        A prior pair (nothing measured yet) is listed: it is the expectation until `stereo suggest` runs."""
        return listable(self.rho, self.critical)

    def evidence(self) -> str:
        """How a panel description cites this pair."""
        if self.source == "prior" or self.rho is None:
            return "expected relation (prior), not measured yet: run `stereo suggest`"
        text = f"ρ = {self.rho:+.2f}, n = {self.n}"
        if self.critical is not None:
            text += f", critical {self.critical:.3f} at α = {self.alpha:g}"
        if self.window:
            text += f", over {self.window}"
        if self.stability is not None:
            text += f", significant in {self.stability:.0%} of short windows"
        return text


def listable(rho: float | None, critical: float | None = None) -> bool:
    """|ρ| ≥ max(LIST_MIN_RHO, critical); None (a prior, not measured) is listable."""
    if rho is None:
        return True
    return abs(rho) >= max(LIST_MIN_RHO, critical or 0.0) - 1e-12


def _number(value: Any, lo: float, hi: float) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value) and lo <= value <= hi


FIELDS: dict[str, tuple[str, Any]] = {
    "rho": ("a number between -1 and 1", lambda v: _number(v, -1, 1)),
    "n": ("a whole number of points ≥ 3", lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 3),
    "critical": ("a number between 0 and 1", lambda v: _number(v, 0, 1)),
    "alpha": ("a number between 0 and 1", lambda v: _number(v, 0, 1) and 0 < v < 1),
    "window": ("a duration such as 6h", lambda v: isinstance(v, str) and v != ""),
    "stability": ("a fraction between 0 and 1", lambda v: _number(v, 0, 1)),
    "source": ("measured or prior", lambda v: v in SOURCES),
    "relation": ("a short title such as 'CPU ↔ network traffic'", lambda v: isinstance(v, str)),
    "objects": ("a whole number ≥ 0", lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0),
    "derived": ("true or false", lambda v: isinstance(v, bool)),
}


def parse(text: str, source: str, known: set[str]) -> list[Pair]:
    try:
        doc = safeload.parse_yaml(text, source, MAX_DEPTH)
    except safeload.LoadError as exc:
        raise ConfigError(str(exc)) from None
    data, lines = doc.data, doc.lines

    def fail(key: str, message: str) -> ConfigError:
        line = safeload.line_of(key, lines)
        return ConfigError(f"{source}:{line}: {key}: {message}" if line else f"{source}: {key}: {message}")

    if not isinstance(data, dict) or not isinstance(data.get("pairs"), list):
        raise fail("pairs", "expected a mapping with a list under `pairs`")
    unknown_top = sorted(set(data) - {"version", "pairs", "generated_by", "window", "step", "alpha", "method"})
    if unknown_top:
        raise fail(unknown_top[0], "unknown key")
    pairs: list[Pair] = []
    seen: set[tuple[str, str]] = set()
    for i, item in enumerate(data["pairs"]):
        key = f"pairs[{i}]"
        if not isinstance(item, dict):
            raise fail(key, "expected a mapping with a and b")
        for side in ("a", "b"):
            name = item.get(side)
            if not isinstance(name, str):
                raise fail(f"{key}.{side}" if side in item else key, f"expected the signal name `{side}`")
            if name not in known:
                near = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.5)
                hint = f"; closest: {', '.join(near)}" if near else ""
                raise fail(f"{key}.{side}", f"unknown signal {name}{hint}")
        for field, value in item.items():
            if field in ("a", "b"):
                continue
            if field not in FIELDS:
                raise fail(f"{key}.{field}", f"unknown key (expected a, b, {', '.join(FIELDS)})")
            expected, check = FIELDS[field]
            if value is not None and not check(value):
                raise fail(f"{key}.{field}", f"expected {expected}, got {value!r}")
        if item["a"] == item["b"]:
            raise fail(f"{key}.b", "a pair needs two different signals")
        ident = tuple(sorted((item["a"], item["b"])))
        if ident in seen:
            raise fail(key, f"pair {ident[0]} ↔ {ident[1]} listed twice")
        seen.add(ident)  # type: ignore[arg-type]
        fields = {k: v for k, v in item.items() if v is not None}
        pairs.append(Pair(**fields))
    return pairs


PRIOR = "prior_correlations.yaml"


def prior_text() -> str:
    """The built-in prior, as packaged."""
    return resources.files("generator.data").joinpath(PRIOR).read_text(encoding="utf-8")


def prior(known: set[str], text: str | None = None) -> list[Pair]:
    """The prior's pairs whose signals exist (`text`: the prior as already read, else read now)."""
    text = prior_text() if text is None else text
    # the prior names signals of optional components (services); keep the pairs whose signals exist
    data = yaml.safe_load(text)
    data["pairs"] = [p for p in data["pairs"] if p["a"] in known and p["b"] in known]
    return parse(yaml.safe_dump(data, allow_unicode=True), PRIOR, known)


def read(path: Path) -> str:
    """The text of a correlations file (checked by `parse` once the catalog is built)."""
    try:
        return safeload.read_text(path, safeload.CONFIG_LIMIT)
    except safeload.LoadError as exc:
        raise ConfigError(str(exc)) from None


def dump(pairs: list[Pair], header: dict[str, Any]) -> str:
    """The document `stereo suggest` writes (and the service serves)."""
    rows = []
    for p in sorted(pairs, key=lambda p: (-p.strength(), p.a, p.b)):
        row: dict[str, Any] = {"a": p.a, "b": p.b}
        for field in FIELDS:
            value = getattr(p, field)
            if value not in (None, ""):
                row[field] = round(value, 6) if isinstance(value, float) else value
        rows.append(row)
    return dump_yaml({"version": 1, **header, "pairs": rows})
