"""The grid of every generated dashboard, as `stereo preview` sees it (collapsed rows opened): no overlaps, no
hole wider than 6 columns, nothing past the 24 columns; long dashboards fold their lower rows; the preview
draws every panel with its title."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from dashboard_helpers import leaves, prior, render, site

from generator import preview
from generator.cli import main
from generator.config import load
from generator.correlations import Pair

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def boards() -> dict[str, dict[str, Any]]:
    components, config = site()
    return render(components, config, prior(components))


def test_every_dashboard_has_no_overlap_no_wide_hole_and_fits_24_columns(boards: dict[str, dict[str, Any]]) -> None:
    assert len(boards) >= 14
    assert {path: preview.problems(dash) for path, dash in boards.items()} == {path: [] for path in boards}
    for path, dash in boards.items():
        assert preview.holes(dash) <= preview.MAX_HOLE, path
        assert all(b.x >= 0 and b.x + b.w <= 24 for b in preview.boxes(dash)), path


@pytest.mark.parametrize("settings", ["profile: managed\n", "clusters: single\nservices: [{preset: ingress-nginx}]\n"])
def test_other_sites_and_correlations_keep_the_grid_clean(tmp_path: Path, settings: str) -> None:
    conf = tmp_path / "stereo.yaml"
    conf.write_text(settings)
    components, config = site(load(conf))
    names = sorted(s.name for c in components for s in c.signals)
    # a measured pair joining two components' panels, on top of the prior
    measured = [Pair(names[0], names[-1], rho=0.8, n=300, critical=0.15, window="6h", stability=0.9,
                     source="measured", relation="Made up ↔ for the test")]
    boards = render(components, config, [*measured, *prior(components)])
    assert len(boards) >= 10
    assert {path: preview.problems(dash) for path, dash in boards.items()} == {path: [] for path in boards}


def test_the_committed_dashboards_pass_the_same_checks() -> None:
    files = sorted((ROOT / "dashboards").glob("*.json"))
    assert len(files) >= 14
    for path in files:
        assert preview.problems(json.loads(path.read_text())) == [], path.name


def test_the_checks_catch_an_overlap_a_hole_and_a_panel_past_the_grid() -> None:
    def panel(title: str, x: int, y: int, w: int, h: int = 8) -> dict[str, Any]:
        return {"title": title, "type": "timeseries", "gridPos": {"x": x, "y": y, "w": w, "h": h}}

    bad = {"panels": [panel("a", 0, 0, 12), panel("b", 6, 4, 12), panel("c", 0, 20, 8), panel("d", 20, 30, 8)]}
    found = preview.problems(bad)
    assert "'b' overlaps 'a'" in found
    assert any(line.startswith("line 20: a hole of 16 columns at 8..24") for line in found)
    assert "'d' spans columns 20..28, outside 0..24" in found
    assert preview.holes({"panels": [panel("a", 0, 0, 17)]}) == 7
    assert preview.problems({"panels": [panel("a", 0, 0, 18)]}) == []  # a 6-column hole is allowed


def test_collapsed_rows_are_opened_below_their_row_and_push_the_rest_down() -> None:
    inner = [{"title": "x", "type": "stat", "gridPos": {"x": 0, "y": 50, "w": 24, "h": 5}}]
    dash = {"panels": [{"title": "r1", "type": "row", "collapsed": True, "panels": inner,
                        "gridPos": {"x": 0, "y": 0, "w": 24, "h": 1}},
                       {"title": "r2", "type": "row", "gridPos": {"x": 0, "y": 1, "w": 24, "h": 1}}]}
    got = {b.title: (b.y, b.h, b.collapsed) for b in preview.boxes(dash)}
    assert got == {"r1": (0, 1, True), "x": (1, 5, False), "r2": (6, 1, False)}


def test_long_dashboards_fold_their_lower_rows_and_short_ones_do_not(boards: dict[str, dict[str, Any]]) -> None:
    for path, dash in boards.items():
        rows = [p for p in dash["panels"] if p["type"] == "row"]
        bottom = max(b.y + b.h for b in preview.boxes(dash))
        folded = [r for r in rows if r.get("collapsed")]
        if bottom > 60:
            assert folded, path
        assert not rows[0].get("collapsed"), path  # the first section is always open
        for row in folded:
            assert row["panels"], (path, row["title"])
    apiserver = boards["dashboards/kube-apiserver.json"]
    titles = [p["title"] for p in apiserver["panels"] if p["type"] == "row" and p.get("collapsed")]
    assert "Kubernetes API server: latency" in titles
    assert not any(p.get("collapsed") for p in boards["dashboards/pair.json"]["panels"])


def test_preview_svg_draws_every_panel_with_its_title(boards: dict[str, dict[str, Any]], tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    source = ROOT / "dashboards" / "overview.json"
    out = tmp_path / "overview.svg"
    assert main(["preview", str(source), "--svg", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("<svg ")
    dash = json.loads(source.read_text())
    for panel in leaves(dash):
        short = panel["title"][:10].replace("&", "&amp;").replace("<", "&lt;")
        assert short in text, panel["title"]
    assert text.count("<rect ") == len(preview.boxes(dash)) + 1  # the background, then one per panel and row
    assert "0 layout problem(s)" in capsys.readouterr().out


def test_preview_reports_a_broken_file_in_one_line_with_exit_2(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["preview", str(bad), "--svg", str(tmp_path / "x.svg")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"stereo: {bad}: not a readable dashboard")
    assert not (tmp_path / "x.svg").exists()


@pytest.mark.skipif(shutil.which("chromium") is None, reason="chromium (Debian) draws the SVG preview")
def test_chromium_renders_the_svg_preview(tmp_path: Path) -> None:
    svg = tmp_path / "kubelet.svg"
    assert main(["preview", str(ROOT / "dashboards" / "kubelet.json"), "--svg", str(svg)]) == 0
    png = tmp_path / "kubelet.png"
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", f"--screenshot={png}",
                    "--window-size=1000,1400", svg.as_uri()], check=True, capture_output=True, timeout=120)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.stat().st_size > 5000


def test_preview_png_draws_with_matplotlib(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="the correlate extra installs matplotlib")
    png = tmp_path / "nodes.png"
    assert main(["preview", str(ROOT / "dashboards" / "nodes.json"), "--png", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 5000
