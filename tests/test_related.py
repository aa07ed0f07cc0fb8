"""Alerts carry what moved with them: the related / related_url / explorer_url annotations and the runbooks'
partner lists follow correlations.yaml (or the prior), and their promtool cases pass on a real promtool."""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

import pytest
import yaml
from promtool_run import TreeRun

from generator import correlations, gotemplate, pipeline, writer, yamlio
from generator.build import build, site
from generator.config import build as build_config
from generator.config import load
from generator.correlations import Pair
from generator.pairsource import Document
from generator.render import related
from generator.render.related import Partner, Watched

ANNOTATIONS = ("related", "related_url", "explorer_url")


def _doc(*rows: str) -> Document:
    return Document("version: 1\npairs:\n" + "".join(f"  - {r}\n" for r in rows), "correlations.yaml")


MEASURED_A = _doc("{a: container_cpu_usage, b: pod_network_receive_bytes, rho: 0.82, n: 240, source: measured}",
                  "{a: pod_restarts, b: container_memory_working_set, rho: -0.41, n: 240, source: measured}")
MEASURED_B = _doc("{a: pod_network_transmit_bytes, b: container_cpu_usage, rho: -0.91, n: 300, source: measured}",
                  "{a: container_cpu_usage, b: node_cpu_utilisation, rho: 0.5, n: 300, source: measured}",
                  "{a: container_cpu_usage, b: coredns_cpu, rho: 0.3, n: 300, source: measured}",
                  "{a: container_cpu_usage, b: node_load_per_core, rho: 0.2, n: 300, source: measured}")


def _alerts(files: dict[str, str]) -> dict[str, dict]:
    out = {}
    for path, text in files.items():
        if path.startswith("alerts/"):
            for group in yamlio.load(text)["groups"]:
                out.update({r["alert"]: r for r in group["rules"]})
    return out


def _expected(files: dict[str, str]) -> list[tuple[str, dict[str, str], dict[str, str]]]:
    """(alert, exp_labels, exp_annotations) of every firing promtool case."""
    out = []
    for path, text in files.items():
        if path.startswith("tests/rules/"):
            for test in yamlio.load(text)["tests"]:
                for check in test.get("alert_rule_test", []):
                    out += [(check["alertname"], e["exp_labels"], e["exp_annotations"]) for e in check["exp_alerts"]]
    return out


@pytest.fixture(scope="module")
def files_a() -> dict[str, str]:
    return pipeline.generate(load(None), MEASURED_A)


@functools.cache
def _generated_b() -> dict[str, str]:
    """The default site with MEASURED_B: generated once for the promtool tree (at collection) and the tests."""
    return pipeline.generate(load(None), MEASURED_B)


@pytest.fixture(scope="module")
def files_b() -> dict[str, str]:
    return dict(_generated_b())


def _tree_b(where: Path) -> Path:
    """The files of MEASURED_B written out: their promtool run starts at collection end (tests/conftest.py)."""
    writer.write(_generated_b(), where)
    return where


@functools.cache
def _watched() -> dict[str, Watched]:
    """What each alert of the default site watches (read-only: shared by the tests below)."""
    config = load(None)
    return related.alert_signals(site(config, build(config)))


def test_metrics_are_the_series_an_expression_reads() -> None:
    expr = ('sum by (cluster, pod) (rate(a_total{job="x",le="0.5"}[5m])) / on (cluster) group_left (node) '
            'b:c:rate5m offset 1h > 1e3 and time() - max_over_time(d[10m]) > 0.9 unless {__name__="e"}')
    assert related.metrics(expr) == {"a_total", "b:c:rate5m", "d"}


def test_an_alert_watches_the_signal_drawing_its_threshold_and_those_it_reads() -> None:
    watched = _watched()
    assert watched["CoreDNSLatencyHigh"] == Watched(("coredns_latency_p99",), ("coredns_latency_p99",))
    cpu = watched["ContainerCPUNearLimit"]
    assert cpu.own == ("container_cpu_limits_ratio",)
    assert "container_cpu_usage" in cpu.signals and "pod_network_receive_bytes" not in cpu.signals
    assert "Watchdog" not in watched and "TargetDown" not in watched
    # a filtered part of a signal is still that signal: the webhook alert reads the rejections but no_error
    assert watched["KubeAPIServerWebhookErrors"].signals == ("apiserver_webhook_rejections",)


