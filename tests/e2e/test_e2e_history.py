"""Recorded series get hours of history from the rule backfill, down to rules built on other recorded series,
and the backfill is deterministic: every level on one evaluation grid, the same series on a rerun — both ways
of writing it: `promtool tsdb create-blocks-from rules` (backfill_rules, `stereo backfill`) and range queries
loaded as OpenMetrics (record_rules, the demo and the labs): the same queries, on grids a hashed offset apart."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from e2e.conftest import need_prometheus
from e2e.lab import Lab

from generator.simulate.prometheus import Prometheus, backfill, backfill_rules
from generator.simulate.rulehistory import record_rules

WAYS = {"promtool-rules": backfill_rules, "range-queries": record_rules}


def test_recorded_series_have_hours_of_history(recorded_lab: Lab) -> None:
    prom = recorded_lab.prometheus
    for record in ("cluster_namespace_pod_container:container_cpu_usage_seconds:rate5m",  # reads raw series
                   "namespace_pod_quantile:http_request_duration_seconds:histogram_quantile",  # reads a recorded one
                   "cluster_slo:apiserver_slo_errors:ratio_rate30d"):  # four levels up
        # at the lab's own end, not "now": the answer does not depend on how long the session has run
        points = prom.query(f'min(count_over_time({record}{{cluster="healthy"}}[6h]))', at=recorded_lab.end)
        assert points and float(points[0]["value"][1]) > 300, (record, points, recorded_lab.timings)


STEP, HOURS = 60, 2
# two files, three levels, two intervals: what used to give each file (and each level) its own grid
RULES = ["""groups:
- name: first.rules
  interval: 1m
  rules:
  - record: job:x:rate5m
    expr: sum by (job) (rate(x_total[5m]))
  - record: job:x:labelled
    expr: sum by (job) (x_total)
    labels:
      job: relabelled
      source: rule
""", """groups:
- name: second.rules
  interval: 1m
  rules:
  - record: job:x:double
    expr: 2 * job:x:rate5m
  - record: job:x:plus_one
    expr: job:x:double + 1
- name: second.rules.long
  interval: 5m
  rules:
  - record: job:x:avg1h
    expr: avg_over_time(job:x:rate5m[1h])
"""]


def _recorded(tmp: Path, end: int, way: str) -> dict[str, list[tuple[float, str]]]:
    """Backfill x_total (a counter growing by a varying amount each minute) and RULES into a fresh server;
    every recorded sample by series name."""
    lines = ["# TYPE x counter"]
    total = 0
    for i in range(HOURS * 3600 // STEP + 1):
        total += (i * 7919) % 13  # increments that vary from step to step: a shifted series would not match
        lines.append(f'x_total{{job="j"}} {total} {end - HOURS * 3600 + i * STEP}')
    om = tmp / "x.om"
    om.write_text("\n".join([*lines, "# EOF"]) + "\n")
    prom = Prometheus(tmp, [])
    backfill(om, prom.data)
    try:
        prom.start()
        WAYS[way](prom, RULES, end - HOURS * 3600 + 600, end - 60, workers=2)
        out = {}
        for name in ("job:x:rate5m", "job:x:double", "job:x:plus_one", "job:x:avg1h", "job:x:labelled"):
            (series,) = prom.query(f"{name}[{HOURS}h]", at=end)
            out[name] = [(float(t), v) for t, v in series["values"]]
        # the rule's labels over the query's, the record as the name
        assert series["metric"] == {"__name__": "job:x:labelled", "job": "relabelled", "source": "rule"}
        # what the server's own evaluation of the first rule gives at each recorded timestamp
        out["rate5m@"] = [(t, prom.query("sum by (job) (rate(x_total[5m]))", at=t)[0]["value"][1])
                          for t, _ in out["job:x:rate5m"][::7]]
        return out
    finally:
        prom.stop()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[dict[str, list[tuple[float, str]]], ...]]:
    """Each way, twice, on the same data."""
    need_prometheus()
    end = 1_700_000_040  # a fixed, step-aligned end: the series depend on nothing else
    return {way: tuple(_recorded(tmp_path_factory.mktemp(f"{way}-{k}"), end, way) for k in range(2)) for way in WAYS}


@pytest.fixture(params=list(WAYS))
def two_runs(request: pytest.FixtureRequest, runs: dict[str, tuple[dict[str, list[tuple[float, str]]], ...]]
             ) -> tuple[dict[str, list[tuple[float, str]]], ...]:
    return runs[request.param]


def test_both_ways_record_the_same_series_on_grids_of_one_step(
        runs: dict[str, tuple[dict[str, list[tuple[float, str]]], ...]]) -> None:
    """promtool's importer evaluates a group at a hashed offset from the interval's multiples, the range queries at
    the multiples themselves: the same series, one sample a step, the grids apart by less than a step (what each
    sample holds is the server's own evaluation at its time: the next test, both ways)."""
    importer, queries = runs["promtool-rules"][0], runs["range-queries"][0]
    assert set(importer) == set(queries)
    for name in ("job:x:rate5m", "job:x:double", "job:x:plus_one", "job:x:labelled"):
        a, b = [t for t, _ in importer[name]], [t for t, _ in queries[name]]
        assert len(a) > 10 and abs(len(a) - len(b)) <= 1, name
        steps = [{round(y - x, 3) for x, y in itertools.pairwise(ts)} for ts in (a, b)]
        assert steps == [{STEP}, {STEP}], name


def test_every_level_shares_one_evaluation_grid(two_runs: tuple[dict[str, list[tuple[float, str]]], ...]) -> None:
    run = two_runs[0]
    stamps = [t for t, _ in run["job:x:rate5m"]]
    assert len(stamps) > 100 and all(b - a == STEP for a, b in itertools.pairwise(stamps))
    assert [t for t, _ in run["job:x:double"]] == stamps
    assert [t for t, _ in run["job:x:plus_one"]] == stamps
    # each level reads the level below at its own timestamp, not the step before
    for (_, rate), (_, double), (_, plus) in zip(run["job:x:rate5m"], run["job:x:double"], run["job:x:plus_one"],
                                                 strict=True):
        assert float(double) == pytest.approx(2 * float(rate)) and float(plus) == pytest.approx(float(double) + 1)
    long_stamps = [t for t, _ in run["job:x:avg1h"]]
    assert long_stamps and all((t - stamps[0]) % STEP == 0 for t in long_stamps)
    assert [t for t, _ in run["job:x:labelled"]] == stamps


def test_each_sample_is_the_rule_evaluated_at_its_timestamp(
        two_runs: tuple[dict[str, list[tuple[float, str]]], ...]) -> None:
    run = two_runs[0]
    recorded = dict(run["job:x:rate5m"])
    assert len(run["rate5m@"]) > 10
    for t, value in run["rate5m@"]:
        assert recorded[t] == value, t


def test_a_rerun_gives_the_same_series(two_runs: tuple[dict[str, list[tuple[float, str]]], ...]) -> None:
    first, second = two_runs
    assert first == second
