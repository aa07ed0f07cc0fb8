"""Dashboard variables: `datasource`, `cluster` (visible), then the scope variables a dashboard's queries use.

Scope variables come from the queries themselves: a signal written with `namespace="$namespace"` needs a
`namespace` variable. On component dashboards Stereo also adds a `node`/`instance` filter when the signals
are split by that label, so a 500-node cluster does not draw 500 lines per panel. Every scope variable is
fed by `label_values()` on a recorded series the dashboard already reads, never on a raw metric.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import grafanalib.core as G

from generator.model import Signal
from generator.render.dashboards.lookup import recorded
from generator.render.dashboards.normalise import PROMETHEUS, to_json

# scope variables in the order they appear; later ones are filtered by earlier ones
SCOPE = ("namespace", "workload", "pod", "node", "instance")
# labels queries match with =~ (several values, All by default)
MULTI = ("pod", "node", "instance")
# labels Stereo may add a filter for on a component dashboard
FILTERS = ("node", "instance")
_VAR = re.compile(r"\$(?:\{(\w+)(?::\w+)?\}|(\w+))")
QUERY_REF = "PrometheusVariableQueryEditor-VariableQuery"


def referenced(expr: str) -> set[str]:
    return {a or b for a, b in _VAR.findall(expr)}


@dataclass
class Scope:
    """The scope variables of one dashboard and how each signal's expression is filtered by them."""

    cluster: str
    names: list[str] = field(default_factory=list)
    injected: set[str] = field(default_factory=set)
    sources: dict[str, tuple[str, tuple[str, ...]]] = field(default_factory=dict)  # name → (series, its labels)
    own: set[str] = field(default_factory=set)  # signals of the dashboard's own component

    def expr(self, sig: Signal) -> str:
        """The signal's expression with the filters Stereo adds on this dashboard."""
        expr = sig.expr
        if not self.injected or sig.name not in self.own:
            return expr
        anchor = f'{self.cluster}="$cluster"'
        for label in sorted(self.injected):
            if label in sig.labels and label not in referenced(expr) and expr.count(anchor) == 1:
                expr = expr.replace(anchor, f'{anchor},{label}=~"${label}"')
        return expr

    def variables(self) -> list[dict[str, Any]]:
        return [datasource(), cluster(self.cluster)] + [self._variable(name) for name in self.names]

    def _variable(self, name: str) -> dict[str, Any]:
        series, labels = self.sources[name]
        matchers = [f'{self.cluster}="$cluster"']
        for earlier in self.names[: self.names.index(name)]:
            if earlier in labels:
                matchers.append(f'{earlier}=~"${earlier}"' if earlier in MULTI else f'{earlier}="${earlier}"')
        # an added filter matches everything on All, whatever series fed its options
        return query(name, f"label_values({series}{{{','.join(matchers)}}}, {name})", multi=name in MULTI,
                     all_value=".*" if name in self.injected else None)


def scope(signals: list[Signal], cluster: str, own: set[str] | None = None,
          extra: dict[str, tuple[str, tuple[str, ...]]] | None = None, pool: list[Signal] | None = None) -> Scope:
    """The scope of a dashboard showing `signals`. `own` names the signals of the dashboard's component, which
    get a node/instance filter (a partner brought in from another component keeps all its series: its
    instances are other processes). `extra` names sources the caller knows better (the workload view feeds
    `workload` and `pod` from the pod → workload mapping). `pool` is where to look for a series carrying a
    label when none of the dashboard's own does (ingress signals use $namespace on `exported_namespace`)."""
    out = Scope(cluster, own=set(own or ()))
    wanted: set[str] = set()
    for sig in signals:
        wanted |= referenced(sig.expr) & set(SCOPE)
    anchor = f'{cluster}="$cluster"'
    mine = [s for s in signals if s.name in out.own]
    for label in FILTERS:
        if label not in wanted and any(label in s.labels and s.expr.count(anchor) == 1 for s in mine):
            out.injected.add(label)
            wanted.add(label)
    wanted |= set(extra or {})
    for name in SCOPE:
        if name not in wanted:
            continue
        source = (extra or {}).get(name) or _source(name, mine if name in out.injected else signals)
        if source is None and name not in out.injected:
            source = _source(name, pool or [])
        if source is None:
            out.injected.discard(name)  # no recorded series to list the values from: no filter either
            continue
        out.names.append(name)
        out.sources[name] = source
    return out


