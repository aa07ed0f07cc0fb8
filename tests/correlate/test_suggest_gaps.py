"""Shared missed scrapes make no pairs (issue 12): raw cAdvisor-style counters scraped every 15 s, served by a
real Prometheus 2.42 (promtool backfill, stopped by pid), with scrape outages shared by every series.

During an outage Prometheus keeps answering for the lookback delta: a gauge repeats its last sample and a
`rate(x[5m])` drains towards the hole, then ramps up from a few samples after it. Every series does that at the
same steps, so two independent pods' CPU and network changes correlate through the outages alone. With the
points a missed scrape reaches made missing (`gaps`), the independent pair is not significant while a planted
pair with the same outages still is."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from generator.config import load
from generator.correlate import gaps, suggest
from generator.correlate.candidates import Candidate
from generator.correlate.source import Source
from generator.correlate.upstream import site_catalog
from generator.simulate.prometheus import Prometheus, backfill

SCRAPE = 15
HOURS = 6
CPU, NET = "container_cpu_usage", "pod_network_receive_bytes"
OUTAGES = (40, 100, 160, 220, 280)  # minutes into the window where every scrape fails for 12 minutes
OUTAGE = 12 * 60
ISOLATED = 0.08  # share of each pod's scrapes missed at random, in the second scenario
STEREO_YAML = "selectors:\n  cadvisor: ''\n  cadvisor_containers: 'container!=\"\"'\n  kube-state-metrics: ''\n"


def _ar(rng: np.random.Generator, n: int, phi: float, sigma: float) -> np.ndarray:
    x = np.zeros(n)
    e = rng.normal(scale=sigma, size=n)
    for k in range(1, n):
        x[k] = phi * x[k - 1] + e[k]
    return x


def _openmetrics(start: int, n: int, window_start: int, isolated: float = 0.0) -> str:
    """Outages shared by every series (and a rollout); or, with `isolated`, no outage but that share of each
    pod's scrapes missed at random (its CPU and network share the misses: one scrape target)."""
    rng = np.random.default_rng(20261207)
    stamps = start + 7 + SCRAPE * np.arange(n)  # scraped 7 s after the query grid's points, as targets are
    outage = np.zeros(n, bool)
    for minute in () if isolated else OUTAGES:
        at = window_start + minute * 60
        outage |= (stamps >= at) & (stamps < at + OUTAGE)
    rows: dict[str, list[str]] = {"container_cpu_usage_seconds_total": [], "container_network_receive_bytes_total": []}
    replaced = start + (n * SCRAPE) * 2 // 5  # a rollout: web-abc until here, web-def after (a new pod)
    pods = ("web-0", *(f"batch-{i}" for i in range(8))) if isolated else ("web-0", "batch-0", "web-abc", "web-def")
    for pod in pods:
        base = f'namespace="shop",pod="{pod}"'
        missed = outage | (rng.random(n) < isolated) if isolated else outage
        present = stamps < replaced if pod == "web-abc" else stamps >= replaced + 60 if pod == "web-def" else \
            np.ones(n, bool)
        if not pod.startswith("batch"):  # planted: one load drives both
            load = _ar(rng, n, 0.995, 0.05)
            cpu = 0.5 * np.exp(load + _ar(rng, n, 0.5, 0.02))
            net = 4e5 * np.exp(load + _ar(rng, n, 0.5, 0.02))
        else:  # independent slow walks, the kind whose rates drain and ramp alike in an outage
            cpu = 0.5 * np.exp(_ar(rng, n, 0.999, 0.03))
            net = 4e5 * np.exp(_ar(rng, n, 0.999, 0.03))
        for metric, rate, labels in (("container_cpu_usage_seconds_total", cpu, base + ',container="app"'),
                                     ("container_network_receive_bytes_total", net, base + ',interface="eth0"')):
            total = np.cumsum(rate * SCRAPE)
            rows[metric] += [f"{metric}{{{labels}}} {v:.4f} {t}" for v, t, m in zip(total, stamps, missed | ~present,
                                                                                     strict=True) if not m]
    lines = []
    for metric, body in rows.items():
        lines += [f"# TYPE {metric.removesuffix('_total')} counter", *body]
    return "\n".join([*lines, "# EOF"]) + "\n"


