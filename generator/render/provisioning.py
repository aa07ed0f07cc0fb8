"""provisioning/: Grafana's dashboard provider and datasources, and the Prometheus `rule_files` snippet.

Grafana reads provisioning/dashboards/ and provisioning/datasources/ from its provisioning directory
(/etc/grafana/provisioning by default); provisioning/prometheus/prometheus.yml is a snippet to merge into the
Prometheus configuration, not a whole one.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from generator.config import Config
from generator.model import Component
from generator.naming import GENERATED_HEADER
from generator.yamlio import dump

DASHBOARDS_PATH = "/var/lib/grafana/dashboards/stereo"
RULES_PATH = "/etc/prometheus/stereo"
FOLDER = "Stereo"
PROMETHEUS_UID = "prometheus"
CORRELATION_UID = "stereo-correlation"
INFINITY = "yesoreyeram-infinity-datasource"
DEFAULT_ALERTMANAGER = "http://alertmanager:9093"


def _document(data: Any, notes: str = "") -> str:
    """The YAML with the generated-by header, then notes (comments) for whoever installs the file."""
    return GENERATED_HEADER + notes + dump(data, header=False)


def _annotate(text: str, line: str, comment: str) -> str:
    """An end-of-line comment on one known line (PyYAML cannot emit comments)."""
    if text.count(line + "\n") != 1:
        raise ValueError(f"expected exactly one line {line!r} to comment")
    return text.replace(line + "\n", f"{line}  # {comment}\n")


def dashboards_provider() -> str:
    data = {
        "apiVersion": 1,
        "providers": [{
            "name": "stereo",
            "orgId": 1,
            "type": "file",
            "folder": FOLDER,
            "folderUid": "stereo",
            # Stereo owns the directory: a dashboard it no longer generates should disappear from Grafana too
            "disableDeletion": False,
            "allowUiUpdates": False,
            "updateIntervalSeconds": 30,
            "options": {"path": DASHBOARDS_PATH, "foldersFromFilesStructure": False},
        }],
    }
    text = _document(data, "# Grafana file provider for the dashboards Stereo generates; change them in the catalog.\n")
    return _annotate(text, f"    path: {DASHBOARDS_PATH}", "mount the generated dashboards/ directory here")


_DATASOURCE_NOTES = """\
# Datasources the Stereo dashboards refer to by uid: "{prom}" and "{corr}".
# "{corr}" needs Grafana's Infinity plugin ({infinity}), e.g.
#   GF_PLUGINS_PREINSTALL_SYNC={infinity}
# If the correlation service sits behind a bearer token, add to that datasource
#   jsonData:
#     auth_method: bearerToken
#   secureJsonData:
#     bearerToken: $STEREO_CORRELATION_TOKEN   # Grafana expands environment variables here; keep the token out of git
"""


def datasources(config: Config) -> str:
    data = {
        "apiVersion": 1,
        "datasources": [
            {
                "name": "Prometheus",
                "uid": PROMETHEUS_UID,
                "type": "prometheus",
                "access": "proxy",
                "url": config.prometheus_url,
                "editable": False,
                "jsonData": {"httpMethod": "POST"},
            },
            {
                "name": "Stereo correlation",
                "uid": CORRELATION_UID,
                "type": INFINITY,
                "access": "proxy",
                "url": config.correlation_url,
                "editable": False,
                # Infinity refuses hosts outside this list once it is set: only the correlation service
                "jsonData": {"allowedHosts": [config.correlation_url], "timeoutInSeconds": 30},
            },
        ],
    }
    notes = _DATASOURCE_NOTES.format(prom=PROMETHEUS_UID, corr=CORRELATION_UID, infinity=INFINITY)
    return _document(data, notes)


_PROMETHEUS_NOTES = """\
# Merge into prometheus.yml. Copy (or mount) the generated rules/ and alerts/ directories to {rules}/.
# Prometheus re-reads rule files on reload; start it with --web.enable-lifecycle, then after each generate:
#   curl -X POST {prometheus}/-/reload
# Check first with: promtool check rules rules/*.yaml alerts/*.yaml
"""


def _alertmanager_target(config: Config) -> tuple[str, str]:
    """(scheme, host:port) of Alertmanager; `alertmanager.url` in the settings when the site gives one."""
    parts = urlsplit(config.alertmanager.get("url") or DEFAULT_ALERTMANAGER)
    return parts.scheme, parts.netloc


def prometheus_snippet(config: Config) -> str:
    scheme, target = _alertmanager_target(config)
    alertmanager: dict[str, Any] = {"static_configs": [{"targets": [target]}]}
    if scheme != "http":
        alertmanager = {"scheme": scheme, **alertmanager}
    data = {
        "rule_files": [f"{RULES_PATH}/rules/*.yaml", f"{RULES_PATH}/alerts/*.yaml"],
        "alerting": {"alertmanagers": [alertmanager]},
    }
    return _document(data, _PROMETHEUS_NOTES.format(rules=RULES_PATH, prometheus=config.prometheus_url))


def provisioning(components: list[Component], config: Config) -> dict[str, str]:
    return {
        "provisioning/dashboards/stereo.yaml": dashboards_provider(),
        "provisioning/datasources/stereo.yaml": datasources(config),
        "provisioning/prometheus/prometheus.yml": prometheus_snippet(config),
    }
