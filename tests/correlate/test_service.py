"""The correlation service: FastAPI's TestClient against a real Prometheus (and a fault injector in front of it),
plus one run of the real `stereo serve` process."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests
from promlab import CLUSTER, DECOYS, NAMESPACE, PLANTED, FakePrometheus, Prometheus
from serve_run import serving

from generator import correlations
from generator.config import Config
from generator.correlate.server import Settings, create_app
from generator.correlate.upstream import site_catalog
from generator.render.dashboards.pair import COLUMNS, SUGGESTIONS

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # starlette's note about httpx2
    from fastapi.testclient import TestClient

CPU, NET = PLANTED
SHOP = f'namespace="{NAMESPACE}"'


def client(url: str, **settings: Any) -> TestClient:
    return TestClient(create_app(Settings(url, **settings)))


@pytest.fixture(scope="module")
def api(prometheus: Prometheus) -> Iterator[TestClient]:
    with client(prometheus.url, timeout=60) as c:  # generous: the machine may be loaded; no deadline is tested here
        yield c


def json_error(r: requests.Response | Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    body = r.json()
    assert isinstance(body["error"], str) and body["error"]
    return body


# ---------------------------------------------------------------- answers


def test_suggestions_rank_the_planted_pair_first(api: TestClient) -> None:
    r = api.get("/api/v1/suggestions", params={"target": CPU, "selector": SHOP, "k": "5"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["target"], body["window"], body["step"], body["alpha"]) == (CPU, "6h", "1m", 0.01)
    top = body["suggestions"]
    assert [s["name"] for s in top] == [NET]
    s = top[0]
    assert s["significant"] and s["rho"] > 0.7 and s["pvalue"] < 1e-6 and s["n"] == 360 and s["critical"] < 0.2
    assert s["stability"] > 0.9 and s["tier"] == "prior" and s["home"] == "workloads"
    assert s["expected"] is False  # CPU is the cost of traffic, not the same traffic measured twice
    assert len(s["short"]) > 10 and all(set(p) == {"time", "rho"} for p in s["short"])
    assert s["url"].startswith("http://localhost:3000/d/stereo-pair/pair?var-a=container_cpu_usage"
                               "&var-b=pod_network_receive_bytes&var-a_home=stereo-workloads"
                               "&var-b_home=stereo-workloads&from=")
    assert s["url"].endswith("&var-namespace=shop")
    assert {c[0] for c in COLUMNS} <= set(s)  # what the pair view's Infinity panel reads
    others = {x["name"]: x for x in body["not_significant"]}
    assert set(DECOYS) <= set(others) and not any(x["significant"] for x in others.values())
    assert {"name": "pod_restarts", "reason": "constant over the window"} in body["missing"]


FINDING = {"a", "b", "scope", "rho", "n", "n_eff", "p", "q", "critical", "significant", "derived", "expected", "phase",
           "change", "points", "present", "partial", "window"}


def test_findings_name_the_object_in_the_fields_stereo_suggest_writes(api: TestClient) -> None:
    r = api.get("/api/v1/findings", params={"targets": CPU, "selector": SHOP})
    assert r.status_code == 200, r.text
    found = r.json()
    assert found and all(set(f) == FINDING for f in found)
    top = next(f for f in found if f["phase"] is None and not f["derived"])
    assert {top["a"], top["b"]} == set(PLANTED) and top["significant"] and top["rho"] > 0.7
    assert top["scope"]["pod"] == "web-1" and top["scope"]["namespace"] == NAMESPACE
    assert top["window"]["end"] - top["window"]["start"] == 6 * 3600 and top["n"] >= 300
    body = api.get("/api/v1/suggestions", params={"target": CPU, "selector": SHOP}).json()
    assert body["findings"] and all(set(f) == FINDING and CPU in (f["a"], f["b"]) for f in body["findings"])
    assert not any(f["derived"] for f in body["findings"])


def test_the_pair_view_query_is_understood(api: TestClient) -> None:
    # what Grafana sends once it has filled the panel's variables
    url = (SUGGESTIONS.replace("${a:text}", NET).replace("${__range_s}", "21600").replace("{label}", "cluster")
           .replace("${cluster:percentencode}", CLUSTER))
    r = api.get(url)
    assert r.status_code == 200 and r.json()["suggestions"][0]["name"] == CPU


def test_matrix_rows_are_flat_and_symmetric(api: TestClient) -> None:
    names = [CPU, NET, "container_memory_working_set", "node_cpu_utilisation"]
    r = api.get("/api/v1/matrix", params={"signals": ",".join(names), "selector": SHOP})
    assert r.status_code == 200, r.text
    rows = r.json()
    assert len(rows) == 16 and all(set(row) == {"a", "b", "rho", "pvalue", "significant", "n"} for row in rows)
    assert all(not isinstance(v, dict | list) for row in rows for v in row.values())
    cell = {(row["a"], row["b"]): row for row in rows}
    for a in names:
        assert cell[a, a]["rho"] == 1.0
        for b in names:
            assert {k: v for k, v in cell[a, b].items() if k not in "ab"} == \
                   {k: v for k, v in cell[b, a].items() if k not in "ab"}
    significant = {frozenset((row["a"], row["b"])) for row in rows if row["significant"]}
    assert significant == {frozenset(PLANTED)}


def test_correlations_yaml_is_the_suggest_document(api: TestClient) -> None:
    r = api.get("/api/v1/correlations.yaml", params={"selector": SHOP})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/yaml")
    pairs = correlations.parse(r.text, "service", set(site_catalog(Config()).signals))
    assert [(p.a, p.b, p.source) for p in pairs] == [(CPU, NET, "measured")]
    assert r.text.startswith("# generated by stereo")


def test_health_metrics_and_openapi(api: TestClient) -> None:
    assert api.get("/healthz").json() == {"status": "ok"}
    api.get("/api/v1/suggestions", params={"target": CPU})
    api.get("/api/v1/suggestions", params={"target": CPU})
    text = api.get("/metrics").text
    assert 'stereo_correlation_requests_total{endpoint="/api/v1/suggestions",status="200"}' in text
    assert 'stereo_correlation_cache_requests_total{cache="response",result="hit"}' in text
    assert "stereo_correlation_request_duration_seconds_bucket" in text
    assert "stereo_correlation_upstream_in_flight 0.0" in text
    paths = api.get("/openapi.json").json()["paths"]
    assert {"/api/v1/suggestions", "/api/v1/matrix", "/api/v1/correlations.yaml", "/healthz"} <= set(paths)


# ---------------------------------------------------------------- bad input


def test_unknown_signal_is_404_with_close_names(api: TestClient) -> None:
    body = json_error(api.get("/api/v1/suggestions", params={"target": "container_cpu_usag"}), 404)
    assert body["close"][0] == CPU
    body = json_error(api.get("/api/v1/matrix", params={"signals": f"{CPU},pod_network_recieve_bytes"}), 404)
    assert NET in body["close"]


@pytest.mark.parametrize("params", [
    {"target": CPU, "window": "6x"}, {"target": CPU, "window": "0s"}, {"target": CPU, "window": "-1h"},
    {"target": CPU, "window": "5m"}, {"target": CPU, "window": "99999999d"}, {"target": CPU, "step": "0.5s"},
    {"target": CPU, "window": "30d", "step": "60s"}, {"target": CPU, "alpha": "2"}, {"target": CPU, "alpha": "nan"},
    {"target": CPU, "alpha": "inf"}, {"target": CPU, "alpha": "0.01x"}, {"target": CPU, "k": "-1"},
    {"target": CPU, "k": "1e3"}, {"target": CPU, "selector": "{"}, {"target": CPU, "selector": 'pod=~"("'},
    {"target": CPU, "selector": 'pod="x"} or vector(1)'}, {"target": CPU, "selector": "x" * 3000}, {},
    {"target": CPU, "selector": 'pod=~"(a)\\\\1"'}, {"target": CPU, "selector": 'pod=~"(?=a)b"'},
    {"target": CPU, "selector": 'pod=~"a{1001}"'}, {"target": CPU, "selector": 'pod="\\q"'},
    {"target": CPU, "end": "tomorrow"}, {"target": CPU, "end": str(2**40)}, {"target": CPU, "start": "nan"},
    {"target": CPU, "start": "100", "end": "50"}, {"target": CPU, "start": "100", "window": "1h"},
])
def test_bad_input_is_400_json(api: TestClient, params: dict[str, str]) -> None:
    json_error(api.get("/api/v1/suggestions", params=params), 400)


@pytest.mark.parametrize("pattern", ["(a)\\\\1", "(?=a)b", "a{1001}"])
def test_what_re2_refuses_is_400_naming_re2(api: TestClient, pattern: str) -> None:
    body = json_error(api.get("/api/v1/suggestions", params={"target": CPU, "selector": f'pod=~"{pattern}"'}), 400)
    assert "RE2" in body["error"] and body["error"].startswith("selector: bad regular expression")


def test_other_bad_requests_answer_json(api: TestClient) -> None:
    json_error(api.get("/api/v1/matrix", params={"signals": CPU}), 400)
    many = sorted(site_catalog(Config()).signals)[:51]
    json_error(api.get("/api/v1/matrix", params={"signals": ",".join(many)}), 400)
    json_error(api.get("/api/v1/suggestions", params={"target": "\x00\u2603"}), 404)
    json_error(api.get("/nowhere"), 404)
    json_error(api.post("/api/v1/suggestions"), 405)


def test_an_internal_error_is_500_json_and_the_service_goes_on(prometheus: Prometheus,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr("generator.correlate.suggest.measure", broken)
    with client(prometheus.url) as c:
        assert json_error(c.get("/api/v1/suggestions", params={"target": CPU}), 500)["error"] == \
            "internal error: RuntimeError"
        assert c.get("/healthz").status_code == 200
        assert 'endpoint="/api/v1/suggestions",status="500"' in c.get("/metrics").text


def test_selector_values_cannot_inject_promql(api: TestClient) -> None:
    evil = 'pod="x\\"} or vector(1) {a=\\""'
    r = api.get("/api/v1/suggestions", params={"target": CPU, "selector": evil})
    assert r.status_code == 200
    body = r.json()
    assert body["suggestions"] == [] and body["missing"][0] == {"name": CPU, "reason": "no data"}
    assert body["selector"] == evil


def test_a_target_with_too_many_series_asks_for_a_narrower_selector(prometheus: Prometheus) -> None:
    with client(prometheus.url, max_series=0) as c:
        body = json_error(c.get("/api/v1/suggestions", params={"target": CPU}), 422)
    assert "narrow the selector" in body["error"]


def test_bearer_token(prometheus: Prometheus) -> None:
    with client(prometheus.url, token="s3cret") as c:
        json_error(c.get("/api/v1/suggestions", params={"target": CPU}), 401)
        json_error(c.get("/openapi.json", headers={"Authorization": "Bearer wrong"}), 401)
        json_error(c.get("/openapi.json", headers={"Authorization": "Basic s3cret"}), 401)
        json_error(c.get("/openapi.json", headers={"Authorization": "s3cret"}), 401)
        for scheme in ("Bearer", "bearer", "BEARER"):
            good = {"Authorization": f"{scheme} s3cret"}
            assert c.get("/api/v1/suggestions", params={"target": CPU}, headers=good).is_success
        assert c.get("/healthz").is_success and c.get("/metrics").is_success


# ---------------------------------------------------------------- faults


def test_prometheus_stopped_then_back(own_prometheus: Prometheus) -> None:
    # a generous deadline: a stopped upstream is refused at once, and the analyses before and after it are real
    # ones that a loaded machine may keep past a few seconds (a 504 would not be what this test is about)
    with client(own_prometheus.url, timeout=30, cache_size=0) as c:
        assert c.get("/api/v1/suggestions", params={"target": CPU}).status_code == 200
        assert c.get("/readyz").json() == {"status": "ready"}
        own_prometheus.stop()
        body = json_error(c.get("/api/v1/suggestions", params={"target": CPU}), 503)
        assert "connection refused" in body["error"]
        json_error(c.get("/api/v1/matrix", params={"signals": f"{CPU},{NET}"}), 503)
        json_error(c.get("/api/v1/correlations.yaml"), 503)
        assert "connection refused" in json_error(c.get("/readyz"), 503)["error"]
        assert c.get("/healthz").json() == {"status": "ok"}
        assert 'stereo_correlation_upstream_errors_total{kind="unavailable"}' in c.get("/metrics").text
        own_prometheus.start()
        r = c.get("/api/v1/suggestions", params={"target": CPU})
        assert r.status_code == 200 and r.json()["suggestions"][0]["name"] == NET
        assert c.get("/readyz").json() == {"status": "ready"}


def test_slow_prometheus_is_504_on_every_endpoint(fake_slow_prometheus: FakePrometheus) -> None:
    fake_slow_prometheus.delay = 30
    with client(fake_slow_prometheus.url, timeout=1, cache_size=0) as c:
        json_error(c.get("/api/v1/suggestions", params={"target": CPU}), 504)
        json_error(c.get("/api/v1/matrix", params={"signals": f"{CPU},{NET}"}), 504)
        json_error(c.get("/api/v1/correlations.yaml"), 504)
        assert c.get("/healthz").status_code == 200
        fake_slow_prometheus.release.set()  # wake the requests still sleeping in the fake
        fake_slow_prometheus.mode = "proxy"
        # recovered: no slot is still held by the slow queries (well before their 30 s delay would free them); on
        # a loaded machine a cold analysis may itself pass the 1 s deadline, a plain 504 that is asked again
        deadline = time.monotonic() + 20
        while True:
            r = c.get("/api/v1/suggestions", params={"target": CPU})
            if r.status_code == 200 or time.monotonic() > deadline:
                break
            assert "already in flight" not in json_error(r, 504)["error"]
        assert r.status_code == 200 and r.json()["suggestions"][0]["name"] == NET


@pytest.mark.parametrize("mode", ["error500", "garbage", "shape"])
def test_prometheus_answering_badly_is_502(fake_prometheus: FakePrometheus, mode: str) -> None:
    fake_prometheus.mode = mode
    with client(fake_prometheus.url, timeout=30, cache_size=0) as c:  # generous, as above
        body = json_error(c.get("/api/v1/suggestions", params={"target": CPU}), 502)
        assert fake_prometheus.url in body["error"]
        fake_prometheus.mode = "proxy"
        assert c.get("/api/v1/suggestions", params={"target": CPU}).json()["suggestions"][0]["name"] == NET


def test_requests_keep_being_served_during_a_slow_upstream(fake_slow_prometheus: FakePrometheus) -> None:
    """While six matrix requests wait on an upstream that holds every query until released, /healthz and
    /metrics answer, correctly, and the held requests are still in flight when they do (checked by state and
    order, not by a clock); once released, all six are answered."""
    fake_slow_prometheus.delay = 120
    others = ["container_memory_working_set", "pod_network_transmit_bytes", "service_request_rate",
              "service_latency_p99", "node_cpu_utilisation", "container_cpu_throttling_ratio"]
    with client(fake_slow_prometheus.url, timeout=150, cache_size=0, max_concurrency=2) as c, \
            ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(c.get, "/api/v1/matrix", params={"signals": f"{CPU},{o}"}) for o in others]
        wait_for(lambda: fake_slow_prometheus.in_flight == 2, "two queries held by the upstream")
        assert c.get("/healthz").json() == {"status": "ok"}
        assert "stereo_correlation_upstream_in_flight 2.0" in c.get("/metrics").text
        assert fake_slow_prometheus.in_flight == 2 and not any(f.done() for f in futures)
        fake_slow_prometheus.mode = "proxy"
        fake_slow_prometheus.release.set()
        answers = [f.result(timeout=120) for f in futures]
    assert [a.status_code for a in answers] == [200] * 6
    assert fake_slow_prometheus.max_in_flight == 2


def wait_for(condition: Callable[[], bool], what: str, limit: float = 60) -> None:
    """Poll `condition` until it holds; fail naming `what` after a deadline generous for a loaded machine."""
    end = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < end, f"timed out waiting for: {what}"
        time.sleep(0.02)


# ---------------------------------------------------------------- the real process


def test_stereo_serve_process(prometheus: Prometheus, tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("s3cret\n", encoding="utf-8")
    with serving(prometheus.url, tmp_path, "--token-file", str(token)) as served:
        base = served.url
        assert requests.get(f"{base}/api/v1/suggestions", params={"target": CPU}, timeout=10).status_code == 401
        r = requests.get(f"{base}/api/v1/suggestions", params={"target": CPU, "selector": SHOP},
                         headers={"Authorization": "Bearer s3cret"}, timeout=10)
        assert r.status_code == 200 and r.json()["suggestions"][0]["name"] == NET
    assert f"listening on http://127.0.0.1:{served.port}" in served.log_text()
