"""generator.yamlio writes no anchors, and reads back (with libyaml) what it wrote, as PyYAML's own parser does."""

from __future__ import annotations

import math
import random
from typing import Any

import yaml

from generator import yamlio

# strings that YAML would read as something else, need quoting, or take a block scalar
ATOMS: list[Any] = ["", "a", "yes", "No", "~", "null", "1", "1.5", "0x1f", "1e3", "-", "- a", "a: b", "#x", "a\nb",
                    "a\n", "\n", " a", "é\u2028x", "true", "NaN", ".inf", "2024-01-01", "=", "<<", "*a", "&a", "!x",
                    "%", "@", "`", "{a}", "[1]", "'q'", '"q"', "a\tb", "x" * 300, 0, 1, -5, 10**20, 1.5, 1e17,
                    float("inf"), -0.0, True, False, None]


def _value(rnd: random.Random, depth: int = 0) -> Any:
    roll = rnd.random()
    if depth > 3 or roll < 0.4:
        return rnd.choice(ATOMS)
    if roll < 0.7:
        return {str(rnd.choice(ATOMS)): _value(rnd, depth + 1) for _ in range(rnd.randint(0, 4))}
    return [_value(rnd, depth + 1) for _ in range(rnd.randint(0, 4))]


def test_the_same_object_twice_is_written_twice_without_anchors() -> None:
    shared = {"a": [1, "x"]}
    text = yamlio.dump({"one": shared, "two": shared, "nan": float("nan")})
    assert "&" not in text and "*" not in text and text.count("- x") == 2


def test_load_reads_back_what_dump_wrote() -> None:
    rnd = random.Random(7)
    for _ in range(100):  # yaml.safe_load is the slow pure-Python parser
        data = {"k": _value(rnd)}
        assert yamlio.load(yamlio.dump(data)) == data == yaml.safe_load(yamlio.dump(data))
    assert math.isnan(yamlio.load(yamlio.dump([float("nan")]))[0])
