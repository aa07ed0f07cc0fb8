"""generator.yamlio writes the text PyYAML's own safe dumper writes (its fast paths change speed, not bytes), and
reads back what it wrote."""

from __future__ import annotations

import math
import random
from typing import Any

import pytest
import yaml

from generator import yamlio
from generator.naming import GENERATED_HEADER

# strings that YAML would read as something else, need quoting, or take a block scalar
ATOMS: list[Any] = ["", "a", "yes", "No", "~", "null", "1", "1.5", "0x1f", "1e3", "-", "- a", "a: b", "#x", "a\nb",
                    "a\n", "\n", " a", "é\u2028x", "true", "NaN", ".inf", "2024-01-01", "=", "<<", "*a", "&a", "!x",
                    "%", "@", "`", "{a}", "[1]", "'q'", '"q"', "a\tb", "x" * 300, 0, 1, -5, 10**20, 1.5, 1e17,
                    float("inf"), -0.0, True, False, None]


# PyYAML's own SafeDumper (on libyaml's emitter, as yamlio: the pure-Python emitter ends a document after a kept
# trailing newline differently) with yamlio's two choices, nothing else
class _Reference(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):  # type: ignore[misc]
    def ignore_aliases(self, data: Any) -> bool:
        return True


_Reference.add_representer(str, lambda d, v: d.represent_scalar("tag:yaml.org,2002:str", v,
                                                                style="|" if "\n" in v else None))


def _reference(data: Any) -> str:
    return GENERATED_HEADER + yaml.dump(data, Dumper=_Reference, sort_keys=False, allow_unicode=True, width=1000,
                                        default_flow_style=False)


def _value(rnd: random.Random, depth: int = 0) -> Any:
    roll = rnd.random()
    if depth > 3 or roll < 0.4:
        return rnd.choice(ATOMS)
    if roll < 0.7:
        return {str(rnd.choice(ATOMS)): _value(rnd, depth + 1) for _ in range(rnd.randint(0, 4))}
    return [_value(rnd, depth + 1) for _ in range(rnd.randint(0, 4))]


@pytest.mark.parametrize("seed", range(4))
def test_dump_writes_what_pyyamls_safe_dumper_writes(seed: int) -> None:
    rnd = random.Random(seed)
    for _ in range(300):
        data = _value(rnd)
        assert yamlio.dump(data) == _reference(data), data
        assert yamlio.dump(data, header=False) == _reference(data).removeprefix(GENERATED_HEADER)


def test_the_same_object_twice_is_written_twice_without_anchors() -> None:
    shared = {"a": [1, "x"]}
    text = yamlio.dump({"one": shared, "two": shared, "nan": float("nan")})
    assert "&" not in text and "*" not in text and text == _reference({"one": shared, "two": shared,
                                                                        "nan": float("nan")})


def test_load_reads_back_what_dump_wrote() -> None:
    rnd = random.Random(7)
    for _ in range(100):  # yaml.safe_load is the slow pure-Python parser
        data = {"k": _value(rnd)}
        assert yamlio.load(yamlio.dump(data)) == data == yaml.safe_load(yamlio.dump(data))
    assert math.isnan(yamlio.load(yamlio.dump([float("nan")]))[0])
