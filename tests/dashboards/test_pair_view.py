"""The pair view in a Grafana user's hands: every option is PromQL Prometheus accepts (promtool), its series are
named `<signal> <split labels>` by Prometheus itself, each series gets its signal's real unit from the per-unit
overrides whichever signals A and B hold, and each suggestion row opens the pair view."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from dashboard_helpers import leaves, prior, render, site

from generator.process import go_batch_env
from generator.render.dashboards.pair import SERIES_LABEL

PROMTOOL = shutil.which("promtool")
VARIABLE = re.compile(r"\$\{(\w+)(?::\w+)?\}|\$(\w+)")
SAMPLE = {"pod": "web-1|web-2", "node": "n1", "instance": "n1", "namespace": "shop", "cluster": "c1",
          "workload": "web"}


@pytest.fixture(scope="module")
def built() -> tuple[list[Any], dict[str, Any]]:
    components, config = site()
    return components, render(components, config, prior(components))["dashboards/pair.json"]


def _options(dash: dict[str, Any], name: str) -> dict[str, str]:
    var = next(v for v in dash["templating"]["list"] if v["name"] == name)
    return {o["text"]: o["value"] for o in var["options"]}


def _filled(expr: str) -> str:
    """What Grafana sends once the dashboard's variables are set."""
    return VARIABLE.sub(lambda m: SAMPLE.get(m.group(1) or m.group(2), "x"), expr)


def _promtool(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL, "promtool is missing: .ci/run installs Debian's prometheus package"
    return subprocess.run([PROMTOOL, *args], cwd=tmp, capture_output=True, text=True, timeout=300, check=False,
                          env=go_batch_env())


def test_every_option_is_promql_prometheus_accepts(built: tuple[list[Any], dict[str, Any]], tmp_path: Path) -> None:
    _, dash = built
    options = _options(dash, "a")
    assert options == _options(dash, "b")
    rules = [{"record": f"stereo:pair_option:{i}", "expr": _filled(v)} for i, v in enumerate(options.values())]
    (tmp_path / "options.yaml").write_text(yaml.safe_dump({"groups": [{"name": "pair", "rules": rules}]}))
    checked = _promtool(tmp_path, "check", "rules", "options.yaml")
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-3000:]


def test_prometheus_names_each_series_by_signal_and_split_labels(built: tuple[list[Any], dict[str, Any]],
                                                                tmp_path: Path) -> None:
    components, dash = built
    signals = {s.name: s for c in components for s in c.signals}
    options = _options(dash, "a")
    by_verb = options["apiserver_request_latency_p99_by_verb"]
    plain = options["apiserver_up"]
    assert signals["apiserver_request_latency_p99_by_verb"].labels == ("cluster", "verb")
    record = "cluster_verb_quantile:apiserver_request_duration_seconds:histogram_quantile"
    series = [{"series": f'{record}{{cluster="c1",quantile="0.99",verb="{v}"}}', "values": "0.2x3"}
              for v in ("GET", "LIST")]
    rules = {"groups": [{"name": "pair", "rules": [
        {"record": "stereo:by_verb", "expr": _filled(by_verb)}, {"record": "stereo:plain", "expr": _filled(plain)}]}]}
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump(rules))
    up = [{"series": 'up{cluster="c1",job="apiserver",instance="i1"}', "values": "1x3"}]
    case = {"rule_files": ["rules.yaml"], "evaluation_interval": "1m", "tests": [{
        "interval": "1m", "input_series": series + up,
        "promql_expr_test": [{"expr": f"count by ({SERIES_LABEL}) (stereo:by_verb)", "eval_time": "2m", "exp_samples": [
            {"labels": f'{{{SERIES_LABEL}="apiserver_request_latency_p99_by_verb GET"}}', "value": 1},
            {"labels": f'{{{SERIES_LABEL}="apiserver_request_latency_p99_by_verb LIST"}}', "value": 1}]}]}]}
    (tmp_path / "case.yaml").write_text(yaml.safe_dump(case))
    ran = _promtool(tmp_path, "test", "rules", "case.yaml")
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    assert f'"{SERIES_LABEL}", "apiserver_up"' in plain and "label_join" not in plain


def test_every_signal_gets_its_real_unit_on_both_axes(built: tuple[list[Any], dict[str, Any]]) -> None:
    components, dash = built
    signals = {s.name: s for c in components for s in c.signals}
    together, alone_a, alone_b = leaves(dash)[:3]
    for panel in (together, alone_a, alone_b):
        assert {t["legendFormat"] for t in panel["targets"]} == {f"{{{{{SERIES_LABEL}}}}}"}
        units = [(re.compile(o["matcher"]["options"]), o["properties"][0]["value"])
                 for o in panel["fieldConfig"]["overrides"] if o["matcher"]["id"] == "byRegexp"]
        for name, sig in signals.items():
            for shown in (name, f"{name} node-1 GET"):
                got = [unit for pattern, unit in units if pattern.search(shown)]
                assert got == [sig.unit], (panel["title"], shown, got)
    assert {s.unit for s in signals.values()} >= {"bytes", "s", "percentunit", "cores"}
    assert together["fieldConfig"]["overrides"][0] == {
        "matcher": {"id": "byFrameRefID", "options": "B"},
        "properties": [{"id": "custom.axisPlacement", "value": "right"}]}


def test_each_suggestion_opens_the_pair_view(built: tuple[list[Any], dict[str, Any]]) -> None:
    _, dash = built
    table = next(p for p in leaves(dash) if p["datasource"]["uid"] == "stereo-correlation")
    overrides = {o["matcher"]["options"]: o["properties"] for o in table["fieldConfig"]["overrides"]}
    link = overrides["Signal"][0]["value"][0]
    assert link["url"] == ("/d/stereo-pair/pair?var-a=${a:text}&var-b=${__data.fields.Signal}&var-a_home=${a_home}"
                           "&var-b_home=stereo-${__data.fields.home}&${__url_time_range}&var-cluster=${cluster}"
                           "&var-datasource=${datasource}")
    assert overrides["home"] == [{"id": "custom.hidden", "value": True}]
    assert table["targets"][0]["columns"][0]["text"] == "Signal"
    assert "home" in [c["selector"] for c in table["targets"][0]["columns"]]
