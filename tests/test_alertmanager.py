"""alertmanager.yml passes `amtool check-config`, routes each severity to its receiver (`amtool config routes
test`) and inhibits as intended in a real Alertmanager; the provisioning files and the Kubernetes manifests
parse and point where the settings say."""

from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from alertmanager_run import ALERTMANAGER, amtool, post, routes, running, settle

from generator import pipeline
from generator.config import Config, load
from generator.model import Alert, Case, Component
from generator.render import alertmanager as am
from generator.render.manifests import CONFIGMAP_LIMIT, ManifestError, manifests
from generator.render.provisioning import provisioning

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

SITE = """
cluster_label: k8s_cluster
prometheus_url: https://prom.example.com:9090
correlation_url: https://stereo.example.com
alertmanager:
  receivers: {critical: oncall, warning: team-mail, info: team-mail}
  repeat_interval: {critical: 30m}
  group_wait: 10s
"""


def _components(config: Config) -> list[Component]:
    components, _ = pipeline.build(config)
    return pipeline.apply_site(pipeline.select_profile(components, config), config)


@pytest.fixture(scope="module")
def default() -> tuple[list[Component], Config]:
    config = load(None)
    return _components(config), config


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Component], Config]:
    path = tmp_path_factory.mktemp("site") / "stereo.yaml"
    path.write_text(SITE)
    config = load(path)
    return _components(config), config


def _write(tmp_path: Path, components: list[Component], config: Config) -> Path:
    (path, text), = am.alertmanager(components, config).items()
    target = tmp_path / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(text)
    return target


def _document(components: list[Component], config: Config) -> dict:
    return yaml.safe_load(next(iter(am.alertmanager(components, config).values())))


# ------------------------------------------------------------------------------------------------ alertmanager
@pytest.mark.parametrize("which", ["default", "site"])
def test_amtool_accepts_the_config(which: str, request: pytest.FixtureRequest, tmp_path: Path) -> None:
    components, config = request.getfixturevalue(which)
    done = amtool("check-config", str(_write(tmp_path, components, config)))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_severities_route_to_the_configured_receivers(default, site, tmp_path: Path) -> None:
    plain = _write(tmp_path / "default", *default)
    assert routes(plain, severity="critical", alertname="X", cluster="c") == ["pager"]
    assert routes(plain, severity="warning", alertname="X", cluster="c") == ["ticket"]
    assert routes(plain, severity="info", alertname="X", cluster="c") == ["null"]
    # an alert without a severity still reaches a person
    assert routes(plain, alertname="X", cluster="c") == ["ticket"]
    custom = _write(tmp_path / "site", *site)
    assert routes(custom, severity="critical", alertname="X", k8s_cluster="c") == ["oncall"]
    assert routes(custom, severity="info", alertname="X", k8s_cluster="c") == ["team-mail"]


def test_route_settings_follow_the_config(site) -> None:
    doc = _document(*site)
    route = doc["route"]
    assert route["group_by"] == ["k8s_cluster", "namespace", "alertname"]
    assert (route["group_wait"], route["group_interval"]) == ("10s", "5m")
    by_severity = {r["matchers"][0]: r for r in route["routes"]}
    assert by_severity['severity="critical"']["repeat_interval"] == "30m"
    assert by_severity['severity="warning"']["repeat_interval"] == "4h"
    assert sorted(r["name"] for r in doc["receivers"]) == ["info-inhibitor", "oncall", "team-mail", "watchdog"]


def test_only_current_matcher_syntax(default) -> None:
    text = next(iter(am.alertmanager(*default).values()))
    for old in ("match:", "match_re:", "source_match:", "target_match:", "source_match_re:", "target_match_re:"):
        assert old not in text


