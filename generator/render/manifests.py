"""manifests/: the rendered rules, alerts and dashboards as Kubernetes objects, for the Prometheus Operator
(PrometheusRule) and Grafana's dashboard sidecar (ConfigMaps labelled grafana_dashboard: "1").

Works on already-rendered files, not on the catalog: a manifest holds exactly what rules/, alerts/ and
dashboards/ hold, so the two ways of installing Stereo cannot drift apart.
"""

from __future__ import annotations

from typing import Any

import yaml

from generator.config import Config
from generator.naming import slug
from generator.yamlio import dump

NAMESPACE = "monitoring"
PART_OF = {"app.kubernetes.io/part-of": "stereo"}
# k8s-sidecar's annotation naming the Grafana folder a dashboard goes to
FOLDER_ANNOTATION = "grafana_folder"
FOLDER = "Stereo"
# the API server refuses a ConfigMap whose data exceeds 1 MiB
CONFIGMAP_LIMIT = 1024 * 1024
_RULE_KINDS = {"rules/": "rules", "alerts/": "alerts"}
# libyaml's loader when present: ten times faster on the rule files, same result
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ManifestError(Exception):
    """A rendered file cannot become a Kubernetes object (e.g. a dashboard too large for a ConfigMap)."""


def _metadata(name: str, labels: dict[str, str] | None = None) -> dict[str, Any]:
    return {"name": name, "namespace": NAMESPACE, "labels": dict(sorted({**PART_OF, **(labels or {})}.items()))}


def prometheus_rule(path: str, text: str) -> tuple[str, str]:
    """rules/<key>.yaml or alerts/<key>.yaml → (manifest path, PrometheusRule YAML)."""
    prefix = next(p for p in _RULE_KINDS if path.startswith(p))
    kind = _RULE_KINDS[prefix]
    key = slug(path[len(prefix):].removesuffix(".yaml"))
    groups = (yaml.load(text, Loader=_LOADER) or {}).get("groups", [])
    doc = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": _metadata(f"stereo-{key}-{kind}"),
        "spec": {"groups": groups},
    }
    return f"manifests/prometheusrules/{key}-{kind}.yaml", dump(doc)


def dashboard_configmap(path: str, text: str) -> tuple[str, str]:
    """dashboards/<name>.json → (manifest path, ConfigMap YAML) for the Grafana sidecar."""
    name = path.removeprefix("dashboards/").removesuffix(".json").replace("/", "-")
    key = f"{name}.json"
    size = len(key.encode("utf-8")) + len(text.encode("utf-8"))
    if size > CONFIGMAP_LIMIT:
        raise ManifestError(
            f"dashboard {path} is {size} bytes, over the {CONFIGMAP_LIMIT}-byte (1 MiB) ConfigMap limit; "
            "split it or drop panels from it"
        )
    doc = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            **_metadata(f"stereo-dashboard-{slug(name)}", {"grafana_dashboard": "1"}),
            "annotations": {FOLDER_ANNOTATION: FOLDER},
        },
        "data": {key: text},
    }
    return f"manifests/dashboards/{slug(name)}.yaml", dump(doc)


def kustomization(resources: list[str]) -> str:
    return dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": sorted(r.removeprefix("manifests/") for r in resources),
    })


def manifests(files: dict[str, str], config: Config) -> dict[str, str]:
    """Manifests for every rule, alert and dashboard file in `files` (other files are left alone)."""
    out: dict[str, str] = {}
    for path, text in sorted(files.items()):
        if any(path.startswith(p) for p in _RULE_KINDS) and path.endswith(".yaml"):
            target, manifest = prometheus_rule(path, text)
        elif path.startswith("dashboards/") and path.endswith(".json"):
            target, manifest = dashboard_configmap(path, text)
        else:
            continue
        if target in out:
            raise ManifestError(f"{path} and another file both become {target}")
        out[target] = manifest
    if out:
        out["manifests/kustomization.yaml"] = kustomization(list(out))
    return out
