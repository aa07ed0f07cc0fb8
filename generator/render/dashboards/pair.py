"""The pair view: two signals chosen by variables, drawn together on two axes, each alone, and what the
correlation service says moves with the first one now. Correlated panels elsewhere link here.

`a` and `b` are custom variables whose options are `name : expression`. Grafana interpolates the dashboard's
variables inside a custom variable's values when it computes the options, with its default (glob) format:
a multi-valued `$pod` would become `{p1,p2}`, which is neither a PromQL regex nor safe among comma-separated
options, so multi-valued references are written `${pod:pipe}` (p1|p2) here.
"""

from __future__ import annotations

import re
from typing import Any

from generator.model import Signal
from generator.render.dashboards import board, links, variables
from generator.render.dashboards.board import Cell, Section
from generator.render.dashboards.lookup import Lookup
from generator.render.dashboards.panels import Spec, Target

KEY = links.PAIR_KEY
TITLE = "Pair view"
CORRELATION = {"type": "yesoreyeram-infinity-datasource", "uid": "stereo-correlation"}
# the selector keeps the service to the dashboard's cluster: `<cluster label>="<value>"`, percent-encoded
SUGGESTIONS = ("/api/v1/suggestions?target=${a:text}&k=10&window=${__range_s}s"
               "&selector={label}%3D%22${cluster:percentencode}%22")
COLUMNS = (("name", "Signal", "string"), ("rho", "ρ", "number"), ("pvalue", "p-value", "number"),
           ("n", "n", "number"), ("stability", "stability", "number"), ("home", "home", "string"))
# each option's series carry the signal's name first in `stereo_series` (the legend), so per-unit overrides can
# match them by name whichever signal A and B hold: Grafana does not interpolate variables in a unit
SERIES_LABEL = "stereo_series"


def option_expr(expr: str) -> str:
    """A signal's expression as a custom-variable value: one line, multi-valued variables as `${x:pipe}`."""
    expr = " ".join(expr.split())
    for name in variables.MULTI:
        expr = re.sub(rf'=~"\${name}"', f'=~"${{{name}:pipe}}"', expr)
        expr = expr.replace(f'=~"${{{name}}}"', f'=~"${{{name}:pipe}}"')
    return expr


def option(sig: Signal, cluster: str) -> str:
    """The option value of a signal: its expression, each series named `<signal> <split labels>` in
    SERIES_LABEL (the legend, and what the unit overrides match)."""
    named = f'label_replace({option_expr(sig.expr)}, "{SERIES_LABEL}", "{sig.name}", "", "")'
    split = [label for label in sig.labels if label != cluster]
    if not split:
        return named
    sources = ", ".join(f'"{label}"' for label in (SERIES_LABEL, *split))
    return f'label_join({named}, "{SERIES_LABEL}", " ", {sources})'


def unit_overrides(signals: list[Signal]) -> tuple[dict[str, Any], ...]:
    """One override per unit, matching the series of every signal of that unit by the name they start with."""
    by_unit: dict[str, list[str]] = {}
    for sig in signals:
        by_unit.setdefault(sig.unit, []).append(sig.name)
    return tuple({"matcher": {"id": "byRegexp", "options": f"^({'|'.join(sorted(names))})( .*)?$"},
                  "properties": [{"id": "unit", "value": unit}]} for unit, names in sorted(by_unit.items()))


def _defaults(lk: Lookup, signals: list[Signal]) -> tuple[str, str]:
    """The strongest pair, so the view shows something meaningful when opened without a link."""
    known = {s.name for s in signals}
    for pair in sorted(lk.pairs, key=lambda p: (-p.strength(), p.a, p.b)):
        if pair.a in known and pair.b in known:
            return pair.a, pair.b
    return signals[0].name, signals[min(1, len(signals) - 1)].name


