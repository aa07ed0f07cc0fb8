"""The thin layer between grafanalib 0.7.1 and the Grafana JSON model Stereo commits.

grafanalib writes an old model: schemaVersion 12, nulls for every unset option, legacy keys (`rows`,
`sharedCrosshair`, `hideControls`, `span`...), datasources as names, and gauges/bar gauges in the pre-7
`options.fieldOptions` shape. `normalise()` rewrites one dashboard into the current model (schemaVersion 39)
so that Grafana does not have to migrate it on every load, and so the output is the same bytes every time.
"""

from __future__ import annotations

import json
import math
from typing import Any

SCHEMA_VERSION = 39
PROMETHEUS = {"type": "prometheus", "uid": "${datasource}"}

# dashboard keys Grafana dropped (or that only an import through the UI uses)
LEGACY_DASHBOARD = ("rows", "sharedCrosshair", "hideControls", "style", "gnetId", "id")
# panel keys from the Graph/Singlestat era; `maxDataPoints: 100` and `intervalFactor: 2` would coarsen every
# graph, so they go too and Grafana sizes queries by the panel's width
LEGACY_PANEL = ("span", "minSpan", "height", "error", "editable", "cacheTimeout", "maxDataPoints", "columns",
                "fontSize", "styles", "color", "mappings", "hideTimeOverride", "transparent", "thresholds")
LEGACY_TARGET = ("query", "target", "metric", "step", "intervalFactor", "hide")
# grafanalib's gauge/bar gauge defaults that have no meaning in the field config
LEGACY_FIELD = ("calcs", "limit", "override", "values", "title")


def drop_nulls(value: Any) -> Any:
    """Nulls (and the string 'null' grafanalib writes for a base threshold) removed at every depth."""
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None and v != "null"}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value if v is not None]
    return value


def _target(target: dict[str, Any], datasource: dict[str, str]) -> dict[str, Any]:
    out = {k: v for k, v in target.items() if k not in LEGACY_TARGET}
    if out.get("interval") == "":
        del out["interval"]
    out.setdefault("datasource", datasource)
    if "expr" in out and not out.get("instant"):
        out.setdefault("range", True)
    if out.get("instant") is False:
        del out["instant"]
    return out


def _steps(steps: Any) -> list[dict[str, Any]]:
    """Threshold steps as {color, value}; grafanalib's Threshold objects carry op/yaxis/line/index too, and
    write the base step's value as "null". Grafana reads the base as -Infinity whatever it holds, so a number
    below the next step keeps the file free of nulls and valid against the schema."""
    out = [{"color": s["color"], "value": s.get("value")} for s in steps or [] if isinstance(s, dict) and "color" in s]
    if out and not isinstance(out[0]["value"], int | float):
        above = out[1]["value"] if len(out) > 1 else 0.0
        out[0]["value"] = min(0.0, above - 1)
    return out


def _gauge(panel: dict[str, Any]) -> None:
    """Pre-7 `options.fieldOptions` (grafanalib's BarGauge/GaugePanel) → fieldConfig.defaults + reduceOptions."""
    options = panel.setdefault("options", {})
    field = options.pop("fieldOptions", {})
    defaults = panel.setdefault("fieldConfig", {}).setdefault("defaults", {})
    for key in ("min", "max", "unit", "decimals", "links"):
        if key in field.get("defaults", {}):
            defaults.setdefault(key, field["defaults"][key])
    if field.get("thresholds"):
        defaults["thresholds"] = {"mode": "absolute", "steps": _steps(field["thresholds"])}
    calcs = field.get("calcs") or defaults.get("calcs") or ["lastNotNull"]
    options.setdefault("reduceOptions", {"calcs": calcs, "fields": "", "values": bool(field.get("values", False))})
    for key in LEGACY_FIELD:
        defaults.pop(key, None)
    panel["fieldConfig"].pop("showThresholdLabels", None)
    panel["fieldConfig"].pop("showThresholdMarkers", None)
    if panel["type"] == "bargauge":  # gauge options grafanalib also writes on bar gauges
        options.pop("showThresholdLabels", None)
        options.pop("showThresholdMarkers", None)


