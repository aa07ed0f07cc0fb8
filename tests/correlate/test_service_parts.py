"""The service's parts without a server: RE2 selectors (re2match) and single-flight answers (singleflight)."""

from __future__ import annotations

import asyncio

import pytest

from generator.correlate import re2match
from generator.correlate.singleflight import Answers

# ---------------------------------------------------------------- selectors


@pytest.mark.parametrize(("text", "value"), [
    (r'pod="a\nb"', "a\nb"), (r'pod="a\\nb"', "a\\nb"), (r'pod="q\"x"', 'q"x'), (r'pod="\x41\u00e9\101"', "AéA"),
    (r'pod="\t"', "\t"), ('{pod="x"}', "x"), (' pod = "x" ', "x"),
])
def test_values_decode_as_promql_strings(text: str, value: str) -> None:
    assert re2match.parse(text) == [("pod", "=", value)]


@pytest.mark.parametrize("text", [
    "", "{}", 'pod="x', 'pod="\\q"', 'pod="\\x4"', "pod=x", '1pod="x"', 'pod=="x"', 'pod="x" job="y"',
    'pod="x",,', 'pod=~"(a)\\\\1"', 'pod=~"(?=a)"', 'pod=~"(?<=a)b"', 'pod=~"a{1001}"', 'pod=~"("', 'é="x"',
    'pod="a\nb"',
])
def test_bad_selectors_are_refused(text: str) -> None:
    with pytest.raises(re2match.SelectorError):
        re2match.parse(text)


def test_matching_is_anchored_and_dot_matches_newline_as_in_prometheus() -> None:
    keep = re2match.keeper(re2match.parse('pod=~"web-.", job!~"batch|cron"'))
    assert keep is not None
    assert keep({"pod": "web-1"}) and keep({"pod": "web-\n"}) and not keep({"pod": "xweb-1"})
    assert not keep({"pod": "web-12"}) and not keep({"pod": "web-1", "job": "cron"})
    assert keep({"job": "api"}) and keep({})  # a series without the label is at a coarser scope: kept
    assert re2match.keeper(re2match.parse('pod="x"')) is None


def test_a_pattern_exponential_for_backtracking_is_linear_here() -> None:
    keep = re2match.keeper(re2match.parse('pod=~".*.*.*.*.*.*.*.*.*.*.*.*.*.*.*=", x=~"(a+)+b", y=~"(a|aa)*c"'))
    assert keep is not None
    assert not keep({"pod": "a" * 100_000}) and not keep({"x": "a" * 100_000}) and not keep({"y": "a" * 100_000})
    assert keep({"pod": "a" * 100_000 + "=", "x": "a" * 50 + "b", "y": "aaac"})


def test_split_separates_exact_from_regex() -> None:
    exact, regex = re2match.split(re2match.parse('a="1", b=~"2", c!="3", d!~"4"'))
    assert [m[0] for m in exact] == ["a", "c"] and [m[0] for m in regex] == ["b", "d"]


# ---------------------------------------------------------------- single flight


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_concurrent_requests_share_one_computation() -> None:
    calls: list[int] = []

    async def main() -> list[bytes]:
        answers = Answers(8, stale_for=300)
        gate = asyncio.Event()

        async def compute() -> bytes:
            calls.append(1)
            await gate.wait()
            return b"answer"

        waiting = [asyncio.ensure_future(answers.get("k", 1, compute, 30)) for _ in range(5)]
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        assert not any(w.done() for w in waiting)
        gate.set()
        return [(await w).body for w in waiting]

    assert run(main()) == [b"answer"] * 5 and calls == [1]


def test_the_previous_answer_is_served_while_the_next_is_computed() -> None:
    async def main() -> None:
        counted: list[str] = []
        answers = Answers(8, stale_for=300, count=counted.append)
        gate = asyncio.Event()

        async def first() -> bytes:
            return b"one"

        async def second() -> bytes:
            await gate.wait()
            return b"two"

        assert (await answers.get("k", 1, first, 30)).body == b"one"
        served = await answers.get("k", 2, second, 30)  # a new step: the old answer at once, the new one computed
        assert served.body == b"one" and served.generation == 1
        assert (await answers.get("k", 2, second, 30)).body == b"one"  # still computing: one flight, old answer
        gate.set()
        for _ in range(10):
            await asyncio.sleep(0)
        fresh = await answers.get("k", 2, second, 30)
        assert fresh.body == b"two" and fresh.generation == 2
        assert counted == ["miss", "stale", "stale", "hit"]

    run(main())


def test_a_failed_background_computation_keeps_the_old_answer_and_is_retried() -> None:
    async def main() -> None:
        answers = Answers(8, stale_for=300)
        tries: list[int] = []

        async def ok() -> bytes:
            return b"ok"

        async def broken() -> bytes:
            tries.append(1)
            raise RuntimeError("upstream down")

        await answers.get("k", 1, ok, 30)
        assert (await answers.get("k", 2, broken, 30)).body == b"ok"
        for _ in range(5):
            await asyncio.sleep(0)
        assert (await answers.get("k", 2, broken, 30)).body == b"ok"  # the next request tries again
        for _ in range(5):
            await asyncio.sleep(0)
        assert len(tries) == 2

    run(main())


def test_too_old_an_answer_is_not_served_and_errors_reach_the_waiter() -> None:
    async def main() -> None:
        answers = Answers(8, stale_for=0)

        async def ok() -> bytes:
            return b"ok"

        async def broken() -> bytes:
            raise RuntimeError("upstream down")

        await answers.get("k", 1, ok, 30)
        with pytest.raises(RuntimeError):
            await answers.get("k", 2, broken, 30)
        assert (await answers.get("k", 2, ok, 30)).body == b"ok"

    run(main())


def test_a_waiter_that_gives_up_does_not_cancel_the_computation() -> None:
    async def main() -> None:
        answers = Answers(8, stale_for=300)
        gate = asyncio.Event()

        async def slow() -> bytes:
            await gate.wait()
            return b"late"

        with pytest.raises(TimeoutError):
            await answers.get("k", 1, slow, 0)
        gate.set()
        assert (await answers.get("k", 1, slow, 30)).body == b"late"

    run(main())


# ---------------------------------------------------------------- answers encoded in pieces (httpparts.json_parts)
_SHAPES = [
    [], {}, ["text"], 3, 1.5e-300, None, True, [[[1]]], {"a": {"b": {"c": []}}},
    {"é": ["ü\u2028", {"\x1e": None}], "rho": -0.0, "n": 2**62},
    [{"a": "container_cpu_usage", "b": "pod_network_receive_bytes", "scope": {"namespace": "shop", "pod": f"p-{i}"},
      "rho": 0.91 - i / 1000, "p": 1e-12, "derived": False, "phase": None} for i in range(50)],
]


@pytest.mark.parametrize("value", _SHAPES, ids=range(len(_SHAPES)))
def test_an_answer_encoded_in_pieces_is_json_dumps_byte_for_byte(value: object) -> None:
    import json

    from generator.correlate.httpparts import encoded

    expected = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()
    assert encoded(lambda _deadline: value, 0.0) == expected


def test_a_non_finite_number_deep_in_an_answer_is_still_refused() -> None:
    from generator.correlate.httpparts import encoded

    with pytest.raises(ValueError, match="Out of range float"):
        encoded(lambda _deadline: {"findings": [{"rho": 0.5}, {"rho": float("nan")}]}, 0.0)
