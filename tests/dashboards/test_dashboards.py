"""The dashboards: current Grafana JSON model, the conventions every Stereo dashboard keeps, the layout from
correlations (prior, measured, served by the correlation service) and the pair view the layout links to."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import grafanalib.core as G
import pytest
from dashboard_helpers import assert_adjacent, leaves, panels, prior, render, site, walk

from generator import naming
from generator.correlations import Pair
from generator.render.dashboards import normalise, variables
from generator.render.dashboards import panels as panel_mod
from generator.render.dashboards.pair import option, option_expr

LEGACY = {"rows", "sharedCrosshair", "hideControls", "style", "gnetId", "span", "minSpan", "height", "error",
          "editable_panel", "cacheTimeout", "fieldOptions"}
VIEWS = {"overview", "namespace", "workload", "pair", "node-pods", "networking"}


@pytest.fixture(scope="module")
def built() -> tuple[list, Any]:
    return site()


@pytest.fixture(scope="module")
def boards(built: tuple[list, Any]) -> dict[str, dict[str, Any]]:
    components, config = built
    return render(components, config, prior(components))


def by_uid(boards: dict[str, dict[str, Any]], uid: str) -> dict[str, Any]:
    return next(d for d in boards.values() if d["uid"] == uid)


# ------------------------------------------------------------------------------------------ the JSON model
def test_enough_dashboards_and_panels(boards: dict[str, dict[str, Any]], built: tuple[list, Any]) -> None:
    components, _ = built
    assert len(boards) >= 12
    assert sum(len(leaves(d)) for d in boards.values()) >= 150
    keys = {c.key for c in components if c.panels}
    assert {p.removeprefix("dashboards/").removesuffix(".json") for p in boards} == keys | VIEWS


def test_every_panel_has_a_unit_and_a_description(boards: dict[str, dict[str, Any]]) -> None:
    for path, dash in boards.items():
        for panel in leaves(dash):
            assert panel["fieldConfig"]["defaults"].get("unit"), (path, panel["title"])
            assert panel.get("description", "").strip(), (path, panel["title"])


def test_no_nulls_and_no_legacy_keys(boards: dict[str, dict[str, Any]]) -> None:
    for path, dash in boards.items():
        assert dash["schemaVersion"] >= 39
        for where, value in walk(dash):
            assert value is not None and value != "null", (path, where)
        assert not {"rows", "sharedCrosshair", "hideControls", "style", "gnetId", "__inputs"} & set(dash), path
        for panel in panels(dash):
            assert not LEGACY & set(panel), (path, panel["title"], LEGACY & set(panel))
            for target in panel.get("targets", []):
                assert not {"intervalFactor", "step", "query", "target"} & set(target), (path, panel["title"])
            if panel["type"] != "row":
                assert panel["datasource"]["uid"] in ("${datasource}", "stereo-correlation"), (path, panel["title"])
                assert "links" not in panel, "data links belong in fieldConfig.defaults.links"


def test_panel_ids_are_unique_and_in_order(boards: dict[str, dict[str, Any]]) -> None:
    for path, dash in boards.items():
        ids = [p["id"] for p in panels(dash)]
        assert ids == list(range(1, len(ids) + 1)), path


def test_every_dashboard_keeps_the_conventions(boards: dict[str, dict[str, Any]]) -> None:
    for path, dash in boards.items():
        key = path.removeprefix("dashboards/").removesuffix(".json")
        assert dash["uid"] == naming.dashboard_uid(key)
        assert dash["title"].startswith("Stereo / ")
        assert dash["tags"][:2] == ["stereo", key]
        assert dash["graphTooltip"] == 1
        assert dash["time"] == {"from": "now-6h", "to": "now"}
        assert dash["refresh"] == "1m" and dash["timezone"] == "browser" and dash["editable"] is False
        dropdown = dash["links"][0]
        assert dropdown["type"] == "dashboards" and dropdown["tags"] == ["stereo"]
        assert dropdown["asDropdown"] and dropdown["keepTime"] and dropdown["includeVars"]
    uids = [d["uid"] for d in boards.values()]
    assert len(set(uids)) == len(uids)


def test_same_input_same_bytes(built: tuple[list, Any]) -> None:
    from generator.render.dashboards import dashboards

    components, config = built
    assert dashboards(components, config, prior(components)) == dashboards(components, config, prior(components))


def test_variables_datasource_cluster_then_scope(boards: dict[str, dict[str, Any]]) -> None:
    for path, dash in boards.items():
        names = [v["name"] for v in dash["templating"]["list"]]
        assert names[:2] == ["datasource", "cluster"], path
        ds, cluster = dash["templating"]["list"][:2]
        assert ds["type"] == "datasource" and ds["query"] == "prometheus"
        assert cluster["type"] == "query" and cluster["hide"] == 0
        scope = [n for n in names[2:] if n in variables.SCOPE]
        assert scope == [n for n in variables.SCOPE if n in scope], path
        for var in dash["templating"]["list"][2:]:
            if var["name"] in variables.SCOPE:
                # fed by label_values() on a recorded series (level:metric:operations)
                assert re.match(r"label_values\([a-z_]+:[a-z_]+:[a-z0-9_]+\{", var["definition"]), var["definition"]
        assert undefined(dash) == set(), path


def undefined(dash: dict[str, Any]) -> set[str]:
    """Variables the queries use that the dashboard does not define."""
    used: set[str] = set()
    for panel in leaves(dash):
        for target in panel.get("targets", []):
            used |= variables.referenced(target.get("expr", ""))
    return used - {v["name"] for v in dash["templating"]["list"]} - {"__rate_interval"}


def test_another_site_gets_its_own_label_and_scope(tmp_path: Path) -> None:
    from generator.config import load

    cfg = tmp_path / "stereo.yaml"
    cfg.write_text("cluster_label: k8s_cluster\nservices:\n  - preset: ingress-nginx\n")
    components, config = site(load(str(cfg)))
    boards = render(components, config, prior(components))
    for path, dash in boards.items():
        assert undefined(dash) == set(), path
        cluster = dash["templating"]["list"][1]
        assert cluster["definition"] == "label_values(up, k8s_cluster)"
        for panel in leaves(dash):
            for target in panel.get("targets", []):
                assert 'cluster="$cluster"' not in target.get("expr", "").replace("k8s_cluster", ""), path
    ingress = next(p for p in leaves(boards["dashboards/services.json"]) if p["title"] == "Ingress requests")
    assert ingress["fieldConfig"]["defaults"]["unit"] == "reqps"


def test_rate_interval_wherever_a_counter_is_rated(boards: dict[str, dict[str, Any]]) -> None:
    for path, dash in boards.items():
        for panel in leaves(dash):
            for target in panel.get("targets", []):
                expr = target.get("expr", "")
                if re.search(r"\b(rate|irate|increase)\(", expr):
                    assert "$__rate_interval" in expr, (path, panel["title"], expr)


def test_rate_interval_rewrites_fixed_ranges() -> None:
    assert panel_mod.rate_interval('sum(rate(x_total{a="b"}[5m]))') == 'sum(rate(x_total{a="b"}[$__rate_interval]))'
    assert panel_mod.rate_interval("increase(y[1h]) + irate(z[2m])") == (
        "increase(y[$__rate_interval]) + irate(z[$__rate_interval])")
    assert panel_mod.rate_interval("cluster:x:rate5m") == "cluster:x:rate5m"


def test_alert_thresholds_are_drawn(boards: dict[str, dict[str, Any]], built: tuple[list, Any]) -> None:
    components, _ = built
    alerts = {a.name: a for c in components for a in c.alerts}
    dash = by_uid(boards, "stereo-coredns")
    panel = next(p for p in leaves(dash) if p["title"] == "Latency p99")
    defaults = panel["fieldConfig"]["defaults"]
    steps = defaults["thresholds"]["steps"]
    assert steps[-1]["value"] == alerts["CoreDNSLatencyHigh"].threshold
    assert defaults["custom"]["thresholdsStyle"]["mode"] in ("line+area", "dashed")
    assert "CoreDNSLatencyHigh" in panel["description"]
    # an alert firing below its threshold colours the area under it
    volumes = next(p for p in leaves(by_uid(boards, "stereo-kubelet")) if p["title"] == "PersistentVolume space free")
    low = volumes["fieldConfig"]["defaults"]["thresholds"]["steps"]
    assert low[0]["color"] != "transparent" and low[1]["color"] == "transparent"


def test_excluded_alert_draws_no_threshold(tmp_path: Path) -> None:
    from generator.config import load

    cfg = tmp_path / "stereo.yaml"
    cfg.write_text("exclude:\n  alerts: [CoreDNSLatencyHigh]\n")
    components, config = site(load(str(cfg)))
    dash = render(components, config, prior(components))["dashboards/coredns.json"]
    panel = next(p for p in leaves(dash) if p["title"] == "Latency p99")
    assert panel["fieldConfig"]["defaults"]["custom"]["thresholdsStyle"]["mode"] == "off"
    assert "CoreDNSLatencyHigh" not in panel["description"]


# -------------------------------------------------------------------------------------- layout and pairs
def test_every_prior_pair_stands_together_on_its_home_dashboards(boards: dict[str, dict[str, Any]],
                                                                   built: tuple[list, Any]) -> None:
    components, _ = built
    home = {s.name: c.key for c in reversed(components) for s in c.signals}
    pairs = prior(components)
    assert len(pairs) >= 6
    for pair in pairs:
        uid_a, uid_b = naming.dashboard_uid(home[pair.a]), naming.dashboard_uid(home[pair.b])
        for uid in {uid_a, uid_b}:
            assert_adjacent(by_uid(boards, uid), pair, uid_a, uid_b)


def test_descriptions_name_partners_with_evidence(boards: dict[str, dict[str, Any]]) -> None:
    dash = by_uid(boards, "stereo-coredns")
    panel = next(p for p in leaves(dash) if p["title"] == "CPU per pod")
    assert "Moves with DNS latency p99 on Stereo / CoreDNS: expected relation (prior)" in panel["description"]


def test_the_stereo_view_pairs_resources_with_services(boards: dict[str, dict[str, Any]]) -> None:
    dash = by_uid(boards, "stereo-workload")
    names = [v["name"] for v in dash["templating"]["list"]]
    assert names[2:] == ["namespace", "workload", "pod"]
    rows = [p["title"] for p in dash["panels"] if p["type"] == "row"]
    assert rows[0] == "CPU ↔ network traffic"
    assert "Memory ↔ response time" in rows[1] and "Restarts ↔ latency" in rows[1]


def test_the_pair_view(boards: dict[str, dict[str, Any]], built: tuple[list, Any]) -> None:
    components, _ = built
    dash = by_uid(boards, "stereo-pair")
    tvars = {v["name"]: v for v in dash["templating"]["list"]}
    signals = {s.name: s for c in components for s in c.signals}
    for name in ("a", "b"):
        var = tvars[name]
        assert var["type"] == "custom"
        options = {o["text"]: o["value"] for o in var["options"]}
        assert set(options) == set(signals)
        assert options["coredns_cpu"] == option(signals["coredns_cpu"], "cluster")
        assert option_expr(signals["coredns_cpu"].expr) in options["coredns_cpu"]
        assert "sum by (cluster\\, pod)" in var["query"]  # commas inside a value are escaped
    for name in ("a_home", "b_home"):
        assert tvars[name]["type"] == "textbox" and tvars[name]["hide"] == 2
    together = leaves(dash)[0]
    assert [t["expr"] for t in together["targets"]] == ["$a", "$b"]
    override = together["fieldConfig"]["overrides"][0]
    assert override["matcher"] == {"id": "byFrameRefID", "options": "B"}
    assert override["properties"] == [{"id": "custom.axisPlacement", "value": "right"}]
    infinity = next(p for p in leaves(dash) if p["datasource"]["uid"] == "stereo-correlation")
    target = infinity["targets"][0]
    assert target["url"] == ("/api/v1/suggestions?target=${a:text}&k=10&window=${__range_s}s"
                             "&selector=cluster%3D%22${cluster:percentencode}%22")
    assert target["parser"] == "backend" and target["root_selector"] == "suggestions"
    assert [c["selector"] for c in target["columns"]] == ["name", "rho", "pvalue", "n", "stability", "home"]
    back = {link["url"]: link for link in dash["links"] if link["type"] == "link"}
    assert set(back) == {"/d/${a_home}", "/d/${b_home}"}
    assert all(link["keepTime"] and link["includeVars"] for link in back.values())


def test_pair_view_values_survive_grafana_interpolation() -> None:
    # Grafana's default (glob) format would turn a multi-valued $pod into {p1,p2}
    assert option_expr('x{namespace="$namespace",pod=~"$pod"}') == 'x{namespace="$namespace",pod=~"${pod:pipe}"}'
    assert option_expr("sum by (a,\n  b) (y)") == "sum by (a, b) (y)"


def test_measured_correlations_change_the_layout(built: tuple[list, Any], boards: dict[str, dict[str, Any]]) -> None:
    components, config = built
    measured = Pair("node_memory_utilisation", "node_disk_io_utilisation", rho=0.7, n=360, critical=0.135602,
                    window="6h", stability=0.9, source="measured", relation="Memory ↔ disk IO")
    pairs = [measured, *prior(components)]
    first = render(components, config, pairs)
    assert first == render(components, config, pairs)
    nodes = first["dashboards/nodes.json"]
    assert nodes != boards["dashboards/nodes.json"]
    assert_adjacent(nodes, measured, "stereo-nodes", "stereo-nodes")
    panel = next(p for p in leaves(nodes) if p["title"] == "Disk IO utilisation")
    assert "ρ = +0.70, n = 360" in panel["description"]
    assert any("ρ = +0.70, n = 360" in link["title"] for link in panel["fieldConfig"]["defaults"]["links"])


def test_managed_profile_drops_control_plane_dashboards_and_their_pairs(tmp_path: Path) -> None:
    from generator.config import load

    cfg = tmp_path / "stereo.yaml"
    cfg.write_text("profile: managed\n")
    components, config = site(load(str(cfg)))
    boards = render(components, config, prior(components))
    assert "dashboards/etcd.json" not in boards and "dashboards/kube-scheduler.json" not in boards
    for dash in boards.values():
        for panel in leaves(dash):
            for target in panel.get("targets", []):
                assert "etcd_disk" not in target.get("expr", ""), (dash["uid"], panel["title"])


# ---------------------------------------------------------------------------------------- normalisation
def test_normalise_rewrites_what_grafanalib_emits() -> None:
    dash = G.Dashboard(title="t", uid="u", panels=[
        G.RowPanel(title="r", gridPos=G.GridPos(h=1, w=24, x=0, y=0)),
        G.TimeSeries(title="ts", gridPos=G.GridPos(h=8, w=12, x=0, y=1), targets=[G.Target(expr="up", refId="A")],
                     links=[{"title": "l", "url": "/d/x"}]),
        G.BarGauge(title="bg", gridPos=G.GridPos(h=8, w=12, x=12, y=1), targets=[G.Target(expr="up", refId="A")],
                   thresholds=[G.Threshold("green", 0, 0.0), G.Threshold("red", 1, 80.0)]),
    ])
    raw = normalise.to_json(dash)
    assert raw["schemaVersion"] < 39 and "rows" in raw and raw["panels"][1]["span"] is None
    out = normalise.normalise(raw)
    assert out["schemaVersion"] == 39 and "rows" not in out and "sharedCrosshair" not in out
    assert [p["id"] for p in out["panels"]] == [1, 2, 3]
    ts, bg = out["panels"][1], out["panels"][2]
    assert ts["fieldConfig"]["defaults"]["links"] == [{"title": "l", "url": "/d/x"}] and "links" not in ts
    assert ts["targets"][0]["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
    assert "fieldOptions" not in bg["options"] and bg["options"]["reduceOptions"]["calcs"] == ["mean"]
    assert bg["fieldConfig"]["defaults"]["thresholds"]["steps"] == [{"color": "green", "value": 0.0},
                                                                    {"color": "red", "value": 80.0}]
    assert all(v is not None for _, v in walk(out))
    assert json.loads(normalise.dumps(out)) == out
