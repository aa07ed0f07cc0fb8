"""Site settings (`stereo.yaml`): every key optional, every mistake reported as one line naming file, line and key.

The schema is data (SCHEMA below); `load()` checks a document against it and fills in the defaults. Names
that refer to the catalog (alerts, recording rules) are checked later, once the catalog is built, by
`generator.pipeline`, which reports them with the same file:line prefix.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from generator import promql

# Scrape jobs Stereo reads, with the kube-prometheus / kube-prometheus-stack job names as defaults.
DEFAULT_SELECTORS: dict[str, str] = {
    "kube-apiserver": 'job="apiserver"',
    "kube-controller-manager": 'job="kube-controller-manager"',
    "kube-scheduler": 'job="kube-scheduler"',
    "etcd": 'job="kube-etcd"',
    "kubelet": 'job="kubelet", metrics_path="/metrics"',
    "cadvisor": 'job="kubelet", metrics_path="/metrics/cadvisor"',
    "kube-proxy": 'job="kube-proxy"',
    "coredns": 'job="coredns"',
    "node-exporter": 'job="node-exporter"',
    "kube-state-metrics": 'job="kube-state-metrics"',
}

DEFAULTS: dict[str, Any] = {
    "cluster_label": "cluster",
    "profile": "self-managed",
    "selectors": dict(DEFAULT_SELECTORS),
    "thresholds": {},
    "exclude": {"alerts": [], "rules": []},
    "patch": {},
    "runbook_url": "https://github.com/stereo-monitoring/stereo/blob/main/docs/runbooks",
    "grafana_url": "http://localhost:3000",
    "evaluation_interval": "1m",
    "slo": {"objective": 0.999, "read_latency": "1s", "write_latency": "1s"},
    # service (response-time) signals: the other side of the paper's "memory ↔ response time"
    "services": [{"preset": "http"}],
    "prometheus_url": "http://prometheus:9090",
    "correlation_url": "http://stereo:9797",
    "alertmanager": {
        "receivers": {"critical": "pager", "warning": "ticket", "info": "null"},
        # repeat intervals per severity, after the seeds' alert-throttling tables
        "repeat_interval": {"critical": "1h", "warning": "4h", "info": "24h"},
        "group_wait": "30s",
        "group_interval": "5m",
        "url": "http://alertmanager:9093",
    },
    # `stereo generate --manifests`: Kubernetes objects (generator.render.manifests)
    # checked by generator.manifests_config; service.prometheus_url None means the top-level prometheus_url
    "manifests": {
        "namespace": "monitoring", "labels": {}, "annotations": {},
        "dashboards": {"labels": {"grafana_dashboard": "1"}, "folder": "Stereo"},
        "datasource": {"labels": {"grafana_datasource": "1"}, "token_env": "STEREO_CORRELATION_TOKEN"},
        "service": {
            "enabled": True, "image": "ghcr.io/stereo-monitoring/stereo:0.1.0", "listen": "0.0.0.0:9797",
            "prometheus_url": None, "token_secret": {"name": "stereo-correlation-token", "key": "token"},
            "replicas": 1,
            # pods (any namespace) allowed to reach the service: Grafana queries it, Prometheus scrapes it
            "allow_from": [{"app.kubernetes.io/name": "grafana"}, {"app.kubernetes.io/name": "prometheus"}],
        },
    },
}


class ConfigError(Exception):
    """A mistake in the site settings; str() is the one line the CLI prints."""


@dataclass(frozen=True)
class Config:
    cluster_label: str = "cluster"
    profile: str = "self-managed"
    selectors: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_SELECTORS))
    thresholds: dict[str, float] = field(default_factory=dict)
    exclude_alerts: tuple[str, ...] = ()
    exclude_rules: tuple[str, ...] = ()
    patch: dict[str, dict[str, Any]] = field(default_factory=dict)
    runbook_url: str = DEFAULTS["runbook_url"]
    grafana_url: str = DEFAULTS["grafana_url"]
    evaluation_interval: str = "1m"
    slo_objective: float = 0.999
    slo_read_latency: str = "1s"
    slo_write_latency: str = "1s"
    services: tuple[dict[str, str], ...] = ({"preset": "http"},)
    prometheus_url: str = DEFAULTS["prometheus_url"]
    correlation_url: str = DEFAULTS["correlation_url"]
    alertmanager: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(DEFAULTS["alertmanager"]))
    manifests: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(DEFAULTS["manifests"]))
    source: str = field(default="<defaults>", compare=False)
    # line of each dotted key in the file, for messages about names checked after the catalog is built
    lines: dict[str, int] = field(default_factory=dict, compare=False)
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    def where(self, key: str) -> str:
        line = self.lines.get(key)
        return f"{self.source}:{line}" if line else self.source


# ----------------------------------------------------------------------------------------------- validators
Check = Callable[[Any, str], Any]


class _Bad(Exception):
    def __init__(self, key: str, expected: str, got: Any = None, show_got: bool = True) -> None:
        super().__init__(key)
        self.key, self.expected, self.got, self.show_got = key, expected, got, show_got


def _shown(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= 60 else text[:57] + "..."


def string(value: Any, key: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise _Bad(key, "a non-empty string", value)
    return value


def label_name(value: Any, key: str) -> str:
    if not isinstance(value, str) or not promql.LABEL_NAME.match(value) or value.startswith("__"):
        raise _Bad(key, "a Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)", value)
    return value


def duration(value: Any, key: str) -> str:
    try:
        if promql.parse_duration(value) <= 0:
            raise promql.PromQLError("zero")
    except promql.PromQLError:
        raise _Bad(key, "a Prometheus duration such as 30s, 5m, 1h", value) from None
    return value


def for_duration(value: Any, key: str) -> str:
    """An alert's `for`: a duration, 0s included (fire on the first evaluation)."""
    try:
        promql.parse_duration(value)
    except promql.PromQLError:
        raise _Bad(key, "a Prometheus duration such as 0s, 5m, 1h", value) from None
    return value


