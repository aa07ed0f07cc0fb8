"""PromQL building blocks: escaping, selectors, durations, names."""

from __future__ import annotations

import re

import pytest

from generator import promql


def test_escape_prevents_breaking_out_of_a_string() -> None:
    value = 'a"} or vector(1) #\\'
    assert promql.matcher("pod", "=", value) == 'pod="a\\"} or vector(1) #\\\\"'
    assert promql.parse_selector(promql.matcher("pod", "=", value)) == [("pod", "=", value)]


def test_escape_regex_matches_the_literal_only() -> None:
    import re

    lit = "a.b|c"
    pattern = promql.escape_regex(lit).replace('\\\\', '\\')
    assert re.fullmatch(pattern, lit) and not re.fullmatch(pattern, "axb")


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ('job="apiserver"', [("job", "=", "apiserver")]),
        ('{job=~"kube-etcd|etcd", metrics_path!="/x"}',
         [("job", "=~", "kube-etcd|etcd"), ("metrics_path", "!=", "/x")]),
    ],
)
def test_parse_selector(text: str, parsed: list[tuple[str, str, str]]) -> None:
    assert promql.parse_selector(text) == parsed


@pytest.mark.parametrize("bad", ["", "job=apiserver", 'job=="x"', 'job="x" extra', '9job="x"', 'job=~"("'])
def test_bad_selectors(bad: str) -> None:
    with pytest.raises(promql.PromQLError):
        promql.parse_selector(bad)


@pytest.mark.parametrize(("text", "seconds"), [("30s", 30), ("5m", 300), ("1h30m", 5400), ("3d", 259200),
                                               ("1w", 604800), ("250ms", 0.25)])
def test_durations(text: str, seconds: float) -> None:
    assert promql.parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "5", "5 m", "1m1h", "m", "-5m"])
def test_bad_durations(bad: str) -> None:
    with pytest.raises(promql.PromQLError):
        promql.parse_duration(bad)


def test_format_duration_round_trips() -> None:
    for seconds in (60, 90, 3600, 5400, 86400 * 3 + 60):
        assert promql.parse_duration(promql.format_duration(seconds)) == seconds


def test_record_names_follow_the_convention() -> None:
    assert promql.record_name("cluster_verb", "apiserver_request", "rate5m") == "cluster_verb:apiserver_request:rate5m"
    with pytest.raises(promql.PromQLError):
        promql.record_name("Cluster", "x", "rate5m")


def test_by_keeps_order_and_drops_duplicates() -> None:
    assert promql.by("cluster", "verb", "cluster, code") == "by (cluster, verb, code)"


def test_bind_fills_and_escapes_dashboard_variables() -> None:
    expr = 'sum by (cluster, pod) (x{cluster="$cluster",namespace=~"$namespace",pod=~"$pod",quantile="0.99"})'
    assert promql.bind(expr, {"cluster": "prod"}) == 'sum by (cluster, pod) (x{cluster="prod",quantile="0.99"})'
    bound = promql.bind(expr, {"cluster": 'a"} or vector(1)', "namespace": "a.b", "pod": "p"})
    assert bound == ('sum by (cluster, pod) (x{cluster="a\\"} or vector(1)",namespace=~"a\\\\.b",pod=~"p",'
                     'quantile="0.99"})')
    assert promql.bind('x{cluster="$cluster"}', {}) == "x{}"


@pytest.mark.parametrize(("raw", "value"), [
    (r"a\nb", "a\nb"), (r"tab\there", "tab\there"), (r"q\"q", 'q"q'), (r"back\\slash", "back\\slash"),
    (r"\x41\101\u00e9\U0001F600", "AAé😀"), (r"\a\b\f\r\v", "\a\b\f\r\v"),
])
def test_unquote_knows_the_promql_escapes(raw: str, value: str) -> None:
    assert promql.unquote(raw) == value
    assert promql.parse_selector(f'job="{raw}"') == [("job", "=", value)]