# (alert, a signal it does not read although the metric names overlap): the loose name-level mapping had them
NOT_READ = [
    ("KubeControllerManagerRestClientErrors", "scheduler_rest_client_error_ratio"),  # same metric, other job
    ("KubeControllerManagerRestClientErrors", "kube_proxy_api_requests"),
    ("KubeSchedulerRestClientErrors", "controller_manager_rest_client_requests"),
    ("KubeProxyAPIErrorsHigh", "scheduler_rest_client_error_ratio"),
    ("KubeNodeNotReady", "node_pressure"),  # condition="Ready" is not a pressure condition
    ("KubeNodePressure", "node_not_ready"),
    ("KubeCPUOvercommit", "namespace_memory_requests"),  # resource="cpu", not memory
    ("KubeMemoryOvercommit", "namespace_cpu_requests"),
    ("ContainerCPUNearLimit", "namespace_pods_by_phase"),  # the running-pods join is a filter, not a reading
    ("KubeAPIServerThrottlingHigh", "apiserver_error_ratio"),  # code="429", not 5xx
    ("KubeAPIServerTerminatedRequests", "apiserver_throttled_ratio"),
]


@pytest.mark.parametrize(("alert", "signal"), NOT_READ)
def test_no_alert_gets_partners_of_a_signal_it_does_not_read(alert: str, signal: str) -> None:
    assert signal not in _watched()[alert].signals
    # a strong measured partner of that signal stays off the alert (and its runbook)
    partner = "coredns_cpu" if signal != "coredns_cpu" else "node_load_per_core"
    files = pipeline.generate(load(None), _doc(f"{{a: {signal}, b: {partner}, rho: 0.97, n: 300, source: measured}}"))
    assert partner not in _alerts(files)[alert]["annotations"].get("related", "")
    assert partner not in files[f"docs/runbooks/{alert}.md"]


def test_the_watched_signals_are_those_the_expanded_expression_reads() -> None:
    """Cross-check with the other expansion of recorded series in the project (correlate.rawexpr, which rewrites
    the text): an alert watches exactly the signals naming it and those all of whose raw selectors (dashboard
    variables and join series left out) it reads with at least the same matchers."""
    from generator import promql
    from generator.correlate import rawexpr
    from generator.promql_tokens import find_selectors

    config = load(None)
    components = site(config, build(config))
    rules: dict = {}
    for comp in components:
        for rule in (*comp.rules, *comp.slow_rules):
            rules.setdefault(rule.record, []).append(rule)

    def raw(expr: str) -> set[tuple[str, frozenset]]:
        out = set()
        for f in find_selectors(rawexpr.expand(expr, rules)):
            if f.metric and related._core(f.metric):
                given = promql.parse_selector(f.matchers) if f.matchers and f.matchers.strip() else []
                out.add((f.metric, frozenset(m for m in given if "$" not in m[2] and m[0] != "cluster")))
        return out

    signals = {sig.name: sig for comp in components for sig in comp.signals}
    read = {name: raw(sig.expr) for name, sig in signals.items()}
    watched = related.alert_signals(components)
    checked = 0
    for comp in components:
        for alert in comp.alerts:
            mine = raw(alert.expr)
            want = {n for n, sig in signals.items() if sig.alert == alert.name}
            want |= {n for n, sel in read.items()
                     if sel and all(any(m == am and ms <= ams for am, ams in mine) for m, ms in sel)}
            got = set(watched[alert.name].signals) if alert.name in watched else set()
            assert got == want, alert.name
            checked += bool(got)
    assert checked >= 90


def _pair(a: str, b: str, rho: float | None, source: str = "measured", derived: bool | None = None) -> Pair:
    return Pair(a, b, rho=rho, n=100 if rho is not None else 0, source=source, derived=derived)