def test_severity_inhibitions(default) -> None:
    rules = _document(*default)["inhibit_rules"]
    assert {
        "source_matchers": ['severity="critical"'],
        "target_matchers": ['severity=~"info|warning"'],
        "equal": ["cluster", "namespace", "alertname"],
    } in rules
    assert {
        "source_matchers": ['severity="warning"'],
        "target_matchers": ['severity="info"'],
        "equal": ["cluster", "namespace", "alertname"],
    } in rules


def test_down_alerts_inhibit_their_component(default) -> None:
    components, config = default
    rules = _document(components, config)["inhibit_rules"]
    with_down = [c for c in components if any(a.name.endswith("Down") for a in c.alerts)]
    assert with_down, "the catalog has *Down alerts (CoreDNSDown at least)"
    for comp in with_down:
        downs = sorted(a.name for a in comp.alerts if a.name.endswith("Down"))
        # (the component-wide Down alert silencing its per-instance ones: tests/test_alertmanager_instances.py)
        mine = [r for r in rules if f'component="{comp.key}"' in r["target_matchers"]
                and not any(m.startswith("alertname=") for m in r["target_matchers"])]
        assert mine, comp.key
        sources = set()
        for rule in mine:
            matcher = rule["source_matchers"][0]
            sources |= set(matcher.split("=", 1)[1].lstrip("~").strip('"').split("|"))
            assert rule["equal"][0] == "cluster"
            # the Down alerts themselves stay visible
            assert any(m.startswith("alertname!") for m in rule["target_matchers"])
        assert sources == set(downs), comp.key


def _meta_component() -> Component:
    cases = (Case({"vector(1)": 1}, fires=True), Case({}, fires=False))
    alerts = (
        Alert("Watchdog", "vector(1)", "0s", "info", "Alerting works.", "Always firing.", cases, heartbeat=True),
        Alert("MetaNodeDown", 'up{job="node"} == 0', "5m", "critical", "A node is down.", "{{ $labels.instance }}",
              (Case({}, fires=True, labels={"instance": "n1", "job": "node"}), Case({}, fires=False))),
        Alert("MetaNodeSlow", "vector(0)", "5m", "warning", "Slow.", "Slow.", cases),
    )
    return Component(key="meta", title="Meta", description="", alerts=alerts)


def test_watchdog_route_and_per_instance_down(default, tmp_path: Path) -> None:
    components, config = default
    comps = [*components, _meta_component()]
    doc = _document(comps, config)
    assert doc["route"]["routes"][0]["matchers"] == ['alertname="Watchdog"']
    assert "watchdog" in {r["name"] for r in doc["receivers"]}
    # a per-instance Down alert only silences alerts of the same instance
    rule = next(r for r in doc["inhibit_rules"] if r["source_matchers"][0] == 'alertname="MetaNodeDown"')
    assert rule["equal"] == ["cluster", "instance", "job"]
    path = _write(tmp_path, comps, config)
    assert amtool("check-config", str(path)).returncode == 0
    assert routes(path, alertname="Watchdog", severity="info", cluster="c") == ["watchdog"]
    # without a Watchdog-style alert there is no such route
    plain = _document([c for c in components if c.key != "general"], config)
    assert all('alertname="Watchdog"' not in r["matchers"] for r in plain["route"]["routes"])
    assert "watchdog" not in {r["name"] for r in plain["receivers"]}


def test_the_heartbeat_is_the_alert_model_flag_not_a_name(default) -> None:
    """`Alert.heartbeat` alone makes an alert the heartbeat: routed to the watchdog receiver and never silenced
    by a Down alert of its component; a name ending in Watchdog or an expression `vector(1)` does not."""
    components, config = default
    cases = (Case({"vector(1)": 1}, fires=True), Case({}, fires=False))
    meta = Component(key="meta", title="Meta", description="", alerts=(
        Alert("DeadMansSwitch", "vector(1)", "0s", "info", "Alerting works.", "Always.", cases, heartbeat=True),
        Alert("NodeWatchdog", "vector(1)", "0s", "info", "A node watchdog.", "Not a heartbeat.", cases),
        Alert("MetaDown", "vector(0)", "5m", "critical", "Down.", "Down.", cases)))
    doc = _document([*components, meta], config)
    assert doc["route"]["routes"][0]["matchers"] == ['alertname=~"DeadMansSwitch|Watchdog"']
    down = next(r for r in doc["inhibit_rules"] if r["source_matchers"][0] == 'alertname="MetaDown"')
    assert down["target_matchers"] == ['component="meta"', 'alertname!~"DeadMansSwitch|MetaDown"']