@pytest.mark.parametrize(("raw", "message"), [
    (r"\q", r"unknown escape \q"), (r"\'", "unknown escape \\'"), (r"\xZZ", r"unknown escape \x"),
    (r"\ud800", "is not a valid character"), (r"\777", "is not a valid character"),
    (r"\U00110000", "is not a valid character"), ("a\nb", "a line break inside a quoted string"),
])
def test_unquote_refuses_what_promql_refuses(raw: str, message: str) -> None:
    with pytest.raises(promql.PromQLError, match=re.escape(message)):
        promql.unquote(raw)


@pytest.mark.parametrize(("regex", "message"), [
    (r"(a)\1", "invalid escape sequence"), ("(?=a)", "invalid perl operator"), ("a{2000}", "invalid repetition size"),
    ("a++", "bad repetition operator"), ("(?<n>a)", "Prometheus (Go) does not know"),
    (r"a\C", "Prometheus (Go) does not know"), ("(", "missing )"),
    # balanced only once anchored as `^(?:...)$` (found by tests/test_hostile_props.py): promtool refuses them
    (")(", "unexpected )"), ("a)|(b", "unexpected )"),
])
def test_regexes_are_checked_with_re2(regex: str, message: str) -> None:
    with pytest.raises(promql.PromQLError, match=re.escape(message)):
        promql.compile_regex(regex)


def test_regexes_are_anchored_and_linear() -> None:
    compiled = promql.compile_regex(".*.*.*.*.*.*.*.*.*.*.*.*.*.*.*=")
    assert compiled.fullmatch("a" * 100_000) is None  # RE2: linear, where a backtracking engine would not end
    assert promql.compile_regex(r"a\\Cb").fullmatch("a\\Cb")  # an escaped backslash before C is plain text
    assert promql.compile_regex("(?P<n>x)|y").fullmatch("y")


@pytest.mark.parametrize(("regex", "example"), [("kube-etcd|etcd", "kube-etcd"), (".*etcd.*", "etcd"),
                                                ("(coredns|kube-dns)", "coredns"), ("dns.+", "dnsx")])
def test_example_of(regex: str, example: str) -> None:
    assert promql.example_of(regex) == example


@pytest.mark.parametrize("regex", ["[0-9]{3}", r"\d+", "[ab]+"])
def test_example_of_refuses_what_it_cannot_derive(regex: str) -> None:
    with pytest.raises(promql.PromQLError, match="cannot derive a test label value"):
        promql.example_of(regex)


def test_durations_past_prometheus_range() -> None:
    assert promql.parse_duration("292y") == 292 * 365 * 86400
    with pytest.raises(promql.PromQLError, match="past Prometheus' range"):
        promql.parse_duration("293y")
    with pytest.raises(promql.PromQLError, match="past Prometheus' range"):
        promql.parse_duration("9" * 400 + "s")


@pytest.mark.parametrize(("op", "have", "value", "passes"), [
    ("=", "a", "a", True), ("=", "", "a", False), ("!=", "a", "a", False), ("!=", "", "a", True),
    ("=~", "kube-etcd", "kube-etcd|etcd", True), ("=~", "xetcd", "etcd", False),  # anchored, as Prometheus
    ("=~", "", ".*", True), ("!~", "", ".+", True), ("!~", "a.b", "a\\.b", False), ("=~", "aXb", "a\\.b", False),
])
def test_matches_as_prometheus_decides(op: str, have: str, value: str, passes: bool) -> None:
    """The one matcher evaluation shared by the site checks (context.selects), suggest and rawexpr."""
    assert promql.matches(op, have, value) is passes


@pytest.mark.parametrize("step", [5, 10, 15, 20, 30, 60, 150])
def test_left_open_holds_prometheus_3s_samples_on_every_grid(step: int) -> None:
    # samples at multiples of `step` before t: the closed window [t-w, t] of left_open("5m") holds exactly those of
    # Prometheus 3's (t-5m, t], and Prometheus 2's closed [t-5m, t] one more
    w = promql.parse_duration(promql.left_open("5m"))
    ages = range(0, 600, step)
    assert [a for a in ages if a <= w] == [a for a in ages if a < 300] != [a for a in ages if a <= 300]


def test_left_open_refuses_what_it_cannot_shorten() -> None:
    assert promql.left_open("10m") == "9m55s"
    with pytest.raises(promql.PromQLError, match="longer than 5s"):
        promql.left_open("5s")