def number(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _Bad(key, "a number", value)
    return float(value)


def ratio(value: Any, key: str) -> float:
    v = number(value, key)
    if not 0 < v < 1:
        raise _Bad(key, "a number strictly between 0 and 1", value)
    return v


def url(value: Any, key: str) -> str:
    if not isinstance(value, str) or not re.match(r"^https?://[^\s/]+[^\s]*$", value):
        raise _Bad(key, "an http:// or https:// URL", value)
    return value.rstrip("/")


def selector(value: Any, key: str) -> str:
    if not isinstance(value, str):
        raise _Bad(key, 'a label selector such as job="apiserver"', value)
    try:
        promql.parse_selector(value)
    except promql.PromQLError as exc:
        raise _Bad(key, f'a label selector such as job="apiserver" ({exc})', value, show_got=False) from None
    return value.strip().removeprefix("{").removesuffix("}").strip()


def mapping(value: Any, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Bad(key, "a mapping", value)
    return value


def one_of(*choices: str) -> Check:
    def check(value: Any, key: str) -> str:
        if value not in choices:
            raise _Bad(key, "one of " + ", ".join(choices), value)
        return value

    return check


def list_of(item: Check) -> Check:
    def check(value: Any, key: str) -> list[Any]:
        if not isinstance(value, list):
            raise _Bad(key, "a list", value)
        return [item(v, f"{key}[{i}]") for i, v in enumerate(value)]

    return check


def map_of(value_check: Check, key_check: Check = string, keys: tuple[str, ...] | None = None) -> Check:
    def check(value: Any, key: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise _Bad(key, "a mapping", value)
        out = {}
        for k, v in value.items():
            sub = f"{key}.{k}"
            if keys is not None and k not in keys:
                raise _Bad(sub, "a known key (" + ", ".join(keys) + ")", show_got=False)
            key_check(k, sub)
            out[k] = value_check(v, sub)
        return out

    return check


def record(schema: dict[str, Check]) -> Check:
    def check(value: Any, key: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise _Bad(key, "a mapping", value)
        out = {}
        for k, v in value.items():
            sub = f"{key}.{k}" if key else str(k)
            if k not in schema:
                near = _closest(str(k), schema)
                hint = f"; did you mean {near}?" if near else ""
                raise _Bad(sub, "a known key (" + ", ".join(sorted(schema)) + ")" + hint, show_got=False)
            out[k] = schema[k](v, sub)
        return out

    return check


def _closest(name: str, known: Any) -> str:
    import difflib

    return ", ".join(difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.6))


SEVERITY_KEYS = ("critical", "warning", "info")
PATCH = record({"for": for_duration, "severity": one_of(*SEVERITY_KEYS), "labels": map_of(string, label_name)})

SCHEMA: dict[str, Check] = {
    "cluster_label": label_name,
    "profile": one_of("self-managed", "managed"),
    "selectors": map_of(selector, keys=tuple(DEFAULT_SELECTORS)),
    "thresholds": map_of(number),
    "exclude": record({"alerts": list_of(string), "rules": list_of(string)}),
    "patch": map_of(PATCH),
    "runbook_url": url,
    "grafana_url": url,
    "evaluation_interval": duration,
    "slo": record({"objective": ratio, "read_latency": duration, "write_latency": duration}),
    "services": list_of(record({"preset": one_of("http", "ingress-nginx"), "selector": selector})),
    "prometheus_url": url,
    "correlation_url": url,
    "alertmanager": record({
        "receivers": map_of(string, keys=SEVERITY_KEYS),
        "repeat_interval": map_of(duration, keys=SEVERITY_KEYS),
        "group_wait": duration,
        "group_interval": duration,
        # receiver name -> Alertmanager receiver fields (webhook_configs, slack_configs...), copied as given
        "integrations": map_of(mapping),
        "url": url,
    }),
    "manifests": lambda value, key: _manifests(value, key),
}


def _manifests(value: Any, key: str) -> dict[str, Any]:
    from generator.manifests_config import MANIFESTS  # imports this module's validators, so imported late

    return MANIFESTS(value, key)


# -------------------------------------------------------------------------------------------------- loading
def line_index(node: yaml.Node, prefix: str, out: dict[str, int]) -> None:
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            key = f"{prefix}.{key_node.value}" if prefix else str(key_node.value)
            out[key] = key_node.start_mark.line + 1
            line_index(value_node, key, out)
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            key = f"{prefix}[{i}]"
            out[key] = item.start_mark.line + 1
            line_index(item, key, out)


def line_of(key: str, lines: dict[str, int]) -> int | None:
    while key:
        if key in lines:
            return lines[key]
        key = key.rsplit(".", 1)[0] if "." in key else ""
    return None


def load(path: str | Path | None) -> Config:
    """Read and check `stereo.yaml`; a missing path (None) gives the defaults."""
    if path is None:
        return build({}, "<defaults>", {})
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{source}: cannot read: {exc.strerror or exc}") from None
    try:
        node = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark else source
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"{where}: invalid YAML: {problem}") from None
    lines: dict[str, int] = {}
    if node is not None:
        line_index(node, "", lines)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{source}:1: expected a mapping of settings at the top level, got {type(data).__name__}")
    return build(data, source, lines)


def _services(entries: list[dict[str, str]], source: str, lines: dict[str, int]) -> tuple[dict[str, str], ...]:
    seen: set[str] = set()
    for i, entry in enumerate(entries):
        line = line_of(f"services[{i}]", lines)
        where = f"{source}:{line}" if line else source
        if "preset" not in entry:
            raise ConfigError(f"{where}: services[{i}]: expected a preset (http or ingress-nginx)")
        if entry["preset"] in seen:
            raise ConfigError(f"{where}: services[{i}]: preset {entry['preset']} is listed twice; "
                              "widen its selector (e.g. job=~\"a|b\") instead")
        seen.add(entry["preset"])
    return tuple(entries)


def _merge(defaults: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """Given settings over the defaults, mapping by mapping (so `slo: {objective: 0.99}` keeps the rest)."""
    for key, value in given.items():
        if isinstance(value, dict) and isinstance(defaults.get(key), dict):
            defaults[key] = _merge(defaults[key], value)
        else:
            defaults[key] = value
    return defaults


def build(data: dict[str, Any], source: str, lines: dict[str, int]) -> Config:
    try:
        checked = record(SCHEMA)(data, "")
    except _Bad as bad:
        line = line_of(bad.key, lines)
        where = f"{source}:{line}" if line else source
        got = f", got {_shown(bad.got)}" if bad.show_got else ""
        raise ConfigError(f"{where}: {bad.key}: expected {bad.expected}{got}") from None
    merged = _merge(copy.deepcopy(DEFAULTS), checked)
    return Config(
        cluster_label=merged["cluster_label"],
        profile=merged["profile"],
        selectors=merged["selectors"],
        thresholds=merged["thresholds"],
        exclude_alerts=tuple(merged["exclude"].get("alerts", ())),
        exclude_rules=tuple(merged["exclude"].get("rules", ())),
        patch=merged["patch"],
        runbook_url=merged["runbook_url"],
        grafana_url=merged["grafana_url"],
        evaluation_interval=merged["evaluation_interval"],
        slo_objective=merged["slo"]["objective"],
        slo_read_latency=merged["slo"]["read_latency"],
        slo_write_latency=merged["slo"]["write_latency"],
        services=_services(merged["services"], source, lines),
        prometheus_url=merged["prometheus_url"],
        correlation_url=merged["correlation_url"],
        alertmanager=merged["alertmanager"],
        manifests=merged["manifests"],
        source=source,
        lines=lines,
        raw=data,
    )
