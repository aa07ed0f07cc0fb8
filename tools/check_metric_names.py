"""Check that every raw metric name in generated rules and alerts is one a real component exposes.

Usage: python tools/check_metric_names.py INVENTORY.json [ROOT]
INVENTORY is the reference inventory of real /metrics captures ({component: {name: {...}}}); it stays
outside the repository. Prints unknown names with the files that use them; exit 1 when there are any.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import yaml

KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
            "offset", "inf", "nan", "le", "Inf", "NaN"}
# names that are not exported by one component but by Prometheus itself or synthesised
BUILTIN = {"up", "ALERTS", "ALERTS_FOR_STATE", "time", "vector", "scalar"}


def metric_names(expr: str) -> set[str]:
    text = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)  # strings
    text = re.sub(r"\{[^}]*\}", "", text)  # label matchers
    text = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", text)
    text = re.sub(r"\[[^\]]*\]", "", text)  # ranges
    names = set()
    for m in re.finditer(r"(?<![\w:.])([a-zA-Z_][a-zA-Z0-9_:]*)(?![\w:])(?!\s*\()", text):
        name = m.group(1)
        if ":" in name or name in KEYWORDS or name in BUILTIN:
            continue
        names.add(name)
    return names


def main(argv: list[str]) -> int:
    inventory = json.loads(Path(argv[0]).read_text())
    root = Path(argv[1] if len(argv) > 1 else ".")
    known = {name for comp in inventory.values() for name in comp}
    used: dict[str, set[str]] = {}
    for path in sorted([*root.glob("rules/*.yaml"), *root.glob("alerts/*.yaml")]):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                for name in metric_names(rule["expr"]):
                    used.setdefault(name, set()).add(path.name)
    unknown = {n: f for n, f in used.items() if n not in known}
    for name, files in sorted(unknown.items()):
        print(f"unknown metric {name} (used in {', '.join(sorted(files))})")
    print(f"{len(used)} metric names checked, {len(unknown)} unknown")
    return 1 if unknown else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