def test_receiver_integrations_pass_through(default, tmp_path: Path) -> None:
    """`alertmanager.integrations` (receiver name → Alertmanager receiver fields), once the settings accept it."""
    components, config = default
    secret = {"authorization": {"credentials_file": "/etc/alertmanager/secrets/pager-token"}}
    hook = {"webhook_configs": [{"url": "https://pager.example.com/hook", "http_config": secret}]}
    wired = dataclasses.replace(config, alertmanager={**config.alertmanager, "integrations": {"pager": hook}})
    receivers = {r["name"]: r for r in _document(components, wired)["receivers"]}
    assert receivers["pager"] == {"name": "pager", **hook}
    assert receivers["ticket"] == {"name": "ticket"}
    done = amtool("check-config", str(_write(tmp_path, components, wired)))
    assert done.returncode == 0, done.stdout + done.stderr


def test_same_input_same_bytes(default) -> None:
    assert am.alertmanager(*default) == am.alertmanager(*default)


# ------------------------------------------------------------------------- inhibition in a running Alertmanager
@pytest.mark.skipif(ALERTMANAGER is None, reason="prometheus-alertmanager is not installed")
def test_inhibition_in_a_real_alertmanager(default, tmp_path: Path) -> None:
    components, config = default
    path = _write(tmp_path, components, config)
    coredns = lambda name, cluster, severity: {  # noqa: E731
        "alertname": name, "cluster": cluster, "severity": severity, "component": "coredns"}
    with running(path, tmp_path / "data") as url:
        post(url, [
            coredns("CoreDNSDown", "c1", "critical"),
            coredns("CoreDNSLatencyHigh", "c1", "warning"),
            coredns("CoreDNSLatencyHigh", "c2", "warning"),
            {"alertname": "AppErrors", "cluster": "c1", "namespace": "a", "severity": "critical"},
            {"alertname": "AppErrors", "cluster": "c1", "namespace": "a", "severity": "warning"},
            {"alertname": "AppErrors", "cluster": "c1", "namespace": "b", "severity": "info"},
        ])
        expected = {
            ("CoreDNSDown", "c1", "critical"): "active",
            ("CoreDNSLatencyHigh", "c1", "warning"): "suppressed",
            ("CoreDNSLatencyHigh", "c2", "warning"): "active",
            ("AppErrors", "c1", "critical"): "active",
            ("AppErrors", "c1", "warning"): "suppressed",
            ("AppErrors", "c1", "info"): "active",  # another namespace
        }
        assert settle(url, expected, "alertname", "cluster", "severity") == expected


