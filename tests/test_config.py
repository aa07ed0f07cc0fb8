"""Site settings: the broken-config corpus, defaults, and that a bad config changes no file."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from generator import cli, pipeline, yamlio
from generator.config import DEFAULT_SELECTORS, ConfigError, load

BROKEN = sorted((Path(__file__).parent / "configs" / "broken").glob("*.yaml"))


def _expected(path: Path) -> str:
    """The first line, `# expect: ...`, is ASCII/UTF-8 even when the rest of the file is not."""
    first = path.read_bytes().removeprefix(b"\xef\xbb\xbf").split(b"\n", 1)[0].decode("utf-8")
    assert first.startswith("# expect: "), f"{path.name} must start with '# expect: '"
    return first.removeprefix("# expect: ")


def _snapshot(tree: Path) -> dict[str, str]:
    """Relative path → sha256 of every file under `tree` (os.walk: half the CPU of rglob, run once per case)."""
    out = {}
    for top, _, names in os.walk(tree):
        rel = os.path.relpath(top, tree)
        for name in names:
            with open(os.path.join(top, name), "rb") as f:
                out[name if rel == "." else f"{rel}/{name}"] = hashlib.sha256(f.read()).hexdigest()
    return out


def test_corpus_is_large_enough() -> None:
    assert len(BROKEN) >= 150


@pytest.fixture(scope="module")
def populated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A generated site and its files' hashes as generated: every broken config below leaves them so."""
    out = tmp_path_factory.mktemp("site")
    assert cli.main(["generate", "--out", str(out)]) == 0
    return out, _snapshot(out)


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_config(path: Path, populated: tuple[Path, dict[str, str]],
                       capsys: pytest.CaptureFixture[str]) -> None:
    site, generated = populated
    code = cli.main(["generate", "--config", str(path), "--out", str(site)])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"stereo: {path}"), lines[0]
    assert _expected(path) in lines[0]
    assert _snapshot(site) == generated, "a broken config must not change any output file"


def test_messages_point_at_the_line() -> None:
    path = Path(__file__).parent / "configs" / "broken" / "patch_bad_severity.yaml"
    with pytest.raises(ConfigError, match=rf"^{path}:4: patch.CoreDNSDown.severity: expected one of"):
        load(path)


def test_name_errors_point_at_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Names are checked after the catalog is built, and still reported at their line in the file."""
    cfg = tmp_path / "stereo.yaml"
    cfg.write_text("profile: managed\nexclude:\n  alerts:\n    - CoreDNSDown\n    - CoreDNSPanik\n")
    code = cli.main(["generate", "--config", str(cfg), "--out", str(tmp_path / "out")])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"stereo: {cfg}:5: exclude.alerts[1]: CoreDNSPanik is not a known alert; "
                          "closest: CoreDNSPanic,"), err
    assert err.count("\n") == 1
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def test_real_exit_code_and_stderr(tmp_path: Path) -> None:
    cfg = tmp_path / "stereo.yaml"
    cfg.write_text("profile: serverless\n")
    proc = subprocess.run([sys.executable, "-m", "generator", "generate", "--config", str(cfg), "--out", str(tmp_path)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2
    assert proc.stderr == f"stereo: {cfg}:1: profile: expected one of self-managed, managed, got \"serverless\"\n"
    assert proc.stdout == ""


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load(tmp_path / "nope.yaml")


def test_defaults_and_merge(tmp_path: Path) -> None:
    cfg = tmp_path / "stereo.yaml"
    cfg.write_text("slo:\n  objective: 0.995\nselectors:\n  coredns: '{job=\"kube-dns\"}'\n")
    config = load(cfg)
    assert config.slo_objective == 0.995
    assert config.slo_read_latency == "1s"  # the rest of the mapping keeps its defaults
    assert config.selectors["coredns"] == 'job="kube-dns"'
    assert config.selectors["etcd"] == DEFAULT_SELECTORS["etcd"]
    assert load(None) == load(_empty(tmp_path))


def _empty(tmp_path: Path) -> Path:
    p = tmp_path / "empty.yaml"
    p.write_text("# nothing set\n")
    return p


# one of each kind through the real process: exit status, stderr and stdout exactly as a shell sees them
REAL = ["encoding_latin1_value", "alias_billion_laughs", "depth_flow_maps", "number_threshold_400_digits",
        "regex_backreference", "template_runbook_unclosed", "integration_unknown_receiver", "duplicate_top_key"]


@pytest.mark.parametrize("name", REAL)
def test_hostile_configs_through_the_cli(tmp_path: Path, name: str) -> None:
    path = Path(__file__).parent / "configs" / "broken" / f"{name}.yaml"
    proc = subprocess.run([sys.executable, "-m", "generator", "generate", "--config", str(path), "--out",
                           str(tmp_path)], capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith(f"stereo: {path}:")
    assert _expected(path) in proc.stderr
    assert list(tmp_path.iterdir()) == []


def _group_intervals(config_text: str | None, tmp_path: Path) -> dict[str, str]:
    """Group name -> interval over every generated rules/ and alerts/ file of the site `config_text` sets."""
    config = None
    if config_text is not None:
        config = tmp_path / "stereo.yaml"
        config.write_text(config_text, encoding="utf-8")
    files = pipeline.generate(load(config))
    return {g["name"]: g["interval"] for path, text in files.items() if path.startswith(("rules/", "alerts/"))
            for g in yamlio.load(text)["groups"]}


@pytest.mark.parametrize(("text", "pods", "rest"), [
    (None, "2m", "1m"),  # the defaults: the per-pod groups every other round
    ("evaluation_interval: 30s\n", "1m", "30s"),
    ("evaluation_interval: 90s\n", "2m", "90s"),  # twice, but at most 2m
    ("evaluation_interval: 5m\n", "5m", "5m"),  # never less often than the rest
    ("pod_evaluation_interval: 1m\n", "1m", "1m"),  # a site that wants one-minute pod records
    ("evaluation_interval: 30s\npod_evaluation_interval: 4m\n", "4m", "30s"),
])
def test_per_pod_groups_evaluate_at_the_pod_interval(tmp_path: Path, text: str | None, pods: str,
                                                     rest: str) -> None:
    intervals = _group_intervals(text, tmp_path)
    per_pod = {"workloads.rules", "workloads.rules.state", "workloads.rules.network", "services.rules"}
    assert {name: intervals[name] for name in per_pod} == dict.fromkeys(per_pod, pods)
    # every other group keeps evaluation_interval (the long-window groups their own 5m or more); the alerts too,
    # so an alert on a per-pod record reads it at most one pod interval old
    others = {name: every for name, every in intervals.items() if name not in per_pod}
    assert "workloads.alerts" in others and "kube-apiserver.rules.long" in others
    assert {every for name, every in others.items() if not name.endswith(".long")} == {rest}
