"""manifests/service/: `stereo serve` in the cluster, and the Grafana datasource that reads it.

- a ConfigMap with the site settings the service's catalog reads (no receivers, no URLs, no secrets);
- a ConfigMap labelled for Grafana's datasource sidecar (`grafana_datasource: "1"`), its bearer token an
  environment variable Grafana expands when it loads the file (`${STEREO_CORRELATION_TOKEN}`): the token
  lives in a Secret the site creates, never in a generated file;
- a Deployment (non-root, read-only root filesystem, readiness on /readyz, which asks Prometheus; liveness on
  /healthz, which does not), a Service, a ServiceMonitor for its /metrics, and a NetworkPolicy letting only
  Grafana and Prometheus reach it.

Every object gets the `manifests:` namespace, labels and annotations (generator.render.manifests.metadata).
"""

from __future__ import annotations

from typing import Any

from generator.config import Config
from generator.naming import GENERATED_HEADER
from generator.render.provisioning import CORRELATION_UID, INFINITY
from generator.yamlio import dump

Objects = dict[str, dict[str, Any]]
NAME = "stereo-correlation"
PART_OF = {"app.kubernetes.io/part-of": "stereo"}
SELECTOR = {"app.kubernetes.io/name": "stereo", "app.kubernetes.io/component": "correlation"}
# the site settings the service builds its catalog from; receivers, URLs and manifests stay out of the cluster copy
SERVICE_KEYS = ("cluster_label", "profile", "selectors", "thresholds", "exclude", "patch", "evaluation_interval",
                "pod_evaluation_interval", "slo", "services")
CONFIG_DIR, TOKEN_DIR = "/etc/stereo/config", "/etc/stereo/token"
# the user the Containerfile creates; the pod refuses to run as anything else
UID = 10001


def metadata(settings: dict[str, Any], name: str, *, component: str, labels: dict[str, str] | None = None,
             annotations: dict[str, str] | None = None) -> dict[str, Any]:
    """name, namespace, labels and annotations of one object: ours, then the object's, then the site's."""
    merged = {**PART_OF, "app.kubernetes.io/component": component, **(labels or {}), **settings["labels"]}
    meta: dict[str, Any] = {"name": name, "namespace": settings["namespace"], "labels": dict(sorted(merged.items()))}
    notes = {**(annotations or {}), **settings["annotations"]}
    if notes:
        meta["annotations"] = dict(sorted(notes.items()))
    return meta


def port(settings: dict[str, Any]) -> int:
    return int(settings["service"]["listen"].rsplit(":", 1)[1])


def service_url(config: Config) -> str:
    """Where Grafana finds the service: the in-cluster Service when Stereo deploys it, else correlation_url."""
    settings = config.manifests
    if not settings["service"]["enabled"]:
        return config.correlation_url
    return f"http://{NAME}.{settings['namespace']}.svc:{port(settings)}"


def datasource(config: Config) -> dict[str, Any]:
    settings = config.manifests
    url = service_url(config)
    provisioning = {
        "apiVersion": 1,
        "datasources": [{
            "name": "Stereo correlation",
            "uid": CORRELATION_UID,
            "type": INFINITY,
            "access": "proxy",
            "url": url,
            "editable": False,
            "jsonData": {"allowedHosts": [url], "timeoutInSeconds": 30, "auth_method": "bearerToken"},
            # Grafana expands ${VAR} from its own environment when it provisions; see the README
            "secureJsonData": {"bearerToken": "${" + settings["datasource"]["token_env"] + "}"},
        }],
    }
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(settings, f"{NAME}-datasource", component="datasource",
                             labels=settings["datasource"]["labels"]),
        "data": {"stereo-correlation.yaml": GENERATED_HEADER + dump(provisioning, header=False)},
    }


def site_settings(config: Config) -> dict[str, Any]:
    settings = config.manifests
    given = {k: config.raw[k] for k in SERVICE_KEYS if k in config.raw}
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": metadata(settings, f"{NAME}-config", component="correlation"),
        "data": {"stereo.yaml": dump(given) if given else GENERATED_HEADER + "{}\n"},
    }


