"""Site settings (`stereo.yaml`): every key optional, every mistake reported as one line naming file, line and key.

The schema is data (SCHEMA below); `load()` reads the file with `generator.safeload` (2 MiB at most, UTF-8, no
YAML aliases, no duplicate keys, bounded nesting, finite numbers), checks it against the schema and fills in the
defaults, which are stated once: the fields of `Config`. Names
that refer to the catalog (alerts, recording rules) are checked later, once the catalog is built, by
`generator.pipeline`, which reports them with the same file:line prefix.
"""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from generator import alertmanager_settings, manifests_config, promql, safeload, validate
from generator.settings_checks import (
    Check,
    ConfigError,
    _Bad,
    _shown,
    annotation_text,
    annotation_url,
    duration,
    duration_upto,
    filter_selector,
    for_duration,
    label_name,
    label_value,
    list_of,
    map_of,
    one_of,
    patch_label_name,
    ratio,
    record,
    runbook_pattern,
    selector,
    string,
    threshold,
    url,
)

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
    # cAdvisor series of real containers (not the pod cgroup nor the pause container); '' means any series
    "cadvisor_containers": 'container!="",image!=""',
    # cAdvisor series of a container's cgroup, whatever its image: counters only a container moves (CFS
    # throttling needs a CPU limit, OOM events), as kubernetes-mixin's CPUThrottlingHigh reads them
    "cadvisor_container_cgroups": 'container!=""',
}

ALERTMANAGER_DEFAULTS: dict[str, Any] = {
    "receivers": {"critical": "pager", "warning": "ticket", "info": "null"},
    # repeat intervals per severity, after the seeds' alert-throttling tables
    "repeat_interval": {"critical": "1h", "warning": "4h", "info": "24h"},
    "group_wait": "30s",
    "group_interval": "5m",
    "url": "http://alertmanager:9093",
}
# `stereo generate --manifests`: Kubernetes objects (generator.render.manifests)
# checked by generator.manifests_config; service.prometheus_url None means the top-level prometheus_url
MANIFESTS_DEFAULTS: dict[str, Any] = {
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
}
# label matchers the catalog adds to the series it reads ('' = none); the catalog reads them through Context
FILTER_DEFAULTS: dict[str, str] = {
    # filesystems that are disks (not memory, container overlays, images, namespaces, FUSE views of /proc)
    "fstype": 'fstype!="",fstype!~"tmpfs|ramfs|overlay|squashfs|erofs|iso9660|nsfs|fuse.lxcfs",mountpoint!=""',
    # block devices that are disks, as kube-prometheus selects them (not loop devices, ram disks, CD drives)
    "disk_device": 'device=~"(/dev/)?(mmcblk.p.+|nvme.+|rbd.+|sd.+|vd.+|xvd.+|dm-.+|md.+|dasd.+)"',
    # namespaces whose objects the namespaced alerts watch (kubernetes-mixin's namespaceSelector); '' = all
    "namespace": "",
    # PVCs left out of the volume alerts, on kube_persistentvolumeclaim_labels ('' = none), as the mixin's
    # pvExcludedSelector: by default the claims labelled excluded_from_alerts="true"
    "pv_exclude": 'label_excluded_from_alerts="true"',
}
# the default pod_interval is at most this often (seconds): halving the per-pod groups' cost at the default 1m,
# without leaving dashboards' one-minute points more than one evaluation behind
POD_INTERVAL_CAP = 120
# file keys nested one level that land in flat Config fields: (section, key) -> field
NESTED = {("exclude", "alerts"): "exclude_alerts", ("exclude", "rules"): "exclude_rules",
          ("exclude", "components"): "exclude_components",
          ("slo", "objective"): "slo_objective", ("slo", "read_latency"): "slo_read_latency",
          ("slo", "write_latency"): "slo_write_latency"}