def test_partners_strongest_first_capped_one_entry_each_never_own_or_derived() -> None:
    watched = Watched(("x", "y"), ("x",))
    pairs = [_pair("x", "p1", 0.3), _pair("p2", "x", -0.9), _pair("y", "p1", 0.6), _pair("x", "p3", None, "prior"),
             _pair("x", "p4", 0.95, derived=True), _pair("y", "x", 0.99), _pair("p5", "y", 0.5), _pair("q", "r", 1.0)]
    found = related.partners(watched, pairs)
    # y is watched but not the alert's own signal: it moved with x (NodeSystemSaturation: load ↔ CPU)
    assert [(p.own, p.signal) for p in found] == [("x", "y"), ("x", "p2"), ("y", "p1")]
    assert related.partners(watched, list(reversed(pairs))) == found
    assert [p.signal for p in related.partners(watched, pairs, limit=10)] == ["y", "p2", "p1", "p5", "p3"]
    # priors by name; a measured ρ of 0 is no partner (below the floor)
    tie = [_pair("x", "b", None, "prior"), _pair("x", "a", None, "prior"), _pair("x", "c", 0.0)]
    assert [p.signal for p in related.partners(watched, tie)] == ["a", "b"]
    assert found[1].text() == "p2 (ρ -0.90, n 100)" and Partner("x", "p3", pairs[3]).text() == "p3 (prior)"


FLOOR = [  # (rho, critical, source, listed)
    (0.82, None, "measured", True),
    (-0.82, 0.2, "measured", True),
    (0.3, None, "measured", True),  # the floor itself is listed
    (-0.3, 0.15, "measured", True),
    (0.29, None, "measured", False),
    (-0.2999, 0.1, "measured", False),
    (0.17, 0.166, "measured", False),  # significant (n 240, α 0.01) but weak
    (0.35, 0.4, "measured", False),  # above the floor, below its own critical value (a hand-edited file)
    (0.4, 0.4, "measured", True),
    (0.0, None, "measured", False),
    (None, None, "prior", True),  # nothing measured yet: the expectation is listed
]


@pytest.mark.parametrize(("rho", "critical", "source", "listed"), FLOOR)
def test_partners_below_the_floor_are_not_listed(rho: float | None, critical: float | None, source: str,
                                                 listed: bool) -> None:
    pair = Pair("x", "p", rho=rho, n=240 if rho is not None else 0, critical=critical, source=source)
    assert pair.listed() is listed
    found = related.partners(Watched(("x",), ("x",)), [pair, _pair("x", "strong", 0.9)])
    assert [p.signal for p in found] == ["strong", "p"] if listed else ["strong"]
    # the alert annotation and the runbook read the same partners (by_alert); the explorer the same rule
    assert correlations.listable(rho, critical) is listed


def test_a_weak_measured_partner_leaves_the_alert_and_its_runbook() -> None:
    weak = _doc("{a: container_cpu_usage, b: pod_network_receive_bytes, rho: 0.82, n: 240, source: measured}",
                "{a: container_cpu_usage, b: node_cpu_utilisation, rho: 0.21, n: 240, critical: 0.166, "
                "source: measured}")
    files = pipeline.generate(load(None), weak)
    assert _alerts(files)["ContainerCPUNearLimit"]["annotations"]["related"] == (
        "pod_network_receive_bytes (ρ +0.82, n 240)")
    assert "node_cpu_utilisation" not in files["docs/runbooks/ContainerCPUNearLimit.md"]
    assert "related" not in _alerts(files)["NodeCPUHighUsage"]["annotations"]


def test_two_correlation_files_give_two_sets_of_annotations(files_a: dict[str, str], files_b: dict[str, str]) -> None:
    a, b = _alerts(files_a)["ContainerCPUNearLimit"], _alerts(files_b)["ContainerCPUNearLimit"]
    assert a["annotations"]["related"] == "pod_network_receive_bytes (ρ +0.82, n 240)"
    assert b["annotations"]["related"] == ("pod_network_transmit_bytes (ρ -0.91, n 300), node_cpu_utilisation "
                                           "(ρ +0.50, n 300), coredns_cpu (ρ +0.30, n 300)")
    assert "var-b=pod_network_receive_bytes&" in a["annotations"]["related_url"]
    assert "var-b=pod_network_transmit_bytes&" in b["annotations"]["related_url"]
    # the measured file replaces the prior: restarts move with memory now, not with latency
    restarts = _alerts(files_a)["KubeContainerRestartsFrequent"]["annotations"]
    assert restarts["related"] == "container_memory_working_set (ρ -0.41, n 240)"
    assert "related" not in _alerts(files_b)["KubeContainerRestartsFrequent"]["annotations"]
    assert "node_cpu_utilisation" in files_b["docs/runbooks/ContainerCPUNearLimit.md"]
    assert "node_cpu_utilisation" not in files_a["docs/runbooks/ContainerCPUNearLimit.md"]
    assert files_a == pipeline.generate(load(None), MEASURED_A)  # deterministic


