"""The contract in generator/catalog/__init__.py holds: a new component is a catalog module plus its name in
MODULES (and a selector for its job), and `generate` then writes its rules, alerts, promtool tests, runbooks and
dashboard, which promtool loads and whose cases pass. The toy lives in a temporary catalog directory."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

import generator.catalog
import generator.config
from generator import cli, pipeline, writer
from generator.checks import CatalogError
from generator.config import Config, load
from generator.process import go_batch_env

TOY = '''
"""Toy: a made-up exporter, written only through the public catalog interface."""

from generator.catalog.helpers import counter
from generator.context import Context
from generator.model import Alert, Case, Component, Panel, RecordingRule, RuleTest, Signal
from generator.promql import record_name

UP = record_name("cluster", "toy_up", "sum")
ERRORS = record_name("cluster", "toy_errors", "rate5m")


def build(ctx: Context) -> Component:
    c = ctx.cluster
    up, bad = ctx.series("toy", "up"), ctx.series("toy", "toy_errors_total")
    f = '{' + c + '="$cluster"}'
    return Component(
        key="toy", title="Toy", description="A toy exporter.", jobs=("toy",),
        signals=(Signal("toy_up", UP + f, "short", (c,), "Toys up", "Toy targets up.", kind="state",
                        alert="ToyDown"),
                 Signal("toy_errors", ERRORS + f, "ops", (c,), "Toy errors", "Toy errors per second.")),
        rules=(RecordingRule(UP, f"sum {ctx.by()} (up{ctx.sel('toy')})"),
               RecordingRule(ERRORS, f"sum {ctx.by()} (rate(toy_errors_total{ctx.sel('toy')}[5m]))")),
        rule_tests=(RuleTest({up: 1}, UP, (({c: "test-cluster"}, 1),)),
                    RuleTest({bad: counter(2)}, ERRORS, (({c: "test-cluster"}, 2),))),
        alerts=(Alert("ToyDown", f"{UP} < {ctx.threshold('ToyDown', 1)}", "5m", "warning", "No toy is up.",
                      "{{ $labels.cluster }} has no toy target up.",
                      (Case({up: 0}, fires=True, labels={c: "test-cluster"}), Case({up: 1}, fires=False))),),
        panels=(Panel("Toys up", ("toy_up",), kind="stat", width=6), Panel("Errors", ("toy_errors",))),
    )
'''


@pytest.fixture
def toy_catalog(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A temporary catalog directory holding toy.py, searched after the real one, and "toy" registered."""
    extra = tmp_path / "catalog"
    extra.mkdir()
    (extra / "toy.py").write_text(TOY, encoding="utf-8")
    monkeypatch.setattr(generator.catalog, "__path__", [*generator.catalog.__path__, str(extra)])
    monkeypatch.setattr(generator.catalog, "MODULES", (*generator.catalog.MODULES, "toy"))
    monkeypatch.delitem(sys.modules, "generator.catalog.toy", raising=False)
    yield extra
    sys.modules.pop("generator.catalog.toy", None)


# the same toy as a package with the shared layout (generator/catalog/__init__.py): names, rules, alerts, panels
TOY_PACKAGE = {
    "__init__.py": '''
"""Toy, as a package."""

from generator.catalog.toy import alerts, panels, rules
from generator.context import Context
from generator.model import Component


def build(ctx: Context) -> Component:
    return Component(key="toy", title="Toy", description="A toy exporter.", jobs=("toy",),
                     signals=panels.signals(ctx), rules=rules.rules(ctx), rule_tests=rules.rule_tests(ctx),
                     alerts=alerts.alerts(ctx), panels=panels.panels())
''',
    "names.py": '''
from generator.promql import record_name

UP = record_name("cluster", "toy_up", "sum")
ERRORS = record_name("cluster", "toy_errors", "rate5m")
''',
    "rules.py": '''
from generator.catalog.helpers import counter
from generator.catalog.toy.names import ERRORS, UP
from generator.context import Context
from generator.model import RecordingRule, RuleTest


def rules(ctx: Context) -> tuple[RecordingRule, ...]:
    return (RecordingRule(UP, f"sum {ctx.by()} (up{ctx.sel('toy')})"),
            RecordingRule(ERRORS, f"sum {ctx.by()} (rate(toy_errors_total{ctx.sel('toy')}[5m]))"))


def rule_tests(ctx: Context) -> tuple[RuleTest, ...]:
    c = ctx.cluster
    up, bad = ctx.series("toy", "up"), ctx.series("toy", "toy_errors_total")
    return (RuleTest({up: 1}, UP, (({c: "test-cluster"}, 1),)),
            RuleTest({bad: counter(2)}, ERRORS, (({c: "test-cluster"}, 2),)))
''',
    "alerts.py": '''
from generator.catalog.toy.names import UP
from generator.context import Context
from generator.model import Alert, Case


def alerts(ctx: Context) -> tuple[Alert, ...]:
    c = ctx.cluster
    up = ctx.series("toy", "up")
    return (Alert("ToyDown", f"{UP} < {ctx.threshold('ToyDown', 1)}", "5m", "warning", "No toy is up.",
                  "{{ $labels.cluster }} has no toy target up.",
                  (Case({up: 0}, fires=True, labels={c: "test-cluster"}), Case({up: 1}, fires=False))),)
''',
    "panels.py": '''
from generator.catalog.toy.names import ERRORS, UP
from generator.context import Context
from generator.model import Panel, Signal


def signals(ctx: Context) -> tuple[Signal, ...]:
    c = ctx.cluster
    f = '{' + c + '="$cluster"}'
    return (Signal("toy_up", UP + f, "short", (c,), "Toys up", "Toy targets up.", kind="state", alert="ToyDown"),
            Signal("toy_errors", ERRORS + f, "ops", (c,), "Toy errors", "Toy errors per second."))


def panels() -> tuple[Panel, ...]:
    return (Panel("Toys up", ("toy_up",), kind="stat", width=6), Panel("Errors", ("toy_errors",)))
''',
}


