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
import re
import zoneinfo
from typing import Any

from generator.validate import Invalid

# the seeds' throttling schedule (SOFAStack RMS manual, L15593-15595): (every N minutes, for M minutes), then hourly
SEEDS_SCHEDULE: tuple[tuple[int, int], ...] = ((1, 3), (2, 4), (5, 25), (10, 50), (30, 150))
SEEDS_TAIL = 60
# severity -> (group_interval, repeat_interval): the step of the schedule each severity follows
ESCALATION: dict[str, tuple[str, str]] = {"critical": ("1m", "5m"), "warning": ("5m", "30m"), "info": ("5m", "1h")}
LEVELS = ("P0", "P1", "P2", "P3", "P4")
DEFAULT_LEVELS = {"P0": "critical", "P1": "critical", "P2": "warning", "P3": "info", "P4": "info"}
LEVEL_LABEL = "level"
SEVERITIES = ("critical", "warning", "info")
_WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
_TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")
_RECEIVER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


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


# ------------------------------------------------------------------------------------------------ validators
def escalation(value: Any, key: str) -> str:
    if value not in ("seeds", "off"):
        raise Invalid(key, "one of seeds, off", value)
    return str(value)


def _weekday(value: Any, key: str) -> str:
    parts = value.split(":") if isinstance(value, str) else []
    if not 1 <= len(parts) <= 2 or any(p not in _WEEKDAYS for p in parts):
        raise Invalid(key, "a weekday or a range such as monday:friday (lower case)", value)
    if len(parts) == 2 and _WEEKDAYS.index(parts[0]) > _WEEKDAYS.index(parts[1]):
        raise Invalid(key, "a range from an earlier to a later weekday (sunday first)", value)
    return value


def _times(value: Any, key: str) -> str:
    match = _TIME.match(value) if isinstance(value, str) else None
    if not match or value[:5] >= value[6:]:
        raise Invalid(key, "a time range HH:MM-HH:MM (24h clock, start before end, end at most 24:00)", value)
    return value


def _location(value: Any, key: str) -> str:
    try:
        if not isinstance(value, str) or value.startswith("/") or ".." in value:
            raise ValueError(value)
        zoneinfo.ZoneInfo(value)
    except (ValueError, zoneinfo.ZoneInfoNotFoundError):
        raise Invalid(key, "an IANA time zone such as Asia/Shanghai or UTC", value) from None
    return value


def active_hours(value: Any, key: str) -> dict[str, Any]:
    """`{critical: {weekdays: [...], times: [...], location: ...}, ...}` for active_hours / mute_hours."""
    from generator.config import list_of, map_of, record

    window = record({"weekdays": list_of(_weekday), "times": list_of(_times), "location": _location})
    checked: dict[str, Any] = map_of(window, keys=SEVERITIES)(value, key)
    for sev, win in checked.items():
        if not win.get("weekdays") and not win.get("times"):
            raise Invalid(f"{key}.{sev}", "weekdays or times (a window with neither is always on)", show_got=False)
    return checked


def mute_hours(value: Any, key: str) -> dict[str, Any]:
    return active_hours(value, key)


def levels(value: Any, key: str) -> dict[str, str]:
    from generator.config import map_of, one_of

    return map_of(one_of(*SEVERITIES), keys=LEVELS)(value, key)


def _receiver(value: Any, key: str) -> str:
    if not isinstance(value, str) or not _RECEIVER.match(value):
        raise Invalid(key, "a receiver name (letters, digits, _ . -; at most 100)", value)
    return value


def subscriptions(value: Any, key: str) -> list[dict[str, Any]]:
    from generator.config import list_of, one_of, record

    entry = record({"receiver": _receiver, "levels": list_of(one_of(*LEVELS))})
    checked: list[dict[str, Any]] = list_of(entry)(value, key)
    for i, sub in enumerate(checked):
        if "receiver" not in sub or not sub.get("levels"):
            raise Invalid(f"{key}[{i}]", "a receiver and a non-empty list of levels (P0..P4)", show_got=False)
    return checked


def check(am: dict[str, Any], given: dict[str, Any], patch: dict[str, Any]) -> None:
    """Settings that refer to each other; raises Invalid(key, ...) for the loader to place."""
    mapping = am.get("levels") or DEFAULT_LEVELS
    for i, sub in enumerate(am.get("subscriptions") or []):
        for j, level in enumerate(sub["levels"]):
            if level not in mapping:
                raise Invalid(f"alertmanager.subscriptions[{i}].levels[{j}]",
                              "a level named in alertmanager.levels (" + ", ".join(sorted(mapping)) + ")", level)
        if sub["receiver"] == "watchdog":
            raise Invalid(f"alertmanager.subscriptions[{i}].receiver", "a receiver other than watchdog (the "
                          "heartbeat's own)", sub["receiver"])
    if "levels" in given or "subscriptions" in given:
        for alert, fields in sorted(patch.items()):
            level = (fields.get("labels") or {}).get(LEVEL_LABEL)
            if level is not None and level not in mapping:
                raise Invalid(f"patch.{alert}.labels.{LEVEL_LABEL}",
                              "a level named in alertmanager.levels (" + ", ".join(sorted(mapping)) + ")", level)


def check_config(config: Any, _key: str = "") -> None:
    """check() on a loaded Config, as the loader reports: one line, file:line, key, what was expected."""
    from generator.config import ConfigError, _shown, line_of

    try:
        check(config.alertmanager, config.raw.get("alertmanager") or {}, config.patch)
    except Invalid as bad:
        line = line_of(bad.key, config.lines)
        where = f"{config.source}:{line}" if line else config.source
        got = f", got {_shown(bad.got)}" if bad.show_got else ""
        raise ConfigError(f"{where}: {bad.key}: expected {bad.expected}{got}") from None


def extra_receivers(am: dict[str, Any]) -> list[str]:
    return sorted({sub["receiver"] for sub in am.get("subscriptions") or []})


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
    route["routes"] = _subscription_routes(am, given) + route["routes"]
    known = {r["name"] for r in doc["receivers"]}
    added = [{"name": n, **dict(sorted(((am.get("integrations") or {}).get(n) or {}).items()))}
             for n in extra_receivers(am)
             if n not in known]
    if added:
        doc["receivers"] = sorted(doc["receivers"] + added, key=lambda r: r["name"])
    if intervals:
        doc["time_intervals"] = sorted(intervals, key=lambda t: t["name"])
    return doc
