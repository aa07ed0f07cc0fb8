"""Range answers decoded by numpy (rangedecode._fast_result) give what json gives, and anything else falls back.

Prometheus writes compact JSON ({"metric":{...},"values":[[t,"v"],...]}); the fast path cuts each series' values
out and parses them with numpy. Every body here is decoded twice — as is, and with the fast path off — and the
two must agree: the same kind, message and values (NaN in the same places)."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from generator.correlate import rangedecode

START, STEP, SIZE = 1_700_000_000, 60, 6


def body(result: Any, compact: bool = True) -> bytes:
    doc = {"status": "success", "data": {"resultType": "matrix", "result": result}}
    return json.dumps(doc, separators=(",", ":") if compact else None).encode()


def both(raw: bytes, monkeypatch: pytest.MonkeyPatch, max_series: int = 100) -> tuple[Any, Any]:
    fast = rangedecode.decode_range(raw, START, STEP, SIZE, max_series, "q", "u")
    with monkeypatch.context() as m:
        m.setattr(rangedecode, "_fast_result", lambda _body: None)
        slow = rangedecode.decode_range(raw, START, STEP, SIZE, max_series, "q", "u")
    return fast, slow


def same(fast: Any, slow: Any) -> None:
    assert fast[:2] == slow[:2]
    if slow[2] is None:
        assert fast[2] is None
    else:
        np.testing.assert_array_equal(fast[2], slow[2])  # NaN where NaN, bit-equal floats


def series(labels: dict[str, str], values: list[Any], first: int = 0) -> dict[str, Any]:
    return {"metric": labels, "values": [[START + (first + k) * STEP, v] for k, v in enumerate(values)]}


GOOD = [
    [series({"pod": "a"}, ["1.5", "NaN", "+Inf", "-Inf", "1e-05", "-0.25"]),
     series({"pod": "b", "x": 'odd "values":[[1,"2"]] label ]]'}, ["3", "4"], first=2),
     {"metric": {"pod": "empty"}, "values": []}],
    [series({"pod": "late"}, ["0.1234567890123456789"], first=5)],
    [{"metric": {"pod": "off-grid"}, "values": [[START + 59.9, "7"], [START + 10 * STEP, "8"]]}],
    [],
]


@pytest.mark.parametrize("result", GOOD)
def test_prometheus_answers_decode_as_json_does(result: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    raw = body(result)
    assert rangedecode._fast_result(raw) is not None or not any(s["values"] for s in result)
    fast, slow = both(raw, monkeypatch)
    assert fast[0] == "ok"
    same(fast, slow)


def test_the_fast_path_reads_the_values_it_should() -> None:
    kind, keys, values = rangedecode.decode_range(body(GOOD[0]), START, STEP, SIZE, 100, "q", "u")
    assert kind == "ok" and [dict(k)["pod"] for k in keys] == ["a", "b", "empty"]
    assert values[0].tolist()[:2] == [1.5, pytest.approx(float("nan"), nan_ok=True)]
    assert values[0][2:].tolist() == [np.inf, -np.inf, 1e-05, -0.25]
    assert np.isnan(values[1][:2]).all() and values[1][2:4].tolist() == [3.0, 4.0] and np.isnan(values[2]).all()


HOSTILE = [
    body(GOOD[0], compact=False),  # spaces: json parses it
    body([series({"pod": "a"}, ["1", "2", "x"])]),  # a value that is no number
    body([series({"pod": "a"}, [None, True, "3"])]),  # null, true
    body([{"metric": {"pod": "a"}, "values": [[START, "1", "2"]]}]),  # three in a pair
    body([{"metric": {"pod": "a"}, "values": [[START, {"v": 1}]]}]),
    body([{"metric": {"pod": "a"}, "values": 3}]),  # an integer where values go
    body([{"metric": {"pod": "a"}, "values": True}, series({"pod": "b"}, ["1"])]),
    body([series({"pod": "a"}, ["1"])])[:-5],  # cut short
    body([series({"pod": "a"}, ["1"])]).replace(b"]]", b"]"),
    b'{"data":{"result":[{"metric":{},"values":[[1700000000,"1"]]}]},"warnings":["\\"values\\":[[1,\\"2\\"]]"]}',
    b'{"data":{"result":{"values":[[1,"1"]]}}}',  # result not a list
    '{"data":{"result":[{"metric":{"p":"é"},"values":[[1700000000,"١"]]}]}}'.encode(),  # non-ASCII digit
]


@pytest.mark.parametrize("raw", HOSTILE)
def test_anything_else_decodes_as_json_does(raw: bytes, monkeypatch: pytest.MonkeyPatch) -> None:
    same(*both(raw, monkeypatch))


def test_too_many_series_is_the_same_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = body([series({"pod": str(k)}, ["1"]) for k in range(5)])
    fast, slow = both(raw, monkeypatch, max_series=3)
    assert fast[0] == "too_many_series"
    same(fast, slow)
