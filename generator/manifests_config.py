"""The `manifests:` section of stereo.yaml: Kubernetes names, labels and the `stereo serve` Deployment settings.

Kept beside generator.config (which calls MANIFESTS for that one key) so the loader stays small; the checks use
the loader's own validators, so a mistake is reported the same way: file:line, the key, what was expected.
"""

from __future__ import annotations

import re
from typing import Any

from generator.settings_checks import _Bad, list_of, map_of, record, string, url

# Kubernetes names: a DNS-1123 label (namespaces, Secrets' keys follow their own rule), label keys and values
_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_K8S_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def dns_label(value: Any, key: str) -> str:
    if not isinstance(value, str) or not _DNS_LABEL.match(value):
        raise _Bad(key, "a DNS-1123 label (lower-case letters, digits and -, at most 63)", value)
    return value


def k8s_label_key(value: Any, key: str) -> str:
    prefix, _, name = value.rpartition("/") if isinstance(value, str) else ("", "", "")
    prefix_ok = not prefix or (len(prefix) <= 253 and all(_DNS_LABEL.match(p) for p in prefix.split(".")))
    if not (name and _K8S_NAME.match(name) and prefix_ok):
        raise _Bad(key, "a Kubernetes label or annotation key ([prefix/]name, name at most 63 of [-A-Za-z0-9_.])")
    return value


def k8s_label_value(value: Any, key: str) -> str:
    if not isinstance(value, str) or (value and not _K8S_NAME.match(value)):
        raise _Bad(key, 'a Kubernetes label value as a quoted string (at most 63 of [-A-Za-z0-9_.], e.g. "1")', value)
    return value


def env_name(value: Any, key: str) -> str:
    if not isinstance(value, str) or not _ENV_NAME.match(value):
        raise _Bad(key, "an environment variable name ([A-Za-z_][A-Za-z0-9_]*)", value)
    return value


def listen(value: Any, key: str) -> str:
    if not isinstance(value, str) or not re.match(r"^[^\s:]*:\d{1,5}$", value) or int(value.rsplit(":")[1]) > 65535:
        raise _Bad(key, "HOST:PORT such as 0.0.0.0:9797", value)
    return value


def count(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _Bad(key, "a whole number ≥ 0", value)
    return value


def boolean(value: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise _Bad(key, "true or false", value)
    return value


def secret_key(value: Any, key: str) -> str:
    if not isinstance(value, str) or not re.match(r"^[-._a-zA-Z0-9]{1,253}$", value):
        raise _Bad(key, "a Secret key (letters, digits, -, _ and .)", value)
    return value


LABELS = map_of(k8s_label_value, k8s_label_key)
SECRET_REF = record({"name": dns_label, "key": secret_key})
MANIFESTS = record({
    "namespace": dns_label,
    "labels": LABELS,
    "annotations": map_of(string, k8s_label_key),
    "dashboards": record({"labels": LABELS, "folder": string}),
    "datasource": record({"labels": LABELS, "token_env": env_name}),
    "service": record({
        "enabled": boolean, "image": string, "listen": listen, "prometheus_url": url,
        "token_secret": SECRET_REF, "replicas": count, "allow_from": list_of(LABELS),
    }),
})

