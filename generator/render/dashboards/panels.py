"""Panel specs → grafanalib panels: one target per signal, the unit, the description, the alert's threshold.

A `Spec` is what Stereo wants a panel to show, whatever its source (a catalog Panel laid out by correlation,
or a view's own query); `build()` is the only place that touches grafanalib's panel classes.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass, field
from typing import Any

import grafanalib.core as G

from generator.model import Alert, Panel, Signal
from generator.promql import fmt_number
from generator.render.dashboards import compare
from generator.render.dashboards.normalise import PROMETHEUS

HEIGHT = 8
STAT_HEIGHT = 5
SEVERITY_COLOR = {"critical": "red", "warning": "orange", "info": "blue"}
# a raw counter rated over a fixed range: Grafana's $__rate_interval keeps at least four scrapes in the window
_RATED_RANGE = re.compile(r"\b((?:rate|irate|increase)\((?:[^()\[\]]|\([^()]*\))*)\[[0-9smhdwy]+\]")


@dataclass(frozen=True)
class Target:
    expr: str
    legend: str = ""
    unit: str = ""  # when it differs from the panel's unit
    yesterday: bool = False  # also draw it a day earlier (see compare)


@dataclass(frozen=True)
class Spec:
    title: str
    kind: str  # timeseries | stat | gauge | bargauge | table
    unit: str
    description: str
    targets: tuple[Target, ...]
    steps: tuple[dict[str, Any], ...] = ()  # threshold steps, base first
    threshold_style: str = "off"
    links: tuple[dict[str, Any], ...] = ()
    stack: bool = False
    instant: bool = False
    min: float | None = None
    max: float | None = None
    mappings: tuple[dict[str, Any], ...] = ()
    overrides: tuple[dict[str, Any], ...] = ()
    transformations: tuple[dict[str, Any], ...] = ()
    datasource: dict[str, str] = field(default_factory=lambda: dict(PROMETHEUS))
    raw_targets: tuple[dict[str, Any], ...] = ()  # targets of another datasource (Infinity), used as they are


def rate_interval(expr: str) -> str:
    """rate(x[5m]) → rate(x[$__rate_interval]) for the (few) targets that rate a raw counter themselves."""
    return _RATED_RANGE.sub(r"\1[$__rate_interval]", expr)


def _base(threshold: float) -> float:
    # Grafana reads the first step as -Infinity whatever its value (and saves null there); a number keeps the
    # file free of nulls and valid against the schema, so pick one below the threshold
    return 0.0 if threshold > 0 else threshold - 1


def alert_steps(alert: Alert) -> tuple[dict[str, Any], ...]:
    """Threshold steps of an alert: coloured beyond the threshold, transparent on the quiet side."""
    assert alert.threshold is not None
    t = alert.threshold
    color = SEVERITY_COLOR.get(alert.severity, "red")
    below = re.search(rf"<=?\s*{re.escape(fmt_number(t))}(?![\d.])", alert.expr) is not None
    if below:
        return ({"color": color, "value": _base(t)}, {"color": "transparent", "value": t})
    return ({"color": "transparent", "value": _base(t)}, {"color": color, "value": t})


def watching(signals: list[Signal], alerts: dict[str, Alert]) -> Alert | None:
    """The alert whose threshold a panel draws: the first of its signals' alerts that the site kept and that
    has a threshold."""
    for sig in signals:
        alert = alerts.get(sig.alert or "")
        if alert is not None and alert.threshold is not None:
            return alert
    return None


def _legend(panel: Panel, sig: Signal, cluster: str, many: bool) -> str:
    if panel.legend:
        return f"{sig.title} {panel.legend}" if many else panel.legend
    split = [f"{{{{{label}}}}}" for label in sig.labels if label != cluster]
    if many:
        return " ".join([sig.title, *split])
    return " ".join(split) or sig.title


def description(panel: Panel, signals: list[Signal]) -> str:
    if panel.description:
        return panel.description
    texts: list[str] = []
    for sig in signals:
        if sig.description not in texts:
            texts.append(sig.description)
    return " ".join(texts)


def signal_spec(panel: Panel, signals: list[Signal], exprs: list[str], cluster: str, alerts: dict[str, Alert],
                notes: list[str], links: list[dict[str, Any]]) -> Spec:
    """A catalog Panel as a Spec: `exprs` are the signals' expressions as this dashboard scopes them."""
    many = len(signals) > 1
    unit = signals[0].unit
    kind = panel.kind
    targets = tuple(
        Target(expr, _legend(panel, sig, cluster, many), "" if sig.unit == unit else sig.unit,
               yesterday=kind == "timeseries" and sig.name in compare.KEY and compare.offset(expr) is not None)
        for sig, expr in zip(signals, exprs, strict=True)
    )
    alert = watching(signals, alerts)
    steps = alert_steps(alert) if alert else ()
    text = "\n\n".join([description(panel, signals), *notes])
    if any(t.yesterday for t in targets):
        text += f"\n\nThe dashed line is the same series {compare.LABEL} (offset {compare.OFFSET})" + (
            ", summed over the stack." if panel.stack else ".")
    if alert:
        text += f"\n\nThe {'area' if panel.kind == 'timeseries' else 'colour'} marks where {alert.name} fires."
    is_ratio = unit == "percentunit"
    return Spec(
        title=panel.title,
        kind=kind,
        unit=unit,
        description=text,
        targets=targets,
        steps=steps or ({"color": "green", "value": 0.0},),
        threshold_style="line+area" if steps else "off",
        links=tuple(links),
        stack=panel.stack,
        instant=kind in ("bargauge", "table"),
        min=0.0 if is_ratio or kind in ("gauge", "bargauge") else None,
        max=1.0 if is_ratio and kind in ("gauge", "bargauge") else None,
    )


