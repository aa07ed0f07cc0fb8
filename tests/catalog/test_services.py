"""services: a preset's histogram inputs come from Context.histogram_passing (its own selector), written exactly as
Context.histogram writes a scrape job's."""

from __future__ import annotations

from pathlib import Path

from generator.catalog import services
from generator.config import load
from generator.context import Context

BUCKETS = (0.1, 0.5, 1)


def test_a_job_histogram_is_the_histogram_passing_its_selector() -> None:
    ctx = Context()
    assert ctx.histogram("etcd", "x_seconds", BUCKETS, 0.3, 2) == ctx.histogram_passing(
        ctx.config.selectors["etcd"], "x_seconds", BUCKETS, 0.3, 2)
    got = ctx.histogram_passing('job=~"web|api"', "x_seconds", BUCKETS, 0.3, 2, pod="p")
    assert got['x_seconds_bucket{cluster="test-cluster",job="web",le="0.5",pod="p"}'] == "0+120x{n}"
    assert got['x_seconds_bucket{cluster="test-cluster",job="web",le="0.1",pod="p"}'] == "0+0x{n}"
    assert set(got) >= {'x_seconds_count{cluster="test-cluster",job="web",pod="p"}',
                        'x_seconds_sum{cluster="test-cluster",job="web",pod="p"}'}


def test_the_http_preset_tests_its_p99_on_series_its_selector_passes(tmp_path: Path) -> None:
    path = tmp_path / "stereo.yaml"
    path.write_text("services:\n  - preset: http\n    selector: 'job=~\"shop-.*\", namespace=\"shop\"'\n")
    comp = services.build(Context(load(path)))
    p99 = next(t for t in comp.rule_tests if t.expr == services.HTTP_Q)
    assert p99.inputs and all('job="shop-' in s and 'namespace="shop"' in s for s in p99.inputs)
    assert {s.split("{")[0] for s in p99.inputs} == {"http_request_duration_seconds_bucket",
                                                      "http_request_duration_seconds_count",
                                                      "http_request_duration_seconds_sum"}
