"""`clusters: single|multi` in stereo.yaml: a single-cluster site gets no cluster picker (the variable stays, hidden,
so `$cluster` and links keep working); a wrong value is one line naming file:line and key, exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest
from dashboard_helpers import prior, render, site

from generator.cli import main
from generator.config import load


def _cluster_vars(config_path: Path | None) -> dict[str, dict]:
    components, config = site(load(config_path))
    boards = render(components, config, prior(components))
    assert len(boards) >= 14
    return {path: next(v for v in dash["templating"]["list"] if v["name"] == "cluster")
            for path, dash in boards.items()}


def test_a_single_cluster_site_hides_the_cluster_variable(tmp_path: Path) -> None:
    conf = tmp_path / "stereo.yaml"
    conf.write_text("cluster_label: k8s_cluster\nclusters: single\n")
    assert load(conf).clusters == "single"
    for path, var in _cluster_vars(conf).items():
        assert var["hide"] == 2, path
        assert var["query"]["query"] == "label_values(up, k8s_cluster)", path  # still feeds $cluster


def test_clusters_defaults_to_multi_and_shows_the_picker() -> None:
    assert load(None).clusters == "multi"
    assert all(var.get("hide", 0) == 0 for var in _cluster_vars(None).values())


@pytest.mark.parametrize("value", ["one", "2", "[single]"])
def test_a_wrong_clusters_value_is_one_line_and_exit_2(tmp_path: Path, value: str,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    conf = tmp_path / "stereo.yaml"
    conf.write_text(f"profile: managed\nclusters: {value}\n")
    out = tmp_path / "out"
    assert main(["generate", "--config", str(conf), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"stereo: {conf}:2: clusters: expected one of single, multi, got ")
    assert not out.exists()
