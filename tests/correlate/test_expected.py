"""Expected pairs (issue 12): a pod's request rate and its network bytes are the same activity measured twice.
They are measured like any pair (not derived: different metrics, they can come apart) but flagged `expected` and
ranked after the unexpected measured findings, even when their ρ is the highest of all."""

from __future__ import annotations

import numpy as np
import pytest

from generator.config import load
from generator.correlate import derived
from generator.correlate.analysis import analyse
from generator.correlate.candidates import Candidate, Catalog
from generator.correlate.suggest import Fetched, Measurement, Options, findings_json
from generator.correlate.upstream import site_catalog

CPU, NET, RPS, TX = ("container_cpu_usage", "pod_network_receive_bytes", "service_request_rate",
                     "pod_network_transmit_bytes")


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    site = tmp_path_factory.mktemp("site") / "stereo.yaml"
    site.write_text("cluster_label: k8s_cluster\nservices:\n  - preset: http\n    selector: ''\n"
                    "  - preset: ingress-nginx\n    selector: ''\n", encoding="utf-8")
    return site_catalog(load(site))


@pytest.mark.parametrize(("a", "b", "want"), [
    (RPS, NET, True),  # requests and the bytes they bring, on one pod
    (NET, TX, True),  # bytes in and bytes out of one pod: requests and responses
    ("node_network_receive_bytes", "node_network_transmit_bytes", True),  # one node's traffic
    (CPU, RPS, False),  # the cost of the traffic, not the traffic
    (CPU, NET, False),  # the paper's pair: measured, not expected
    (RPS, "node_network_receive_bytes", False),  # no object label in common (only the cluster)
    ("ingress_request_rate", NET, False),  # an ingress and a pod are not one object
    ("apiserver_request_rate", "coredns_requests", False),  # two components' traffic: cluster only
])
def test_expected_is_the_same_traffic_on_one_object(catalog: Catalog, a: str, b: str, want: bool) -> None:
    assert derived.expected(catalog.signals[a], catalog.signals[b]) is want
    assert derived.expected(catalog.signals[b], catalog.signals[a]) is want
    assert not catalog.derived(a, b)  # none of them is the same data by definition


def test_expected_pairs_follow_the_measured_ones(catalog: Catalog) -> None:
    rng = np.random.default_rng(12)
    pods, n = 3, 600
    load_ = np.cumsum(rng.normal(size=(pods, n)), axis=1)
    rps = load_ + 0.1 * np.cumsum(rng.normal(size=(pods, n)), axis=1)
    net = rps + 0.05 * np.cumsum(rng.normal(size=(pods, n)), axis=1)  # bytes follow requests closely
    cpu = load_ + 0.8 * np.cumsum(rng.normal(size=(pods, n)), axis=1)  # CPU follows the load loosely
    labels = [{"k8s_cluster": "c", "namespace": "shop", "pod": f"web-{i}"} for i in range(pods)]
    fetched = {name: Fetched(catalog.signals[name], v, [dict(lb) for lb in labels])
               for name, v in ((CPU, cpu), (NET, net), (RPS, rps))}
    targets = {CPU: [Candidate(catalog.signals[NET], "scope", "workloads"),
                     Candidate(catalog.signals[RPS], "service", "services")],
               NET: [Candidate(catalog.signals[RPS], "service", "services")]}
    times = 1_700_000_000 + 60.0 * np.arange(n)
    options = Options(window=int(times[-1] - times[0]), step=60, regimes=False)
    result = analyse(times, fetched, targets, options, catalog.derived)
    whole = [f for f in result.objects if f.phase is None and f.significant]
    assert len(whole) == 3 * pods
    kinds = [frozenset((f.a, f.b)) == frozenset((NET, RPS)) for f in whole]
    assert kinds == [False] * (2 * pods) + [True] * pods  # expected last
    assert all(f.expected == k and not f.derived for f, k in zip(whole, kinds, strict=True))
    assert min(f.rho for f in whole if f.expected) > max(f.rho for f in whole if not f.expected)  # yet strongest
    net_list = result.findings[NET]
    assert net_list[0].partner == RPS and net_list[0].expected and net_list[0].significant
    m = Measurement(int(times[0]), int(times[-1]), 60, options, result.findings, result.missing, {},
                    result.objects, result.phases)
    doc = findings_json(m)
    assert [d["expected"] for d in doc[: 3 * pods]] == kinds
    assert all(d["points"] == n - 1 and d["present"] == n - 1 and d["partial"] is False for d in doc)
