"""`stereo generate --manifests` for kube-prometheus-stack: the `manifests:` settings reach every object, every
object validates against the Kubernetes schemas (kubernetes-validate's bundled OpenAPI, strict: unknown fields
fail) or the Prometheus Operator CRDs' required fields, the service's token never appears inline, and a
stale manifests/ fails `--check`."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

from generator import cli, pipeline
from generator.config import ConfigError, load
from generator.render import manifests_service

ROOT = Path(__file__).resolve().parents[1]
K8S_VERSION = kubernetes_validate.utils.latest_version()
KPS = {"manifests": {"namespace": "observability", "labels": {"release": "kps"},
                     "annotations": {"example.com/owner": "sre"}}}

# Required fields and formats of the two Prometheus Operator kinds Stereo writes, after the operator's CRDs
# (monitoring.coreos.com_prometheusrules.yaml and _servicemonitors.yaml, v1): written here, not copied.
_DURATION = r"^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$"
_STRINGS = {"type": "object", "additionalProperties": {"type": "string"}}
_META = {"type": "object", "required": ["name", "namespace"],
         "properties": {"name": {"type": "string", "minLength": 1}, "labels": _STRINGS, "annotations": _STRINGS}}
PROMETHEUS_RULE = {
    "type": "object", "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"}, "kind": {"const": "PrometheusRule"}, "metadata": _META,
        "spec": {"type": "object", "properties": {"groups": {"type": "array", "items": {
            "type": "object", "required": ["name"], "properties": {
                "name": {"type": "string", "minLength": 1},
                "interval": {"type": "string", "pattern": _DURATION},
                "rules": {"type": "array", "items": {
                    "type": "object", "required": ["expr"],
                    "oneOf": [{"required": ["alert"]}, {"required": ["record"]}],
                    "properties": {"alert": {"type": "string"}, "record": {"type": "string"},
                                   "expr": {"type": ["string", "integer"]},
                                   "for": {"type": "string", "pattern": _DURATION},
                                   "labels": _STRINGS, "annotations": _STRINGS}}}}}}}},
    },
}
SERVICE_MONITOR = {
    "type": "object", "required": ["apiVersion", "kind", "metadata", "spec"],
    "properties": {
        "apiVersion": {"const": "monitoring.coreos.com/v1"}, "kind": {"const": "ServiceMonitor"}, "metadata": _META,
        "spec": {"type": "object", "required": ["endpoints", "selector"], "properties": {
            "selector": {"type": "object", "properties": {"matchLabels": _STRINGS}},
            "namespaceSelector": {"type": "object", "properties": {
                "any": {"type": "boolean"}, "matchNames": {"type": "array", "items": {"type": "string"}}}},
            "endpoints": {"type": "array", "items": {"type": "object", "properties": {
                "port": {"type": "string"}, "path": {"type": "string"},
                "scheme": {"enum": ["http", "https", "HTTP", "HTTPS"]},
                "interval": {"type": "string", "pattern": _DURATION}}}}}},
    },
}
CRDS = {"PrometheusRule": PROMETHEUS_RULE, "ServiceMonitor": SERVICE_MONITOR}


def site(tmp_path: Path, settings: dict[str, Any]) -> Path:
    path = tmp_path / "stereo.yaml"
    path.write_text(yaml.safe_dump(settings, sort_keys=False), encoding="utf-8")
    return path


def objects(files: dict[str, str]) -> dict[str, dict[str, Any]]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return {p: yaml.load(t, loader) for p, t in files.items()
            if p.startswith("manifests/") and p != "manifests/kustomization.yaml"}


def validate(doc: dict[str, Any]) -> None:
    if doc["kind"] in CRDS:
        jsonschema.validate(doc, CRDS[doc["kind"]])
    else:
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


@pytest.fixture(scope="module")
def kps_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return pipeline.generate(load(site(tmp_path_factory.mktemp("kps"), KPS)), manifests=True)


@pytest.fixture(scope="module")
def kps(kps_files: dict[str, str]) -> dict[str, dict[str, Any]]:
    return objects(kps_files)


def test_every_object_carries_the_release_label_namespace_and_annotations(kps: dict[str, dict[str, Any]]) -> None:
    kinds = {doc["kind"] for doc in kps.values()}
    assert kinds == {"PrometheusRule", "ConfigMap", "Deployment", "Service", "ServiceMonitor", "NetworkPolicy"}
    for path, doc in kps.items():
        meta = doc["metadata"]
        assert meta["namespace"] == "observability", path
        assert meta["labels"]["release"] == "kps", path
        assert meta["annotations"]["example.com/owner"] == "sre", path
    # the pods too: kube-prometheus-stack's PodMonitors and policies select on the same labels
    assert kps["manifests/service/deployment.yaml"]["spec"]["template"]["metadata"]["labels"]["release"] == "kps"


def test_every_object_validates_against_its_schema(kps: dict[str, dict[str, Any]], default_files: dict[str, str]
                                                   ) -> None:
    for doc in kps.values():
        validate(doc)
    wrapped = [p for p in default_files if p.startswith(("rules/", "alerts/")) or p.endswith(".json")]
    assert len(kps) == len(wrapped) + 6  # one object per rule, alert and dashboard file; the service's six


def test_the_schemas_reject_what_the_api_server_would(kps: dict[str, dict[str, Any]]) -> None:
    deployment = kps["manifests/service/deployment.yaml"]
    broken = {**deployment, "spec": {**deployment["spec"], "replicas": "one"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(broken)
    typo = {**kps["manifests/service/service.yaml"], "spek": {}}
    with pytest.raises(kubernetes_validate.ValidationError):
        validate(typo)  # strict: an unknown field is an error, as `kubectl apply --validate=strict` says
    monitor = kps["manifests/service/servicemonitor.yaml"]
    with pytest.raises(jsonschema.ValidationError):
        validate({**monitor, "spec": {"selector": monitor["spec"]["selector"]}})
    rule = next(d for p, d in kps.items() if p.startswith("manifests/prometheusrules/"))
    group = {**rule["spec"]["groups"][0], "interval": "5 minutes"}
    with pytest.raises(jsonschema.ValidationError):
        validate({**rule, "spec": {"groups": [group]}})


def test_service_runs_as_configured_with_probes_and_a_token_file(kps: dict[str, dict[str, Any]]) -> None:
    pod = kps["manifests/service/deployment.yaml"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    args = container["args"]
    assert args[0] == "serve"
    assert args[args.index("--listen") + 1] == "0.0.0.0:9797"
    assert args[args.index("--prometheus") + 1] == "http://prometheus:9090"
    token = args[args.index("--token-file") + 1]
    mount = next(m for m in container["volumeMounts"] if token.startswith(m["mountPath"] + "/"))
    volume = next(v for v in pod["volumes"] if v["name"] == mount["name"])
    assert volume["secret"]["secretName"] == "stereo-correlation-token"
    assert container["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    service = kps["manifests/service/service.yaml"]["spec"]
    assert service["ports"][0]["port"] == container["ports"][0]["containerPort"] == 9797
    pod_labels = kps["manifests/service/deployment.yaml"]["spec"]["template"]["metadata"]["labels"]
    assert service["selector"].items() <= pod_labels.items()


def test_datasource_reads_the_token_from_grafanas_environment_never_inline(kps: dict[str, dict[str, Any]]) -> None:
    cm = kps["manifests/service/datasource.yaml"]
    assert cm["metadata"]["labels"]["grafana_datasource"] == "1"
    (text,) = cm["data"].values()
    (ds,) = yaml.safe_load(text)["datasources"]
    assert ds["uid"] == "stereo-correlation"
    assert ds["url"] == "http://stereo-correlation.observability.svc:9797"
    assert ds["secureJsonData"] == {"bearerToken": "${STEREO_CORRELATION_TOKEN}"}
    assert not any(doc["kind"] == "Secret" for doc in kps.values())


def test_network_policy_admits_grafana_and_prometheus_on_the_service_port(kps: dict[str, dict[str, Any]]) -> None:
    spec = kps["manifests/service/networkpolicy.yaml"]["spec"]
    (rule,) = spec["ingress"]
    assert [p["podSelector"]["matchLabels"]["app.kubernetes.io/name"] for p in rule["from"]] == [
        "grafana", "prometheus"]
    assert rule["ports"] == [{"port": 9797, "protocol": "TCP"}]
    assert spec["podSelector"]["matchLabels"] == manifests_service.SELECTOR


def test_settings_change_the_service_and_dashboards(tmp_path: Path) -> None:
    settings = {"prometheus_url": "http://kps-prometheus.observability:9090", "manifests": {
        "dashboards": {"labels": {"team": "platform"}, "folder": "Kubernetes / Stereo"},
        "service": {"listen": "0.0.0.0:8080", "allow_from": [], "replicas": 2,
                    "token_secret": {"name": "corr-token", "key": "bearer"}}}}
    docs = objects(pipeline.generate(load(site(tmp_path, settings)), manifests=True))
    for doc in docs.values():
        validate(doc)
    board = docs["manifests/dashboards/coredns.yaml"]["metadata"]
    assert board["labels"]["team"] == "platform" and board["labels"]["grafana_dashboard"] == "1"
    assert board["annotations"] == {"grafana_folder": "Kubernetes / Stereo"}
    deployment = docs["manifests/service/deployment.yaml"]["spec"]
    assert deployment["replicas"] == 2
    args = deployment["template"]["spec"]["containers"][0]["args"]
    assert "http://kps-prometheus.observability:9090" in args and "0.0.0.0:8080" in args
    token = next(v for v in deployment["template"]["spec"]["volumes"] if v["name"] == "token")["secret"]
    assert token["secretName"] == "corr-token" and token["items"] == [{"key": "bearer", "path": "token"}]
    # nobody named: no rule at all (an empty `from` would admit everyone)
    assert docs["manifests/service/networkpolicy.yaml"]["spec"]["ingress"] == []


def test_without_the_service_only_the_datasource_pointing_at_correlation_url(tmp_path: Path) -> None:
    settings = {"correlation_url": "https://stereo.example.com", "manifests": {"service": {"enabled": False}}}
    files = pipeline.generate(load(site(tmp_path, settings)), manifests=True)
    assert not any(p.startswith("manifests/service/") and p != "manifests/service/datasource.yaml" for p in files)
    (ds,) = yaml.safe_load(next(iter(objects(files)["manifests/service/datasource.yaml"]["data"].values())))[
        "datasources"]
    assert ds["url"] == "https://stereo.example.com"


def test_service_settings_hold_only_the_catalogs_keys(tmp_path: Path) -> None:
    settings = {"cluster_label": "k8s_cluster", "alertmanager": {"integrations": {"pager": {
        "webhook_configs": [{"url": "https://hooks.example.com/secret-path"}]}}}, **KPS}
    files = pipeline.generate(load(site(tmp_path, settings)), manifests=True)
    text = objects(files)["manifests/service/config.yaml"]["data"]["stereo.yaml"]
    assert yaml.safe_load(text) == {"cluster_label": "k8s_cluster"}
    assert "secret-path" not in "".join(t for p, t in files.items() if p.startswith("manifests/"))


@pytest.mark.parametrize(("settings", "message"), [
    ({"namespace": "Observability"}, "manifests.namespace: expected a DNS-1123 label"),
    ({"labels": {"release": 1}}, "manifests.labels.release: expected a Kubernetes label value"),
    ({"labels": {"bad key!": "x"}}, "manifests.labels.bad key!: expected a Kubernetes label or annotation key"),
    ({"service": {"listen": "9797"}}, "manifests.service.listen: expected HOST:PORT"),
    ({"service": {"token_secret": {"name": "Token"}}}, "manifests.service.token_secret.name: expected a DNS-1123"),
    ({"datasource": {"token_env": "$TOKEN"}}, "manifests.datasource.token_env: expected an environment variable"),
    ({"service": {"token_secret": {"key": "a/b"}}}, "manifests.service.token_secret.key: expected a Secret key"),
    ({"service": {"replicas": -1}}, "manifests.service.replicas: expected a whole number"),
    ({"service": {"allow_from": [{"app": True}]}}, "manifests.service.allow_from[0].app: expected a Kubernetes"),
    ({"dashboards": {"folder": ""}}, "manifests.dashboards.folder: expected a non-empty string"),
    ({"namespce": "x"}, "manifests.namespce: expected a known key"),
])
def test_bad_manifest_settings_name_file_line_and_key(tmp_path: Path, settings: dict[str, Any], message: str) -> None:
    path = site(tmp_path, {"cluster_label": "cluster", "manifests": settings})
    with pytest.raises(ConfigError, match=f"^{re.escape(str(path))}:[3-5]: {re.escape(message)}"):
        load(path)


def test_manifests_must_be_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r":1: manifests: expected a mapping, got \['x'\]"):
        load(site(tmp_path, {"manifests": ["x"]}))


def test_bad_settings_exit_2_and_write_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = site(tmp_path, {"manifests": {"namespace": "Observability"}})
    out = tmp_path / "out"
    assert cli.main(["generate", "--manifests", "--config", str(path), "--out", str(out)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert not out.exists()


def test_stale_manifests_fail_check_even_without_the_option(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    path = site(tmp_path, KPS)
    out = str(tmp_path / "out")
    assert cli.main(["generate", "--manifests", "--config", str(path), "--out", out]) == 0
    assert cli.main(["generate", "--check", "--config", str(path), "--out", out]) == 0
    site(tmp_path, {**KPS, "thresholds": {"KubeletTooManyPods": 0.8}})
    assert cli.main(["generate", "--config", str(path), "--out", out]) == 0  # rules/ rewritten, manifests/ not
    assert "was not rewritten" in capsys.readouterr().err
    assert cli.main(["generate", "--check", "--config", str(path), "--out", out]) == 1
    report = capsys.readouterr().out.splitlines()
    # the alert's threshold, the dashboards that draw it, the service's copy of the settings
    assert "differs: manifests/prometheusrules/kubelet-alerts.yaml" in report
    assert "differs: manifests/service/config.yaml" in report
    assert all(line.startswith("differs: manifests/") for line in report), report
    assert cli.main(["generate", "--manifests", "--config", str(path), "--out", out]) == 0
    assert cli.main(["generate", "--check", "--config", str(path), "--out", out]) == 0


def test_output_is_deterministic(tmp_path: Path, kps_files: dict[str, str]) -> None:
    assert pipeline.generate(load(site(tmp_path, KPS)), manifests=True) == kps_files  # a second run, its own load


def test_containerfile_builds_the_service_as_the_deployments_non_root_user() -> None:
    text = (ROOT / "Containerfile").read_text(encoding="utf-8")
    extras = set(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"])
    for named in re.findall(r"\[([a-z,]+)\]'", text):
        assert set(named.split(",")) <= extras, named
    assert {"correlate", "service"} <= set(re.findall(r"\[([a-z,]+)\]'", text)[-1].split(","))
    (user,) = re.findall(r"^USER (\S+)$", text, re.M)
    uid, _, gid = user.partition(":")
    assert int(uid) == int(gid) == manifests_service.UID != 0
    assert re.search(r"^EXPOSE 9797$", text, re.M)
    # the package lives in a virtualenv (works on python:3.11-slim and on Debian's python3 alike); no dev extras
    assert 'ENTRYPOINT ["/opt/stereo/bin/stereo"]' in text and "dev" not in re.findall(r"\[([a-z,]+)\]'", text)[-1]
    assert re.search(r"^ARG BASE=python:3\.11-slim$", text, re.M) and text.count("FROM ${BASE}") == 2
