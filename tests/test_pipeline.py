"""The generate pipeline: determinism, profiles, site passes, the drift check and atomic writes."""

from __future__ import annotations

from pathlib import Path

import pytest

from generator import cli, pipeline, writer, yamlio
from generator.config import load
from generator.naming import GENERATED_HEADER


def _cfg(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "stereo.yaml"
    path.write_text(text)
    return path


def _alerts(files: dict[str, str]) -> dict[str, dict]:
    out = {}
    for path, text in files.items():
        if path.startswith("alerts/"):
            for group in yamlio.load(text)["groups"]:
                out.update({r["alert"]: r for r in group["rules"]})
    return out


def test_same_input_same_bytes(default_files: dict[str, str]) -> None:
    assert pipeline.generate(load(None)) == default_files


def test_every_yaml_output_starts_with_the_header(default_files: dict[str, str]) -> None:
    for path, text in default_files.items():
        if path.endswith((".yaml", ".yml")):
            assert text.startswith(GENERATED_HEADER), path


def test_every_alert_follows_the_conventions(default_files: dict[str, str]) -> None:
    alerts = _alerts(default_files)
    for name, rule in alerts.items():
        assert len(name) <= 40 and name[0].isupper(), name
        assert rule["labels"]["severity"] in {"critical", "warning", "info"}, name
        assert rule["labels"]["component"], name
        assert set(rule["annotations"]) >= {"summary", "description", "runbook_url", "dashboard_url"}, name
        assert (Path("docs/runbooks") / f"{name}.md").as_posix() in default_files, name


def test_every_alert_has_a_firing_and_a_quiet_case(default_files: dict[str, str]) -> None:
    """Cases share test groups (named "<case> | <case>"): each alert's check there expects the alerts of its
    firing cases, its quiet cases add none."""
    fires: set[str] = set()
    quiet: set[str] = set()
    for path, text in default_files.items():
        if path.startswith("tests/rules/"):
            for test in yamlio.load(text)["tests"]:
                for check in test.get("alert_rule_test", []):
                    name = check["alertname"]
                    cases = [c for c in test["name"].split(" | ") if c.startswith(f"{name} ")]
                    assert cases, test["name"]
                    firing = [c for c in cases if c.startswith(f"{name} fires")]
                    assert len(check["exp_alerts"]) >= len(firing), test["name"]
                    assert bool(check["exp_alerts"]) == bool(firing), test["name"]
                    fires.update(name for _ in firing)
                    quiet.update(name for c in cases if c.startswith(f"{name} stays quiet"))
    alerts = set(_alerts(default_files))
    assert alerts - fires == set()
    assert alerts - quiet == set()


def test_managed_profile_drops_the_hidden_control_plane(tmp_path: Path, default_files: dict[str, str]) -> None:
    managed = pipeline.generate(load(_cfg(tmp_path, "profile: managed\n")))
    components, _ = pipeline.build(load(None))
    hidden = {c.key for c in components if c.control_plane}
    assert hidden, "some components are control-plane only"
    for key in hidden:
        assert f"alerts/{key}.yaml" in default_files or f"rules/{key}.yaml" in default_files
        assert not any(p.startswith((f"alerts/{key}.", f"rules/{key}.")) for p in managed)
    assert "alerts/coredns.yaml" in managed


def test_exclude_and_patch(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path, "exclude:\n  alerts: [CoreDNSPanic]\n"
                         "patch:\n  CoreDNSLatencyHigh:\n    severity: critical\n    for: 20m\n")
    files = pipeline.generate(load(cfg))
    alerts = _alerts(files)
    assert "CoreDNSPanic" not in alerts
    assert "docs/runbooks/CoreDNSPanic.md" not in files
    assert "CoreDNSPanic" not in files["tests/rules/coredns.yaml"]
    assert alerts["CoreDNSLatencyHigh"]["labels"]["severity"] == "critical"
    assert alerts["CoreDNSLatencyHigh"]["for"] == "20m"


def test_check_reports_changed_missing_and_stale(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "site"
    assert cli.main(["generate", "--out", str(out)]) == 0
    assert cli.main(["generate", "--out", str(out), "--check"]) == 0
    (out / "rules/coredns.yaml").write_text("# edited by hand\n")
    (out / "alerts/coredns.yaml").unlink()
    (out / "rules/old.yaml").write_text("groups: []\n")
    capsys.readouterr()
    assert cli.main(["generate", "--out", str(out), "--check"]) == 1
    printed = capsys.readouterr().out.splitlines()
    assert "differs: rules/coredns.yaml" in printed
    assert "missing: alerts/coredns.yaml" in printed
    assert "stale: rules/old.yaml" in printed


def test_generate_replaces_owned_directories(tmp_path: Path) -> None:
    out = tmp_path / "site"
    (out / "rules").mkdir(parents=True)
    (out / "rules/old.yaml").write_text("groups: []\n")
    (out / "notes.txt").write_text("mine\n")
    assert cli.main(["generate", "--out", str(out)]) == 0
    assert not (out / "rules/old.yaml").exists()
    assert (out / "notes.txt").read_text() == "mine\n"
    assert not list(out.glob(".stereo-*")), "the staging directory is cleaned up"


def test_failed_write_leaves_previous_output(tmp_path: Path, default_files: dict[str, str]) -> None:
    out = tmp_path / "site"
    files = default_files
    writer.write(files, out)
    before = (out / "rules/coredns.yaml").read_bytes()
    broken = dict(files)
    broken["rules/zz.yaml"] = None  # type: ignore[assignment]  # makes the staging write fail midway
    with pytest.raises(AttributeError):
        writer.write(broken, out)
    assert (out / "rules/coredns.yaml").read_bytes() == before
    assert not list(out.glob(".stereo-*"))


def test_generator_imports_no_heavy_dependency(tmp_path: Path) -> None:
    """The generator needs grafanalib, PyYAML and Jinja2 only: statistics and the service stack stay out."""
    import subprocess
    import sys

    code = ("import sys; from generator import cli; rc = cli.main(['generate', '--out', sys.argv[1]]); "
            "heavy = sorted(m for m in ('numpy', 'scipy', 'fastapi', 'uvicorn', 'requests', 'pandas', "
            "'prometheus_api_client') if m in sys.modules); print(heavy); sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_manifests_option_adds_kubernetes_objects(tmp_path: Path) -> None:
    assert cli.main(["generate", "--manifests", "--out", str(tmp_path)]) == 0
    kinds = {yamlio.load(p.read_text())["kind"] for p in (tmp_path / "manifests").rglob("*.yaml")
             if p.name != "kustomization.yaml"}
    assert kinds == {"PrometheusRule", "ConfigMap", "Deployment", "Service", "ServiceMonitor", "NetworkPolicy"}
    assert (tmp_path / "manifests/kustomization.yaml").exists()


def test_the_correlation_service_imports_the_builder_not_a_renderer() -> None:
    """`stereo serve` and `stereo suggest` build the site's catalog without loading grafanalib or any renderer."""
    import subprocess
    import sys

    code = ("import sys, generator.correlate.upstream as u, generator.correlate.suggest, generator.correlate.server; "
            "from generator.config import Config; "
            "n = len(u.site_catalog(Config()).signals); "
            "print(n, sorted(m for m in sys.modules if m.startswith(('generator.render', 'generator.pipeline', "
            "'grafanalib', 'jinja2'))))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    count, modules = proc.stdout.strip().split(" ", 1)
    assert int(count) > 100
    assert modules == "[]"


def test_the_catalog_is_built_once_per_generate(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each catalog module's build() runs once per `stereo generate`, dashboards and pair checks included."""
    import importlib

    from generator import catalog

    calls: dict[str, int] = {}
    for name in catalog.MODULES:
        module = importlib.import_module(f"generator.catalog.{name}")

        def counted(ctx: object, _name: str = name, _build: object = module.build) -> object:
            calls[_name] = calls.get(_name, 0) + 1
            return _build(ctx)  # type: ignore[operator]

        monkeypatch.setattr(module, "build", counted)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "correlations.yaml").write_text(
        "version: 1\npairs:\n  - {a: node_memory_utilisation, b: node_disk_io_utilisation, rho: 0.7, n: 360, "
        "source: measured}\n")
    assert cli.main(["generate", "--manifests", "--out", str(tmp_path / "out")]) == 0
    assert calls == dict.fromkeys(catalog.MODULES, 1)


def test_render_reads_nothing_and_gives_the_same_bytes(monkeypatch: pytest.MonkeyPatch,
                                                       default_files: dict[str, str]) -> None:
    """Render is a pure function of (settings, built catalog, pairs): with the network, every file read and the
    catalog builder forbidden it gives exactly the files `generate` gives."""
    import builtins
    import io
    import os
    import socket
    import urllib.request

    from generator import catalog, pairsource
    from generator.build import build, site

    config = load(None)
    built = build(config)
    components = site(config, built)
    pairs = pairsource.prior().pairs(built.signal_names())
    attempts: list[str] = []

    def forbidden(what: str) -> object:
        def refuse(*args: object, **kwargs: object) -> object:
            attempts.append(f"{what}{args[:1]}")
            raise AssertionError(f"render must not call {what}")
        return refuse

    for target, name in ((builtins, "open"), (io, "open"), (os, "open"), (socket, "socket"),
                         (socket, "create_connection"), (urllib.request, "urlopen"), (Path, "open"),
                         (Path, "read_text"), (Path, "read_bytes"), (catalog, "build_all")):
        monkeypatch.setattr(target, name, forbidden(f"{getattr(target, '__name__', target)}.{name}"))
    files = pipeline.render(components, config, pairs)
    monkeypatch.undo()
    assert attempts == []
    assert files == default_files
    # the guard itself works: a read inside render would be caught and recorded
    monkeypatch.setattr(Path, "read_text", forbidden("Path.read_text"))
    try:
        with pytest.raises(AssertionError, match=r"render must not call Path\.read_text"):
            Path(__file__).read_text()
    finally:
        monkeypatch.undo()
    assert attempts == [f"Path.read_text({Path(__file__)!r},)"]


def test_generate_takes_typed_options_and_checks_pair_names(default_files: dict[str, str]) -> None:
    from generator.config import ConfigError
    from generator.pairsource import Document

    bad = Document("version: 1\npairs:\n  - a: node_memory_utilisation\n    b: no_such_signal\n", "site.yaml")
    with pytest.raises(ConfigError, match=r"^site\.yaml:4: pairs\[0\]\.b: unknown signal no_such_signal"):
        pipeline.generate(load(None), bad)
    with_objects = pipeline.generate(load(None), manifests=True)
    assert any(p.startswith("manifests/") for p in with_objects)
    assert not any(p.startswith("manifests/") for p in default_files)  # pipeline.generate(load(None))
    assert {p: t for p, t in with_objects.items() if not p.startswith("manifests/")} == default_files
