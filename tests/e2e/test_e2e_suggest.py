"""`stereo suggest` against a real Prometheus over a simulated cluster finds the planted pairs.

The simulator plants four relations on the changes of both signals; everything else moves independently
(or through genuine topology, e.g. a pod's CPU inside its namespace's CPU). Recall is measured against the
planted pairs; precision is reported against them too, counting every other significant pair as a miss,
which understates it: pairs joined by topology are real.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e.conftest import HEALTHY_HOURS
from e2e.lab import Lab

from generator import correlations
from generator.config import load
from generator.correlate import suggest
from generator.layout import Index
from generator.pipeline import build
from generator.simulate import planted_pairs


def _unordered(a: str, b: str) -> frozenset[str]:
    return frozenset((a, b))


@pytest.fixture(scope="module")
def measured(recorded_lab: Lab, tmp_path_factory: pytest.TempPathFactory) -> list[correlations.Pair]:
    out = tmp_path_factory.mktemp("suggest") / "correlations.yaml"
    planted = planted_pairs()
    targets = sorted({a for a, _ in planted})
    # the smooth phase: the last quarter of the simulated hours is congested, where (as in the paper) the
    # planted relations weaken or flip sign, so a window across both phases would mix two regimes
    smooth_end = recorded_lab.end - int(HEALTHY_HOURS * 3600 * 0.25) - 60
    code = suggest.main(["--prometheus", recorded_lab.url, "--window", "4h", "--step", "60s", "--end", str(smooth_end),
                         "--selector", 'cluster="healthy"', "--targets", ",".join(targets), "--out", str(out)])
    assert code == 0
    components, _ = build(load(None))
    return correlations.parse(out.read_text(), str(out), Index(components).signals())


def test_suggest_finds_the_planted_pairs(measured: list[correlations.Pair], capsys: pytest.CaptureFixture[str]) -> None:
    planted = {_unordered(a, b) for a, b in planted_pairs()}
    found = {_unordered(p.a, p.b) for p in measured if p.source == "measured"}
    hits = planted & found
    recall = len(hits) / len(planted)
    precision = len(hits) / len(found) if found else 0.0
    with capsys.disabled():
        print(f"\nstereo suggest vs planted pairs: recall {recall:.2f} ({len(hits)}/{len(planted)}), "
              f"precision {precision:.2f} ({len(hits)}/{len(found)})")
    assert recall >= 0.75, f"planted found: {sorted(map(sorted, hits))}; all found: {sorted(map(sorted, found))}"
    for pair in measured:
        if _unordered(pair.a, pair.b) in hits:
            assert pair.rho is not None and pair.critical is not None and abs(pair.rho) > pair.critical
            assert pair.n >= 30 and pair.stability is not None


def test_the_measured_file_lays_out_the_dashboards(measured: list[correlations.Pair], tmp_path: Path) -> None:
    """What suggest wrote is what generate consumes: the strongest planted pair stands side by side."""
    from generator import cli

    path = tmp_path / "correlations.yaml"
    path.write_text(correlations.dump(measured, {"window": "4h"}))
    assert cli.main(["generate", "--out", str(tmp_path / "out"), "--correlations", str(path)]) == 0
    board = (tmp_path / "out/dashboards/workloads.json").read_text()
    assert "var-a=container_cpu_usage&var-b=pod_network_receive_bytes" in board
