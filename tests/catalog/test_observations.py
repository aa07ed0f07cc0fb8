"""helpers.observations: the one picker of firing and quiet observations for histogram-quantile alerts, with the
comparison (>, >=, <, <=) stated, checked against what histogram_quantile answers for the picked observations."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator import pipeline, writer
from generator.catalog.helpers import COMPARE, Observations, bucket_quantile, observations, quantile_cases
from generator.config import ConfigError, load
from generator.context import Context
from tests.promtool_run import promtool

DEF = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)  # client_golang DefBuckets
DOUBLING = (0.001, 0.002, 0.004, 0.008, 0.016, 0.032, 0.064, 0.128, 0.256, 0.512, 1.024, 2.048, 4.096, 8.192, 16.384)
CERT = (0, 1800, 3600, 7200, 21600, 43200, 86400, 172800, 345600, 604800, 2592000)


@pytest.mark.parametrize(("bounds", "t", "op", "q", "expected"), [
    # the first bucket wholly above the threshold; quiet at the largest bound at most half of it
    (DEF, 0.3, ">", 0.99, Observations(1, 0.5 + 0.5 * 0.99, 0.1)),
    # a threshold just under a bound: the bucket it ends (1.024) would interpolate to 1.0189, under 1.02
    (DOUBLING, 1.02, ">", 0.99, Observations(2.048, 1.024 + 1.024 * 0.99, 0.256)),
    # past the last bucket histogram_quantile answers the last bound: `>= 10` fires there, `> 10` cannot
    (DEF, 10, ">=", 0.99, Observations(20, 10, 5)),
    (DEF, 9, ">", 0.99, Observations(20, 10, 2.5)),
    # no bound at most half the threshold: the largest bound at most the threshold
    ((1, 2, 4), 1.5, ">", 0.99, Observations(4, 2 + 2 * 0.99, 1)),
    # no bound at or under the threshold either: the first bucket, whose p99 is 0.99, is quiet for `> 0.99`
    ((1, 2, 4), 0.99, ">", 0.99, Observations(2, 1 + 0.99, 1)),
    # a certificate lifetime: fires below, at the last bucket wholly under the threshold
    (CERT, 86400, "<", 0.01, Observations(86400, 43200 + 43200 * 0.01, 172800)),
    (CERT, 7 * 86400, "<", 0.01, Observations(604800, 345600 + 259200 * 0.01, 2592000)),
    ((10, 20), 20, "<", 0.5, Observations(20, 15, 40)),
    ((10, 20), 10, "<=", 0.5, Observations(10, 5, 20)),
])
def test_picks(bounds: tuple[float, ...], t: float, op: str, q: float, expected: Observations) -> None:
    got = observations(bounds, t, op, q)
    assert (got.fire, got.quiet) == (expected.fire, expected.quiet)
    assert got.value == pytest.approx(expected.value)
    # what promtool's histogram_quantile answers for the picked observations decides, not the picker's word
    fire_q = got.value if got.fire > bounds[-1] else bucket_quantile(bounds, got.fire, q)
    assert fire_q == pytest.approx(got.value)
    assert COMPARE[op](fire_q, t)
    quiet_q = bounds[-1] if got.quiet > bounds[-1] else bucket_quantile(bounds, got.quiet, q)
    assert not COMPARE[op](quiet_q, t)


@pytest.mark.parametrize(("bounds", "t", "op", "message"), [
    (DEF, 10, ">", "10 is at or above the largest finite bucket 10; histogram_quantile never exceeds it, so the "
                   "alert could never fire"),
    (DEF, 11, ">=", "11 is above the largest finite bucket 10; histogram_quantile never exceeds it, so the alert "
                    "could never fire"),
    ((1, 2, 4), 0.99, ">=", "0.99 is below what the smallest bucket 1 can tell apart, so the alert could never "
                            "stay quiet"),
    (DEF, 0.004, ">", "0.004 is below what the smallest bucket 0.005 can tell apart, so the alert could never "
                      "stay quiet"),
    ((10, 20), 5, "<", "5 is below what the smallest bucket 10 can tell apart, so the alert could never fire"),
    ((10, 20), 20, "<=", "20 is at or above the largest finite bucket 20; histogram_quantile never exceeds it, so "
                         "the alert could never stay quiet"),
])
def test_a_threshold_the_buckets_cannot_express_says_why(bounds: tuple[float, ...], t: float, op: str,
                                                         message: str) -> None:
    with pytest.raises(ValueError) as caught:
        observations(bounds, t, op)
    assert str(caught.value) == message


def test_quantile_cases_reports_the_site_setting(tmp_path: Path) -> None:
    path = tmp_path / "stereo.yaml"
    path.write_text("thresholds:\n  KubeletPlegDurationHigh: 11\n")
    with pytest.raises(ConfigError) as caught:
        quantile_cases(Context(load(path)), "KubeletPlegDurationHigh", DEF, 11, ">=")
    assert str(caught.value) == (f"{path}:2: thresholds.KubeletPlegDurationHigh: 11 is above the largest finite "
                                 "bucket 10; histogram_quantile never exceeds it, so the alert could never fire")


def test_a_threshold_just_under_a_bound_now_generates(tmp_path: Path) -> None:
    """Before one picker, workqueue.histogram_cases put the firing observation in the bucket the threshold ends
    (p99 1.0189 for a 1.02 threshold) and generate refused the site's KubeSchedulerLatencyHigh: 1.02."""
    path = tmp_path / "stereo.yaml"
    path.write_text("thresholds:\n  KubeSchedulerLatencyHigh: 1.02\n  KubeControllerManagerWorkqueueWaitHigh: 0.99\n")
    out = tmp_path / "out"
    writer.write(pipeline.generate(load(path)), out)
    for key in ("kube-scheduler", "kube-controller-manager"):
        ran = promtool("test", "rules", f"tests/rules/{key}.yaml", cwd=out, timeout=600)
        assert ran.returncode == 0 and "SUCCESS" in ran.stdout + ran.stderr, ran.stdout + ran.stderr
