"""manifests/: the rendered rules, alerts and dashboards as Kubernetes objects, for the Prometheus Operator
(PrometheusRule) and Grafana's dashboard sidecar (ConfigMaps labelled grafana_dashboard: "1"), plus the
correlation service (generator.render.manifests_service).

Works on already-rendered files, not on the catalog: a manifest holds exactly what rules/, alerts/ and
dashboards/ hold, so the two ways of installing Stereo cannot drift apart. The `manifests:` settings give
every object its namespace, labels (e.g. kube-prometheus-stack's `release`) and annotations.
"""

from __future__ import annotations

from typing import Any

import yaml

from generator.config import Config
from generator.naming import slug
from generator.render import manifests_service
from generator.render.manifests_service import Objects, metadata
from generator.yamlio import dump

# k8s-sidecar's annotation naming the Grafana folder a dashboard goes to
FOLDER_ANNOTATION = "grafana_folder"
# the API server refuses a ConfigMap whose data exceeds 1 MiB
CONFIGMAP_LIMIT = 1024 * 1024
_RULE_KINDS = {"rules/": "rules", "alerts/": "alerts"}
# libyaml's loader when present: ten times faster on the rule files, same result
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class ManifestError(Exception):
    """A rendered file cannot become a Kubernetes object (e.g. a dashboard too large for a ConfigMap)."""


def prometheus_rule(path: str, text: str, settings: dict[str, Any]) -> tuple[str, str]:
    """rules/<key>.yaml or alerts/<key>.yaml → (manifest path, PrometheusRule YAML)."""
    prefix = next(p for p in _RULE_KINDS if path.startswith(p))
    kind = _RULE_KINDS[prefix]
    key = slug(path[len(prefix):].removesuffix(".yaml"))
    groups = (yaml.load(text, Loader=_LOADER) or {}).get("groups", [])
    doc = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": metadata(settings, f"stereo-{key}-{kind}", component=kind),
        "spec": {"groups": groups},
    }
    return f"manifests/prometheusrules/{key}-{kind}.yaml", dump(doc)


def dashboard_configmap(path: str, text: str, settings: dict[str, Any]) -> tuple[str, str]:
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
        "metadata": metadata(settings, f"stereo-dashboard-{slug(name)}", component="dashboards",
                             labels=settings["dashboards"]["labels"],
                             annotations={FOLDER_ANNOTATION: settings["dashboards"]["folder"]}),
        "data": {key: text},
    }
    return f"manifests/dashboards/{slug(name)}.yaml", dump(doc)


def kustomization(resources: list[str]) -> str:
    # no namespace/labels here: every object already carries them, so `kubectl apply -f` gives the same result
    return dump({
        "apiVersion": "kustomize.config.k8s.io/v1beta1",
        "kind": "Kustomization",
        "resources": sorted(r.removeprefix("manifests/") for r in resources),
    })


def manifests(files: dict[str, str], config: Config) -> dict[str, str]:
    """Manifests for every rule, alert and dashboard file in `files` (other files are left alone), and the
    correlation service's objects."""
    settings = config.manifests
    out: dict[str, str] = {}
    for path, text in sorted(files.items()):
        if any(path.startswith(p) for p in _RULE_KINDS) and path.endswith(".yaml"):
            target, manifest = prometheus_rule(path, text, settings)
        elif path.startswith("dashboards/") and path.endswith(".json"):
            target, manifest = dashboard_configmap(path, text, settings)
        else:
            continue
        if target in out:
            raise ManifestError(f"{path} and another file both become {target}")
        out[target] = manifest
    service: Objects = manifests_service.objects(config)
    out.update({path: dump(doc) for path, doc in service.items()})
    if out:
        out["manifests/kustomization.yaml"] = kustomization(list(out))
    return out
