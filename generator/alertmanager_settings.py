"""The settings of the seeds' alert model (`alertmanager.escalation`, `active_hours`, `mute_hours`, `levels`,
`subscriptions`): their checks and the cross-checks between them. Rendering them is
generator.render.alertmanager_schedule's; docs/alert-model.md maps each part."""

from __future__ import annotations

import re
import zoneinfo
from typing import Any

from generator.safeload import line_of
from generator.settings_checks import ConfigError, Invalid, _shown, list_of, map_of, one_of, record

LEVELS = ("P0", "P1", "P2", "P3", "P4")
DEFAULT_LEVELS = {"P0": "critical", "P1": "critical", "P2": "warning", "P3": "info", "P4": "info"}
LEVEL_LABEL = "level"
SEVERITIES = ("critical", "warning", "info")
_WEEKDAYS = ("sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday")
_TIME = re.compile(r"^([01][0-9]|2[0-3]):([0-5][0-9])-(([01][0-9]|2[0-3]):[0-5][0-9]|24:00)$")
_RECEIVER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")


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
    window = record({"weekdays": list_of(_weekday), "times": list_of(_times), "location": _location})
    checked: dict[str, Any] = map_of(window, keys=SEVERITIES)(value, key)
    for sev, win in checked.items():
        if not win.get("weekdays") and not win.get("times"):
            raise Invalid(f"{key}.{sev}", "weekdays or times (a window with neither is always on)", show_got=False)
    return checked


def mute_hours(value: Any, key: str) -> dict[str, Any]:
    return active_hours(value, key)


def levels(value: Any, key: str) -> dict[str, str]:
    return map_of(one_of(*SEVERITIES), keys=LEVELS)(value, key)


def _receiver(value: Any, key: str) -> str:
    if not isinstance(value, str) or not _RECEIVER.match(value):
        raise Invalid(key, "a receiver name (letters, digits, _ . -; at most 100)", value)
    return value


def subscriptions(value: Any, key: str) -> list[dict[str, Any]]:
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
    try:
        check(config.alertmanager, config.raw.get("alertmanager") or {}, config.patch)
    except Invalid as bad:
        line = line_of(bad.key, config.lines)
        where = f"{config.source}:{line}" if line else config.source
        got = f", got {_shown(bad.got)}" if bad.show_got else ""
        raise ConfigError(f"{where}: {bad.key}: expected {bad.expected}{got}") from None


def extra_receivers(am: dict[str, Any]) -> list[str]:
    return sorted({sub["receiver"] for sub in am.get("subscriptions") or []})
