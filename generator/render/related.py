"""What moved with an alert: the partners (correlations.yaml, else the prior) of the signals an alert watches.

An alert watches a signal when the signal names it (`Signal.alert`, the threshold drawn on its panel) or, for an
alert no signal names, when every metric the signal reads (recorded series followed down to the raw metrics,
info/`up` series left out) is one the alert reads too. Its partners are the pairs touching those signals,
strongest |ρ| first (measured before prior on a tie, then by name), at most MAX_PARTNERS, never one of the
alert's own signals, never a measured pair below |ρ| 0.3 (correlations.LIST_MIN_RHO) or its critical value.
The alert then carries:

* `related`: `name (ρ +0.82, n 240), name (prior)` — what to look at next, in the notification itself;
* `related_url`: the Grafana pair view with the alert's signal as A, the strongest partner as B, and the
  alert's own cluster / namespace / pod (`{{ $labels.x | urlquery }}`, only labels every firing case of the
  alert has; Go's urlquery escapes the value, space as `+`, which Grafana and the explorer read as a space);
* `explorer_url`: the correlation explorer (`stereo serve`, at correlation_public_url, else correlation_url)
  with the alert's signal as target and the same scope.

Pure functions of (components, pairs, settings): nothing is read here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from generator import naming
from generator.config import Config
from generator.correlations import Pair
from generator.model import Alert, Component, Signal
from generator.promql_tokens import find_selectors
from generator.render.dashboards.links import PAIR_KEY

MAX_PARTNERS = 3
# the labels the pair view and the explorer are scoped by (besides the cluster label), in URL order
SCOPE_LABELS = ("namespace", "pod")
_VARIABLE = re.compile(r'\s*,?\s*[a-zA-Z_][a-zA-Z0-9_]*\s*(=~|!~|!=|=)\s*"\$\{?(\w+)(:\w+)?\}?"')


@dataclass(frozen=True)
class Partner:
    own: str  # the alert's signal
    signal: str  # the signal that moves with it
    pair: Pair

    def text(self) -> str:
        if self.pair.source == "prior" or self.pair.rho is None:
            return f"{self.signal} (prior)"
        return f"{self.signal} (ρ {self.pair.rho:+.2f}, n {self.pair.n})"


def metrics(expr: str) -> set[str]:
    """The series names an expression reads (the project's PromQL scanner: functions, keywords, label lists
    and strings left out; a selector written `{...}` only names none)."""
    return {found.metric for found in find_selectors(expr) if found.metric}


def _raw(expr: str, records: dict[str, str], seen: frozenset[str] = frozenset()) -> set[str]:
    """The raw metrics an expression reads, recorded series followed to what they are recorded from."""
    out: set[str] = set()
    for name in metrics(expr):
        if name in records and name not in seen:
            out |= _raw(records[name], records, seen | {name})
        elif name not in records:
            out.add(name)
    return out


def _core(names: set[str]) -> set[str]:
    """Leave out the series that only join labels in or say a target is up."""
    return {n for n in names if n not in ("up", "ALERTS") and not n.endswith("_info") and "_owner" not in n
            and not n.startswith("kube_pod_status_ready")}


@dataclass(frozen=True)
class Watched:
    """The signals an alert watches, and those that are its own (no partner of it: the signals naming it, else
    all it watches)."""

    signals: tuple[str, ...]
    own: tuple[str, ...]


def alert_signals(components: Sequence[Component]) -> dict[str, Watched]:
    """Alert name → the signals it watches, for the alerts that watch any."""
    records = {r.record: r.expr for c in components for r in (*c.rules, *c.slow_rules)}
    signals: dict[str, Signal] = {}
    for comp in components:
        for sig in comp.signals:
            signals.setdefault(sig.name, sig)
    named: dict[str, set[str]] = {}
    for sig in signals.values():
        if sig.alert:
            named.setdefault(sig.alert, set()).add(sig.name)
    reads = {name: _core(_raw(sig.expr, records)) for name, sig in signals.items()}
    out: dict[str, Watched] = {}
    for comp in components:
        for alert in comp.alerts:
            mine = _core(_raw(alert.expr, records))
            names = named.get(alert.name, set())
            found = names | {name for name, used in reads.items() if used and used <= mine}
            if found:
                out[alert.name] = Watched(tuple(sorted(found)), tuple(sorted(names or found)))
    return out


def partners(watched: Watched, pairs: Sequence[Pair], limit: int = MAX_PARTNERS) -> tuple[Partner, ...]:
    """The strongest partners of the watched signals, one entry per partner signal; pairs that are the same
    data by definition (`derived`) say nothing and are left out, and so are measured pairs too weak to send
    anyone to look (|ρ| below correlations.LIST_MIN_RHO or the pair's critical value: `Pair.listed`)."""
    best: dict[str, Partner] = {}
    for pair in pairs:
        if pair.derived or not pair.listed():
            continue
        for mine, other in ((pair.a, pair.b), (pair.b, pair.a)):
            if mine not in watched.signals or other in watched.own:
                continue
            current = best.get(other)
            if current is None or _rank(Partner(mine, other, pair)) < _rank(current):
                best[other] = Partner(mine, other, pair)
    return tuple(sorted(best.values(), key=_rank)[:limit])


def _rank(p: Partner) -> tuple[float, int, str, str]:
    return (-p.pair.strength(), p.pair.source != "measured", p.signal, p.own)


def scope_labels(alert: Alert, cluster: str) -> tuple[str, ...]:
    """The scope labels every firing case of the alert carries (so `{{ $labels.x }}` is never empty)."""
    firing = [c for c in alert.cases if c.fires]
    out = []
    for label in (cluster, *SCOPE_LABELS):
        given = {**({cluster: "x"} if label == cluster else {}), **alert.labels}
        if firing and all({**given, **c.labels}.get(label, "") != "" for c in firing):
            out.append(label)
    return tuple(out)


def _value(label: str) -> str:
    """A label's value inside a link: query-escaped by Prometheus (`&`, `#`, `/`, space... cannot cut the URL)."""
    return f"{{{{ $labels.{label} | urlquery }}}}"


def pair_url(config: Config, homes: dict[str, str], partner: Partner, labels: Sequence[str]) -> str:
    a, b = partner.own, partner.signal
    query = [f"var-a={a}", f"var-b={b}", f"var-a_home={naming.dashboard_uid(homes[a])}",
             f"var-b_home={naming.dashboard_uid(homes[b])}"]
    for label in labels:
        name = "cluster" if label == config.cluster_label else label
        query.append(f"var-{name}={_value(label)}")
    uid = naming.dashboard_uid(PAIR_KEY)
    return f"{config.grafana_url}/d/{uid}/{PAIR_KEY}?" + "&".join(query)


def explorer_url(config: Config, target: str, labels: Sequence[str]) -> str:
    query = [f"target={target}"]
    for label in labels:
        query.append(f"{'cluster' if label == config.cluster_label else label}={_value(label)}")
    return f"{config.explorer_base}/?" + "&".join(query)


def annotations(alert: Alert, found: Sequence[Partner], config: Config, homes: dict[str, str]) -> dict[str, str]:
    """The related / related_url / explorer_url annotations of one alert (none without partners)."""
    if not found:
        return {}
    labels = scope_labels(alert, config.cluster_label)
    return {"related": ", ".join(p.text() for p in found),
            "related_url": pair_url(config, homes, found[0], labels),
            "explorer_url": explorer_url(config, found[0].own, labels)}


def homes(components: Sequence[Component]) -> dict[str, str]:
    """Signal → the component whose dashboard it lives on (the first that declares it)."""
    out: dict[str, str] = {}
    for comp in components:
        for sig in comp.signals:
            out.setdefault(sig.name, comp.key)
    return out


def diagnosis_query(sig: Signal, cluster: str) -> str:
    """A partner's PromQL for a runbook: the dashboard's scope matchers other than the cluster dropped (the
    runbook scopes every selector to `$cluster` itself)."""
    def drop(m: re.Match[str]) -> str:
        return m.group(0) if m.group(2) == "cluster" else ""

    expr = _VARIABLE.sub(drop, " ".join(sig.expr.split()))
    return re.sub(r"\{\s*,\s*", "{", expr).replace("{}", "")


def by_alert(components: Sequence[Component], pairs: Sequence[Pair]) -> dict[str, tuple[Partner, ...]]:
    """Alert name → its partners, for the alerts that have any (partners this site has signals for)."""
    on_site = homes(components)
    present = [p for p in pairs if p.a in on_site and p.b in on_site]
    out = {}
    for alert, watched in alert_signals(components).items():
        found = partners(watched, present)
        if found:
            out[alert] = found
    return out