def _yesterday(spec: Spec) -> list[tuple[str, Target]]:
    """The day-earlier twins of the targets that ask for one, with their refIds (after the targets' own)."""
    out = []
    letters = string.ascii_uppercase[len(spec.targets):]
    for letter, target in zip(letters, [t for t in spec.targets if t.yesterday], strict=False):
        expr = compare.offset(target.expr)
        assert expr is not None
        if spec.stack:
            expr, legend = f"sum({expr})", f"total {compare.LABEL}"
        else:
            legend = f"{target.legend} {compare.LABEL}".strip()
        out.append((letter, Target(expr, legend, target.unit)))
    return out


def _targets(spec: Spec) -> list[G.Target]:
    out = []
    pairs = [*zip(string.ascii_uppercase, spec.targets, strict=False), *_yesterday(spec)]
    for letter, target in pairs:
        out.append(G.Target(expr=rate_interval(target.expr), legendFormat=target.legend, refId=letter,
                            instant=spec.instant, format="table" if spec.kind == "table" else "time_series",
                            datasource=spec.datasource))
    return out


def _overrides(spec: Spec) -> list[dict[str, Any]]:
    out = list(spec.overrides)
    for letter, target in zip(string.ascii_uppercase, spec.targets, strict=False):
        if target.unit:
            out.append({"matcher": {"id": "byFrameRefID", "options": letter},
                        "properties": [{"id": "unit", "value": target.unit}]})
    for letter, target in _yesterday(spec):
        out += compare.overrides([letter], target.unit)
    return out


def build(spec: Spec) -> G.Panel:
    """The grafanalib panel of a Spec (gridPos is set when the panel is placed)."""
    common: dict[str, Any] = {
        "title": spec.title,
        "description": spec.description,
        "dataSource": spec.datasource,
        "targets": _targets(spec) + list(spec.raw_targets),
        "links": list(spec.links),
        "transformations": list(spec.transformations),
    }
    defaults: dict[str, Any] = {"unit": spec.unit, "min": spec.min, "max": spec.max}
    if spec.mappings:
        defaults["mappings"] = list(spec.mappings)
    extra = {"fieldConfig": {"defaults": defaults}}
    if spec.kind == "timeseries":
        return G.TimeSeries(
            **common, unit=spec.unit, thresholds=list(spec.steps), thresholdsStyleMode=spec.threshold_style,
            fillOpacity=25 if spec.stack else 10, stacking={"mode": "normal" if spec.stack else "none", "group": "A"},
            tooltipMode="multi", tooltipSort="desc", legendCalcs=["lastNotNull", "max"],
            overrides=_overrides(spec), extraJson=extra,
        )
    if spec.kind == "stat":
        return G.Stat(**common, format=spec.unit, thresholds=list(spec.steps), reduceCalc="lastNotNull",
                      colorMode="value", graphMode="area", mappings=list(spec.mappings), overrides=_overrides(spec),
                      extraJson=extra)
    if spec.kind == "gauge":
        return G.GaugePanel(**common, format=spec.unit, thresholds=list(spec.steps), calc="lastNotNull",
                            min=spec.min, max=spec.max, extraJson=extra)
    if spec.kind == "bargauge":
        return G.BarGauge(**common, format=spec.unit, thresholds=list(spec.steps), calc="lastNotNull",
                          displayMode="gradient", min=spec.min, max=spec.max, extraJson=extra)
    if spec.kind == "table":
        return G.Table(**common, unit=spec.unit, overrides=_overrides(spec), extraJson=extra)
    raise ValueError(f"panel {spec.title}: unknown kind {spec.kind}")
