"""Alertmanager receiver integrations as Alertmanager 0.25 reads them: known fields, their types, the fields
each integration cannot do without (the generated file has no `global:` section to supply them).

A mistake is reported as (dotted key, what was expected, value), the shape `generator.config` reports.
Integrations not described here (wechat, sns, telegram, webex...) are checked as lists of mappings;
`amtool check-config` on the staged output (generator.validate_tools) catches the rest.
"""

from __future__ import annotations

from typing import Any

from generator import gotemplate

STR, BOOL, INT, MAP, LIST, URL = "a string", "true or false", "a whole number", "a mapping", "a list", "a URL"
_COMMON = {"send_resolved": BOOL, "http_config": MAP}

SCHEMAS: dict[str, dict[str, str]] = {
    "webhook_configs": {**_COMMON, "url": URL, "url_file": STR, "max_alerts": INT},
    "slack_configs": {
        **_COMMON, "api_url": URL, "api_url_file": STR, "channel": STR, "username": STR, "color": STR,
        "title": STR, "title_link": STR, "pretext": STR, "text": STR, "fallback": STR, "footer": STR,
        "callback_id": STR, "icon_emoji": STR, "icon_url": STR, "image_url": STR, "thumb_url": STR,
        "link_names": BOOL, "short_fields": BOOL, "mrkdwn_in": LIST, "fields": LIST, "actions": LIST,
    },
    "email_configs": {
        "send_resolved": BOOL, "to": STR, "from": STR, "smarthost": STR, "hello": STR, "auth_username": STR,
        "auth_password": STR, "auth_password_file": STR, "auth_secret": STR, "auth_identity": STR,
        "require_tls": BOOL, "tls_config": MAP, "html": STR, "text": STR, "headers": MAP,
    },
    "pagerduty_configs": {
        **_COMMON, "routing_key": STR, "routing_key_file": STR, "service_key": STR, "service_key_file": STR,
        "url": URL, "client": STR, "client_url": STR, "description": STR, "severity": STR, "class": STR,
        "component": STR, "group": STR, "details": MAP, "images": LIST, "links": LIST,
    },
    "opsgenie_configs": {
        **_COMMON, "api_key": STR, "api_key_file": STR, "api_url": URL, "message": STR, "description": STR,
        "source": STR, "details": MAP, "entity": STR, "responders": LIST, "actions": STR, "tags": STR,
        "note": STR, "priority": STR, "update_alerts": BOOL,
    },
}
# one of these must be set in each entry (Alertmanager has no global default for them here)
REQUIRED: dict[str, tuple[str, ...]] = {
    "webhook_configs": ("url", "url_file"),
    "slack_configs": ("api_url", "api_url_file"),
    "email_configs": ("to",),
    "pagerduty_configs": ("routing_key", "routing_key_file", "service_key", "service_key_file"),
    "opsgenie_configs": ("api_key", "api_key_file"),
}
# fields Alertmanager expands as Go templates when it notifies: their syntax is checked here, since
# `amtool check-config` does not parse them and a mistake would only show when an alert is sent
TEMPLATED = {"title", "text", "pretext", "fallback", "footer", "channel", "username", "color", "title_link",
             "html", "description", "message", "source", "note", "tags", "client", "client_url", "severity",
             "class", "component", "group", "entity", "priority", "icon_url", "image_url", "thumb_url"}
OTHERS = ("pushover_configs", "victorops_configs", "wechat_configs", "telegram_configs", "sns_configs",
          "discord_configs", "webex_configs")
KINDS = (*SCHEMAS, *OTHERS)


class Invalid(Exception):
    def __init__(self, key: str, expected: str, got: Any = None, show_got: bool = True) -> None:
        super().__init__(key)
        self.key, self.expected, self.got, self.show_got = key, expected, got, show_got


def _typed(kind: str, value: Any) -> bool:
    if kind in (STR, URL):
        ok = isinstance(value, str) and value.strip() != ""
        return ok and (kind == STR or value.startswith(("http://", "https://")))
    if kind == BOOL:
        return isinstance(value, bool)
    if kind == INT:
        return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**31
    return isinstance(value, dict if kind == MAP else list)


def integrations(value: Any, key: str) -> dict[str, Any]:
    """`alertmanager.integrations.<receiver>`: {webhook_configs: [{url: ...}], ...}."""
    if not isinstance(value, dict):
        raise Invalid(key, "a mapping of integrations (webhook_configs, slack_configs, email_configs...)", value)
    for kind, entries in value.items():
        sub = f"{key}.{kind}"
        if kind not in KINDS:
            raise Invalid(sub, "an Alertmanager integration (" + ", ".join(KINDS) + ")", show_got=False)
        if not isinstance(entries, list) or not entries:
            raise Invalid(sub, "a non-empty list of integration settings", entries)
        for i, entry in enumerate(entries):
            _entry(kind, entry, f"{sub}[{i}]")
    return value


def _entry(kind: str, entry: Any, key: str) -> None:
    if not isinstance(entry, dict):
        raise Invalid(key, "a mapping of integration settings", entry)
    schema = SCHEMAS.get(kind)
    if schema is None:
        return
    for field, value in entry.items():
        if field not in schema:
            raise Invalid(f"{key}.{field}", f"a {kind} field (" + ", ".join(sorted(schema)) + ")", show_got=False)
        if not _typed(schema[field], value):
            raise Invalid(f"{key}.{field}", schema[field], value)
        if field in TEMPLATED:
            try:
                gotemplate.check_syntax(value)
            except gotemplate.TemplateError as exc:
                raise Invalid(f"{key}.{field}", f"Go-template text Alertmanager can parse ({exc})", value) from None
    needed = REQUIRED.get(kind, ())
    if needed and not any(f in entry for f in needed):
        raise Invalid(key, f"{' or '.join(needed)} (there is no global default)", show_got=False)
    if kind == "email_configs":
        for f in ("from", "smarthost"):
            if f not in entry:
                raise Invalid(key, f"`{f}` (there is no global SMTP default)", show_got=False)
        if ":" not in entry["smarthost"]:
            raise Invalid(f"{key}.smarthost", "host:port", entry["smarthost"])