def _serve(tmp_path_factory: pytest.TempPathFactory, isolated: float) -> Iterator[tuple[str, int, int, Path]]:
    assert shutil.which("promtool") and shutil.which("prometheus"), "promtool and prometheus are needed"
    work = tmp_path_factory.mktemp("gaps")
    end = int(time.time()) // 60 * 60 - 300
    window_start = end - HOURS * 3600
    start = window_start - 900  # 15 minutes of history so 5m rates exist at the window's start
    om = work / "gaps.om"
    om.write_text(_openmetrics(start, (end - start) // SCRAPE + 1, window_start, isolated), encoding="utf-8")
    backfill(om, work / "data")
    (work / "stereo.yaml").write_text(STEREO_YAML, encoding="utf-8")
    prom = Prometheus(work, [], data_dir=work / "data")
    try:
        prom.start()
        yield prom.url, window_start, end, work
    finally:
        prom.stop()


@pytest.fixture(scope="module")
def outages(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, int, Path]]:
    yield from _serve(tmp_path_factory, 0.0)


@pytest.fixture(scope="module")
def isolated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int, int, Path]]:
    yield from _serve(tmp_path_factory, ISOLATED)


def _measure(url: str, start: int, end: int, work: Path) -> dict[str, tuple[float, bool]]:
    config = load(work / "stereo.yaml")
    catalog = site_catalog(config)
    todo = {CPU: [Candidate(catalog.signals[NET], "scope", catalog.home(NET))]}
    source = Source(url)
    try:
        m = suggest.measure(source, catalog, todo, [], config.cluster_label,
                            suggest.Options(window=end - start, step=60, regimes=False, scrape_check=True), end,
                            start=start)
    finally:
        source.close()
    return {f.scope["pod"]: (f.rho, f.significant) for f in m.objects if {f.a, f.b} == {CPU, NET}}


def test_shared_outages_make_no_pair_and_a_planted_pair_survives(outages: tuple[str, int, int, Path]) -> None:
    url, start, end, work = outages
    found = _measure(url, start, end, work)
    assert found.get("web-0", (0.0, False))[1], found  # the planted pair, outages and all
    assert found["web-0"][0] > 0.5
    assert "batch-0" not in found, found  # independent series with shared outages: not a finding


def test_without_guards_the_outages_alone_make_a_pair(outages: tuple[str, int, int, Path],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The hazard is real on this data: with the stale points kept (no widening, no sample counts), the
    independent pod's CPU and network come out significant — so the test above can fail. Widening alone
    (no sample counts) is enough for outages."""
    url, start, end, work = outages
    monkeypatch.setattr(gaps, "missed", lambda counts, reach: np.zeros(counts.shape, bool))
    assert "batch-0" not in _measure(url, start, end, work)
    monkeypatch.setattr(gaps, "widen", lambda values, width: values)
    found = _measure(url, start, end, work)
    assert found.get("batch-0", (0.0, False))[1], found


def test_a_replaced_pod_is_reported_as_partly_present(outages: tuple[str, int, int, Path]) -> None:
    """Through the CLI as a user runs it: the rollout's two pods are each found, flagged `partial`, and named
    once on stderr; the pods present all along are not partial."""
    url, start, end, work = outages
    cmd = [sys.executable, "-m", "generator", "suggest", "--prometheus", url, "--start", str(start), "--end",
           str(end), "--step", "60s", "--targets", CPU, "--json", "findings.json", "--out", "correlations.yaml",
           "--no-regimes"]
    run = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    found = [f for f in json.loads((work / "findings.json").read_text())
             if f["significant"] and {f["a"], f["b"]} == {CPU, NET}]
    by_pod = {f["scope"]["pod"]: f for f in found}
    assert set(by_pod) == {"web-0", "web-abc", "web-def"}, sorted(by_pod)
    points = (end - start) // 60  # changes between the window's points ("diff")
    assert all(f["points"] == points for f in found)
    # web-0 misses 30 % of its points to the outages, but it was there all along: not partial
    assert not by_pod["web-0"]["partial"] and by_pod["web-0"]["n"] < 0.8 * points <= by_pod["web-0"]["present"]
    assert by_pod["web-abc"]["partial"] and by_pod["web-def"]["partial"]
    # web-abc: from the window's start to 40 % of the data (which starts 15 minutes before the window)
    assert 0.3 * points < by_pod["web-abc"]["present"] < 0.4 * points
    assert 0.55 * points < by_pod["web-def"]["present"] < 0.65 * points
    assert by_pod["web-abc"]["n"] < by_pod["web-abc"]["present"]  # outages inside its span
    lines = [line for line in run.stderr.splitlines() if "partly present:" in line]
    assert len(lines) == 2, run.stderr[-2000:]
    assert f"partly present: namespace=shop, pod=web-abc: there for {by_pod['web-abc']['present']} of the " \
        f"window's {points} points" in lines[0]
    assert "pod=web-def" in lines[1]


def test_single_missed_scrapes_make_no_pair(isolated: tuple[str, int, int, Path]) -> None:
    """8 % of each pod's scrapes missed at random, no outage: no hole on the grid, but each miss dips both rates
    of the pod at the same point. With those points marked (`coverage` counts), no independent pod is a finding
    and the planted one still is."""
    url, start, end, work = isolated
    found = _measure(url, start, end, work)
    assert found.get("web-0", (0.0, False))[1], found
    assert [pod for pod, (_, sig) in found.items() if sig and pod != "web-0"] == [], found


def test_without_counting_samples_single_misses_make_pairs(isolated: tuple[str, int, int, Path],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    url, start, end, work = isolated
    monkeypatch.setattr(gaps, "missed", lambda counts, reach: np.zeros(counts.shape, bool))
    found = _measure(url, start, end, work)
    biased = sorted(pod for pod, (rho, sig) in found.items() if sig and pod != "web-0" and rho > 0)
    assert len(biased) >= 3, found


def test_the_cli_checks_scrapes_unless_told_not_to(isolated: tuple[str, int, int, Path]) -> None:
    """`stereo suggest` as a user runs it: by default the independent pods are not findings; with
    --no-scrape-check (one query fewer per signal) the single misses' bias is back."""
    url, start, end, work = isolated
    found: dict[str, set[str]] = {}
    for flags in ([], ["--no-scrape-check"]):
        cmd = [sys.executable, "-m", "generator", "suggest", "--prometheus", url, "--start", str(start), "--end",
               str(end), "--step", "60s", "--targets", CPU, "--json", "findings.json", "--out", "correlations.yaml",
               "--no-regimes", *flags]
        run = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=600, check=False)
        assert run.returncode == 0, run.stderr[-3000:]
        found[" ".join(flags)] = {f["scope"]["pod"] for f in json.loads((work / "findings.json").read_text())
                                  if f["significant"] and {f["a"], f["b"]} == {CPU, NET}}
    assert found[""] == {"web-0"}
    assert "web-0" in found["--no-scrape-check"] and len(found["--no-scrape-check"]) >= 4, found