@dataclass(frozen=True)
class Config:
    """The site settings; each field's default is the setting's default (stated here only)."""

    cluster_label: str = "cluster"
    clusters: Literal["single", "multi"] = "multi"  # single: dashboards hide the cluster picker
    profile: str = "self-managed"
    selectors: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_SELECTORS))
    thresholds: dict[str, float] = field(default_factory=dict)
    exclude_alerts: tuple[str, ...] = ()
    exclude_rules: tuple[str, ...] = ()
    exclude_components: tuple[str, ...] = ()
    patch: dict[str, dict[str, Any]] = field(default_factory=dict)
    # a base URL (runbooks at {base}/{Alert}.md) or a pattern with {alert} and/or {component} placeholders
    runbook_url: str = "https://github.com/stereo-monitoring/stereo/blob/main/docs/runbooks"
    # label matchers the catalog adds to the series it reads (generator.context); see FILTER_DEFAULTS
    filters: dict[str, str] = field(default_factory=lambda: dict(FILTER_DEFAULTS))
    grafana_url: str = "http://localhost:3000"
    evaluation_interval: str = "1m"
    # the per-pod recording groups (workloads.rules*, services.rules); None: pod_interval's default
    pod_evaluation_interval: str | None = None
    slo_objective: float = 0.999
    slo_read_latency: str = "1s"
    slo_write_latency: str = "1s"
    # service (response-time) signals: the other side of the paper's "memory ↔ response time"
    services: tuple[dict[str, str], ...] = ({"preset": "http"},)
    prometheus_url: str = "http://prometheus:9090"
    correlation_url: str = "http://stereo:9797"
    # where people's browsers reach `stereo serve` (the alerts' explorer_url links); None: correlation_url
    correlation_public_url: str | None = None
    alertmanager: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(ALERTMANAGER_DEFAULTS))
    manifests: dict[str, Any] = field(default_factory=lambda: copy.deepcopy(MANIFESTS_DEFAULTS))
    source: str = field(default="<defaults>", compare=False)
    # line of each dotted key in the file, for messages about names checked after the catalog is built
    lines: dict[str, int] = field(default_factory=dict, compare=False)
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def explorer_base(self) -> str:
        """The explorer's address as users reach it: correlation_public_url, else correlation_url."""
        return self.correlation_public_url or self.correlation_url

    @property
    def pod_interval(self) -> str:
        """How often the groups that record a series per pod or container evaluate: pod_evaluation_interval, else
        twice evaluation_interval but at most 2m (never less often than evaluation_interval). Their inputs are 5m
        rates and kube-state-metrics' inventory, and they are most of a cluster's rule evaluation cost."""
        if self.pod_evaluation_interval:
            return self.pod_evaluation_interval
        every = promql.parse_duration(self.evaluation_interval)
        return promql.format_duration(max(every, min(2 * every, POD_INTERVAL_CAP)))

    def where(self, key: str) -> str:
        line = self.lines.get(key)
        return f"{self.source}:{line}" if line else self.source


SEVERITY_KEYS = ("critical", "warning", "info")
PATCH = record({"for": for_duration, "severity": one_of(*SEVERITY_KEYS),
                "labels": map_of(label_value, patch_label_name),
                "annotations": map_of(annotation_text, label_name)})

SCHEMA: dict[str, Check] = {
    "cluster_label": label_name,
    "clusters": one_of("single", "multi"),
    "profile": one_of("self-managed", "managed"),
    "selectors": map_of(selector, keys=tuple(DEFAULT_SELECTORS)),
    "thresholds": map_of(threshold),
    "exclude": record({"alerts": list_of(string), "rules": list_of(string), "components": list_of(string)}),
    "patch": map_of(PATCH),
    "runbook_url": runbook_pattern,
    "filters": map_of(filter_selector, keys=tuple(FILTER_DEFAULTS)),
    "grafana_url": annotation_url,  # dashboard_url annotations start with it
    "evaluation_interval": duration_upto("1h", "1s"),
    # below the 5m lookback, so a per-pod record never goes stale between two evaluations
    "pod_evaluation_interval": duration_upto("4m", "1s"),
    "slo": record({"objective": ratio, "read_latency": duration_upto("1h"), "write_latency": duration_upto("1h")}),
    "services": list_of(record({"preset": one_of("http", "ingress-nginx"), "selector": selector})),
    "prometheus_url": url,
    "correlation_url": annotation_url,  # Grafana's Infinity datasource; explorer_url when no public URL is set
    "correlation_public_url": annotation_url,  # explorer_url annotations start with it
    "alertmanager": record({
        "receivers": map_of(string, keys=SEVERITY_KEYS),
        "repeat_interval": map_of(duration, keys=SEVERITY_KEYS),
        "group_wait": duration,
        "group_interval": duration,
        # receiver name -> Alertmanager receiver fields (webhook_configs, slack_configs...), copied as given
        "integrations": map_of(validate.integrations),
        "url": url,
        # the seeds' alert model: checked in generator.render.alertmanager_schedule
        **{name: getattr(alertmanager_settings, name)
           for name in ("escalation", "active_hours", "mute_hours", "levels", "subscriptions")},
    }),
    "manifests": manifests_config.MANIFESTS,
}


