"""The dashboard JSON Schema (generated from @grafana/schema) accepts valid dashboards and rejects broken ones,
so a passing check on a generated dashboard means something."""

from __future__ import annotations

import copy
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from schema.grafana_schema import dashboard_schema, default_cache_dir, validate_dashboard

# CI installs npm (.ci/run), so there a missing npm fails instead of skipping
pytestmark = pytest.mark.skipif(shutil.which("npm") is None and not os.environ.get("CI"),
                                reason="npm (Node 20+) builds the dashboard schema")


@pytest.fixture(scope="session")
def schema() -> dict[str, Any]:
    return dashboard_schema(default_cache_dir())


@pytest.fixture(scope="session")
def strict_schema() -> dict[str, Any]:
    return dashboard_schema(default_cache_dir(), strict=True)


def minimal() -> dict[str, Any]:
    return {
        "title": "CoreDNS",
        "uid": "stereo-coredns",
        "schemaVersion": 39,
        "panels": [{
            "id": 1,
            "type": "timeseries",
            "title": "Requests",
            "gridPos": {"h": 8, "w": 12, "x": 0, "y": 0},
            "targets": [{"refId": "A", "expr": "up"}],
        }],
        "templating": {"list": []},
    }


def exported() -> dict[str, Any]:
    """A dashboard shaped like what Grafana 11 writes on export: built-in annotations, datasource and query
    variables (with `definition`, which the TypeScript types lack), a row, a stat panel, thresholds.

    Two things Grafana tolerates but its types (and so this schema) do not: `"current": {}` on a variable
    and a threshold step without `value`; write `current` in full (or leave it out) and `"value": null`.
    """
    ds = {"type": "prometheus", "uid": "${datasource}"}
    return {
        "annotations": {"list": [
            {"builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": True, "hide": True,
             "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts", "type": "dashboard",
             "target": {"limit": 100, "matchAny": False, "tags": [], "type": "dashboard"}},
            # a Prometheus annotation: its target is a PromQL query, not the built-in datasource's filter
            {"datasource": ds, "enable": True, "iconColor": "red", "name": "Firing alerts",
             "titleFormat": "{{alertname}}",
             "target": {"expr": 'ALERTS{alertstate="firing"}', "interval": "1m", "refId": "Anno"}},
        ]},
        "editable": False,
        "fiscalYearStartMonth": 0,
        "graphTooltip": 1,
        "id": None,
        "links": [{"asDropdown": True, "icon": "external link", "includeVars": True, "keepTime": True,
                   "tags": ["stereo"], "targetBlank": False, "title": "Stereo", "tooltip": "", "type": "dashboards",
                   "url": ""}],
        "panels": [
            {"collapsed": False, "gridPos": {"h": 1, "w": 24, "x": 0, "y": 0}, "id": 10, "panels": [],
             "title": "Traffic", "type": "row"},
            {
                "datasource": ds,
                "description": "DNS queries per second.",
                "fieldConfig": {
                    "defaults": {
                        "color": {"mode": "palette-classic"},
                        "custom": {"drawStyle": "line", "fillOpacity": 10, "lineWidth": 1},
                        "links": [{"title": "Correlated signals", "url": "/d/stereo-coredns?${__url_time_range}"}],
                        "mappings": [],
                        "thresholds": {"mode": "absolute", "steps": [{"color": "green", "value": None},
                                                                     {"color": "red", "value": 80}]},
                        "unit": "reqps",
                    },
                    "overrides": [],
                },
                "gridPos": {"h": 8, "w": 12, "x": 0, "y": 1},
                "id": 1,
                "options": {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                            "tooltip": {"mode": "multi", "sort": "desc"}},
                "pluginVersion": "11.3.0",
                "targets": [{"datasource": ds, "legendFormat": "{{type}}", "range": True, "refId": "A",
                             "expr": "sum by (type) (rate(coredns_dns_requests_total[$__rate_interval]))"}],
                "title": "Requests by type",
                "type": "timeseries",
            },
            {"datasource": ds, "fieldConfig": {"defaults": {"unit": "percentunit"}, "overrides": []},
             "gridPos": {"h": 8, "w": 6, "x": 12, "y": 1}, "id": 2,
             "options": {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False}},
             "targets": [{"expr": "1", "refId": "A"}], "title": "Cache hit ratio", "type": "stat"},
        ],
        "refresh": "1m",
        "schemaVersion": 39,
        "tags": ["stereo", "coredns"],
        "templating": {"list": [
            {"current": {"selected": False, "text": "Prometheus", "value": "prometheus"}, "hide": 0,
             "includeAll": False, "label": "Data source", "multi": False, "name": "datasource", "options": [],
             "query": "prometheus", "refresh": 1, "regex": "", "skipUrlSync": False, "type": "datasource"},
            {"current": {"selected": False, "text": "prod", "value": "prod"}, "datasource": ds,
             "definition": "label_values(up, cluster)", "hide": 0,
             "includeAll": False, "label": "cluster", "multi": False, "name": "cluster", "options": [],
             "query": {"query": "label_values(up, cluster)", "refId": "PrometheusVariableQueryEditor-VariableQuery"},
             "refresh": 2, "regex": "", "skipUrlSync": False, "sort": 1, "type": "query"},
        ]},
        "time": {"from": "now-6h", "to": "now"},
        "timepicker": {},
        "timezone": "",
        "title": "CoreDNS",
        "uid": "stereo-coredns",
        "version": 1,
        "weekStart": "",
    }


