"""generator.correlate.source against a real Prometheus 2.42 and a fault-injecting fake in front of it."""

from __future__ import annotations

import subprocess
import sys
import time
from typing import Any

import numpy as np
import pytest
from promlab import POD, SERIES, STEP, FakePrometheus, Prometheus, free_port, planted

from generator.correlate.source import (
    Auth,
    Hooks,
    QueryRejected,
    RangeCache,
    Source,
    TooManySeries,
    UpstreamBadResponse,
    UpstreamTimeout,
    UpstreamUnavailable,
    align,
)

CPU_SERIES = SERIES["container_cpu_usage"][0]


def here(fn: Any, args: tuple[Any, ...], deadline: float) -> Any:
    """A decoder running decode_range in the calling thread (the service runs it in a worker process)."""
    return fn(*args)


def test_importing_the_wing_does_not_pull_pandas() -> None:
    code = ("import sys; import generator.correlate.source, generator.correlate.suggest, generator.correlate.server; "
            "sys.exit('pandas' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_align_rounds_down_to_the_step() -> None:
    assert align(1000.7, 2001, 60) == (960, 1980)
    with pytest.raises(ValueError):
        align(0, 10, 0)
    with pytest.raises(ValueError):
        align(100, 10, 60)


def test_range_is_aligned_and_matches_the_written_samples(prometheus: Prometheus,
                                                           planted_blocks: tuple[object, int]) -> None:
    _, end = planted_blocks
    source = Source(prometheus.url)
    try:
        res = source.range(CPU_SERIES, end - 3600 + 7, end + 5, STEP)
    finally:
        source.close()
    assert (res.start, res.end, res.step) == (end - 3600, end, STEP)
    assert res.times[0] == end - 3600 and res.times[-1] == end and np.all(np.diff(res.times) == STEP)
    assert len(res.labels) == 1 and res.labels[0]["pod"] == POD and res.labels[0]["__name__"] == CPU_SERIES
    expected = planted()["container_cpu_usage"][-61:]
    np.testing.assert_allclose(res.values[0], expected, rtol=1e-12)


def test_prometheus_answers_take_the_numpy_decoding(prometheus: Prometheus, planted_blocks: tuple[object, int],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Prometheus' own range answers are in the compact shape rangedecode._fast_result reads (else every answer
    would silently go through json, ~1.5x the CPU), and give the same values as through json."""
    import requests

    from generator.correlate import rangedecode

    _, end = planted_blocks
    raw = requests.get(f"{prometheus.url}/api/v1/query_range", timeout=30,
                       params={"query": '{__name__=~".+"}', "start": end - 3600, "end": end, "step": STEP}).content
    fast = rangedecode._fast_result(raw)
    assert fast is not None and len(fast) > 3 and all(isinstance(s["values"], np.ndarray) for s in fast)
    args = (end - 3600, STEP, 61, 10_000, "q", "u")
    kind, keys, values = rangedecode.decode_range(raw, *args)
    monkeypatch.setattr(rangedecode, "_fast_result", lambda _body: None)
    assert kind == "ok" and rangedecode.decode_range(raw, *args)[1] == keys
    np.testing.assert_array_equal(rangedecode.decode_range(raw, *args)[2], values)


@pytest.mark.parametrize("decoder", [None, here])
def test_long_ranges_are_fetched_in_chunks_with_the_same_result(prometheus: Prometheus,
                                                                 planted_blocks: tuple[object, int],
                                                                 decoder: Any) -> None:
    _, end = planted_blocks
    calls: list[int] = []
    whole = Source(prometheus.url)
    chunked = Source(prometheus.url, max_points=50, hooks=Hooks(in_flight=lambda d: calls.append(d) if d > 0 else None),
                     decoder=decoder)
    try:
        a = whole.range(f'{{__name__=~".+", pod="{POD}"}}', end - 6 * 3600, end, STEP)
        b = chunked.range(f'{{__name__=~".+", pod="{POD}"}}', end - 6 * 3600, end, STEP)
    finally:
        whole.close()
        chunked.close()
    assert len(calls) == -(-361 // 50)  # 361 points, at most 50 per request
    assert a.labels == b.labels and len(a.labels) >= 5
    np.testing.assert_array_equal(a.values, b.values)


@pytest.mark.parametrize("decoder", [None, here])
def test_series_limit_and_instant_queries(prometheus: Prometheus, planted_blocks: tuple[object, int],
                                          decoder: Any) -> None:
    _, end = planted_blocks
    source = Source(prometheus.url, max_series=2, decoder=decoder)
    try:
        with pytest.raises(TooManySeries) as err:
            source.range(f'{{__name__=~".+", pod="{POD}"}}', end - 600, end, STEP)
        assert err.value.status == 422 and "narrow the selector" in str(err.value)
        result = source.instant(f"{CPU_SERIES} * 0 + 1", at=end)
        assert len(result) == 1 and result[0][1] == 1.0
    finally:
        source.close()


def test_the_cache_answers_the_same_aligned_range(fake_prometheus: FakePrometheus,
                                                  planted_blocks: tuple[object, int]) -> None:
    _, end = planted_blocks
    seen: list[bool] = []
    source = Source(fake_prometheus.url, cache=RangeCache(4), hooks=Hooks(cache=seen.append))
    try:
        a = source.range(CPU_SERIES, end - 600, end, STEP)
        b = source.range(CPU_SERIES, end - 600 + 30, end + 30, STEP)  # same aligned range
    finally:
        source.close()
    assert a is b and seen == [False, True] and fake_prometheus.requests == 1


def test_credentials_are_sent(fake_prometheus: FakePrometheus) -> None:
    for auth, expected in ((Auth(bearer_token="s3cret"), "Bearer s3cret"), (Auth(basic=("u", "p")), "Basic dTpw")):
        for decoder in (None, here):  # instant; range through the client or as raw bytes for a decoder
            source = Source(fake_prometheus.url, auth=auth, decoder=decoder)
            try:
                source.instant("vector(1)")
                assert fake_prometheus.headers[-1]["Authorization"] == expected
                source.range("vector(1)", 0, 600, 60)
                assert fake_prometheus.headers[-1]["Authorization"] == expected
            finally:
                source.close()


def test_connection_refused_is_unavailable_after_bounded_retries() -> None:
    errors: list[str] = []
    source = Source(f"http://127.0.0.1:{free_port()}", retries=2, backoff=0.05, hooks=Hooks(error=errors.append))
    try:
        with pytest.raises(UpstreamUnavailable) as err:
            source.range("up", 0, 600, 60)
    finally:
        source.close()
    assert err.value.status == 503 and "connection refused" in str(err.value)
    assert errors == ["unavailable"]


@pytest.mark.parametrize(("mode", "text"), [("error500", "HTTP 500: injected fault"), ("garbage", "invalid JSON"),
                                            ("shape", "unexpected response shape")])
@pytest.mark.parametrize("decoder", [None, here])
def test_bad_answers_are_bad_responses(fake_prometheus: FakePrometheus, mode: str, text: str, decoder: Any) -> None:
    fake_prometheus.mode = mode
    errors: list[str] = []
    source = Source(fake_prometheus.url, retries=2, backoff=0.01, decoder=decoder, hooks=Hooks(error=errors.append))
    try:
        with pytest.raises(UpstreamBadResponse) as err:
            source.range("up", 0, 600, 60)
    finally:
        source.close()
    assert err.value.status == 502 and text in str(err.value) and errors == ["bad_response"]
    assert fake_prometheus.requests == (3 if mode == "error500" else 1)  # only 5xx is retried


def test_a_rejected_query_keeps_prometheus_message(prometheus: Prometheus) -> None:
    source = Source(prometheus.url)
    try:
        with pytest.raises(QueryRejected) as err:
            source.range("sum(", 0, 600, 60)
    finally:
        source.close()
    assert err.value.http_status == 400 and "parse error" in str(err.value)


def test_slow_upstream_times_out_at_the_deadline(fake_slow_prometheus: FakePrometheus) -> None:
    fake_slow_prometheus.delay = 60
    in_flight: list[int] = []
    source = Source(fake_slow_prometheus.url, timeout=30, hooks=Hooks(in_flight=in_flight.append))
    try:
        with pytest.raises(UpstreamTimeout) as err:  # 3 s: long enough to reach the fake on a busy machine
            source.range("up", 0, 600, 60, deadline=time.monotonic() + 3)
    finally:
        source.close()
    assert err.value.status == 504 and in_flight == [1, -1] and fake_slow_prometheus.in_flight == 1


def test_a_dribbling_answer_ends_at_the_deadline_and_frees_its_slot() -> None:
    fake = FakePrometheus("http://127.0.0.1:1", mode="dribble")  # a fake: one byte of the answer a second
    errors: list[str] = []
    source = Source(fake.url, timeout=30, max_concurrency=1, hooks=Hooks(error=errors.append))
    try:
        with pytest.raises(UpstreamTimeout) as err:
            source.range("up", 0, 600, 60, deadline=time.monotonic() + 3)
        assert "within the deadline" in str(err.value) and fake.in_flight == 1  # the fake still dribbles
        fake.mode = "reject400"
        with pytest.raises(QueryRejected):  # the one slot is free again: the next query reaches the upstream
            source.range("up", 0, 600, 60, deadline=time.monotonic() + 30)
    finally:
        source.close()
        fake.close()
    assert errors == ["timeout", "rejected"] and fake.requests == 2


@pytest.mark.parametrize("decoder", [None, here])
def test_nan_and_infinities_decode(prometheus: Prometheus, decoder: Any) -> None:
    source = Source(prometheus.url, decoder=decoder)
    try:
        res = source.range('label_replace(vector(0) / 0, "v", "nan", "", "") or label_replace(vector(1) / 0, '
                           '"v", "inf", "", "") or label_replace(vector(-1) / 0, "v", "-inf", "", "")', 0, 600, 60)
    finally:
        source.close()
    by = {lb["v"]: row for lb, row in zip(res.labels, res.values, strict=True)}
    assert np.isnan(by["nan"]).all() and (by["inf"] == np.inf).all() and (by["-inf"] == -np.inf).all()
    assert res.values.shape == (3, 11)


def test_fetch_many_respects_the_concurrency_limit(fake_slow_prometheus: FakePrometheus) -> None:
    fake_slow_prometheus.delay = 0.3
    source = Source(fake_slow_prometheus.url, max_concurrency=2)
    done: list[str] = []
    try:
        out = source.fetch_many([f"vector({i})" for i in range(6)], 0, 600, 60,
                                on_done=lambda q, _: done.append(q))
    finally:
        source.close()
    assert fake_slow_prometheus.max_in_flight == 2 and len(out) == 6 and sorted(done) == sorted(out)


def test_fetch_many_stops_at_an_upstream_fault_and_keeps_query_errors(fake_prometheus: FakePrometheus) -> None:
    source = Source(fake_prometheus.url)
    try:
        out = source.fetch_many(["vector(1)", "sum("], 0, 600, 60)
        assert isinstance(out["sum("], QueryRejected) and out["vector(1)"].values.shape == (1, 11)
        fake_prometheus.mode = "garbage"
        with pytest.raises(UpstreamBadResponse):
            source.fetch_many(["vector(1)", "vector(2)"], 0, 600, 60)
    finally:
        source.close()
