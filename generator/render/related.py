"""What moved with an alert: the partners (correlations.yaml, else the prior) of the signals an alert watches.

An alert watches a signal when the signal names it (`Signal.alert`, the threshold drawn on its panel) or when
its expression reads the signal's series: every raw selector the signal reads (recorded series followed down
to the rules' raw selectors, with their matchers: `reads`) is one the alert reads, the same metric with at
least the same matchers — `rest_client_requests_total{job="kube-scheduler"}` is not the controller manager's,
`kube_node_status_condition{condition="Ready"}` is not a pressure condition. Its partners are the pairs
touching those signals, strongest |ρ| first (measured before prior on a tie, then by name), at most
MAX_PARTNERS, never one of the alert's own signals, never a measured pair below |ρ| 0.3
(correlations.LIST_MIN_RHO) or its critical value.
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

from generator import naming, promql
from generator.config import Config
from generator.correlations import Pair
from generator.model import Alert, Component, RecordingRule, Signal
from generator.promql_tokens import find_selectors
from generator.render.dashboards.links import PAIR_KEY

MAX_PARTNERS = 3
# the labels the pair view and the explorer are scoped by (besides the cluster label), in URL order
SCOPE_LABELS = ("namespace", "pod")
_VARIABLE = re.compile(r"\$\{?(\w+)(?::\w+)?\}?")  # a dashboard variable as a whole matcher value


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


Selector = tuple[str, frozenset[tuple[str, str, str]]]  # a raw metric and the matchers it is read with
Rules = dict[str, list[RecordingRule]]


def reads(expr: str, rules: Rules, cluster: str, push: frozenset[tuple[str, str, str]] = frozenset(),
          seen: frozenset[str] = frozenset()) -> set[Selector]:
    """The raw series an expression reads, as (metric, matchers), recorded series followed down to the raw
    selectors of the rules producing them (promql_tokens' scanner). Matchers on a recorded series choose among
    the rules of that name (those on a rule's own labels, e.g. `slo="read"`) or are carried down to the raw
    selectors (e.g. `code="429"` on a rate by code). Dashboard variables (`"$namespace"`) and the cluster label
    are left out: they scope a query, they do not say what it reads. Series that only join labels in or filter
    (`*_info`, `*_owner`, `up`, `ALERTS`, pod readiness and phase) are left out too."""
    out: set[Selector] = set()
    for found in find_selectors(expr):
        if not found.metric or found.metric in seen:
            continue
        given = promql.parse_selector(found.matchers) if found.matchers and found.matchers.strip() else []
        want = push | {m for m in given if "$" not in m[2] and m[0] != cluster}
        if found.metric not in rules:
            if _core(found.metric):
                out.add((found.metric, frozenset(want)))
            continue
        static = {label for rule in rules[found.metric] for label in rule.labels}
        down = frozenset(m for m in want if m[0] not in static)
        for rule in rules[found.metric]:
            if all(promql.matches(op, rule.labels[label], value) for label, op, value in want if label in rule.labels):
                out |= reads(rule.expr, rules, cluster, down, seen | {found.metric})
    return out


def _core(name: str) -> bool:
    """Not a series that only joins labels in, filters pods or says a target is up."""
    return (name not in ("up", "ALERTS") and not name.endswith("_info") and "_owner" not in name
            and not name.startswith(("kube_pod_status_ready", "kube_pod_status_phase")))


def _covers(alert: dict[str, list[frozenset[tuple[str, str, str]]]], signal: set[Selector]) -> bool:
    """Every series the signal reads is read by the alert (its selectors by metric): same metric, the alert's
    matchers at least the signal's (it may read a part of the signal, `error_type!="no_error"`, never other
    series)."""
    return bool(signal) and all(any(matchers <= mm for mm in alert.get(metric, ())) for metric, matchers in signal)


@dataclass(frozen=True)
class Watched:
    """The signals an alert watches, and those that are its own (no partner of it: the signals naming it, else
    all it watches)."""

    signals: tuple[str, ...]
    own: tuple[str, ...]


def alert_signals(components: Sequence[Component], cluster: str = "cluster") -> dict[str, Watched]:
    """Alert name → the signals it watches (those naming it and those whose series its expression reads), for
    the alerts that watch any."""
    rules: Rules = {}
    for comp in components:
        for rule in (*comp.rules, *comp.slow_rules):
            rules.setdefault(rule.record, []).append(rule)
    signals: dict[str, Signal] = {}
    for comp in components:
        for sig in comp.signals:
            signals.setdefault(sig.name, sig)
    named: dict[str, set[str]] = {}
    for sig in signals.values():
        if sig.alert:
            named.setdefault(sig.alert, set()).add(sig.name)
    read = {name: reads(sig.expr, rules, cluster) for name, sig in signals.items()}
    reading: dict[str, set[str]] = {}  # metric → the signals reading it (an alert covers none of the others)
    for name, used in read.items():
        for metric, _ in used:
            reading.setdefault(metric, set()).add(name)
    out: dict[str, Watched] = {}
    for comp in components:
        for alert in comp.alerts:
            mine: dict[str, list[frozenset[tuple[str, str, str]]]] = {}
            for metric, matchers in reads(alert.expr, rules, cluster):
                mine.setdefault(metric, []).append(matchers)
            names = named.get(alert.name, set())
            candidates = set().union(*(reading.get(metric, ()) for metric in mine))
            found = names | {name for name in candidates if _covers(mine, read[name])}
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
    """A partner's PromQL for a runbook (white space collapsed): the dashboard's scope matchers other than the
    cluster (`namespace="$namespace"`, `pod=~"${pod:pipe}"`) dropped from every selector (promql_tokens'
    scanner), a selector left with none losing its braces; the runbook scopes every selector to `$cluster`."""
    expr = " ".join(sig.expr.split())
    out: list[str] = []
    at = 0
    for found in find_selectors(expr):
        if found.matchers is None:
            continue
        brace = expr.index("{", found.start)
        pieces = _matchers(expr[brace + 1:found.end - 1])
        kept = [p for p in pieces if not _scope_variable(p)]
        if kept and _scope_variable(pieces[0]):
            kept[0] = kept[0].lstrip()
        out += [expr[at:brace], "{" + ",".join(kept) + "}" if kept else ""]
        at = found.end
    return "".join(out) + expr[at:]


def _matchers(body: str) -> list[str]:
    """The matchers of a selector's body as written, split at the commas outside strings."""
    pieces, start, i = [], 0, 0
    while i < len(body):
        if body[i] in "\"'`":
            quote, i = body[i], i + 1
            while i < len(body) and body[i] != quote:
                i += 2 if body[i] == "\\" and quote != "`" else 1
        elif body[i] == ",":
            pieces.append(body[start:i])
            start = i + 1
        i += 1
    pieces.append(body[start:])
    return [p for p in pieces if p.strip()]


def _scope_variable(matcher: str) -> bool:
    """A matcher on a dashboard variable other than the cluster's (`namespace="$namespace"`, `pod=~"${pod}"`)."""
    [(_, _, value)] = promql.parse_selector(matcher)
    variable = _VARIABLE.fullmatch(value)
    return variable is not None and variable.group(1) != "cluster"


def by_alert(components: Sequence[Component], pairs: Sequence[Pair], cluster: str = "cluster"
             ) -> dict[str, tuple[Partner, ...]]:
    """Alert name → its partners, for the alerts that have any (partners this site has signals for)."""
    on_site = homes(components)
    present = [p for p in pairs if p.a in on_site and p.b in on_site]
    out = {}
    for alert, watched in alert_signals(components, cluster).items():
        found = partners(watched, present)
        if found:
            out[alert] = found
    return out