def _panel(panel: dict[str, Any], next_id: list[int]) -> dict[str, Any]:
    out = {k: v for k, v in panel.items() if k not in LEGACY_PANEL}
    out["id"] = next_id[0]
    next_id[0] += 1
    for key in ("repeatDirection", "maxPerRow"):
        if "repeat" not in out:
            out.pop(key, None)
    if out.get("type") == "row":
        out.pop("targets", None)
        out.pop("fieldConfig", None)
        out.pop("links", None)
        out.pop("transformations", None)
        out["panels"] = [_panel(p, next_id) for p in out.get("panels", [])]
        return out
    datasource = out.get("datasource") if isinstance(out.get("datasource"), dict) else PROMETHEUS
    out["datasource"] = datasource
    out["targets"] = [_target(t, datasource) for t in out.get("targets", [])]
    if out["type"] in ("gauge", "bargauge"):
        _gauge(out)
    defaults = out.setdefault("fieldConfig", {}).setdefault("defaults", {})
    out["fieldConfig"].setdefault("overrides", [])
    thresholds = defaults.get("thresholds")
    if isinstance(thresholds, dict):
        thresholds["steps"] = _steps(thresholds.get("steps"))
        if not thresholds["steps"]:
            del defaults["thresholds"]
    # data links live in the field config (Grafana 7+); the panel-level `links` are header links
    links = [*defaults.pop("links", []), *out.pop("links", [])]
    if links:
        defaults["links"] = links
    if defaults.get("noValue") == "none":
        del defaults["noValue"]  # grafanalib's Stat default would print the word "none" for no data
    if not out.get("transformations"):
        out.pop("transformations", None)
    return out


def normalise(dashboard: dict[str, Any]) -> dict[str, Any]:
    """A grafanalib `Dashboard.to_json_data()` (already through json round-trip) in the current JSON model."""
    dash = drop_nulls(dashboard)
    for key in LEGACY_DASHBOARD:
        dash.pop(key, None)
    if not dash.get("__inputs"):
        dash.pop("__inputs", None)
    dash["schemaVersion"] = SCHEMA_VERSION
    next_id = [1]
    dash["panels"] = [_panel(p, next_id) for p in dash.get("panels", [])]
    timepicker = dash.get("timepicker", {})
    timepicker.pop("time_options", None)  # removed from the model in Grafana 10
    return drop_nulls(dash)


def to_json(obj: Any) -> dict[str, Any]:
    """grafanalib objects → plain JSON data (their own encoder knows how to walk them)."""
    from grafanalib._gen import DashboardEncoder

    return json.loads(json.dumps(obj, cls=DashboardEncoder))


def dumps(dashboard: dict[str, Any]) -> str:
    """`json.dumps(dashboard, sort_keys=True, indent=2, ensure_ascii=False)` and a newline. json's indenting
    encoder is pure Python; `_indented` writes the same text in about a third of its CPU (the JSON that
    json.loads gives: str keys, str/int/float/bool/None/list/dict values); anything else goes to json."""
    out: list[str] = []
    try:
        _indented(dashboard, "\n", out)
    except _Unusual:
        return json.dumps(dashboard, sort_keys=True, indent=2, ensure_ascii=False) + "\n"
    out.append("\n")
    return "".join(out)


class _Unusual(Exception):
    """A value `_indented` leaves to json (a non-str key, a tuple, a subclass...)."""


_string = json.encoder.encode_basestring  # ensure_ascii=False: the C escaper when there is one
_SCALAR = {True: "true", False: "false", None: "null"}


def _indented(value: Any, pad: str, out: list[str]) -> None:
    kind = type(value)
    if kind is str:
        out.append(_string(value))
    elif kind is dict or kind is list:
        if not value:
            out.append("{}" if kind is dict else "[]")
            return
        if kind is dict and any(type(key) is not str for key in value):
            raise _Unusual
        items = [(_string(k) + ": ", value[k]) for k in sorted(value)] if kind is dict else [("", v) for v in value]
        inner = pad + "  "
        sep = ("{" if kind is dict else "[") + inner
        for head, item in items:
            out.append(sep + head)
            _indented(item, inner, out)
            sep = "," + inner
        out.append(pad + ("}" if kind is dict else "]"))
    elif kind is int:
        out.append(int.__repr__(value))
    elif kind is float and math.isfinite(value):
        out.append(float.__repr__(value))
    elif kind is bool or value is None:
        out.append(_SCALAR[value])
    else:
        raise _Unusual