def _probe(path: str, period: int, failures: int) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": "http"}, "periodSeconds": period, "timeoutSeconds": 5,
            "failureThreshold": failures}


def deployment(config: Config) -> dict[str, Any]:
    settings = config.manifests
    svc = settings["service"]
    secret = svc["token_secret"]
    args = ["serve", "--listen", svc["listen"], "--prometheus", svc["prometheus_url"] or config.prometheus_url,
            "--config", f"{CONFIG_DIR}/stereo.yaml", "--token-file", f"{TOKEN_DIR}/token"]
    container = {
        "name": "stereo",
        "image": svc["image"],
        "args": args,
        "ports": [{"name": "http", "containerPort": port(settings), "protocol": "TCP"}],
        # readiness asks Prometheus (no traffic while it is unreachable); liveness does not (no restart loop then)
        "readinessProbe": _probe("/readyz", 10, 3),
        "livenessProbe": _probe("/healthz", 20, 3),
        "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}},
        "securityContext": {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
                            "runAsNonRoot": True, "runAsUser": UID, "runAsGroup": UID,
                            "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [
            {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
            {"name": "token", "mountPath": TOKEN_DIR, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
    }
    pod_labels = dict(sorted({**SELECTOR, **settings["labels"]}.items()))
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": metadata(settings, NAME, component="correlation", labels=SELECTOR),
        "spec": {
            "replicas": svc["replicas"],
            "selector": {"matchLabels": dict(SELECTOR)},
            "template": {
                "metadata": {"labels": pod_labels},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": {"runAsNonRoot": True, "fsGroup": UID,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [container],
                    "volumes": [
                        {"name": "config", "configMap": {"name": f"{NAME}-config"}},
                        {"name": "token", "secret": {"secretName": secret["name"], "defaultMode": 0o440,
                                                     "items": [{"key": secret["key"], "path": "token"}]}},
                        {"name": "tmp", "emptyDir": {"sizeLimit": "64Mi"}},
                    ],
                },
            },
        },
    }


def service(config: Config) -> dict[str, Any]:
    settings = config.manifests
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": metadata(settings, NAME, component="correlation", labels=SELECTOR),
        "spec": {"type": "ClusterIP", "selector": dict(SELECTOR),
                 "ports": [{"name": "http", "port": port(settings), "targetPort": "http", "protocol": "TCP"}]},
    }


def service_monitor(config: Config) -> dict[str, Any]:
    settings = config.manifests
    return {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": metadata(settings, NAME, component="correlation"),
        "spec": {
            "selector": {"matchLabels": dict(SELECTOR)},
            "namespaceSelector": {"matchNames": [settings["namespace"]]},
            # /metrics needs no token (the service exempts it)
            "endpoints": [{"port": "http", "path": "/metrics", "interval": "30s", "scheme": "http"}],
        },
    }


def network_policy(config: Config) -> dict[str, Any]:
    settings = config.manifests
    peers = [{"namespaceSelector": {}, "podSelector": {"matchLabels": dict(sorted(labels.items()))}}
             for labels in settings["service"]["allow_from"]]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": metadata(settings, NAME, component="correlation"),
        "spec": {
            "podSelector": {"matchLabels": dict(SELECTOR)},
            "policyTypes": ["Ingress"],
            # no peers: no rule, so nothing reaches it (an empty `from` would let everything in)
            "ingress": [{"from": peers, "ports": [{"port": port(settings), "protocol": "TCP"}]}] if peers else [],
        },
    }


def objects(config: Config) -> Objects:
    """{manifest path: object} for the correlation service and its datasource."""
    out: Objects = {"manifests/service/datasource.yaml": datasource(config)}
    if config.manifests["service"]["enabled"]:
        out.update({
            "manifests/service/config.yaml": site_settings(config),
            "manifests/service/deployment.yaml": deployment(config),
            "manifests/service/service.yaml": service(config),
            "manifests/service/servicemonitor.yaml": service_monitor(config),
            "manifests/service/networkpolicy.yaml": network_policy(config),
        })
    return out
