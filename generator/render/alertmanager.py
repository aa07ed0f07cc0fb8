"""alertmanager/alertmanager.yml: a routing tree and inhibition rules derived from the catalog's alert labels.

Routes go by `severity` to the receivers named in the site settings; inhibitions silence the lesser copy of
an alert (critical over warning over info) and everything a component says while its own *Down alert fires.
Only current syntax is used (`matchers`, `source_matchers`, `target_matchers`; Alertmanager ≥ 0.22).
"""

from __future__ import annotations

from typing import Any

from generator.config import Config
from generator.model import SEVERITIES, Alert, Component
from generator.naming import GENERATED_HEADER
from generator.render import alertmanager_schedule
from generator.yamlio import dump

PATH = "alertmanager/alertmanager.yml"
WATCHDOG_RECEIVER = "watchdog"
INFO_INHIBITOR = "InfoInhibitor"
INHIBITOR_RECEIVER = "info-inhibitor"
CONTAINER = ("namespace", "pod", "container")
# one event, several alerts: (sources, targets, labels besides the cluster that must be equal). The source says
# the most; the targets are silenced while it fires. A container OOM kill is also a restart, a cAdvisor OOM event
# and a kernel oom_kill on its node; a crash loop is also frequent restarts. The node-level OOM alert carries no
# pod, so any container OOM alert of the cluster silences it (a node short of memory also fires
# NodeMemoryHighUtilization, which nothing silences).
SAME_EVENT: tuple[tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]], ...] = (
    (("KubeContainerOOMKilled",), ("ContainerOOMEvents", "KubeContainerRestartsFrequent"), CONTAINER),
    (("KubePodCrashLooping",), ("KubeContainerRestartsFrequent",), CONTAINER),
    (("KubeContainerOOMKilled", "ContainerOOMEvents"), ("NodeOOMKillDetected",), ()),
)
# labels a Down alert's firing case may carry that say nothing about *where* the outage is
_NOT_SCOPE = {"severity", "component", "alertname"}

_NOTE = """\
# Receivers are placeholders without integrations: Alertmanager accepts them and drops what reaches them.
# Give each one an integration through the site settings (alertmanager.integrations), e.g.
#   integrations:
#     pager:
#       webhook_configs:
#         - url: https://pager.example.com/hook
#           send_resolved: true
#           http_config:
#             authorization:
#               credentials_file: /etc/alertmanager/secrets/pager-token   # keep secrets out of git
# Check with: amtool check-config alertmanager/alertmanager.yml
"""