@pytest.mark.promtool_tree(_tree_b, only=("workloads", "nodes", "coredns"))
def test_the_promtool_cases_expect_the_annotations_and_pass(files_b: dict[str, str], tree_promtool: TreeRun) -> None:
    firing = [(n, ann) for n, _, ann in _expected(files_b) if n == "ContainerCPUNearLimit"]
    assert firing and all(ann["related"].startswith("pod_network_transmit_bytes (ρ -0.91") for _, ann in firing)
    for path in ("alerts/workloads.yaml", "tests/rules/workloads.yaml", "alerts/nodes.yaml", "tests/rules/nodes.yaml"):
        assert (tree_promtool.tree / path).read_text() == files_b[path], path  # the tree promtool ran is files_b
    tree_promtool.result().assert_passed()


def test_without_pairs_no_alert_carries_them_and_no_annotation_is_empty() -> None:
    files = pipeline.generate(load(None), [])
    alerts = _alerts(files)
    assert not [n for n, r in alerts.items() if set(ANNOTATIONS) & set(r["annotations"])]
    assert not [(n, k) for n, r in alerts.items() for k, v in r["annotations"].items() if not v.strip()]
    assert not any("What moved with it" in t for p, t in files.items() if p.startswith("docs/runbooks/"))


def test_the_prior_gives_partners_to_the_alerts_on_its_signals(default_files: dict[str, str]) -> None:
    carrying = {n for n, r in _alerts(default_files).items() if "related" in r["annotations"]}
    assert {"CoreDNSLatencyHigh", "EtcdHighCommitDurations", "KubeAPIServerLatencyHigh", "NodeCPUHighUsage",
            "NodeSystemSaturation", "KubeSchedulerPendingPodsHigh", "ContainerCPUNearLimit"} <= carrying
    assert _alerts(default_files)["CoreDNSLatencyHigh"]["annotations"]["related"] == "coredns_cpu (prior)"
    for name, r in _alerts(default_files).items():
        ann = r["annotations"]
        assert ("related" in ann) == ("related_url" in ann) == ("explorer_url" in ann), name
        assert all(v.strip() for v in ann.values()), name


def test_links_use_the_alerts_own_labels_and_the_site_urls() -> None:
    config = build_config({"cluster_label": "k8s_cluster", "grafana_url": "https://grafana.example.com/g",
                           "correlation_url": "https://stereo.example.com"}, "stereo.yaml", {})
    files = pipeline.generate(config, MEASURED_A)
    ann = _alerts(files)["ContainerCPUNearLimit"]["annotations"]
    assert ann["related_url"] == (
        "https://grafana.example.com/g/d/stereo-pair/pair?var-a=container_cpu_usage&var-b=pod_network_receive_bytes"
        "&var-a_home=stereo-workloads&var-b_home=stereo-workloads&var-cluster={{ $labels.k8s_cluster | urlquery }}"
        "&var-namespace={{ $labels.namespace | urlquery }}&var-pod={{ $labels.pod | urlquery }}")
    assert ann["explorer_url"] == ("https://stereo.example.com/?target=container_cpu_usage&cluster="
                                   "{{ $labels.k8s_cluster | urlquery }}&namespace={{ $labels.namespace | urlquery }}"
                                   "&pod={{ $labels.pod | urlquery }}")
    for name, labels, expected in _expected(files):
        for key in ("related_url", "explorer_url"):
            if key in expected:
                # every label a link reads is one the alert carries: no empty value, no "<no value>"
                assert not re.search(r"=(&|$)", expected[key]) and "<no value>" not in expected[key], (name, key)
                assert f"={labels['k8s_cluster']}" in expected[key]
    node = _alerts(pipeline.generate(config, MEASURED_B))["NodeCPUHighUsage"]["annotations"]["related_url"]
    provisioned = yamlio.load(files["provisioning/datasources/stereo.yaml"])["datasources"]
    assert {d["url"] for d in provisioned if d["uid"] == "stereo-correlation"} == {"https://stereo.example.com"}
    # the node alerts carry no namespace or pod
    assert node.endswith("&var-cluster={{ $labels.k8s_cluster | urlquery }}")
    for r in _alerts(files).values():
        for key in ANNOTATIONS:
            if key in r["annotations"]:
                gotemplate.check(r["annotations"][key])


