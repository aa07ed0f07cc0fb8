"""kube-apiserver: the SLO windows file drives the burn-rate rules and alerts, long windows are built from recorded
5m series, the site's objective and latency targets reach the expressions, and the promtool cases follow them."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from promtool_run import TreeRun

from generator.catalog import kube_apiserver
from generator.catalog.kube_apiserver import slo as kube_apiserver_slo
from generator.catalog.kube_apiserver.slo import (
    SLO_ERRORS,
    SLO_REQUESTS,
    load_windows,
    ratio_name,
    slo_bucket,
)
from generator.config import ConfigError, build, load
from generator.context import Context
from generator.model import Component, RecordingRule
from generator.promql import parse_duration

PROMTOOL = shutil.which("promtool")
RECORD = re.compile(r"[a-z_]+:[a-z0-9_]+:[a-z0-9_]+")
REQUIRED = ("apiserver_request_latency_p99", "apiserver_request_rate", "apiserver_error_ratio", "apiserver_cpu",
            "apiserver_memory")
CUSTOM = """
period: 28d
alerts:
  - {severity: critical, suffix: Page, for: 5m, pairs: [{long: 1h, short: 5m, factor: 13.44}]}
  - severity: warning
    suffix: Ticket
    for: 30m
    pairs: [{long: 12h, short: 1h, factor: 2}, {long: 2d, short: 4h, factor: 1}]
"""
SITE = """
cluster_label: k8s_cluster
slo: {objective: 0.995, read_latency: 500ms, write_latency: 2s}
selectors:
  kube-apiserver: 'job=~"kube-apiserver|apiserver"'
thresholds:
  KubeAPIServerLatencyHigh: 2.5
  KubeAPIServerThrottlingHigh: 0.6
  KubeClientCertificateExpiration: 1209600
  KubeAPIServerFlowControlRejections: 0.5
