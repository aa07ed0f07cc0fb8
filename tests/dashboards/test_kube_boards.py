"""The node → pods and networking boards: their queries read the catalog's recorded series, Prometheus's engine
(promtool) gives the right numbers on a small cluster (only the pods kube-state-metrics places on the chosen node;
drops over packets offered), and a site without the series gets no board rather than empty panels."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from dashboard_helpers import leaves, prior, render, site

from generator.catalog.workloads import names as W
from generator.process import go_batch_env
from generator.render.dashboards import kube

PROMTOOL = shutil.which("promtool")
KSM = 'job="kube-state-metrics"'


@pytest.fixture(scope="module")
def boards() -> dict[str, dict[str, Any]]:
    components, config = site()
    return render(components, config, prior(components))


def _by_title(dash: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["title"]: p for p in leaves(dash)}


def _filled(expr: str, **values: str) -> str:
    for name, value in {"cluster": "c1", **values}.items():
        expr = expr.replace(f"${name}", value)
    return expr.replace("$__rate_interval", "5m")


def _evaluate(tmp: Path, exprs: dict[str, str], inputs: list[dict[str, str]],
              expected: dict[str, list[dict[str, Any]]]) -> None:
    assert PROMTOOL, "promtool is missing: .ci/run installs Debian's prometheus package"
    rules = [{"record": f"stereo:{name}", "expr": expr} for name, expr in exprs.items()]
    (tmp / "r.yaml").write_text(yaml.safe_dump({"groups": [{"name": "b", "rules": rules}]}))
    tests = [{"expr": f"stereo:{name}", "eval_time": "2m",
              "exp_samples": [{**s, "labels": s["labels"].replace("{", f"stereo:{name}{{", 1)} for s in samples]}
             for name, samples in expected.items()]
    case = {"rule_files": ["r.yaml"], "evaluation_interval": "1m",
            "tests": [{"interval": "1m", "input_series": inputs, "promql_expr_test": tests}]}
    (tmp / "t.yaml").write_text(yaml.safe_dump(case))
    ran = subprocess.run([PROMTOOL, "test", "rules", "t.yaml"], cwd=tmp, capture_output=True, text=True,
                         timeout=300, check=False, env=go_batch_env())
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]


def test_both_boards_exist_with_units_descriptions_and_their_variables(boards: dict[str, dict[str, Any]]) -> None:
    for key in (kube.NODE_PODS, kube.NETWORKING):
        dash = boards[f"dashboards/{key}.json"]
        assert dash["title"] == f"Stereo / {kube.TITLES[key]}"
        assert len(leaves(dash)) >= 8
        for panel in leaves(dash):
            assert panel["description"] and panel["fieldConfig"]["defaults"]["unit"], (key, panel["title"])
    names = {key: [v["name"] for v in boards[f"dashboards/{key}.json"]["templating"]["list"]]
             for key in (kube.NODE_PODS, kube.NETWORKING)}
    assert names == {kube.NODE_PODS: ["datasource", "cluster", "node"],
                     kube.NETWORKING: ["datasource", "cluster", "namespace", "pod"]}
    net = boards["dashboards/networking.json"]
    exprs = " ".join(t["expr"] for p in leaves(net) for t in p["targets"])
    for record in (W.NET_RX, W.NET_TX, W.NET_DROPS, W.NET_PACKETS):
        assert record in exprs


def test_node_board_shows_only_the_pods_on_the_chosen_node(boards: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    panels = _by_title(boards["dashboards/node-pods.json"])
    usage = _filled(panels["CPU by pod"]["targets"][0]["expr"], node="worker-1")
    total = _filled(panels["CPU used by its pods"]["targets"][0]["expr"], node="worker-1")
    count = _filled(panels["Pods on the node"]["targets"][0]["expr"], node="worker-1")
    quota = [_filled(t["expr"], node="worker-1") for t in panels["CPU by pod: used, requested, limit"]["targets"]]
    table = panels["CPU by pod: used, requested, limit"]
    assert len(quota) == 5
    assert table["transformations"][1]["options"]["renameByName"] == {
        "Value #A": "CPU used", "Value #B": "requested", "Value #C": "used / requested", "Value #D": "limit",
        "Value #E": "used / limit"}
    assert [o["matcher"]["options"] for o in table["fieldConfig"]["overrides"]] == ["used / requested", "used / limit"]
    place = {"a": "worker-1", "b": "worker-1", "c": "worker-2"}
    inputs = [{"series": f'kube_pod_info{{cluster="c1",{KSM},namespace="shop",pod="{pod}",node="{node}"}}',
               "values": "1x3"} for pod, node in place.items()]
    inputs += [{"series": f'{W.POD_CPU}{{cluster="c1",namespace="shop",pod="{pod}"}}', "values": f"{cores}x3"}
               for pod, cores in (("a", "0.25"), ("b", "0.5"), ("c", "4"))]
    inputs += [{"series": f'{W.REQ}{{cluster="c1",namespace="shop",pod="a",container="x",resource="{r}"}}',
                "values": f"{v}x3"} for r, v in (("cpu", "1"), ("memory", "1000"))]
    _evaluate(tmp_path, {"usage": usage, "total": total, "count": count, "req": quota[1], "share": quota[2]}, inputs, {
        "usage": [{"labels": '{cluster="c1",namespace="shop",pod="a"}', "value": 0.25},
                  {"labels": '{cluster="c1",namespace="shop",pod="b"}', "value": 0.5}],
        "total": [{"labels": "{}", "value": 0.75}],
        "count": [{"labels": "{}", "value": 2}],
        "req": [{"labels": '{namespace="shop",pod="a"}', "value": 1}],
        "share": [{"labels": '{namespace="shop",pod="a"}', "value": 0.25}]})


def test_drop_ratio_is_drops_over_packets_offered(boards: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    panel = next(p for p in leaves(boards["dashboards/networking.json"]) if p["title"] == "Packet drop ratio")
    ratio = _filled(panel["targets"][0]["expr"])
    inputs = [{"series": f'{W.NET_PACKETS}{{cluster="c1",namespace="shop",pod="a"}}', "values": "90x3"},
              {"series": f'{W.NET_DROPS}{{cluster="c1",namespace="shop",pod="a"}}', "values": "10x3"},
              {"series": f'{W.NET_PACKETS}{{cluster="c1",namespace="idle",pod="b"}}', "values": "50x3"},
              {"series": f'{W.NET_DROPS}{{cluster="c1",namespace="idle",pod="b"}}', "values": "0x3"}]
    _evaluate(tmp_path, {"ratio": ratio}, inputs, {"ratio": [
        {"labels": '{cluster="c1",namespace="shop"}', "value": 0.1},
        {"labels": '{cluster="c1",namespace="idle"}', "value": 0}]})


def test_a_site_without_the_network_series_gets_no_networking_board() -> None:
    components, config = site()
    trimmed = [dataclasses.replace(c, rules=tuple(r for r in c.rules if r.record != W.NET_RX)) for c in components]
    out = render(trimmed, config, prior(trimmed))
    assert "dashboards/networking.json" not in out
    assert "dashboards/node-pods.json" in out


def test_panels_split_by_node_open_the_pods_on_that_node(boards: dict[str, dict[str, Any]]) -> None:
    url = ("/d/stereo-node-pods/node-pods?var-node=${__field.labels.node}&${__url_time_range}&var-cluster=${cluster}"
           "&var-datasource=${datasource}")
    kubelet = leaves(boards["dashboards/kubelet.json"])
    linked = [p["title"] for p in kubelet if url in [x["url"] for x in p["fieldConfig"]["defaults"].get("links", [])]]
    assert "Pod start latency" in linked and len(linked) >= 8
    # node-exporter's panels are split by instance, not node: no link that would open an empty board
    assert "stereo-node-pods" not in json.dumps(boards["dashboards/nodes.json"])


def test_without_pod_series_there_is_no_node_board_and_no_link_to_it() -> None:
    components, config = site()
    gone = {W.POD_CPU, W.POD_MEM}
    trimmed = [dataclasses.replace(c, rules=tuple(r for r in c.rules if r.record not in gone)) for c in components]
    out = render(trimmed, config, prior(trimmed))
    assert "dashboards/node-pods.json" not in out
    assert not any("stereo-node-pods" in json.dumps(dash) for dash in out.values())
