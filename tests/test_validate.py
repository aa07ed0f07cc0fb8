"""The checks that stand in for Alertmanager's and Prometheus' own: integration fields, Go-template syntax."""

from __future__ import annotations

import re
from typing import Any

import pytest

from generator import gotemplate, validate

GOOD: list[dict[str, Any]] = [
    {"webhook_configs": [{"url": "https://h.example.com/", "send_resolved": False, "max_alerts": 10,
                          "http_config": {"authorization": {"credentials_file": "/s/t"}}}]},
    {"slack_configs": [{"api_url_file": "/s/slack", "channel": "#a", "link_names": True, "fields": []}]},
    {"email_configs": [{"to": "a@example.com", "from": "b@example.com", "smarthost": "mail:25",
                        "headers": {"Subject": "x"}}]},
    {"pagerduty_configs": [{"routing_key_file": "/s/pd", "details": {"a": "b"}}]},
    {"opsgenie_configs": [{"api_key": "k", "priority": "P1"}]},
    {"telegram_configs": [{"bot_token": "t", "chat_id": 1}]},  # not described: amtool checks it
]


@pytest.mark.parametrize("value", GOOD)
def test_integrations_accepted(value: dict[str, Any]) -> None:
    assert validate.integrations(value, "i") is value


@pytest.mark.parametrize(("value", "key", "expected"), [
    ([], "i", "a mapping of integrations"),
    ({"hooks": []}, "i.hooks", "an Alertmanager integration"),
    ({"webhook_configs": {}}, "i.webhook_configs", "a non-empty list"),
    ({"webhook_configs": [[]]}, "i.webhook_configs[0]", "a mapping of integration settings"),
    ({"webhook_configs": [{"url": "ftp://x"}]}, "i.webhook_configs[0].url", "a URL"),
    ({"webhook_configs": [{"url": "https://x", "max_alerts": True}]}, "i.webhook_configs[0].max_alerts",
     "a whole number"),
    ({"webhook_configs": [{"url": "https://x", "max_alerts": 2**40}]}, "i.webhook_configs[0].max_alerts",
     "a whole number"),
    ({"webhook_configs": [{"send_resolved": 1, "url": "https://x"}]}, "i.webhook_configs[0].send_resolved",
     "true or false"),
    ({"slack_configs": [{"api_url": "https://x", "title": ""}]}, "i.slack_configs[0].title", "a string"),
    ({"email_configs": [{"to": "a", "from": "b", "smarthost": "m"}]}, "i.email_configs[0].smarthost", "host:port"),
    ({"pagerduty_configs": [{"images": {}}]}, "i.pagerduty_configs[0].images", "a list"),
    ({"opsgenie_configs": [{}]}, "i.opsgenie_configs[0]", "api_key or api_key_file"),
])
def test_integrations_refused(value: Any, key: str, expected: str) -> None:
    with pytest.raises(validate.Invalid) as info:
        validate.integrations(value, "i")
    assert info.value.key == key
    assert expected in info.value.expected


@pytest.mark.parametrize("text", ["plain", "a }} b", "https://x/{{ $labels.cluster }}/y", "{{$labels.a_b}}"])
def test_templates_accepted_in_urls(text: str) -> None:
    gotemplate.check(text)


@pytest.mark.parametrize(("text", "message"), [
    ("a {{ b", "an unclosed {{"), ("{{ $value }}", "unsupported template action"),
    ("{{ .Labels.x }}", "unsupported template action"), ("{{ $labels.x | title }}", "unsupported"),
    ('{{ template "a" }}', "unsupported"), ("{{ $labels.a-b }}", "unsupported"), ("{{{{", "unclosed"),
])
def test_templates_refused_in_urls(text: str, message: str) -> None:
    with pytest.raises(gotemplate.TemplateError, match=message):
        gotemplate.check(text)


def test_templates_with_value_where_a_value_exists() -> None:
    gotemplate.check("{{ $value | humanizePercentage }} on {{ $labels.node }}", value=True)
    with pytest.raises(gotemplate.TemplateError):
        gotemplate.check("{{ $value | title }}", value=True)


@pytest.mark.parametrize("text", [
    "plain }} text", '{{ template "slack.default.title" . }}', "{{ range .Alerts }}{{ .Labels.x }}{{ end }}",
    '{{- if eq .Status "firing" -}}F{{- else -}}R{{- end -}}', '{{ printf "%s}}" .X }}', "{{/* a }} b */}}",
    "{{ define \"x\" }}{{ with .A }}{{ . }}{{ end }}{{ end }}",
])
def test_alertmanager_templates_accepted(text: str) -> None:
    gotemplate.check_syntax(text)


@pytest.mark.parametrize(("text", "message"), [
    ("{{ .Foo ", "an unclosed {{"), ("{{ if .X }}a", "{{if}} is never closed"), ("{{ end }}", "without an opening"),
    ('{{ "abc }}', "an unterminated string"), ("{{ (len .X }}", "an unclosed ("), ("{{ len .X) }}", "an unopened )"),
    ("{{ range .A }}{{ if .B }}{{ end }}", "{{range}} is never closed"),
])
def test_alertmanager_templates_refused(text: str, message: str) -> None:
    with pytest.raises(gotemplate.TemplateError, match=re.escape(message)):
        gotemplate.check_syntax(text)
