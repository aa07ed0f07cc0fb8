"""Annotation templates render as Prometheus renders them (values taken from Prometheus' template tests)."""

from __future__ import annotations

import pytest

from generator import gotemplate as gt


@pytest.mark.parametrize(
    ("func", "value", "expected"),
    [
        (gt.humanize, 0.0, "0"),
        (gt.humanize, 1.0, "1"),
        (gt.humanize, 1234567.0, "1.235M"),
        (gt.humanize, 12345.0, "12.35k"),
        (gt.humanize, 0.0012, "1.2m"),
        (gt.humanize, 0.000001, "1u"),
        (gt.humanize1024, 1024.0, "1ki"),
        (gt.humanize1024, 1048576.0, "1Mi"),
        (gt.humanize1024, 0.5, "0.5"),
        (gt.humanize_percentage, 0.1234567, "12.35%"),
        (gt.humanize_percentage, 0.06, "6%"),
        (gt.humanize_duration, 0.0, "0s"),
        (gt.humanize_duration, 1.0, "1s"),
        (gt.humanize_duration, 60.0, "1m 0s"),
        (gt.humanize_duration, 3600.0, "1h 0m 0s"),
        (gt.humanize_duration, 86400.0, "1d 0h 0m 0s"),
        (gt.humanize_duration, 90061.0, "1d 1h 1m 1s"),
        (gt.humanize_duration, 0.1, "100ms"),
        (gt.humanize_duration, 0.0001, "100us"),
    ],
)
def test_humanize_family(func, value: float, expected: str) -> None:
    assert func(value) == expected


def test_render_labels_and_value() -> None:
    text = "{{ $labels.pod }} in {{ $labels.namespace }} uses {{ $value | humanizePercentage }}."
    assert gt.render(text, {"pod": "p1", "namespace": "ns"}, 0.9) == "p1 in ns uses 90%."
    assert gt.render('{{ printf "%.2f" $value }}', {}, 1.23456) == "1.23"
    assert gt.render("{{ $value }}", {}, 3.0) == "3"


def test_unsupported_actions_are_errors() -> None:
    with pytest.raises(gt.TemplateError):
        gt.render("{{ range . }}", {}, 1.0)
    with pytest.raises(gt.TemplateError):
        gt.render("{{ $value | title }}", {}, 1.0)
    with pytest.raises(gt.TemplateError, match="gives no value"):
        gt.render("{{ $value | humanize }}", {}, None)


@pytest.mark.parametrize(("value", "expected"), [
    ("shop", "shop"),
    ("a&b#c", "a%26b%23c"),
    ("web #1/x y", "web+%231%2Fx+y"),
    ("k=v?q+1%", "k%3Dv%3Fq%2B1%25"),
    ("-_.~", "-_.~"),
    ("été", "%C3%A9t%C3%A9"),  # UTF-8 bytes, upper-case hex, as Go's url.QueryEscape
])
def test_urlquery_escapes_a_label_as_go_does(value: str, expected: str) -> None:
    rendered = gt.render("x={{ $labels.ns | urlquery }}&y={{ $labels.ns }}", {"ns": value}, None)
    assert rendered == f"x={expected}&y={value}"


def test_only_urlquery_may_follow_a_label() -> None:
    gt.check("{{ $labels.pod | urlquery }}")
    for bad in ("{{ $labels.pod | title }}", "{{ $labels.pod | urlquery | urlquery }}", "{{ $labels.p-d | urlquery }}"):
        with pytest.raises(gt.TemplateError):
            gt.check(bad)
        with pytest.raises(gt.TemplateError):
            gt.render(bad, {"pod": "p"}, None)