def test_missed_marks_steps_with_fewer_samples_than_usual() -> None:
    counts = np.array([[4, 4, 3, 4, np.nan, 4, 4], [np.nan] * 7, [2, 2, 2, 1, 2, 2, 2]], dtype=float)
    assert gaps.missed(counts, 3).tolist() == [[False, False, True, False, True, False, True], [False] * 7,
                                               [False, False, False, True, False, True, False]]
    assert gaps.missed(counts, 1)[0].tolist() == [False, False, True, False, True, False, False]
    q = gaps.coverage('sum by (pod) (rate(x_total{pod=~"$pod",a="}["}[5m]))', ["cluster", "pod"], 60)
    assert q == 'min by (cluster, pod) (count_over_time(x_total{pod=~"$pod",a="}["}[60s]))'
    assert gaps.coverage("sum(rate(x_total[1h]))", ["pod"], 30) == "min by (pod) (count_over_time(x_total[30s]))"
    assert gaps.coverage('max by (pod) (x{a="b"})', ["pod"], 60) is None  # a gauge: holes only
    # the first *range-selected* metric, not the first selector; strings may hold brackets
    assert gaps.coverage('x{a="[1h]"} * on (pod) rate(y_total{b="c"}[5m])', ["pod"], 60) \
        == 'min by (pod) (count_over_time(y_total{b="c"}[60s]))'


def test_widen_marks_the_reach_of_a_hole_and_leaves_window_edges() -> None:
    x = np.arange(20, dtype=float)[None, :].repeat(3, axis=0)
    x[0, 8:10] = np.nan  # an interior hole
    x[1, :4] = np.nan  # a series that appears inside the window
    out = gaps.widen(x, 2)
    assert np.flatnonzero(np.isnan(out[0])).tolist() == [6, 7, 8, 9, 10, 11]
    assert np.flatnonzero(np.isnan(out[1])).tolist() == [0, 1, 2, 3, 4, 5]
    assert not np.isnan(out[2]).any() and out[2].tolist() == x[2].tolist()  # no hole: untouched, edges too
    assert gaps.widen(x[2:], 3) is x[2:] or np.array_equal(gaps.widen(x[2:], 3), x[2:])
    assert np.isnan(gaps.widen(np.full((1, 5), np.nan), 2)).all()


@pytest.mark.parametrize(("expr", "seconds"), [
    ("foo", 300),
    ("rate(foo[5m])", 300),
    ("sum(rate(foo[1h])) / sum(rate(bar[5m]))", 3600),
    ("max_over_time(foo[10m:1m])", 600),
    ("rate(foo[$__rate_interval])", 300),
    ('rate(foo{path="/x[1h]"}[5m])', 300),  # a bracket inside a matcher's string is no range
])
def test_reach_is_the_lookback_or_the_longest_range(expr: str, seconds: int) -> None:
    assert gaps.reach(expr) == seconds
    assert gaps.points(expr, 60) == seconds // 60
