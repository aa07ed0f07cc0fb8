"""The seeds' alert model (SOFAStack RMS) in Alertmanager 0.25 terms: an escalating repeat schedule, active and
muted hours, P0–P4 levels and subscriptions by level. docs/alert-model.md maps each part and says what is lost.

Everything here is opt-in: without `alertmanager.escalation`, `active_hours`, `mute_hours`, `levels` or
`subscriptions` in stereo.yaml, `apply()` returns the document unchanged (the generated file stays byte-identical).

- Escalation: RMS re-notifies a firing rule every 1 min for 3 min, every 2 min for 4 min, 5 min for 25, 10 min for
  50, 30 min for 150, then hourly. Alertmanager has one `repeat_interval` per route and no notion of "time since
  the alert started", so the schedule cannot be expressed; `escalation: seeds` gives each severity the one step of
  the schedule that fits it (critical the early 5 min step, warning the 30 min step, info the hourly tail).
- Active/mute hours: `time_intervals` plus `active_time_intervals` / `mute_time_intervals` on severity routes.
- Levels: an alert may carry a `level` label (patch.<alert>.labels.level); an alert without one counts as every
  level its severity is mapped to. Subscriptions become child routes with `continue: true`.
"""

from __future__ import annotations

import math
from typing import Any

from generator.alertmanager_settings import (  # noqa: F401  (re-exported for the renderer's callers)
    DEFAULT_LEVELS,
    LEVEL_LABEL,
    LEVELS,
    SEVERITIES,
    active_hours,
    check,
    check_config,
    escalation,
    extra_receivers,
    levels,
    mute_hours,
    subscriptions,
)

# the seeds' throttling schedule (SOFAStack RMS manual, L15593-15595): (every N minutes, for M minutes), then hourly
SEEDS_SCHEDULE: tuple[tuple[int, int], ...] = ((1, 3), (2, 4), (5, 25), (10, 50), (30, 150))
SEEDS_TAIL = 60
# severity -> (group_interval, repeat_interval): the step of the schedule each severity follows
ESCALATION: dict[str, tuple[str, str]] = {"critical": ("1m", "5m"), "warning": ("5m", "30m"), "info": ("5m", "1h")}


# ------------------------------------------------------------------------------------------- the schedule as data
def seeds_notifications(horizon_min: int) -> list[int]:
    """Minutes (since the rule started firing) at which RMS notifies, for a rule firing for `horizon_min`."""
    times, start = [], 0
    for every, lasting in SEEDS_SCHEDULE:
        times += [t for t in range(start, start + lasting, every) if t < horizon_min]
        start += lasting
    return times + list(range(start, horizon_min, SEEDS_TAIL))


def approximation_count(repeat: str, horizon_min: int) -> int:
    """Notifications Alertmanager sends for one group firing `horizon_min` minutes with `repeat` (first at 0)."""
    minutes = {"m": 1, "h": 60}[repeat[-1]] * int(repeat[:-1])
    return math.ceil(horizon_min / minutes)


# ------------------------------------------------------------------------------------------------- rendering
def _q(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _re(values: list[str]) -> str:
    unique = sorted(set(values))
    return _q(unique[0]) if len(unique) == 1 else _q("|".join(unique))


def _op(values: list[str]) -> str:
    return "=" if len(set(values)) == 1 else "=~"


def _interval_name(kind: str, severity: str) -> str:
    return f"stereo-{severity}-{kind}"


def _time_interval(kind: str, severity: str, window: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = {}
    if window.get("weekdays"):
        spec["weekdays"] = list(window["weekdays"])
    if window.get("times"):
        spec["times"] = [{"start_time": t[:5], "end_time": t[6:]} for t in window["times"]]
    if window.get("location"):
        spec["location"] = window["location"]
    return {"name": _interval_name(kind, severity), "time_intervals": [spec]}


def _repeat(am: dict[str, Any], given: dict[str, Any], severity: str) -> str:
    """The severity's repeat_interval: an explicit setting wins over the escalation step."""
    if am.get("escalation") == "seeds" and severity not in (given.get("repeat_interval") or {}):
        return ESCALATION[severity][1]
    return str(am["repeat_interval"][severity])


def _subscription_routes(am: dict[str, Any], given: dict[str, Any]) -> list[dict[str, Any]]:
    mapping = am.get("levels") or DEFAULT_LEVELS
    routes = []
    for sub in am.get("subscriptions") or []:
        lv = list(sub["levels"])
        sevs = [mapping[level] for level in lv]
        repeat = _repeat(am, given, next(s for s in SEVERITIES if s in sevs))
        common = {"receiver": sub["receiver"], "continue": True, "repeat_interval": repeat}
        # an alert that carries a level label, then one without: it counts as every level of its severity
        routes.append({"receiver": sub["receiver"], "matchers": [f"{LEVEL_LABEL}{_op(lv)}{_re(lv)}"],
                       **{k: v for k, v in common.items() if k != "receiver"}})
        routes.append({"receiver": sub["receiver"],
                       "matchers": [f'{LEVEL_LABEL}=""', f"severity{_op(sevs)}{_re(sevs)}"],
                       **{k: v for k, v in common.items() if k != "receiver"}})
    return routes


def apply(doc: dict[str, Any], am: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """The generated alertmanager.yml document with the seeds' model settings applied (`given`: the file's
    `alertmanager:` mapping as written, to tell an explicit repeat_interval from a default)."""
    route = doc["route"]
    if am.get("escalation") == "seeds":
        route["repeat_interval"] = _repeat(am, given, "warning")
    intervals = []
    for child in route["routes"]:
        severity = next((s for s in SEVERITIES if child.get("matchers") == [f"severity={_q(s)}"]), None)
        if severity is None:
            continue
        if am.get("escalation") == "seeds":
            child["group_interval"] = given.get("group_interval") or ESCALATION[severity][0]
            child["repeat_interval"] = _repeat(am, given, severity)
        for kind, field in (("active", "active_time_intervals"), ("mute", "mute_time_intervals")):
            window = (am.get(f"{kind}_hours") or {}).get(severity)
            if window:
                intervals.append(_time_interval(kind, severity, window))
                child[field] = [_interval_name(kind, severity)]
    # after the routes of named alerts (the heartbeat, the info inhibitor), which must reach no subscriber
    named = [r for r in route["routes"] if any(m.startswith("alertname") for m in r.get("matchers", []))]
    rest = [r for r in route["routes"] if r not in named]
    route["routes"] = named + _subscription_routes(am, given) + rest
    known = {r["name"] for r in doc["receivers"]}
    added = [{"name": n, **dict(sorted(((am.get("integrations") or {}).get(n) or {}).items()))}
             for n in extra_receivers(am)
             if n not in known]
    if added:
        doc["receivers"] = sorted(doc["receivers"] + added, key=lambda r: r["name"])
    if intervals:
        doc["time_intervals"] = sorted(intervals, key=lambda t: t["name"])
    return doc
