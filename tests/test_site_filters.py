"""Label filters of real sites (issues 14.3 and 12.1): `filters.namespace` limits the namespaced alerts as
kubernetes-mixin's namespaceSelector does, and every container filter the rules add is
`selectors.cadvisor_containers` — each checked on the generated files with the real promtool."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from generator import cli, pipeline
from generator.build import build
from generator.config import Config, ConfigError, load
from generator.config import build as config_build
from generator.context import selects
from generator.model import Component
from tests.promtool_run import TreeRun, promtool

FILTER = 'namespace=~"prod-.*"'
SITE = f"""\
selectors:
  cadvisor_containers: ''
filters:
  namespace: '{FILTER}'
"""
# an alert about a namespace that the namespace filter leaves alone: InfoInhibitor reads Prometheus' own ALERTS
NOT_FILTERED = {"InfoInhibitor"}


def _namespaced(components: list[Component]) -> dict[str, str]:
    """Alert -> expr of every alert whose firing cases name a namespace (an alert about a namespaced object)."""
    return {a.name: a.expr for c in components for a in c.alerts
            if a.name not in NOT_FILTERED and any(k.fires and "namespace" in (k.labels or {}) for k in a.cases)}


def _generate(root: Path) -> Path:
    """`stereo generate` of SITE into root/out (the fixture below, and the promtool tree started at collection)."""
    (root / "stereo.yaml").write_text(SITE)
    assert cli.main(["generate", "--config", str(root / "stereo.yaml"), "--out", str(root / "out")]) == 0
    return root / "out"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _generate(tmp_path_factory.mktemp("filters"))


@pytest.fixture(scope="module")
def components() -> list[Component]:
    return build(config_build(yaml.safe_load(SITE), "stereo.yaml", {})).components


def _generated(tree: Path, kind: str) -> dict[str, str]:
    """record or alert name -> expr of every rule in rules/ or alerts/ of the tree."""
    out: dict[str, str] = {}
    for path in sorted(tree.glob(f"{kind}/*.yaml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                out[f"{path.stem} {rule.get('record') or rule['alert']}"] = rule["expr"]
    return out


# ------------------------------------------------------------------------------------------- accepted / refused
@pytest.mark.parametrize(("value", "watched"), [
    ("", "shop"),
    ("  ", "shop"),
    (FILTER, "prod-x"),
    ('{namespace=~"prod-.*|staging"}', "prod-x"),
    ('namespace!~"kube-.*|openshift-.*"', "shop"),
    ('namespace="payments"', "payments"),
    ('namespace!="shop"', "stereo-test"),
    ('namespace=~"prod-.*",namespace!="prod-"', "prod-x"),
    ('namespace=~"team-.+-prod"', "team-x-prod"),
])
def test_namespace_filters_accepted(value: str, watched: str) -> None:
    """An accepted filter reaches the alerts as given, and the promtool cases use a namespace it watches."""
    built = build(config_build({"filters": {"namespace": value}}, "stereo.yaml", {}))
    assert built.ctx.test_namespace == watched
    assert selects(built.ctx.ns_filter, {"namespace": watched})
    expr = next(a.expr for c in built.components for a in c.alerts if a.name == "KubePodCrashLooping")
    matchers = value.strip().removeprefix("{").removesuffix("}")
    assert (matchers in expr) if matchers else ("namespace=" not in expr and "namespace!" not in expr)


@pytest.mark.parametrize(("value", "line", "message"), [
    ('namespace=~"(?!kube-).*"', 2, 'expected label matchers such as namespace=~"prod-.*" (regular expression '
                                    "'(?!kube-).*' is not RE2 syntax"),
    ('namespace=~"(prod"', 2, 'expected label matchers such as namespace=~"prod-.*" (regular expression'),
    ("namespace=~prod-.*", 2, 'expected label matchers such as namespace=~"prod-.*" (cannot parse matcher'),
    ('namespace="a" namespace="b"', 2, 'expected label matchers such as namespace=~"prod-.*" (expected \',\''),
    ('__name__="up"', 2, "expected label matchers such as namespace=~\"prod-.*\" (__name__ is reserved"),
    ('pod=~"web-.*"', 2, "expected matchers on the namespace label such as namespace=~\"prod-.*\", got "
                         "'pod=~\"web-.*\"' (matches pod)"),
    ('namespace="shop",exported_namespace="shop"', 2, "expected matchers on the namespace label"),
    ('namespace!~".*"', 2, "expected matchers that pass a namespace the promtool cases can use"),
    ('namespace=~"prod-.*",namespace!~"prod-.*"', 2, "expected matchers that pass a namespace"),
])
def test_namespace_filters_refused(tmp_path: Path, value: str, line: int, message: str) -> None:
    """One line naming the file, line and key; `stereo generate` exits 2 and writes nothing."""
    path = tmp_path / "stereo.yaml"
    path.write_text(f"filters:\n  namespace: '{value}'\n")
    with pytest.raises(ConfigError) as err:
        pipeline.generate(load(path))
    assert str(err.value).startswith(f"{path}:{line}: filters.namespace: {message}"), str(err.value)
    assert "\n" not in str(err.value)
    assert cli.main(["generate", "--config", str(path), "--out", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()


def test_default_adds_no_namespace_matcher() -> None:
    assert Config().filters["namespace"] == ""
    committed = Path(__file__).parents[1]
    for path in (*committed.glob("alerts/*.yaml"), *committed.glob("rules/*.yaml")):
        assert "prod-" not in path.read_text()


# ------------------------------------------------------------------------------------------ the generated files
def test_every_namespaced_alert_carries_the_filter(site: Path, components: list[Component]) -> None:
    namespaced = _namespaced(components)
    # the workload, pod, container, quota and claim alerts (kubernetes-mixin's apps and resources groups)
    assert {"KubePodCrashLooping", "KubePodNotReady", "ContainerOOMEvents", "ContainerCPUThrottlingHigh",
            "ContainerMemoryNearLimit", "KubeDeploymentReplicasMismatch", "KubeJobFailed", "KubeHpaMaxedOut",
            "KubeQuotaAlmostFull", "KubeQuotaExceeded", "KubePersistentVolumeClaimPending",
            "KubePersistentVolumeFillingUp", "KubePersistentVolumeInodesAlmostFull"} <= set(namespaced)
    alerts = {k.split()[1]: e for k, e in _generated(site, "alerts").items()}
    for name in namespaced:
        assert FILTER in alerts[name], name
    # everything else: cluster-wide alerts (capacity is shared), node, control-plane and recording rules
    others = {k: e for k, e in alerts.items() if k not in namespaced}
    assert {"KubeCPUOvercommit", "KubeCPUQuotaOvercommit", "NodeCPUHighUsage",
            "KubePersistentVolumeErrors"} <= set(others)  # a PersistentVolume has no namespace
    assert [k for k, e in others.items() if "prod-" in e] == []
    records = _generated(site, "rules")
    assert len(records) > 100 and [k for k, e in records.items() if "prod-" in e] == []


@pytest.mark.promtool_tree(_generate, only=("workloads", "kubelet"))
def test_filtered_output_passes_promtool(site: Path, tree_promtool: TreeRun) -> None:
    """The same `_generate` as `site`, run through promtool in the background from collection end."""
    for path in ("alerts/workloads.yaml", "tests/rules/workloads.yaml", "tests/rules/kubelet.yaml"):
        assert (tree_promtool.tree / path).read_text() == (site / path).read_text(), path
    assert FILTER in (tree_promtool.tree / "alerts/workloads.yaml").read_text()
    tree_promtool.result().assert_passed()


def test_filtered_output_loads_in_vmalert(site: Path) -> None:
    """The second PromQL engine parses the filtered rules too (`vmalert -dryRun`)."""
    vmalert = shutil.which("vmalert")
    assert vmalert, "vmalert is missing: install Debian's victoria-metrics (tools/setup-test-deps.sh)"
    files = sorted(str(p) for p in [*site.glob("rules/*.yaml"), *site.glob("alerts/*.yaml")])
    ran = subprocess.run([vmalert, "-dryRun", *(f"-rule={f}" for f in files)], capture_output=True, text=True,
                         timeout=300, check=False)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]


@pytest.mark.parametrize(("tests_of", "fired", "others"), [("workloads", 25, 2), ("kubelet", 4, 4)])
def test_namespaced_alerts_stay_quiet_outside_the_watched_namespaces(site: Path, components: list[Component],
                                                                     tests_of: str, fired: int, others: int) -> None:
    """A component's promtool cases moved to a namespace the filter leaves out: no namespaced alert fires there,
    the others (cluster-wide capacity, kubelet health) still do."""
    namespaced = _namespaced(components)
    watched = build(config_build(yaml.safe_load(SITE), "stereo.yaml", {})).ctx.test_namespace
    doc = yaml.safe_load((site / f"tests/rules/{tests_of}.yaml").read_text())
    quiet, kept = 0, 0
    tests = []
    for test in doc["tests"]:
        if not test.get("alert_rule_test"):
            continue
        test.pop("promql_expr_test", None)  # records' cases share some groups: their samples name the namespace
        for series in test["input_series"]:
            series["series"] = series["series"].replace(f'namespace="{watched}"', 'namespace="dev"')
        for case in test["alert_rule_test"]:
            if case["alertname"] in namespaced:
                quiet += bool(case["exp_alerts"])
                case["exp_alerts"] = []
            else:
                kept += bool(case["exp_alerts"])
        tests.append(test)
    assert quiet >= fired and kept >= others  # cases that fired in the watched namespace / still fire
    doc["tests"] = tests
    (site / f"tests/rules/unwatched_{tests_of}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    ran = promtool("test", "rules", f"tests/rules/unwatched_{tests_of}.yaml", cwd=site)
    assert ran.returncode == 0, ran.stdout[-4000:] + ran.stderr[-4000:]


# ---------------------------------------------------------------------------- container filters: one setting
def test_no_container_filter_is_left_when_the_setting_is_empty(site: Path) -> None:
    """cadvisor_containers '' leaves no image filter; container!="" is left only where the sibling setting
    cadvisor_container_cgroups (default container!="") applies: CFS throttling and OOM events."""
    cgroups = set()
    for kind in ("rules", "alerts"):
        for name, expr in _generated(site, kind).items():
            assert 'image!=""' not in expr, name
            if 'container!=""' in expr:
                cgroups.add(name)
    assert cgroups == {"workloads cluster_namespace_pod_container:container_cpu_cfs_throttled_periods:ratio_rate5m",
                       "workloads ContainerOOMEvents"}
    for runbook in ("NodeCPUHighUsage", "NodeMemoryHighUtilization", "ContainerOOMEvents"):
        assert 'image!=""' not in (site / f"docs/runbooks/{runbook}.md").read_text()


def test_default_container_filters_everywhere() -> None:
    """Every cAdvisor container series the committed rules and alerts read is filtered by one of the two
    settings, and nothing else filters them."""
    committed = Path(__file__).parents[1]
    text = (committed / "rules/workloads.yaml").read_text() + (committed / "alerts/workloads.yaml").read_text()
    cadvisor = 'job="kubelet", metrics_path="/metrics/cadvisor"'
    for metric in ("container_cpu_usage_seconds_total", "container_memory_working_set_bytes"):
        assert f'{metric}{{{cadvisor},container!="",image!=""}}' in text, metric
    for metric in ("container_cpu_cfs_periods_total", "container_cpu_cfs_throttled_periods_total",
                   "container_oom_events_total"):
        assert f'{metric}{{{cadvisor},container!=""}}' in text, metric
    assert 'container!="POD"' not in text and text.count("container!=") == text.count(f'{cadvisor},container!=')


CADV = 'job="kubelet",metrics_path="/metrics/cadvisor"'
KSM = 'job="kube-state-metrics"'


def _no_image_case(ns: str) -> list[dict[str, str]]:
    """One container of pod web-0 in `ns`, its cAdvisor series without an `image` label (as cri-o or a relabelling
    site gives them): 1 core used of a 2-core limit, throttled half the periods, 950 MB of a 1 GB limit, an OOM
    event a minute."""
    ctr = f'{CADV},cluster="c1",namespace="{ns}",pod="web-0",container="app"'
    obj = f'{KSM},cluster="c1",namespace="{ns}",pod="web-0",uid="u-{ns}"'
    return [
        {"series": f'container_cpu_usage_seconds_total{{{ctr},cpu="total"}}', "values": "0+60x60"},
        {"series": f"container_memory_working_set_bytes{{{ctr}}}", "values": "950000000x60"},
        {"series": f"container_cpu_cfs_periods_total{{{ctr}}}", "values": "0+600x60"},
        {"series": f"container_cpu_cfs_throttled_periods_total{{{ctr}}}", "values": "0+300x60"},
        {"series": f"container_oom_events_total{{{ctr}}}", "values": "0+1x60"},
        {"series": f'kube_pod_status_phase{{{obj},phase="Running"}}', "values": "1x60"},
        {"series": f'kube_pod_container_resource_limits{{{obj},container="app",resource="memory",unit="byte"}}',
         "values": "1000000000x60"},
        {"series": f'kube_pod_container_resource_limits{{{obj},container="app",resource="cpu",unit="core"}}',
         "values": "2x60"},
    ]


def test_rules_and_alerts_work_on_containers_without_image(site: Path) -> None:
    """With cadvisor_containers '' the CPU, memory and throttling rules produce series for containers without an
    `image` label, and the container alerts fire — in the watched namespace only."""
    labels = '{cluster="c1", container="app", namespace="prod-web", pod="web-0"}'
    cpu, mem = "container_cpu_usage_seconds:rate5m", "container_memory_working_set_bytes:max"
    throttled = "container_cpu_cfs_throttled_periods:ratio_rate5m"
    firing = ("ContainerCPUThrottlingHigh", "ContainerMemoryNearLimit", "ContainerOOMEvents")
    doc = {
        "rule_files": ["../../rules/workloads.yaml", "../../alerts/workloads.yaml"],
        "evaluation_interval": "1m",
        "group_eval_order": ["workloads.rules.state", "workloads.rules", "workloads.rules.network",
                             "workloads.alerts"],
        "tests": [{
            "interval": "1m",
            "input_series": _no_image_case("prod-web") + _no_image_case("dev-web"),
            "promql_expr_test": [
                *({"expr": f'cluster_namespace_pod_container:{record}{{namespace="prod-web"}}', "eval_time": "40m",
                   "exp_samples": [{"labels": f"cluster_namespace_pod_container:{record}{labels}", "value": value}]}
                  for record, value in ((cpu, 1), (mem, 950000000), (throttled, 0.5))),
                {"expr": 'count by (alertname, namespace) (ALERTS{alertstate="firing",alertname=~"Container.*"})',
                 "eval_time": "40m",
                 "exp_samples": [{"labels": f'{{alertname="{a}", namespace="prod-web"}}', "value": 1}
                                 for a in firing]},
            ],
        }],
    }
    (site / "tests/rules/no_image.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    ran = promtool("test", "rules", "tests/rules/no_image.yaml", cwd=site)
    assert ran.returncode == 0, ran.stdout[-4000:] + ran.stderr[-4000:]