def test_the_explorer_link_starts_with_the_public_url_and_the_datasource_keeps_the_service_url() -> None:
    """Grafana reaches the service in the cluster (correlation_url); people's browsers reach it where the site
    publishes it (correlation_public_url), and that is where explorer_url points."""
    config = build_config({"correlation_url": "http://stereo.monitoring.svc:9797",
                           "correlation_public_url": "https://stereo.example.com/explore/"}, "stereo.yaml", {})
    files = pipeline.generate(config, MEASURED_A)
    ann = _alerts(files)["ContainerCPUNearLimit"]["annotations"]
    assert ann["explorer_url"].startswith("https://stereo.example.com/explore/?target=container_cpu_usage&cluster=")
    provisioned = yamlio.load(files["provisioning/datasources/stereo.yaml"])["datasources"]
    assert [d["url"] for d in provisioned if d["uid"] == "stereo-correlation"] == ["http://stereo.monitoring.svc:9797"]
    assert all("stereo.monitoring.svc" not in v for r in _alerts(files).values() for v in r["annotations"].values())
    # unset, the link keeps today's base: correlation_url
    assert build_config({}, "stereo.yaml", {}).explorer_base == "http://stereo:9797"


HOSTILE = {"cluster": "eu west/1", "namespace": "a&b#c", "pod": "web #1/x y", "container": "app"}


def test_label_values_are_query_escaped_in_the_links_as_prometheus_renders_them(default_files: dict[str, str],
                                                                               tmp_path: Path) -> None:
    """A promtool case with `&`, `#`, `/` and a space in the alert's labels: the links Prometheus renders keep
    each value in its own query parameter, and decode back to the labels (what Grafana and the explorer read)."""
    from urllib.parse import parse_qsl, urlsplit

    rule = _alerts(default_files)["ContainerCPUNearLimit"]
    (tmp_path / "workloads.yaml").write_text(default_files["alerts/workloads.yaml"])
    labels = {**HOSTILE, **rule["labels"]}
    expected = {k: gotemplate.render(v, labels, 0.95) for k, v in rule["annotations"].items()}
    explorer = "http://stereo:9797/?target=container_cpu_usage&cluster=eu+west%2F1&namespace=a%26b%23c&pod=web+%231%2Fx+y"
    assert expected["explorer_url"] == explorer
    assert expected["related_url"].endswith(
        "&var-cluster=eu+west%2F1&var-namespace=a%26b%23c&var-pod=web+%231%2Fx+y")
    for key, prefix in (("explorer_url", ""), ("related_url", "var-")):
        query = dict(parse_qsl(urlsplit(expected[key]).query))
        assert {k: query[prefix + k] for k in ("cluster", "namespace", "pod")} == {
            k: HOSTILE[k] for k in ("cluster", "namespace", "pod")}, key
    series = ("cluster_namespace_pod_container:container_cpu_usage_over_limits:ratio_rate5m{"
              + ",".join(f'{k}="{v}"' for k, v in sorted(HOSTILE.items())) + "}")
    test = {"rule_files": ["workloads.yaml"], "evaluation_interval": "1m",
            "tests": [{"interval": "1m", "input_series": [{"series": series, "values": "0.95x30"}],
                       "alert_rule_test": [{"eval_time": "20m", "alertname": "ContainerCPUNearLimit",
                                            "exp_alerts": [{"exp_labels": labels, "exp_annotations": expected}]}]}]}
    (tmp_path / "hostile_test.yaml").write_text(yaml.safe_dump(test, allow_unicode=True))
    from promtool_run import promtool
    ran = promtool("test", "rules", "hostile_test.yaml", cwd=tmp_path)
    assert ran.returncode == 0, ran.stdout + ran.stderr
    # the same case with the value left unescaped fails: promtool really compares the rendered link
    test["tests"][0]["alert_rule_test"][0]["exp_alerts"][0]["exp_annotations"]["explorer_url"] = explorer.replace(
        "a%26b%23c", "a&b#c")
    (tmp_path / "hostile_test.yaml").write_text(yaml.safe_dump(test, allow_unicode=True))
    assert promtool("test", "rules", "hostile_test.yaml", cwd=tmp_path).returncode == 1