# ------------------------------------------------------------------------------------------------ provisioning
def test_provisioning_points_at_the_configured_urls(site) -> None:
    files = provisioning(*site)
    assert sorted(files) == ["provisioning/dashboards/stereo.yaml", "provisioning/datasources/stereo.yaml",
                             "provisioning/prometheus/prometheus.yml"]
    provider = yaml.safe_load(files["provisioning/dashboards/stereo.yaml"])["providers"][0]
    assert provider["folder"] == "Stereo" and provider["type"] == "file"
    assert provider["allowUiUpdates"] is False and provider["updateIntervalSeconds"] == 30
    assert provider["options"] == {"path": "/var/lib/grafana/dashboards/stereo", "foldersFromFilesStructure": False}
    assert "mount the generated dashboards/" in files["provisioning/dashboards/stereo.yaml"]
    sources = {d["uid"]: d for d in yaml.safe_load(files["provisioning/datasources/stereo.yaml"])["datasources"]}
    assert sources["prometheus"]["url"] == "https://prom.example.com:9090"
    assert sources["prometheus"]["type"] == "prometheus"
    infinity = sources["stereo-correlation"]
    assert infinity["type"] == "yesoreyeram-infinity-datasource"
    assert infinity["url"] == "https://stereo.example.com"
    assert infinity["jsonData"]["allowedHosts"] == ["https://stereo.example.com"]
    assert "secureJsonData" in files["provisioning/datasources/stereo.yaml"]  # the bearer-token note
    snippet = files["provisioning/prometheus/prometheus.yml"]
    prom = yaml.safe_load(snippet)
    assert prom["rule_files"] == ["/etc/prometheus/stereo/rules/*.yaml", "/etc/prometheus/stereo/alerts/*.yaml"]
    assert prom["alerting"]["alertmanagers"][0]["static_configs"][0]["targets"] == ["alertmanager:9093"]
    assert "--web.enable-lifecycle" in snippet and "curl -X POST https://prom.example.com:9090/-/reload" in snippet
    for text in files.values():
        assert text.startswith("# generated by stereo — do not edit\n")