def _suggestions(cluster_label: str, uid: str) -> Spec:
    target = {
        "refId": "A",
        "datasource": CORRELATION,
        "type": "json",
        "source": "url",
        "parser": "backend",
        "format": "table",
        "url": SUGGESTIONS.replace("{label}", cluster_label),
        "url_options": {"method": "GET", "data": ""},
        "root_selector": "suggestions",
        "columns": [{"selector": s, "text": t, "type": k} for s, t, k in COLUMNS],
        "filters": [],
    }
    link = {"title": "Open ${a:text} with ${__data.fields.Signal} in the pair view",
            "url": f"/d/{uid}/{KEY}?var-a=${{a:text}}&var-b=${{__data.fields.Signal}}&var-a_home=${{a_home}}"
                   "&var-b_home=stereo-${__data.fields.home}&${__url_time_range}&var-cluster=${cluster}"
                   "&var-datasource=${datasource}"}
    overrides = (
        {"matcher": {"id": "byName", "options": "Signal"}, "properties": [{"id": "links", "value": [link]}]},
        {"matcher": {"id": "byName", "options": "home"}, "properties": [{"id": "custom.hidden", "value": True}]},
        {"matcher": {"id": "byName", "options": "ρ"}, "properties": [{"id": "decimals", "value": 2}]},
        {"matcher": {"id": "byName", "options": "p-value"}, "properties": [{"id": "unit", "value": "sci"}]},
        {"matcher": {"id": "byName", "options": "stability"}, "properties": [{"id": "unit", "value": "percentunit"}]},
    )
    return Spec(
        title="What moves with ${a:text} now",
        kind="table",
        unit="none",
        description="The correlation service's live answer for the selected time range: the signals whose Spearman "
                    "ρ with ${a:text} passes the significance test, strongest first, with the p-value, the number of "
                    "points and the share of short windows in which the pair was significant too. Click a signal to "
                    "draw it beside ${a:text} here.",
        targets=(),
        raw_targets=(target,),
        datasource=dict(CORRELATION),
        overrides=overrides,
    )


def _series(title: str, description: str, targets: tuple[Target, ...], units: tuple[dict[str, Any], ...],
            right: bool = False) -> Spec:
    overrides: tuple[dict[str, Any], ...] = ()
    if right:
        overrides = ({"matcher": {"id": "byFrameRefID", "options": "B"},
                      "properties": [{"id": "custom.axisPlacement", "value": "right"}]},)
    return Spec(title=title, kind="timeseries", unit="short", description=description, targets=targets,
                steps=({"color": "green", "value": 0.0},), overrides=overrides + units)


def pair_view(lk: Lookup) -> dict[str, Any]:
    signals = list(lk.signals.values())
    a, b = _defaults(lk, signals)
    options = [(s.name, option(s, lk.cluster)) for s in signals]
    units = unit_overrides(signals)
    legend = f"{{{{{SERIES_LABEL}}}}}"
    names = [s.name for s in signals]
    scope = variables.scope(signals, lk.cluster)
    chosen = [
        variables.custom("a", options, names.index(a), "Signal A (left axis)"),
        variables.custom("b", options, names.index(b), "Signal B (right axis)"),
        variables.textbox("a_home", lk.uid(lk.home(a))),
        variables.textbox("b_home", lk.uid(lk.home(b))),
    ]
    together = _series("${a:text} (left) and ${b:text} (right)",
                       "Both signals on one graph, each on its own axis, so a shared rhythm shows whatever the units. "
                       "Choose them with the A and B variables, or arrive here from a correlated panel's link. Each "
                       "axis carries its signal's unit.",
                       (Target("$a", legend), Target("$b", legend)), units, right=True)
    alone = [_series(f"${{{v}:text}}", f"Signal {v.upper()} alone, on its own scale and in its unit.",
                     (Target(f"${v}", legend),), units) for v in ("a", "b")]
    secs = [Section("Together", [Cell(together, board.COLUMNS, 10)]),
            Section("Each alone", [Cell(s, board.COLUMNS // 2) for s in alone]),
            Section("Suggestions", [Cell(_suggestions(lk.config.cluster_label, lk.uid(KEY)), board.COLUMNS, 8)])]
    back = (links.back("a_home", "Home of ${a:text}"), links.back("b_home", "Home of ${b:text}"))
    lk.titles.setdefault(KEY, TITLE)
    return board.dashboard(lk, KEY, "Two signals side by side. Correlated panels on the other Stereo dashboards "
                           "open this view with both signals chosen and the time range kept.", secs,
                           [*scope.variables(), *chosen], extra_links=back)