def test_a_partner_the_site_leaves_out_is_not_listed() -> None:
    config = build_config({"exclude": {"components": ["services"]}}, "stereo.yaml", {})
    alerts = _alerts(pipeline.generate(config))
    assert "related" not in alerts["KubeContainerRestartsFrequent"]["annotations"]  # its prior partner: a service
    assert alerts["CoreDNSLatencyHigh"]["annotations"]["related"] == "coredns_cpu (prior)"


def test_a_patch_overrides_what_moved(tmp_path: Path) -> None:
    config = build_config({"patch": {"CoreDNSLatencyHigh": {"annotations": {"related": "see the DNS board"}}}},
                          "stereo.yaml", {})
    assert _alerts(pipeline.generate(config))["CoreDNSLatencyHigh"]["annotations"]["related"] == "see the DNS board"


def test_the_runbook_lists_the_same_partners_with_their_promql(files_b: dict[str, str]) -> None:
    text = files_b["docs/runbooks/ContainerCPUNearLimit.md"]
    part = text[text.index("What moved with it"):text.index("## Mitigation")]
    named = re.findall(r"^- \*\*.*?\*\* \(`(\w+)`", part, re.M)
    assert named == ["pod_network_transmit_bytes", "node_cpu_utilisation", "coredns_cpu"]
    assert "ρ = -0.91, n = 300" in part
    assert ('```promql\n  cluster_namespace_pod:container_network_transmit_bytes:rate5m{cluster="$cluster"}\n'
            in part)
    assert "$namespace" not in part and "$pod" not in part  # the dashboards' scope variables are not PromQL


def test_diagnosis_query_keeps_the_cluster_and_drops_the_other_dashboard_variables() -> None:
    from generator.model import Signal
    sig = Signal("s", 'sum by (pod) (m{namespace="$namespace", k8s="$cluster",pod=~"${pod:pipe}",job="x"})',
                 "short", ("pod",), "S", "")
    assert related.diagnosis_query(sig, "k8s") == 'sum by (pod) (m{k8s="$cluster",job="x"})'
    only = Signal("t", 'm{pod=~"$pod"} / n{namespace="$namespace"}', "short", (), "T", "")
    assert related.diagnosis_query(only, "cluster") == "m / n"
    for expr, want in (('x{a="1", b="$v", c="2"}', 'x{a="1", c="2"}'), ('x{a="$v", b="1"}', 'x{b="1"}'),
                       ('m{pod="${pod}", s="a,$b"}', 'm{s="a,$b"}'),  # a comma inside a string is no separator
                       ('m{s="}$pod"} or  {namespace="$namespace"}', 'm{s="}$pod"} or '),
                       ('sum by (pod) (rate(m{pod=~"$pod"}[5m]))', "sum by (pod) (rate(m[5m]))")):
        assert related.diagnosis_query(Signal("u", expr, "short", (), "U", ""), "cluster") == want, expr


def test_the_links_name_what_the_pair_view_and_the_explorer_read(default_files: dict[str, str]) -> None:
    """related_url's variables are the pair view's (a and b among its options), explorer_url's parameters are
    the levels the explorer page presets from its URL."""
    from urllib.parse import parse_qsl, urlsplit

    board = json.loads(default_files["dashboards/pair.json"])
    variables = {v["name"]: v for v in board["templating"]["list"]}
    page = (Path(related.__file__).parents[1] / "correlate" / "static" / "explorer.js").read_text()
    found = re.search(r"const LEVELS = (\[.*?\]);", page)
    assert found, "explorer.js names its levels in LEVELS"
    levels = set(json.loads(found.group(1)))
    seen = 0
    for name, r in _alerts(default_files).items():
        if "related" not in r["annotations"]:
            continue
        seen += 1
        url = urlsplit(r["annotations"]["related_url"])
        assert url.path == f"/d/{board['uid']}/pair", name
        query = dict(parse_qsl(url.query))
        assert {k.removeprefix("var-") for k in query} <= set(variables), name
        for var in ("a", "b"):
            assert query[f"var-{var}"] in {o["text"] for o in variables[var]["options"]}, name
        explorer = dict(parse_qsl(urlsplit(r["annotations"]["explorer_url"]).query))
        assert set(explorer) - {"target"} <= levels and explorer["target"] == query["var-a"], name
    assert seen >= 10
