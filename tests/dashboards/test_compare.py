""""vs yesterday" overlays and the CoreDNS success rate, evaluated by Prometheus's own engine (promtool): the
dashed line really is the series a day earlier, and the success rate counts NXDOMAIN as an answer."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from dashboard_helpers import leaves, prior, render, site

from generator.catalog.coredns import RCODE_RATE
from generator.process import go_batch_env
from generator.render.dashboards import compare

PROMTOOL = shutil.which("promtool")


@pytest.fixture(scope="module")
def boards() -> dict[str, dict[str, Any]]:
    components, config = site()
    return render(components, config, prior(components))


def _promtool(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL, "promtool is missing: .ci/run installs Debian's prometheus package"
    return subprocess.run([PROMTOOL, *args], cwd=tmp, capture_output=True, text=True, timeout=300, check=False,
                          env=go_batch_env())


def _filled(expr: str) -> str:
    return expr.replace("$cluster", "c1").replace("$__rate_interval", "5m")


def test_offset_moves_every_selector_and_refuses_what_it_cannot_move() -> None:
    expr = 'sum(a:b:c{x="1"}) / sum(d:e:f{y="}{"})'
    assert compare.offset(expr) == 'sum(a:b:c{x="1"} offset 1d) / sum(d:e:f{y="}{"} offset 1d)'
    assert compare.offset("rate(x_total{job=\"a\"}[5m])") is None  # a range: offset goes elsewhere
    assert compare.offset("a:b:c / d:e:f{x=\"1\"}") is None  # a series without braces would stay today's
    assert compare.offset("vector(1)") is None
    assert compare.offset('up{job="a"} offset 1h') is None


def test_the_key_signals_exist_and_get_a_dashed_yesterday(boards: dict[str, dict[str, Any]]) -> None:
    components, _ = site()
    names = {s.name for c in components for s in c.signals}
    assert set(compare.KEY) <= names
    shadowed = 0
    for path, dash in boards.items():
        for panel in leaves(dash):
            refs = {t["refId"]: t for t in panel.get("targets", [])}
            for override in panel["fieldConfig"]["overrides"]:
                props = {p["id"]: p["value"] for p in override["properties"]}
                if "custom.lineStyle" not in props:
                    continue
                twin = refs[override["matcher"]["options"]]
                assert "offset 1d" in twin["expr"], (path, panel["title"])
                assert twin["legendFormat"].endswith("yesterday"), (path, panel["title"])
                assert props["custom.stacking"]["mode"] == "none" and props["custom.fillOpacity"] == 0
                assert "offset 1d" in panel["description"], (path, panel["title"])
                shadowed += 1
    assert shadowed >= len(compare.KEY)
    coredns = boards["dashboards/coredns.json"]
    titles = {p["title"] for p in leaves(coredns) if any("offset 1d" in t["expr"] for t in p["targets"])}
    assert {"Requests by type", "Latency p99", "Resolution success rate", "Success rate vs 1 day ago"} <= titles


def test_every_yesterday_query_is_promql_prometheus_accepts(boards: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    exprs = sorted({_filled(t["expr"]) for dash in boards.values() for p in leaves(dash)
                    for t in p.get("targets", []) if "offset 1d" in t.get("expr", "")})
    assert len(exprs) >= 8
    rules = [{"record": f"stereo:yesterday:{i}", "expr": e} for i, e in enumerate(exprs)]
    (tmp_path / "y.yaml").write_text(yaml.safe_dump({"groups": [{"name": "y", "rules": rules}]}))
    checked = _promtool(tmp_path, "check", "rules", "y.yaml")
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-3000:]


def test_success_rate_counts_nxdomain_as_answered_and_compares_with_yesterday(
        boards: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    panels = {p["title"] + p["type"]: p for p in leaves(boards["dashboards/coredns.json"])}
    series = panels["Resolution success ratetimeseries"]["targets"]
    now, yesterday = _filled(series[0]["expr"]), _filled(series[1]["expr"])
    delta = _filled(panels["Success rate vs 1 day ago" + "stat"]["targets"][0]["expr"])
    assert panels["Resolution success ratestat"]["fieldConfig"]["defaults"]["unit"] == "percentunit"
    assert RCODE_RATE in now and 'rcode=~"NOERROR|NXDOMAIN"' in now
    rules = {"groups": [{"name": "dns", "rules": [{"record": "stereo:now", "expr": now},
                                                  {"record": "stereo:yesterday", "expr": yesterday},
                                                  {"record": "stereo:delta", "expr": delta}]}]}
    (tmp_path / "dns.yaml").write_text(yaml.safe_dump(rules))
    # answers per second: steady NOERROR and NXDOMAIN; SERVFAIL starts after the first day
    inputs = [{"series": f'{RCODE_RATE}{{cluster="c1",rcode="{rcode}"}}', "values": values}
              for rcode, values in (("NOERROR", "70x30"), ("NXDOMAIN", "5x30"), ("SERVFAIL", "0x23 25x6"))]
    inputs.append({"series": f'{RCODE_RATE}{{cluster="c2",rcode="SERVFAIL"}}', "values": "1000x30"})  # elsewhere

    def sample(record: str, value: float) -> dict[str, Any]:
        return {"expr": record, "eval_time": "25h", "exp_samples": [{"labels": record, "value": value}]}

    case = {"rule_files": ["dns.yaml"], "evaluation_interval": "1h", "tests": [{
        "interval": "1h", "input_series": inputs,
        "promql_expr_test": [sample("stereo:now", 0.75), sample("stereo:yesterday", 1.0),
                             sample("stereo:delta", -0.25)]}]}
    (tmp_path / "case.yaml").write_text(yaml.safe_dump(case))
    ran = _promtool(tmp_path, "test", "rules", "case.yaml")
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    assert re.search(r"NOERROR\|NXDOMAIN", json.dumps(panels["Resolution success ratestat"]["targets"]))
