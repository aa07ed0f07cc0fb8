"""The explorer's helpers (/, its assets, /api/v1/signals, /labels, /series) through FastAPI's TestClient,
against the real Prometheus with the planted data."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from promlab import CLUSTER, NAMESPACE, PLANTED, POD, Prometheus, free_port

from generator.correlate.explorer import CSP
from generator.correlate.server import Settings, create_app

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

CPU, NET = PLANTED
AUTH = {"Authorization": "Bearer t0ken"}


@pytest.fixture(scope="module")
def api(prometheus: Prometheus) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(prometheus.url, token="t0ken", timeout=60))) as c:
        yield c


def ok(r: Any) -> Any:
    assert r.status_code == 200, r.text
    return r.json()


def test_the_page_and_its_assets_need_no_token_the_data_does(api: TestClient) -> None:
    page = api.get("/")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    assert page.headers["content-security-policy"] == CSP and "script-src 'self'" in CSP
    assert '<script type="module" src="/static/explorer/explorer.js"></script>' in page.text
    assert "http://" not in page.text and "https://" not in page.text  # nothing from elsewhere
    assets = (("explorer.js", "text/javascript"), ("draw.js", "text/javascript"), ("explorer.css", "text/css"),
              ("favicon.svg", "image/svg"))
    for name, media in assets:
        r = api.get(f"/static/explorer/{name}")
        assert r.status_code == 200 and r.headers["content-type"].startswith(media) and r.content
        assert b"https://" not in r.content.replace(b"http://www.w3.org/2000/svg", b"")
    assert api.head("/").status_code == 200 and api.head("/").content == b""
    assert api.post("/").status_code == 401  # only GET/HEAD of the page are public
    assert api.get("/static/explorer/nothing.js").status_code == 401
    assert api.get("/api/v1/signals").status_code == 401


def test_signals_carry_units_homes_and_dashboard_links(api: TestClient) -> None:
    body = ok(api.get("/api/v1/signals", headers=AUTH))
    assert body["grafana_url"] == "http://localhost:3000" and body["cluster_label"] == "cluster"
    assert body["min_rho"] == 0.3  # the list's |ρ| floor: the alerts' and runbooks' (correlations.LIST_MIN_RHO)
    by = {s["name"]: s for s in body["signals"]}
    assert by[CPU]["unit"] == "cores" and by[NET]["unit"] == "Bps" and by[CPU]["home"] == "workloads"
    assert by[CPU]["dashboard"] == "http://localhost:3000/d/stereo-workloads"
    assert by[CPU]["labels"] == ["cluster", "namespace", "pod"]


@pytest.mark.parametrize(("label", "selector", "values"), [
    ("cluster", None, [CLUSTER]),
    ("namespace", f'cluster="{CLUSTER}"', [NAMESPACE]),
    ("pod", f'namespace="{NAMESPACE}"', [POD]),
    ("pod", 'pod=~"web-.*"', [POD]),  # a regex matcher, applied by RE2 to the answer
    ("pod", 'pod!~"web-.*"', []),
    ("namespace", 'cluster="elsewhere"', []),
    ("namespace", 'namespace="shop\\"}) or vector(1) #"', []),  # the value stays a value
])
def test_label_values_where_the_target_has_data(api: TestClient, label: str, selector: str | None,
                                                values: list[str]) -> None:
    body = ok(api.get("/api/v1/labels", headers=AUTH, params={"label": label, "target": CPU, "selector": selector}))
    assert body == {"label": label, "values": values, "complete": True}


def test_a_node_signal_has_no_namespaces(api: TestClient) -> None:
    body = ok(api.get("/api/v1/labels", headers=AUTH, params={"label": "namespace", "target": "node_cpu_utilisation"}))
    assert body["values"] == []


@pytest.mark.parametrize(("params", "status", "part"), [
    ({"label": "job", "target": CPU}, 400, "label: expected one of cluster, namespace, pod"),
    ({"label": "pod"}, 400, "target"),
    ({"label": "pod", "target": "container_cpu_usag"}, 404, "unknown signal"),
    ({"label": "pod", "target": CPU, "selector": 'pod=~"("'}, 400, "selector"),
    ({"label": "pod", "target": CPU, "window": "1y2"}, 400, "window"),
])
def test_bad_label_requests_are_json_4xx(api: TestClient, params: dict[str, str], status: int, part: str) -> None:
    r = api.get("/api/v1/labels", headers=AUTH, params=params)
    assert r.status_code == status and part in r.json()["error"], r.text


def test_series_of_the_planted_pair_on_one_grid(api: TestClient) -> None:
    body = ok(api.get("/api/v1/series", headers=AUTH, params={
        "signals": f"{CPU},{NET}", "selector": f'namespace="{NAMESPACE}",pod="{POD}"', "window": "6h"}))
    assert body["step"] == 60 and body["points"] == 361 and body["end"] - body["start"] == 6 * 3600
    assert [s["signal"] for s in body["signals"]] == [CPU, NET]
    for s in body["signals"]:
        (row,) = s["series"]
        assert row["labels"]["pod"] == POD and len(row["values"]) == body["points"]
        assert sum(v is not None for v in row["values"]) >= 355 and s["more"] == 0 and s["reason"] == ""
    cpu = [v for v in body["signals"][0]["series"][0]["values"] if v is not None]
    assert 0.1 < min(cpu) < max(cpu) < 2  # cores, as planted around 1.0


def test_series_bad_input_and_no_data(api: TestClient) -> None:
    r = api.get("/api/v1/series", headers=AUTH, params={"signals": ",".join([CPU] * 1 + [NET, "a", "b", "c"])})
    assert r.status_code == 400 and "1 to 4" in r.json()["error"]
    assert api.get("/api/v1/series", headers=AUTH, params={"signals": "nope"}).status_code == 404
    body = ok(api.get("/api/v1/series", headers=AUTH, params={"signals": CPU, "selector": 'pod="x\\"} or up"'}))
    assert body["signals"][0]["series"] == [] and body["signals"][0]["reason"] == "no data"


def test_prometheus_down_is_503_json() -> None:
    with TestClient(create_app(Settings(f"http://127.0.0.1:{free_port()}", timeout=10, retries=0))) as c:
        for path, params in (("/api/v1/labels", {"label": "pod", "target": CPU}), ("/api/v1/series", {"signals": CPU})):
            r = c.get(path, params=params)
            assert r.status_code == 503 and r.json()["error"].startswith("cannot connect to http://127.0.0.1:"), r.text


def test_the_findings_the_page_reads_carry_expected_and_partial_as_documented(api: TestClient) -> None:
    """The page tags rows from the object-scoped findings of /api/v1/suggestions; /api/v1/findings (which it asks
    for derived partners) serves the same objects, and its OpenAPI description names every field they carry."""
    scope = f'namespace="{NAMESPACE}"'
    body = ok(api.get("/api/v1/suggestions", headers=AUTH, params={"target": CPU, "selector": scope}))
    (whole,) = [f for f in body["findings"] if {f["a"], f["b"]} == {CPU, NET} and f["phase"] is None]
    assert whole["scope"] == {"cluster": CLUSTER, "namespace": NAMESPACE, "pod": POD}
    assert whole["expected"] is False and whole["partial"] is False  # CPU and traffic: measured, not expected
    assert whole["points"] == 360 and whole["present"] == 360 and whole["n"] <= whole["present"]  # 6h of changes
    served = ok(api.get("/api/v1/findings", headers=AUTH, params={
        "targets": CPU, "selector": scope, "derived": "true"}))
    assert whole in served
    doc = ok(api.get("/openapi.json", headers=AUTH))["paths"]["/api/v1/findings"]["get"]["responses"]["200"]
    named = doc["description"].replace("[{", "").replace("}, ...]", "").replace("window: {start, end}", "window")
    assert sorted(k.strip() for k in named.split(",")) == sorted(whole)  # the fields, no more, no fewer