"""


def _component(ctx: Context | None = None) -> Component:
    return kube_apiserver.build(ctx or Context())


def _ctx(**slo: object) -> Context:
    return Context(build({"slo": slo} if slo else {}, "<test>", {}))


def _rules(comp: Component) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for rule in (*comp.rules, *comp.slow_rules):
        out.setdefault(rule.record, []).append(rule.expr)
    return out


def test_sizes_names_and_required_signals() -> None:
    comp = _component()
    assert comp.key == "kube-apiserver" and not comp.control_plane
    assert len(comp.alerts) >= 15 and len(comp.rules) + len(comp.slow_rules) >= 15
    names = [a.name for a in comp.alerts]
    assert len(set(names)) == len(names)
    assert all(len(n) <= 40 and n.startswith(("KubeAPIServer", "KubeClientCertificate")) for n in names)
    signals = {s.name for s in comp.signals}
    assert set(REQUIRED) <= signals
    assert len(signals) == len(comp.signals)


def test_internal_consistency() -> None:
    comp = _component()
    records = set(_rules(comp))
    alerts = {a.name for a in comp.alerts}
    signals = {s.name for s in comp.signals}
    for signal in comp.signals:
        assert signal.name.startswith("apiserver_")
        assert signal.alert is None or signal.alert in alerts
        assert '{cluster="$cluster"' in signal.expr
        used = set(RECORD.findall(signal.expr))
        assert used and used <= records, signal.name
    for panel in comp.panels:
        assert set(panel.signals) <= signals, panel.title
    for alert in comp.alerts:
        assert any(c.fires for c in alert.cases) and not all(c.fires for c in alert.cases), alert.name
        assert set(RECORD.findall(alert.expr)) <= records, alert.name
    for test in comp.rule_tests:
        assert set(RECORD.findall(test.expr)) & records or test.expr.startswith("{__name__"), test.expr


def test_long_windows_read_recorded_5m_series_only() -> None:
    comp = _component()
    windows = load_windows()
    rules = _rules(comp)
    for window in windows.all():
        if window == "5m":
            continue
        (expr,) = rules[ratio_name(window)]
        # exactly the window, over the recorded 5m series, weighted by traffic
        assert expr == (f"sum_over_time({SLO_ERRORS}[{window}]) / sum_over_time({SLO_REQUESTS}[{window}])")
        slow = parse_duration(window) > 3600
        assert any(r.record == ratio_name(window) for r in (comp.slow_rules if slow else comp.rules))
    for rule in comp.slow_rules:
        # nothing in the slow group rates a raw counter
        assert "rate(" not in rule.expr.replace("_over_time(", ""), rule.record
        assert all(":" in name for name in re.findall(r"\w[\w:]*(?=\[)", rule.expr)), rule.record


def test_the_two_largest_histograms_evaluate_in_groups_of_their_own() -> None:
    """A real apiserver exports thousands of apiserver_request_duration_seconds and etcd_request_duration_seconds
    buckets: each histogram's bucket record and the quantiles over it form a group of their own (evaluated
    concurrently with the rest), and nothing else is in it or reads its bucket record from another group."""
    groups: dict[str, list[RecordingRule]] = {}
    for rule in _component().rules:
        groups.setdefault(rule.group, []).append(rule)
    for group, metric in (("latency", "apiserver_request_duration_seconds_bucket{"),
                          ("etcd", "etcd_request_duration_seconds_bucket{")):  # the raw series, with its matchers
        rules = groups[group]
        buckets = [r.record for r in rules if metric in r.expr]
        assert len(buckets) == 1, rules
        assert all(r is rules[0] or buckets[0] in r.expr for r in rules)  # the quantiles read it, nothing else
        assert all(r.record.endswith(":histogram_quantile") for r in rules[1:])
        assert not [r.record for g, rs in groups.items() if g != group for r in rs
                    if buckets[0] in r.expr or metric in r.expr]


def test_default_windows_are_the_sre_workbook_ones() -> None:
    windows = load_windows()
    assert windows.period == "30d"
    got = [(a.severity, [(p.long, p.short, p.factor) for p in a.pairs]) for a in windows.alerts]
    assert got == [("critical", [("1h", "5m", 14.4), ("6h", "30m", 6.0)]),
                   ("warning", [("1d", "2h", 3.0), ("3d", "6h", 1.0)])]


def test_windows_file_drives_rules_and_alerts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kube_apiserver_slo, "load_windows", lambda: load_windows(CUSTOM))
    comp = _component()
    rules = _rules(comp)
    for window in ("1h", "4h", "12h", "2d", "28d"):
        assert ratio_name(window) in rules, window
    assert ratio_name("3d") not in rules and ratio_name("30d") not in rules
    by_name = {a.name: a for a in comp.alerts}
    page = by_name["KubeAPIServerErrorBudgetBurnPage"]
    assert page.severity == "critical" and page.for_ == "5m" and "> 13.44" in page.expr
    ticket = by_name["KubeAPIServerWriteLatencyBudgetBurnTicket"]
    assert ticket.severity == "warning" and ticket.expr.count("\nor\n") == 1
    assert "ratio_rate2d" in ticket.expr and "ratio_rate4h" in ticket.expr
    assert not any(name.endswith(("Fast", "Slow")) for name in by_name)


@pytest.mark.parametrize("text", [
    "period: 30d\nalerts: [{severity: critical, suffix: X, for: 2m, pairs: [{long: 5m, short: 1h, factor: 2}]}]",
    "period: 30d\nalerts: [{severity: page, suffix: X, for: 2m, pairs: [{long: 1h, short: 5m, factor: 2}]}]",
    "period: 30d\nalerts: [{severity: critical, suffix: X, for: 2m, pairs: [{long: 1h, short: 1m, factor: 2}]}]",
])
def test_bad_windows_are_rejected(text: str) -> None:
    with pytest.raises(ValueError, match=r"slo_windows\.yaml"):
        load_windows(text)


def test_objective_sets_the_burn_thresholds() -> None:
    by_name = {a.name: a for a in _component(_ctx(objective=0.99)).alerts}
    fast = by_name["KubeAPIServerErrorBudgetBurnFast"]
    assert "/ 0.01 > 14.4" in fast.expr and "/ 0.01 > 6" in fast.expr
    assert fast.cases[0].value == pytest.approx(21.6)
    assert "99%" in fast.description


@pytest.mark.parametrize(("target", "bucket"), [("1s", 1), ("1100ms", 1), ("500ms", 0.4), ("10ms", 0.05),
                                                 ("2m", 60), ("5s", 5)])
def test_latency_target_picks_a_bucket_at_or_below_it(target: str, bucket: float) -> None:
    assert slo_bucket(target) == bucket


def test_latency_targets_reach_the_sli_rules() -> None:
    rules = _rules(_component(_ctx(read_latency="500ms", write_latency="2s")))
    read, write = [e for e in rules[SLO_ERRORS] if "sli_duration" in e]
    # single objects at the target, namespace LISTs at 5x, cluster-wide LISTs at 30x (rounded down to buckets)
    assert 'scope=~"resource|",le="0.4"' in read and 'scope="namespace",le="2"' in read
    assert 'scope="cluster",le="15"' in read and 'le="2"' in write
    default_read = next(e for e in _rules(_component())[SLO_ERRORS] if 'scope="cluster"' in e)
    assert 'le="1"' in default_read and 'le="5"' in default_read and 'le="30"' in default_read


@pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed")
@pytest.mark.promtool_site(SITE, only=("kube-apiserver",))
def test_promtool_cases_follow_the_site(tree_promtool: TreeRun) -> None:
    """The site's cases, run in the background over a site tree shared with compatible settings (conftest.py)."""
    tree_promtool.result().assert_passed()
    out = tree_promtool.tree
    text = (out / "alerts/kube-apiserver.yaml").read_text()
    assert "/ 0.005 > 14.4" in text and 'k8s_cluster' in (out / "rules/kube-apiserver.yaml").read_text()


@pytest.mark.parametrize(("objective", "refused"), [(0.9, True), (0.93, True), (0.931, False), (0.999, False)])
def test_an_objective_whose_fastest_burn_needs_over_100_percent_errors_is_the_sites_mistake(
        tmp_path: Path, objective: float, refused: bool) -> None:
    """14.4 × the budget must stay under 1 for the fast burn alert to be able to fire (objective > 0.930556)."""
    path = tmp_path / "stereo.yaml"
    path.write_text(f"slo:\n  objective: {objective}\n")
    if refused:
        with pytest.raises(ConfigError, match=r":2: slo\.objective: expected an objective above 0\.930556"):
            kube_apiserver.build(Context(load(path)))
    else:
        fast = next(a for a in kube_apiserver.build(Context(load(path))).alerts
                    if a.name == "KubeAPIServerErrorBudgetBurnFast")
        assert max(c.value for c in fast.cases if c.fires) > 14.4