def test_minimal_dashboard_is_valid(schema: dict[str, Any], strict_schema: dict[str, Any]) -> None:
    assert validate_dashboard(schema, minimal()) == []
    assert validate_dashboard(strict_schema, minimal()) == []


def test_exported_dashboard_is_valid(schema: dict[str, Any]) -> None:
    assert validate_dashboard(schema, exported()) == []


def _broken(change: str) -> dict[str, Any]:
    dash = minimal()
    panel = dash["panels"][0]
    if change == "panels not a list":
        dash["panels"] = {"1": panel}
    elif change == "gridPos.w a string":
        panel["gridPos"]["w"] = "12"
    elif change == "gridPos without y":
        del panel["gridPos"]["y"]
    elif change == "gridPos a list":
        panel["gridPos"] = [8, 12, 0, 0]
    elif change == "schemaVersion a string":
        dash["schemaVersion"] = "39"
    elif change == "no schemaVersion":
        del dash["schemaVersion"]
    elif change == "panel without type":
        del panel["type"]
    elif change == "datasource as a name":
        panel["datasource"] = "Prometheus"
    elif change == "graphTooltip out of range":
        dash["graphTooltip"] = 3
    elif change == "unknown variable type":
        dash["templating"]["list"] = [{"name": "cluster", "type": "dropdown"}]
    elif change == "variable without name":
        dash["templating"]["list"] = [{"type": "query"}]
    elif change == "templating a list":
        dash["templating"] = []
    elif change == "row without its panels":
        dash["panels"].append({"type": "row", "id": 2, "title": "Row", "collapsed": False})
    elif change == "threshold step without value":
        panel["fieldConfig"] = {"defaults": {"thresholds": {"mode": "absolute", "steps": [{"color": "red"}]}},
                                "overrides": []}
    elif change == "annotation target a string":
        dash["annotations"] = {"list": [{"datasource": {"uid": "prometheus"}, "enable": True, "iconColor": "red",
                                         "name": "Deploys", "target": "changes(kube_deployment_spec_replicas[5m])"}]}
    elif change == "annotation without name":
        dash["annotations"] = {"list": [{"datasource": {"uid": "prometheus"}, "enable": True, "iconColor": "red"}]}
    elif change == "tags not strings":
        dash["tags"] = [1]
    return dash


BROKEN = {
    "panels not a list": "panels:",
    "gridPos.w a string": "panels/0/gridPos/w:",
    "gridPos without y": "panels/0/gridPos:",
    "gridPos a list": "panels/0/gridPos:",
    "schemaVersion a string": "schemaVersion:",
    "no schemaVersion": "'schemaVersion' is a required property",
    "panel without type": "'type' is a required property",
    "datasource as a name": "panels/0/datasource:",
    "graphTooltip out of range": "graphTooltip:",
    "unknown variable type": "templating/list/0/type:",
    "variable without name": "'name' is a required property",
    "templating a list": "templating:",
    "row without its panels": "panels/1: 'panels' is a required property",
    "threshold step without value": "'value' is a required property",
    "tags not strings": "tags/0:",
    "annotation target a string": "annotations/list/0/target:",
    "annotation without name": "'name' is a required property",
}


@pytest.mark.parametrize("change", sorted(BROKEN))
def test_broken_dashboards_are_rejected(schema: dict[str, Any], change: str) -> None:
    errors = validate_dashboard(schema, _broken(change))
    assert errors, f"{change}: accepted"
    assert any(BROKEN[change] in e for e in errors), errors


def test_strict_schema_rejects_unknown_keys(schema: dict[str, Any], strict_schema: dict[str, Any]) -> None:
    dash = minimal()
    dash["panels"][0]["gridpos"] = dash["panels"][0].pop("gridPos")  # a misspelt key
    assert validate_dashboard(schema, dash) == []
    assert validate_dashboard(strict_schema, dash) == [
        "panels/0: Additional properties are not allowed ('gridpos' was unexpected)"
    ]


def test_the_schema_is_cached_and_stable(schema: dict[str, Any], tmp_path: Path) -> None:
    again = dashboard_schema(default_cache_dir())
    assert again == schema
    assert schema["definitions"]["Dashboard"]["required"] == ["schemaVersion"]
    assert len(list(default_cache_dir().glob("dashboard-open-*.schema.json"))) >= 1
    assert copy.deepcopy(schema) == schema
