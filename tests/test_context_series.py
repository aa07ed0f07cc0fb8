"""promtool input series from a selector: one way for the scrape jobs (Context.series) and a service preset's own
selector (Context.series_passing), table-driven."""

from __future__ import annotations

import pytest

from generator.context import Context, passing_labels, selects


@pytest.mark.parametrize(("matchers", "labels", "passes"), [
    ("", {}, True),
    ('job="apiserver"', {"job": "apiserver"}, True),
    ('job=~"kube-etcd|etcd", namespace="kube-system"', {"job": "kube-etcd", "namespace": "kube-system"}, True),
    ('job=~".*dns.*"', {"job": "dns"}, True),
    ('image!~"pause"', {}, True),  # a missing label passes a negative matcher
    # nothing is made up for a negative matcher: the case supplies the label (container="app")
    ('container!="", image!=""', {}, False),
])
def test_passing_labels_of_matchers(matchers: str, labels: dict[str, str], passes: bool) -> None:
    assert passing_labels(matchers) == labels
    assert selects(matchers, labels) is passes


def test_a_service_series_and_a_job_series_are_written_alike() -> None:
    ctx = Context()
    assert ctx.series_passing('job=~"web|api"', "http_requests_total", code="500") == (
        'http_requests_total{cluster="test-cluster",code="500",job="web"}')
    assert ctx.series("etcd", "up") == ctx.series_passing(ctx.config.selectors["etcd"], "up") == (
        'up{cluster="test-cluster",job="kube-etcd"}')