def _config() -> Config:
    config = load(None)
    return dataclasses.replace(config, selectors={**config.selectors, "toy": 'job="toy"'})


def test_a_toy_component_is_one_module_and_its_registration(toy_catalog: Path, tmp_path: Path) -> None:
    files = pipeline.generate(_config())
    new = {"rules/toy.yaml", "alerts/toy.yaml", "tests/rules/toy.yaml", "docs/runbooks/ToyDown.md",
           "dashboards/toy.json"}
    assert new <= set(files)
    assert "ToyDown" in files["docs/alerts.md"]
    rules = yaml.safe_load(files["rules/toy.yaml"])["groups"][0]["rules"]
    assert [r["record"] for r in rules] == ["cluster:toy_up:sum", "cluster:toy_errors:rate5m"]
    assert rules[0]["expr"] == 'sum by (cluster) (up{job="toy"})'
    dash = json.loads(files["dashboards/toy.json"])
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    assert 'cluster:toy_up:sum{cluster="$cluster"}' in exprs
    # its `jobs` tell general's TargetDown to leave the toy's targets to ToyDown (no table to edit)
    general = yaml.safe_load(files["alerts/general.yaml"])["groups"]
    target_down = next(r for g in general for r in g["rules"] if r.get("alert") == "TargetDown")
    assert target_down["expr"].endswith('up{job="node-exporter"} or up{job="toy"})')
    # the real parts accept it: promtool loads the files and the toy's own cases pass
    out = tmp_path / "site"
    writer.write(files, out)
    check = subprocess.run(["promtool", "check", "rules", "rules/toy.yaml", "alerts/toy.yaml"], cwd=out,
                           capture_output=True, text=True, check=False, env=go_batch_env())
    assert check.returncode == 0, check.stdout + check.stderr
    test = subprocess.run(["promtool", "test", "rules", "toy.yaml"], cwd=out / "tests/rules",
                          capture_output=True, text=True, check=False, env=go_batch_env())
    assert test.returncode == 0, test.stdout + test.stderr
    assert "SUCCESS" in test.stdout + test.stderr


def test_without_registration_the_module_is_not_built(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      toy_catalog: Path) -> None:
    monkeypatch.setattr(generator.catalog, "MODULES", tuple(m for m in generator.catalog.MODULES if m != "toy"))
    assert not any("toy" in path for path in pipeline.generate(_config()))


def test_a_toy_that_breaks_the_contract_is_named(toy_catalog: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """An alert reading a series no rule records is a catalog bug, reported at the toy module and the alert."""
    toy = toy_catalog / "toy.py"
    toy.write_text(toy.read_text().replace('f"{UP} < {', 'f"cluster:toy_upp:sum < {'), encoding="utf-8")
    with pytest.raises(CatalogError, match=r"^generator/catalog/toy\.py: alert ToyDown: reads cluster:toy_upp:sum, "
                                           "which no recording rule records"):
        pipeline.generate(_config())
    # through the command line: one line naming the module and the object, exit 2, nothing written
    monkeypatch.setattr(generator.config, "load", lambda path: _config())  # the toy's selector, as above
    assert cli.main(["generate", "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("stereo: generator/catalog/toy.py: alert ToyDown: reads ")
    assert not (tmp_path / "out").exists()


def test_a_toy_without_its_selector_is_told_where_the_selector_goes(toy_catalog: Path) -> None:
    with pytest.raises(CatalogError, match=r"^generator/catalog/toy\.py: job toy: has no selector; add it to "
                                           r"config\.DEFAULT_SELECTORS"):
        pipeline.generate(load(None))


def test_a_toy_package_generates_what_the_toy_module_does(toy_catalog: Path) -> None:
    """The package layout is the module split by concern: the same component, byte for byte."""
    as_module = pipeline.generate(_config())
    (toy_catalog / "toy.py").unlink()
    package = toy_catalog / "toy"
    package.mkdir()
    for name, text in TOY_PACKAGE.items():
        (package / name).write_text(text, encoding="utf-8")
    for name in [m for m in sys.modules if m == "generator.catalog.toy" or m.startswith("generator.catalog.toy.")]:
        del sys.modules[name]
    try:
        as_package = pipeline.generate(_config())
    finally:
        for name in [m for m in sys.modules if m.startswith("generator.catalog.toy.")]:
            del sys.modules[name]
    assert sys.modules["generator.catalog.toy"].__path__ == [str(package)]
    toy_files = {path for path in as_module if "toy" in path.lower()}
    assert toy_files == {"rules/toy.yaml", "alerts/toy.yaml", "tests/rules/toy.yaml", "docs/runbooks/ToyDown.md",
                         "dashboards/toy.json"}
    assert as_package == as_module
