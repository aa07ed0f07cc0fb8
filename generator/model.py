"""The catalog's vocabulary: signals, recording rules, alerts with their test cases, panels.

Everything here is plain data. Catalog modules build these objects; the render wing turns them into files.
Nothing in this module knows about YAML, grafanalib or HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field

SEVERITIES = ("critical", "warning", "info")


@dataclass(frozen=True)
class Signal:
    """A named PromQL expression worth watching, the unit Grafana shows it in, and the labels it is split by.

    `kind` says which side of a correlation a signal usually sits on: "resource" (CPU, memory, disk),
    "service" (rates, errors, latency) or "state" (counts, flags).
    """

    name: str
    expr: str
    unit: str
    labels: tuple[str, ...]
    title: str
    description: str
    kind: str = "service"
    # the alert whose threshold is drawn on this signal's panel, if any
    alert: str | None = None


@dataclass(frozen=True)
class RecordingRule:
    record: str
    expr: str
    labels: dict[str, str] = field(default_factory=dict)
    group: str = ""  # evaluated in group <component>.rules.<group> (concurrently with the others) when set


@dataclass(frozen=True)
class Case:
    """One promtool case for an alert.

    `inputs` maps a series selector (`metric{l="v"}`) to either a constant (held for the whole case) or a
    promtool expanding-notation string in which `{n}` stands for the number of samples the case needs and `{t-K}`
    for the evaluation time in minutes less K.
    A firing case lists the labels the alert must carry (beyond severity and component) and, when the
    description uses `$value`, the value the expression must have at evaluation time.
    """

    inputs: dict[str, float | str]
    fires: bool
    labels: dict[str, str] = field(default_factory=dict)
    value: float | None = None
    # how much history the expression needs before `for` starts counting (ranges, offsets, a late step in the
    # inputs). The default, one sample interval, is what a rate needs (two samples); each step of lookback is one
    # more evaluation of every rule of the component in promtool, so a case names only what it needs.
    lookback: str = "1m"
    note: str = ""


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    for_: str
    severity: str
    summary: str
    description: str
    cases: tuple[Case, ...]
    threshold: float | None = None
    labels: dict[str, str] = field(default_factory=dict)
    # runbook content
    meaning: str = ""
    impact: str = ""
    diagnosis: tuple[str, ...] = ()  # PromQL to run while diagnosing
    mitigation: tuple[str, ...] = ()
    # always firing while alerting works (a dead man's switch): Alertmanager routes it to the watchdog receiver
    # and nothing silences it; doctor warns when it is not firing
    heartbeat: bool = False
    # the component, or one of its instances, is unreachable or gone: Alertmanager lets it silence the component's
    # other alerts that share its scope (cluster and the labels its firing case carries, e.g. instance)
    down: bool = False


@dataclass(frozen=True)
class Panel:
    """A panel a component wants on its dashboard: one or more signals and how to draw them."""

    title: str
    signals: tuple[str, ...]
    kind: str = "timeseries"  # timeseries | stat | gauge | table | bargauge
    description: str = ""
    legend: str = ""
    width: int = 12
    stack: bool = False


@dataclass(frozen=True)
class Component:
    """Everything one component contributes. `key` names its files: rules/<key>.yaml, alerts/<key>.yaml."""

    key: str
    title: str
    description: str
    signals: tuple[Signal, ...] = ()
    rules: tuple[RecordingRule, ...] = ()
    rule_tests: tuple[RuleTest, ...] = ()
    alerts: tuple[Alert, ...] = ()
    panels: tuple[Panel, ...] = ()
    # control-plane parts a managed cluster (ACK, TKE, EKS, GKE) does not let you scrape
    control_plane: bool = False
    # the scrape jobs (selector names) whose targets it alerts on itself: general's TargetDown leaves them to it
    jobs: tuple[str, ...] = ()
    # the scrape jobs whose API client errors (rest_client_requests_total) it alerts on itself: general's
    # KubeClientErrors leaves them to it
    client_jobs: tuple[str, ...] = ()
    # recording rules evaluated in their own group (long windows built from short ones)
    slow_rules: tuple[RecordingRule, ...] = ()
    # its recording groups write a series per pod or container: evaluated at the site's pod_interval
    per_pod: bool = False


@dataclass(frozen=True)
class RuleTest:
    """A promql_expr_test for a recording rule: inputs, the recorded series to query, and what it must equal."""

    inputs: dict[str, float | str]
    expr: str
    expected: tuple[tuple[dict[str, str], float], ...]
    eval_time: str = "10m"
    note: str = ""
