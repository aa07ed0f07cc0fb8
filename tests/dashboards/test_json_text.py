"""normalise.dumps writes exactly what `json.dumps(..., sort_keys=True, indent=2, ensure_ascii=False)` writes
(its own indenting is a speed-up, not a format), for every committed dashboard and for awkward JSON values."""

from __future__ import annotations

import json
import random
from collections import OrderedDict
from typing import Any

import pytest

from generator.render.dashboards.normalise import dumps


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, indent=2, ensure_ascii=False) + "\n"


ATOMS: list[Any] = ["", "a", 'q"uote', "back\\slash", "new\nline", "tab\t", "\x00\x1f\x7f", "é ü 中 \u2028 😀",
                    "</script>", 0, -1, 2**70, 0.1, -0.0, 1e300, 1e-7, 3.0, True, False, None]


def _value(rnd: random.Random, depth: int = 0) -> Any:
    roll = rnd.random()
    if depth > 4 or roll < 0.35:
        return rnd.choice(ATOMS)
    if roll < 0.7:
        return {str(rnd.choice(ATOMS)) + rnd.choice("abc"): _value(rnd, depth + 1) for _ in range(rnd.randint(0, 5))}
    return [_value(rnd, depth + 1) for _ in range(rnd.randint(0, 5))]


def test_every_generated_dashboard_is_jsons_own_text(default_files: dict[str, str]) -> None:
    boards = [p for p in default_files if p.startswith("dashboards/")]
    assert len(boards) >= 10
    for path in boards:
        assert dumps(json.loads(default_files[path])) == _json(json.loads(default_files[path])), path


@pytest.mark.parametrize("seed", range(3))
def test_random_json_values_are_jsons_own_text(seed: int) -> None:
    rnd = random.Random(seed)
    for _ in range(400):
        value = {"v": _value(rnd)}
        assert dumps(value) == _json(value), value


@pytest.mark.parametrize("value", [{"k": (1, 2)}, {2: "int keys", 1: "b"}, {"nan": float("nan")},
                                   {"inf": [float("-inf")]}, OrderedDict(b=1, a=2), {"s": type("S", (str,), {})("x")}])
def test_values_json_treats_its_own_way_are_left_to_json(value: dict[str, Any]) -> None:
    assert dumps(value) == _json(value)
