"""map_of and record, the two mapping checks of the settings schema: one preamble (None, not a mapping, dotted
keys), each with its own rule for keys. Table-driven: what is accepted as what, and the key and expectation of
each refusal."""

from __future__ import annotations

from typing import Any

import pytest

from generator.settings_checks import Invalid, duration_upto, list_of, map_of, number, record, selector, string

SCHEMA = record({"a": number, "b": map_of(selector, keys=("x", "y")), "c": list_of(record({"d": string}))})

ACCEPTED: list[tuple[Any, dict]] = [
    (None, {}),
    ({}, {}),
    ({"a": 1}, {"a": 1.0}),
    ({"b": None}, {"b": {}}),
    ({"b": {"x": '{job="j"}', "y": ""}}, {"b": {"x": 'job="j"', "y": ""}}),
    ({"c": [{"d": "v"}, {}]}, {"c": [{"d": "v"}, {}]}),
]


@pytest.mark.parametrize(("value", "want"), ACCEPTED)
def test_mappings_accepted(value: Any, want: dict) -> None:
    assert SCHEMA(value, "") == want


REFUSED: list[tuple[Any, str, str]] = [
    ([1], "", "a mapping"),
    ("text", "", "a mapping"),
    ({"aa": 1}, "aa", "a known key (a, b, c); did you mean a?"),
    ({"zzz": 1}, "zzz", "a known key (a, b, c)"),
    ({"b": []}, "b", "a mapping"),
    ({"b": {"z": "job=\"j\""}}, "b.z", "a known key (x, y)"),
    ({"b": {"x": 3}}, "b.x", 'a label selector such as job="apiserver"'),
    ({"c": [{"e": "v"}]}, "c[0].e", "a known key (d)"),
    ({"c": [{"d": ""}]}, "c[0].d", "a non-empty string"),
]


@pytest.mark.parametrize(("value", "key", "expected"), REFUSED)
def test_mappings_refused_at_their_key(value: Any, key: str, expected: str) -> None:
    with pytest.raises(Invalid) as err:
        SCHEMA(value, "")
    assert (err.value.key, err.value.expected) == (key, expected)


def test_map_keys_are_checked_too() -> None:
    with pytest.raises(Invalid) as err:
        map_of(number)({"": 1}, "thresholds")
    assert (err.value.key, err.value.expected) == ("thresholds.", "a non-empty string")
    assert map_of(number)({"KubeDown": 2}, "thresholds") == {"KubeDown": 2.0}


@pytest.mark.parametrize(("most", "least", "examples"), [
    ("4m", "1s", "such as 30s"),  # pod_evaluation_interval: no 5m or 1h offered where they are refused
    ("6h", "0s", "such as 0s, 30s, 5m, 1h"),
    ("1h", "1s", "such as 30s, 5m, 1h"),
    ("10s", "1s", "from 1s to 10s, such as 1s, 10s"),  # nothing common fits: the bounds themselves
])
def test_duration_examples_lie_in_the_range(most: str, least: str, examples: str) -> None:
    with pytest.raises(Invalid) as bad:
        duration_upto(most, least)("soon", "key")
    assert bad.value.expected.endswith(examples)