def _source(label: str, signals: list[Signal]) -> tuple[str, tuple[str, ...]] | None:
    """A recorded series to list the label's values from: one whose query uses the variable, else one split
    by the label."""
    for wanted in (lambda s: label in referenced(s.expr), lambda s: label in s.labels):
        for sig in signals:
            series = recorded(sig.expr)
            if series and label in sig.labels and wanted(sig):
                return series, sig.labels
    return None


# ------------------------------------------------------------------------------------------ variable JSON
def _json(template: G.Template) -> dict[str, Any]:
    data = to_json(template)
    # tag queries and auto intervals belong to variable types Stereo does not use
    for key in ("useTags", "tagsQuery", "tagValuesQuery", "auto", "auto_min", "auto_count", "allValue", "regex"):
        data.pop(key, None)
    if not data.get("current", {}).get("value"):
        data.pop("current", None)  # Grafana picks the first option (or All); `current: {}` is not in its types
    return data


def datasource() -> dict[str, Any]:
    data = _json(G.Template(name="datasource", query="prometheus", type="datasource", label="Data source",
                            default="prometheus", refresh=G.REFRESH_ON_DASHBOARD_LOAD))
    data["current"] = {"selected": True, "text": "Prometheus", "value": "prometheus"}
    return data


def query(name: str, text: str, multi: bool = False, label: str | None = None, all_value: str | None = None
          ) -> dict[str, Any]:
    data = _json(G.Template(name=name, query=text, dataSource=PROMETHEUS, label=label or name, multi=multi,
                            includeAll=multi, refresh=G.REFRESH_ON_TIME_RANGE_CHANGE, sort=G.SORT_ALPHA_ASC))
    if all_value:
        data["allValue"] = all_value
    data["definition"] = text
    data["query"] = {"query": text, "refId": QUERY_REF}
    return data


def cluster(label: str) -> dict[str, Any]:
    # `up` is a raw series, but label_values() on it is an index lookup and every cluster has it, so the
    # same clusters are offered on every dashboard and a link keeps its cluster
    data = query("cluster", f"label_values(up, {label})", label="cluster")
    data["refresh"] = G.REFRESH_ON_DASHBOARD_LOAD
    return data


def for_site(variables: list[dict[str, Any]], single_cluster: bool) -> list[dict[str, Any]]:
    """A single-cluster site hides the cluster picker: it still feeds `$cluster` to every query (and links
    carry it), there is just nothing to choose."""
    if not single_cluster:
        return variables
    return [{**v, "hide": G.HIDE_VARIABLE} if v["name"] == "cluster" else v for v in variables]


def custom(name: str, options: list[tuple[str, str]], default: int, label: str) -> dict[str, Any]:
    """A custom variable of `text : value` options (commas inside a value escaped as Grafana expects)."""
    query_text = ",".join(f"{text} : {value.replace(',', chr(92) + ',')}" for text, value in options)
    opts = [{"selected": i == default, "text": text, "value": value} for i, (text, value) in enumerate(options)]
    return _json(G.Template(name=name, query=query_text, type="custom", label=label, options=opts,
                            refresh=G.REFRESH_ON_DASHBOARD_LOAD))


def textbox(name: str, value: str, hidden: bool = True) -> dict[str, Any]:
    data = _json(G.Template(name=name, query=value, type="textbox", default=value,
                            hide=G.HIDE_VARIABLE if hidden else G.SHOW))
    data["current"] = {"selected": False, "text": value, "value": value}
    data["options"] = [{"selected": True, "text": value, "value": value}]
    return data