def _q(value: str) -> str:
    """A matcher value in double quotes (Alertmanager's matcher syntax)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _match(label: str, values: list[str], negate: bool = False) -> str:
    """`label="v"` for one value, `label=~"a|b"` for several (Alertmanager anchors its regexes; alert names
    and severities hold no regex operators, so `|` is the only one needed)."""
    unique = sorted(set(values))
    if len(unique) == 1:
        return f"{label}{'!=' if negate else '='}{_q(unique[0])}"
    return f"{label}{'!~' if negate else '=~'}{_q('|'.join(unique))}"


def is_down(alert: Alert) -> bool:
    return alert.name.endswith("Down")


def _scope(alert: Alert, cluster: str) -> tuple[str, ...]:
    """Labels a Down alert must share with the alerts it silences: the cluster, and whatever the Down alert
    is split by (an instance, a node), so one dead node does not silence its healthy peers."""
    firing = [set(c.labels) for c in alert.cases if c.fires]
    common = set.intersection(*firing) if firing else set()
    return (cluster, *sorted(common - _NOT_SCOPE - {cluster}))


def _severity_routes(config: Config) -> list[dict[str, Any]]:
    am = config.alertmanager
    return [
        {
            "receiver": am["receivers"][sev],
            "matchers": [f"severity={_q(sev)}"],
            "repeat_interval": am["repeat_interval"][sev],
        }
        for sev in SEVERITIES
    ]


def _watchdog_route(alerts: list[Alert]) -> dict[str, Any]:
    # a heartbeat must be sent at once and often; the receiving service pages when it stops
    return {
        "receiver": WATCHDOG_RECEIVER,
        "matchers": [_match("alertname", [a.name for a in alerts])],
        "group_wait": "0s",
        "group_interval": "1m",
        "repeat_interval": "5m",
    }


def _inhibitor_route() -> dict[str, Any]:
    return {"receiver": INHIBITOR_RECEIVER, "matchers": [f"alertname={_q(INFO_INHIBITOR)}"]}


def _info_inhibition(cluster: str, watchdogs: list[str]) -> dict[str, Any]:
    """Info alerts of a namespace reach a receiver only beside a warning or critical alert there (see the
    InfoInhibitor alert, which fires where none does)."""
    return {
        "source_matchers": [f"alertname={_q(INFO_INHIBITOR)}"],
        "target_matchers": ['severity="info"', _match("alertname", [INFO_INHIBITOR, *watchdogs], negate=True)],
        "equal": [cluster, "namespace"],
    }


def _same_event_inhibitions(names: set[str], cluster: str) -> list[dict[str, Any]]:
    rules = []
    for sources, targets, equal in SAME_EVENT:
        src = [a for a in sources if a in names]
        dst = [a for a in targets if a in names]
        if src and dst:
            rules.append({"source_matchers": [_match("alertname", src)], "target_matchers": [_match("alertname", dst)],
                          "equal": [cluster, *equal]})
    return rules


def _severity_inhibitions(cluster: str) -> list[dict[str, Any]]:
    """The same alert at a higher severity silences its lower-severity copies (SEVERITIES runs high to low)."""
    return [
        {
            "source_matchers": [f"severity={_q(source)}"],
            "target_matchers": [_match("severity", list(SEVERITIES[i + 1:]))],
            "equal": [cluster, "namespace", "alertname"],
        }
        for i, source in enumerate(SEVERITIES[:-1])
    ]


def _down_inhibitions(components: list[Component], cluster: str) -> list[dict[str, Any]]:
    rules = []
    for comp in components:
        by_scope: dict[tuple[str, ...], list[str]] = {}
        for alert in comp.alerts:
            if is_down(alert) and not alert.heartbeat:
                by_scope.setdefault(_scope(alert, cluster), []).append(alert.name)
        # nor the heartbeat: a silenced Watchdog pages the dead man's switch
        downs = [a.name for a in comp.alerts if is_down(a) or a.heartbeat or a.name == INFO_INHIBITOR]
        for scope, names in sorted(by_scope.items()):
            rules.append({
                "source_matchers": [_match("alertname", names), f"component={_q(comp.key)}"],
                # a Down alert does not silence the component's other Down alerts here: only a component-wide one
                # silences the per-instance ones (below)
                "target_matchers": [f"component={_q(comp.key)}", _match("alertname", downs, negate=True)],
                "equal": list(scope),
            })
        # the component is down as a whole: its per-instance Down alerts say the same, instance by instance
        whole = sorted(n for scope, names in by_scope.items() if scope == (cluster,) for n in names)
        parts = sorted(n for scope, names in by_scope.items() if "instance" in scope for n in names)
        if whole and parts:
            rules.append({
                "source_matchers": [_match("alertname", whole), f"component={_q(comp.key)}"],
                "target_matchers": [f"component={_q(comp.key)}", _match("alertname", parts)],
                "equal": [cluster],
            })
    return rules


def _receivers(config: Config, watchdog: bool, inhibitor: bool = False) -> list[dict[str, Any]]:
    am = config.alertmanager
    names = set(am["receivers"].values()) | ({WATCHDOG_RECEIVER} if watchdog else set())
    names |= {INHIBITOR_RECEIVER} if inhibitor else set()
    integrations: dict[str, dict[str, Any]] = am.get("integrations") or {}
    out = []
    for name in sorted(names):
        receiver: dict[str, Any] = {"name": name}
        receiver.update(sorted((integrations.get(name) or {}).items()))
        out.append(receiver)
    return out


def config_document(components: list[Component], config: Config) -> dict[str, Any]:
    am = config.alertmanager
    cluster = config.cluster_label
    group = [cluster, "namespace", "alertname"]
    alerts = [a for c in components for a in c.alerts]
    watchdogs = [a for a in alerts if a.heartbeat]
    names = {a.name for a in alerts}
    inhibitor = INFO_INHIBITOR in names
    routes = ([_watchdog_route(watchdogs)] if watchdogs else []) + ([_inhibitor_route()] if inhibitor else [])
    routes += _severity_routes(config)
    doc = {
        "route": {
            # an alert without a known severity still reaches someone: the warning receiver
            "receiver": am["receivers"]["warning"],
            "group_by": group,
            "group_wait": am["group_wait"],
            "group_interval": am["group_interval"],
            "repeat_interval": am["repeat_interval"]["warning"],
            "routes": routes,
        },
        "inhibit_rules": (_severity_inhibitions(cluster) + _down_inhibitions(components, cluster)
                          + _same_event_inhibitions(names, cluster)
                          + ([_info_inhibition(cluster, [a.name for a in watchdogs])] if inhibitor else [])),
        "receivers": _receivers(config, bool(watchdogs), inhibitor),
    }
    # the seeds' alert model (escalation, active hours, levels, subscriptions): opt-in, see that module
    return alertmanager_schedule.apply(doc, am, config.raw.get("alertmanager") or {})


def alertmanager(components: list[Component], config: Config) -> dict[str, str]:
    body = dump(config_document(components, config), header=False)
    return {PATH: GENERATED_HEADER + _NOTE + body}