# -------------------------------------------------------------------------------------------------- loading
line_of = safeload.line_of
MAX_DEPTH = 16  # the deepest setting (an integration's http_config.authorization.credentials) needs 8
MAX_NODES = 20_000  # a rich stereo.yaml holds a few hundred


def load(path: str | Path | None) -> Config:
    """Read and check `stereo.yaml`; a missing path (None) gives the defaults."""
    if path is None:
        return build({}, "<defaults>", {})
    try:
        doc = safeload.load_yaml(path, safeload.CONFIG_LIMIT, MAX_DEPTH, MAX_NODES)
    except safeload.LoadError as exc:
        raise ConfigError(str(exc)) from None
    data = {} if doc.data is None else doc.data
    if not isinstance(data, dict):
        raise ConfigError(f"{path}:1: expected a mapping of settings at the top level, got {type(data).__name__}")
    return build(data, str(path), doc.lines)


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
    """Given settings over the defaults, mapping by mapping (so `alertmanager: {group_wait: 1m}` keeps the rest)."""
    for key, value in given.items():
        if isinstance(value, dict) and isinstance(defaults.get(key), dict):
            defaults[key] = _merge(defaults[key], value)
        else:
            defaults[key] = value
    return defaults


def _fields(checked: dict[str, Any]) -> dict[str, Any]:
    """Checked file settings → Config field values, over the defaults of the Config fields."""
    defaults = Config()
    out: dict[str, Any] = {}
    for key, value in checked.items():
        if key in {section for section, _ in NESTED}:
            out.update({NESTED[key, k]: tuple(v) if isinstance(v, list) else v for k, v in value.items()})
        elif isinstance(value, dict):
            out[key] = _merge(copy.deepcopy(getattr(defaults, key)), value)
        else:
            out[key] = tuple(value) if isinstance(value, list) else value
    return out


def _check_receivers(config: Config) -> None:
    """Integrations may only be given to receivers the routing tree uses."""
    am = config.alertmanager
    known = {*am["receivers"].values(), "watchdog", *(s["receiver"] for s in am.get("subscriptions") or [])}
    for name in am.get("integrations") or {}:
        if name not in known:
            key = f"alertmanager.integrations.{name}"
            raise ConfigError(f"{config.where(key)}: {key}: expected a receiver named in alertmanager.receivers "
                              f"({', '.join(sorted(known))}), got \"{name}\"")


def _check_pod_interval(config: Config) -> None:
    """The per-pod groups evaluate no more often than the rest: they exist to be the cheaper ones."""
    given = config.pod_evaluation_interval
    if given and promql.parse_duration(given) < promql.parse_duration(config.evaluation_interval):
        key = "pod_evaluation_interval"
        raise ConfigError(f"{config.where(key)}: {key}: expected a duration of at least evaluation_interval "
                          f"({config.evaluation_interval}), got \"{given}\"")


def _check_namespace_filter(config: Config) -> None:
    """filters.namespace reads the namespace label only: the alerts it limits join on objects in a namespace."""
    text, key = config.filters["namespace"], "filters.namespace"
    others = sorted({label for label, _, _ in promql.parse_selector(text)} - {"namespace"}) if text else []
    if others:
        raise ConfigError(f"{config.where(key)}: {key}: expected matchers on the namespace label such as "
                          f"namespace=~\"prod-.*\", got {text!r} (matches {', '.join(others)})")


def build(data: dict[str, Any], source: str, lines: dict[str, int]) -> Config:
    try:
        checked = record(SCHEMA)(data, "")
    except _Bad as bad:
        line = line_of(bad.key, lines)
        where = f"{source}:{line}" if line else source
        got = f", got {_shown(bad.got)}" if bad.show_got else ""
        key = bad.key if len(bad.key) <= 100 else bad.key[:97] + "..."
        raise ConfigError(f"{where}: {key}: expected {bad.expected}{got}") from None
    fields = _fields(checked)
    if "services" in fields:
        fields["services"] = _services(list(fields["services"]), source, lines)
    config = dataclasses.replace(Config(), **fields, source=source, lines=lines, raw=data)
    _check_receivers(config)
    _check_namespace_filter(config)
    _check_pod_interval(config)
    alertmanager_settings.check_config(config)
    return config