def test_prometheus_snippet_passes_promtool(site, tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    assert promtool, "promtool is missing"
    path = tmp_path / "prometheus.yml"
    path.write_text(provisioning(*site)["provisioning/prometheus/prometheus.yml"])
    done = subprocess.run([promtool, "check", "config", str(path)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr


# --------------------------------------------------------------------------------------------------- manifests
def _dashboard(title: str, padding: int = 0) -> str:
    body = {"title": title, "uid": f"stereo-{title.lower()}", "schemaVersion": 39, "panels": [],
            "description": "x" * padding}
    return json.dumps(body, indent=2, sort_keys=True) + "\n"


def test_manifests_parse_with_the_right_kinds(default_files: dict[str, str]) -> None:
    files = {**default_files, "dashboards/coredns.json": _dashboard("CoreDNS")}
    out = manifests(files, load(None))
    assert out == manifests(files, load(None))
    rule_files = [p for p in files if p.startswith(("rules/", "alerts/"))]
    rules = {p: yaml.load(t, LOADER) for p, t in out.items() if p.startswith("manifests/prometheusrules/")}
    assert len(rules) == len(rule_files)
    for path, doc in rules.items():
        assert doc["apiVersion"] == "monitoring.coreos.com/v1" and doc["kind"] == "PrometheusRule", path
        assert doc["metadata"]["namespace"] == "monitoring"
        assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "stereo"
        assert doc["metadata"]["name"].startswith("stereo-") and "_" not in doc["metadata"]["name"]
    coredns = rules["manifests/prometheusrules/coredns-alerts.yaml"]
    assert coredns["metadata"]["name"] == "stereo-coredns-alerts"
    assert coredns["spec"]["groups"] == yaml.safe_load(files["alerts/coredns.yaml"])["groups"]
    cm = yaml.safe_load(out["manifests/dashboards/coredns.yaml"])
    assert cm["kind"] == "ConfigMap" and cm["apiVersion"] == "v1"
    assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert cm["metadata"]["annotations"] == {"grafana_folder": "Stereo"}
    assert json.loads(cm["data"]["coredns.json"]) == json.loads(files["dashboards/coredns.json"])
    kustomization = yaml.safe_load(out["manifests/kustomization.yaml"])
    resources = kustomization["resources"]
    assert resources == sorted(resources)
    assert {f"manifests/{r}" for r in resources} == set(out) - {"manifests/kustomization.yaml"}


def test_a_dashboard_over_one_mib_is_rejected() -> None:
    files = {"dashboards/huge.json": _dashboard("Huge", CONFIGMAP_LIMIT)}
    with pytest.raises(ManifestError, match=r"dashboards/huge\.json"):
        manifests(files, load(None))
    fits = {"dashboards/big.json": _dashboard("Big", CONFIGMAP_LIMIT - 1000)}
    assert "manifests/dashboards/big.yaml" in manifests(fits, load(None))


@pytest.mark.skipif(ALERTMANAGER is None, reason="prometheus-alertmanager is not installed")
def test_one_oom_kill_reaches_a_receiver_once(default, tmp_path: Path) -> None:
    """An OOM-killed container also restarts, shows a cAdvisor OOM event and a kernel oom_kill on its node: only
    KubeContainerOOMKilled stays active; a crash loop silences frequent restarts of the same container only."""
    path = _write(tmp_path, *default)
    box = lambda name, pod, component="workloads", **extra: {  # noqa: E731
        "alertname": name, "cluster": "c1", "severity": "warning", "component": component, **extra,
        **({"namespace": "shop", "pod": pod, "container": "app"} if pod else {})}
    with running(path, tmp_path / "data") as url:
        post(url, [
            box("KubeContainerOOMKilled", "web-1"), box("ContainerOOMEvents", "web-1"),
            box("KubeContainerRestartsFrequent", "web-1"),
            box("NodeOOMKillDetected", "", component="nodes", instance="10.0.0.1:9100"),
            box("KubePodCrashLooping", "api-1"), box("KubeContainerRestartsFrequent", "api-1"),
            box("KubeContainerRestartsFrequent", "db-1"),
        ])
        expected = {
            ("KubeContainerOOMKilled", "web-1"): "active",
            ("ContainerOOMEvents", "web-1"): "suppressed",
            ("KubeContainerRestartsFrequent", "web-1"): "suppressed",
            ("NodeOOMKillDetected", ""): "suppressed",
            ("KubePodCrashLooping", "api-1"): "active",
            ("KubeContainerRestartsFrequent", "api-1"): "suppressed",
            ("KubeContainerRestartsFrequent", "db-1"): "active",  # another container: nothing explains it
        }
        assert settle(url, expected, "alertname", "pod") == expected


@pytest.mark.skipif(ALERTMANAGER is None, reason="prometheus-alertmanager is not installed")
def test_info_inhibitor_and_the_heartbeat(default, tmp_path: Path) -> None:
    """InfoInhibitor holds back info alerts of its namespace only; nothing ever silences the Watchdog, not even a
    vanished-target Down alert without a cluster label (absent()) or an InfoInhibitor without a namespace."""
    path = _write(tmp_path, *default)
    assert routes(path, alertname="Watchdog", severity="info") == ["watchdog"]
    assert routes(path, alertname="InfoInhibitor", severity="info", cluster="c1", namespace="a") == ["info-inhibitor"]
    labels = lambda name, severity, ns="", cluster="c1", component="general": {  # noqa: E731
        "alertname": name, "severity": severity, "component": component,
        **({"cluster": cluster} if cluster else {}), **({"namespace": ns} if ns else {})}
    with running(path, tmp_path / "data") as url:
        post(url, [
            labels("InfoInhibitor", "info", "a"), labels("KubeQuotaAlmostFull", "info", "a", component="workloads"),
            labels("KubeQuotaAlmostFull", "info", "b", component="workloads"),
            labels("Watchdog", "info", cluster=""), labels("InfoInhibitor", "info", cluster=""),
            labels("KubeStateMetricsDown", "critical", cluster=""),
        ])
        expected = {
            ("InfoInhibitor", "a"): "active",
            ("KubeQuotaAlmostFull", "a"): "suppressed",
            ("KubeQuotaAlmostFull", "b"): "active",
            ("Watchdog", ""): "active",
            ("InfoInhibitor", ""): "active",
            ("KubeStateMetricsDown", ""): "active",
        }
        assert settle(url, expected, "alertname", "namespace") == expected
