"""The shared PromQL scanner (generator/promql_tokens.py) and the two that read through it: doctor's selector
list and suggest's raw-expression rewrite (generator/correlate/rawexpr.py). Tricky inputs, table-driven."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from generator.correlate.rawexpr import expand, recorded_in, rules_from
from generator.model import RecordingRule as Rule
from generator.promql_tokens import find_selectors

# expr -> the selectors as (metric, matchers or None, the text they span including a range that follows)
SCANS: list[tuple[str, list[tuple[str, str | None, str]]]] = [
    ('up{job="a{b}"}', [("up", 'job="a{b}"', 'up{job="a{b}"}')]),
    ('up{job="}"} or up{job=\'{\'}', [("up", 'job="}"', 'up{job="}"}'), ("up", "job='{'", "up{job='{'}")]),
    ('x{path=~"/a/{id}/b"}[5m]', [("x", 'path=~"/a/{id}/b"', 'x{path=~"/a/{id}/b"}[5m]')]),
    ('x{re=~"a{2,3}|b\\\\{"}', [("x", 're=~"a{2,3}|b\\\\{"', 'x{re=~"a{2,3}|b\\\\{"}')]),
    ("sum by (le, cluster) (rate(h_bucket[5m]))", [("h_bucket", None, "h_bucket[5m]")]),
    ("sum(rate(h_bucket{a=\"1\"} [5m])) by (le)", [("h_bucket", 'a="1"', 'h_bucket{a="1"} [5m]')]),
    ("a / on (instance) group_left (node, pod) b", [("a", None, "a"), ("b", None, "b")]),
    ("max without (instance) (up offset 5m) > bool 0.5e1", [("up", None, "up")]),
    ("up offset -1h", [("up", None, "up")]),
    ("rate(x[5m] offset 1d)", [("x", None, "x[5m]")]),
    ("up @ start()", [("up", None, "up")]),
    ('label_replace(max_over_time(a:b:c[1h:1m]), "dst", "$1", "src", "(.*)")',
     [("a:b:c", None, "a:b:c[1h:1m]")]),
    ("histogram_quantile(0.99, sum by (le) (rate(x_bucket{}[5m])))", [("x_bucket", "", "x_bucket{}[5m]")]),
    ('{__name__="bare", job="j"}', [("", '__name__="bare", job="j"', '{__name__="bare", job="j"}')]),
    ("topk(3, up) * 1e3 + 0x1f - .5", [("up", None, "up")]),
    ("count_values(\"v\", x) unless ignoring (a) y", [("x", None, "x"), ("y", None, "y")]),
    ("min_over_time((a - b)[10m:1m])", [("a", None, "a"), ("b", None, "b")]),
    ('`raw{string}` and s{a=`b}"c`}', [("s", 'a=`b}"c`', 's{a=`b}"c`}')]),
    ('foo{a="\\"}"}', [("foo", 'a="\\"}"', 'foo{a="\\"}"}')]),
    ("sum by(x)(y) + avg without(z)(w)", [("y", None, "y"), ("w", None, "w")]),
    ("", []),
    ("unterminated{a=\"b", [("unterminated", 'a="b', 'unterminated{a="b')]),
]


@pytest.mark.parametrize(("expr", "want"), SCANS, ids=[s[0][:40] or "empty" for s in SCANS])
def test_the_scanner_finds_each_selector_and_its_span(expr: str, want: list) -> None:
    got = [(f.metric, f.matchers, expr[f.start:f.range_end]) for f in find_selectors(expr)]
    assert got == want


RULES = {
    "job:x:rate5m": [Rule("job:x:rate5m", 'sum by (job) (rate(x_total{code=~"5.."}[5m]))')],
    "job:lat:p": [Rule("job:lat:p", 'histogram_quantile(0.5, sum by (job, le) (rate(lat_bucket{a="{"}[5m])))',
                       {"quantile": "0.5"}),
                  Rule("job:lat:p", 'histogram_quantile(0.99, sum by (job, le) (rate(lat_bucket{a="{"}[5m])))',
                       {"quantile": "0.99"})],
    "job:nested:ratio": [Rule("job:nested:ratio", "job:x:rate5m / on (job) group_left () job:y:rate5m")],
    "job:y:rate5m": [Rule("job:y:rate5m", "sum by (job) (rate(y_total{}[5m] offset 1m))")],
}

# expr (reading recorded series), the raw expression it stands for; push is cluster="c" where given
EXPANDS: list[tuple[str, bool, str]] = [
    ('job:x:rate5m{job="j"}', False, '(sum by (job) (rate(x_total{code=~"5..",job="j"}[5m])))'),
    ("job:x:rate5m", True, '(sum by (job) (rate(x_total{code=~"5..",cluster="c"}[5m])))'),
    # a `}` inside a matcher's string does not end the selector
    ('job:x:rate5m{job="a}b"}', False, '(sum by (job) (rate(x_total{code=~"5..",job="a}b"}[5m])))'),
    ('job:lat:p{quantile="0.99"}', False,
     '(histogram_quantile(0.99, sum by (job, le) (rate(lat_bucket{a="{"}[5m]))))'),
    ('job:lat:p{quantile=~"0.5|0.99"}', False,
     '((histogram_quantile(0.5, sum by (job, le) (rate(lat_bucket{a="{"}[5m])))) or '
     '(histogram_quantile(0.99, sum by (job, le) (rate(lat_bucket{a="{"}[5m])))))'),
    ("max_over_time(job:x:rate5m[1h])", False,
     'max_over_time((sum by (job) (rate(x_total{code=~"5.."}[5m])))[1h:])'),
    ("max_over_time(job:x:rate5m[1h:5m])", False,
     'max_over_time((sum by (job) (rate(x_total{code=~"5.."}[5m])))[1h:5m])'),
    ("job:nested:ratio", True,
     '((sum by (job) (rate(x_total{code=~"5..",cluster="c"}[5m]))) / on (job) group_left () '
     '(sum by (job) (rate(y_total{cluster="c"}[5m] offset 1m))))'),
    ('label_replace(job:x:rate5m, "dst", "job:x:rate5m{", "src", "(.*)")', False,
     'label_replace((sum by (job) (rate(x_total{code=~"5.."}[5m]))), "dst", "job:x:rate5m{", "src", "(.*)")'),
    ("sum by (job) (job:x:rate5m) offset 5m", False,
     'sum by (job) ((sum by (job) (rate(x_total{code=~"5.."}[5m])))) offset 5m'),
    # a bare raw name and a `{...}` selector stay as written (the generated rules brace every raw selector)
    ("up + {job=\"j\"}", True, 'up + {job="j"}'),
]


@pytest.mark.parametrize(("expr", "push", "want"), EXPANDS, ids=[e[0][:40] for e in EXPANDS])
def test_expand_rewrites_only_selectors(expr: str, push: bool, want: str) -> None:
    assert expand(expr, RULES, [("cluster", "=", "c")] if push else None) == want


@pytest.mark.parametrize(("expr", "error"), [
    ("nope:x:y", "no recording rule produces nope:x:y"),
    ('job:lat:p{quantile="0.9"}', "no rule for job:lat:p matches"),
])
def test_expand_names_what_it_cannot_honour(expr: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        expand(expr, RULES)


def test_recorded_in_follows_rules_and_skips_strings() -> None:
    assert recorded_in('job:nested:ratio + label_replace(up, "a", "job:lat:p", "b", "")', RULES) == {
        "job:nested:ratio", "job:x:rate5m", "job:y:rate5m"}


def test_every_generated_signal_expands_to_raw_metrics_only() -> None:
    """The committed rules and the dashboards' recorded queries: after expansion no recorded name is read."""
    root = Path(__file__).resolve().parent.parent
    groups = [g for f in sorted((root / "rules").glob("*.yaml")) for g in yaml.safe_load(f.read_text())["groups"]]
    rules = rules_from(groups)
    assert len(rules) > 50
    for name, rs in rules.items():
        for r in rs:
            raw = expand(r.expr, rules, [("cluster", "=", "c")])
            assert all(":" not in f.metric for f in find_selectors(raw)), (name, raw)
            assert all(f.matchers is None or 'cluster="c"' in f.matchers
                       for f in find_selectors(raw) if f.metric), (name, raw)


def test_remembered_answers_are_copies_and_long_expressions_are_scanned_alike() -> None:
    """find_selectors keeps answers for short expressions: a caller changing its list does not change the next
    answer, and an expression past the remembered size gives the same selectors as its short parts."""
    expr = 'sum(rate(a{job="x"}[5m])) / on (c) b'
    first = find_selectors(expr)
    first.clear()
    assert [f.metric for f in find_selectors(expr)] == ["a", "b"]
    long = " or ".join(f'm{i}{{job="{"j" * 40}"}}' for i in range(120))  # > 4 KiB: not remembered
    assert len(long) > 4096
    assert [f.metric for f in find_selectors(long)] == [f"m{i}" for i in range(120)]
