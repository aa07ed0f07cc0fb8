"""The explorer page at `/` of the real `stereo serve` process, in Debian's headless Chromium (Selenium +
chromedriver), against a real Prometheus holding the planted pair. Screenshots go to the test's tmp dir (and to
.cache/screenshots/ when STEREO_SCREENSHOTS=1); console errors fail the test."""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
import requests
from promlab import CLUSTER, NAMESPACE, PLANTED, Prometheus, free_port

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

CPU, NET = PLANTED
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
WAIT = 90  # seconds: the machine is shared and busy
ROOT = Path(__file__).resolve().parents[2]


class Serve:
    """The real `stereo serve` on a free port, stopped by pid."""

    def __init__(self, prometheus_url: str, workdir: Path, *extra: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = workdir / f"serve-{self.port}.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "generator", "serve", "--prometheus", prometheus_url, "--listen",
                 f"127.0.0.1:{self.port}", "--log-level", "warning", "--timeout", "60s", *extra],
                cwd=workdir, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env={**os.environ, "PYTHONPATH": str(ROOT)})
        limit = time.monotonic() + 180  # generous: a busy machine
        while True:
            try:
                if requests.get(f"{self.url}/healthz", timeout=2).ok:
                    return
            except requests.RequestException:
                pass
            if self.proc.poll() is not None or time.monotonic() > limit:
                self.stop()
                raise RuntimeError(f"stereo serve did not come up: {self.log.read_text()[-2000:]}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


@pytest.fixture(scope="module")
def serve(prometheus: Prometheus, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    s = Serve(prometheus.url, tmp_path_factory.mktemp("serve"))
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    if not (Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()):
        pytest.skip("chromium and chromedriver are not installed (tools/setup-test-deps.sh)")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--disable-dev-shm-usage", f"--user-data-dir={tmp_path / 'chromium-profile'}",
                 "--window-size=1280,800"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(WAIT)
    try:
        yield driver
    finally:
        driver.quit()


def viewport(driver: Any, width: int, height: int, mobile: bool = False) -> None:
    """The page's viewport exactly this size (a window's size includes the browser's own bars)."""
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": width, "height": height,
                                                                   "deviceScaleFactor": 1, "mobile": mobile})


def until(driver: Any, what: str, cond: Callable[[Any], Any]) -> Any:
    def safe(d: Any) -> Any:
        try:
            return cond(d)
        except StaleElementReferenceException:
            return False

    return WebDriverWait(driver, WAIT, poll_frequency=0.2).until(safe, message=f"timed out waiting for {what}")


def screenshot(driver: Any, tmp_path: Path, name: str) -> list[Path]:
    """What the window shows (`NAME.png`) and the whole page (`NAME-full.png`), in the test's tmp dir (and in
    .cache/screenshots/ when STEREO_SCREENSHOTS=1)."""
    view, full = tmp_path / f"{name}.png", tmp_path / f"{name}-full.png"
    driver.save_screenshot(str(view))
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    full.write_bytes(base64.b64decode(shot["data"]))
    if os.environ.get("STEREO_SCREENSHOTS"):
        keep = ROOT / ".cache" / "screenshots"
        keep.mkdir(parents=True, exist_ok=True)
        for path in (view, full):
            shutil.copy(path, keep / path.name)
    assert view.stat().st_size > 5000 and full.stat().st_size > 5000
    return [view, full]


def console_errors(driver: Any, allowed: tuple[str, ...] = ()) -> list[str]:
    """SEVERE console entries, except network failures with one of the `allowed` statuses (the test expects)."""
    out = []
    for entry in driver.get_log("browser"):
        if entry["level"] != "SEVERE":
            continue
        if entry.get("source") == "network" and any(f"status of {s}" in entry["message"] for s in allowed):
            continue
        out.append(entry["message"])
    return out


def choose(driver: Any, select_id: str, value: str) -> None:
    until(driver, f"option {value!r} in #{select_id}", lambda d: d.find_element(
        By.CSS_SELECTOR, f"#{select_id}:not([disabled]) option[value='{value}']"))
    Select(driver.find_element(By.ID, select_id)).select_by_value(value)


def first_rows(driver: Any) -> list[str]:
    rows = driver.find_elements(By.CSS_SELECTOR, "#related-table tbody tr")
    return [r.get_attribute("data-name") for r in rows]


def wait_measured(driver: Any, status_part: str = "significant of") -> None:
    until(driver, "the measurement", lambda d: status_part in d.find_element(By.ID, "status").text
          and "loading" not in d.find_element(By.ID, "related").get_attribute("class"))


def wait_drawn(driver: Any) -> None:
    until(driver, "the heatmap", lambda d: d.find_elements(By.CSS_SELECTOR, "#heatmap-svg rect.cell"))
    until(driver, "the pair chart", lambda d: len(d.find_elements(By.CSS_SELECTOR, "#pair-svg path.series")) >= 2)


# ---------------------------------------------------------------- the planted pair, seen as a person sees it


def test_choosing_the_target_lists_the_planted_partner_first(serve: Serve, browser: Any, tmp_path: Path) -> None:
    d = browser
    viewport(d, 1280, 800)
    d.get(serve.url + "/")
    assert d.title == "Stereo · correlation explorer"
    choose(d, "target", CPU)
    choose(d, "namespace", NAMESPACE)  # the pickers are filled from the live Prometheus
    until(d, "the namespace in the URL", lambda d: f"namespace={NAMESPACE}" in d.current_url)
    wait_measured(d)
    assert first_rows(d)[0] == NET
    assert "scope namespace=\"shop\"" in d.find_element(By.ID, "status").text
    # the pickers below the namespace refill in parallel with the measurement (a loaded machine may finish either
    # first): waited for, not read at once
    options = lambda d, level: [o.get_attribute("value") for o in Select(d.find_element(By.ID, level)).options]  # noqa: E731
    until(d, "the pods of the namespace", lambda d: options(d, "pod") == ["", "web-1"])
    until(d, "the clusters", lambda d: options(d, "cluster") == ["", CLUSTER])

    # the table shows what the API measured, to two decimals
    api = requests.get(f"{serve.url}/api/v1/suggestions", timeout=30,
                       params={"target": CPU, "selector": f'namespace="{NAMESPACE}"', "k": 25}).json()
    top = api["suggestions"][0]
    cells = d.find_elements(By.CSS_SELECTOR, "#related-table tbody tr:first-child td")
    assert cells[2].text == f"{top['rho']:.2f}" and cells[3].text == str(top["n"]) and float(cells[2].text) > 0.7
    # the list holds what is significant at |ρ| ≥ 0.3 (the floor the alerts use); the decoys wait, folded, below
    floor = requests.get(f"{serve.url}/api/v1/signals", timeout=30).json()["min_rho"]
    strong = [r["name"] for r in api["suggestions"] if abs(r["rho"]) >= max(floor, r["critical"] or 0)]
    assert floor == 0.3 and first_rows(d) == strong and NET in strong
    assert d.find_elements(By.CSS_SELECTOR, "#related-table tbody tr.weak") == []
    weaker = d.find_element(By.ID, "weaker")
    assert weaker.get_attribute("open") is None and "weaker pairs (not significant, or |ρ| below 0.3)" in weaker.text
    decoys = weaker.find_elements(By.CSS_SELECTOR, "#weaker-table tbody tr.weak")
    assert len(decoys) == len(api["suggestions"]) + len(api["not_significant"]) - len(strong) >= 5
    measured = {r["name"]: r for r in api["suggestions"] + api["not_significant"]}
    for name in (r.get_attribute("data-name") for r in decoys):
        row = measured[name]
        assert not row["significant"] or abs(row["rho"]) < max(floor, row["critical"] or 0), row

    wait_drawn(d)
    heat = d.find_elements(By.CSS_SELECTOR, "#heatmap-svg rect.cell")
    names = 1 + len(d.find_elements(By.CSS_SELECTOR, "#related input:checked"))
    assert len(heat) == names * names and names >= 3
    rhos = [c.get_attribute("data-rho") for c in heat]
    assert rhos[0] == "1" and float(rhos[1]) > 0.7  # target × itself, target × the planted partner
    outlined = [c for c in heat if c.get_attribute("stroke") != "none"]
    assert len(outlined) == 2  # only the planted pair is significant (both directions)

    paths = d.find_elements(By.CSS_SELECTOR, "#pair-svg path.series")
    sides = {p.get_attribute("class").split()[1]: int(p.get_attribute("data-points")) for p in paths}
    assert sides["a"] >= 300 and sides["b"] >= 300  # both series over the 6h window at 1m
    labels = " ".join(t.text for t in d.find_elements(By.CSS_SELECTOR, "#pair-svg text"))
    assert "cores" in labels and "kB/s" in labels  # real units on both axes
    links = {a.text: a.get_attribute("href") for a in d.find_elements(By.CSS_SELECTOR, "#pair-links a")}
    assert links["Grafana pair view"].startswith("http://localhost:3000/d/stereo-pair/pair?var-a=container_cpu_usage")
    assert links["workloads dashboard"].startswith("http://localhost:3000/d/stereo-workloads?var-namespace=shop")

    # the regimes the API found for the pair's object are shaded, as many as it names
    findings = [f for f in api["findings"] if {f["a"], f["b"]} == {CPU, NET} and f["phase"]
                and f["scope"] == next(g["scope"] for g in api["findings"]
                                       if {g["a"], g["b"]} == {CPU, NET} and g["phase"] is None)]
    shaded = d.find_elements(By.CSS_SELECTOR, "#pair-svg rect.phase")
    assert sorted(r.get_attribute("class").split()[1] for r in shaded) == sorted(f["phase"] for f in findings)
    badges = d.find_elements(By.CSS_SELECTOR, "#related-table tbody tr:first-child td.regimes .badge")
    assert len(badges) == len(findings) + sum(1 for f in findings if f["change"])
    assert d.execute_script("return document.documentElement.scrollWidth") <= 1280  # no sideways scrolling
    screenshot(d, tmp_path, "explorer-1280")

    # a weaker row, once unfolded: the chart follows the choice
    weaker.find_element(By.TAG_NAME, "summary").click()
    rows = d.find_elements(By.CSS_SELECTOR, "#weaker-table tbody tr")
    # the click event on the cell itself (not at screen coordinates, which a late layout shift can move)
    d.execute_script("arguments[0].click()", rows[0].find_element(By.CSS_SELECTOR, "td:nth-child(2)"))
    second, third = [r.get_attribute("data-name") for r in rows[:2]]
    try:
        until(d, "the second pair", lambda d: state_title(d, second))
    except TimeoutException:  # say what the page showed (two loaded CI runs timed out here)
        chosen = d.execute_script("return (document.querySelector('#related tr.chosen') || {}).dataset.name")
        pair = d.find_element(By.ID, "pair")
        raise AssertionError(f"chosen {chosen!r}, pair box {pair.get_attribute('class')!r}: {pair.text[:300]!r}; "
                             f"console {console_errors(d)}") from None
    wait_drawn(d)
    assert state_title(d, second) and second in d.find_element(By.CSS_SELECTOR, "#pair-svg path.series.b title") \
        .get_attribute("textContent")
    rows[1].send_keys(Keys.ENTER)  # and from the keyboard
    until(d, "the third pair", lambda d: state_title(d, third))
    assert console_errors(d) == []

    # a target without data in the scope says so
    choose(d, "target", "apiserver_request_rate")
    try:
        until(d, "the empty target", lambda d: "no data in this scope" in d.find_element(By.ID, "status").text)
    except TimeoutException:  # say what the page showed instead (one loaded CI run timed out here)
        raise AssertionError(f"status {d.find_element(By.ID, 'status').text!r}, related "
                             f"{d.find_element(By.ID, 'related').text[:300]!r}; console {console_errors(d)}") from None
    assert d.find_element(By.ID, "status").text.startswith("Request rate: no data in this scope and window")
    assert "Nothing could be compared" in d.find_element(By.ID, "related").text


def state_title(d: Any, name: str) -> bool:
    title = d.execute_script("return (document.querySelector('#related tr.chosen') || {}).dataset.name")
    return title == name and "loading" not in d.find_element(By.ID, "pair").get_attribute("class")


def test_phone_width_preset_from_the_url(serve: Serve, browser: Any, tmp_path: Path) -> None:
    d = browser
    viewport(d, 390, 844, mobile=True)
    d.get(f"{serve.url}/?target={CPU}&namespace={NAMESPACE}&window=6h")
    wait_measured(d)
    assert d.execute_script("return window.innerWidth") == 390
    assert 'scope namespace="shop"' in d.find_element(By.ID, "status").text  # measured in the preset scope
    assert first_rows(d)[0] == NET
    assert Select(d.find_element(By.ID, "namespace")).first_selected_option.get_attribute("value") == NAMESPACE
    wait_drawn(d)
    inner = d.execute_script("return window.innerWidth")
    assert d.execute_script("return document.documentElement.scrollWidth") <= inner  # no sideways scrolling
    for box in ("controls", "related", "heatmap", "pair"):
        rect = d.find_element(By.ID, box).rect
        assert rect["x"] >= 0 and rect["x"] + rect["width"] <= inner, box
    screenshot(d, tmp_path, "explorer-390")
    assert console_errors(d) == []


# ---------------------------------------------------------------- faults, hostile input and the token


def test_a_hostile_target_in_the_url_is_shown_as_text(serve: Serve, browser: Any, tmp_path: Path) -> None:
    d = browser
    hostile = '<img src=x onerror="document.title=1">'
    d.get(f"{serve.url}/?target={quote(hostile)}&namespace={quote(chr(34) + '})')}")
    until(d, "the refusal", lambda d: "Unknown signal" in d.find_element(By.ID, "status").text)
    assert d.find_element(By.ID, "status").text == f"Unknown signal {json.dumps(hostile)}: choose a target signal."
    assert d.find_elements(By.TAG_NAME, "img") == [] and d.title == "Stereo · correlation explorer"
    assert console_errors(d) == []



def test_prometheus_unreachable_is_a_readable_message(browser: Any, tmp_path: Path) -> None:
    s = Serve(f"http://127.0.0.1:{free_port()}", tmp_path)  # nothing listens there
    try:
        d = browser
        viewport(d, 1280, 800)
        d.get(f"{s.url}/?target={CPU}")
        until(d, "the error", lambda d: "error" in d.find_element(By.ID, "status").get_attribute("class"))
        for level in ("cluster", "namespace", "pod"):
            until(d, f"#{level} given up", lambda d, level=level: d.find_element(
                By.CSS_SELECTOR, f"#{level} option").text == "(all — values unavailable)")
        status = d.find_element(By.ID, "status").text
        assert status.startswith("Prometheus is unreachable: cannot connect to http://127.0.0.1:"), status
        assert "Prometheus is unreachable" in d.find_element(By.CSS_SELECTOR, "#related .error").text
        screenshot(d, tmp_path, "explorer-prometheus-down")
        assert console_errors(d, allowed=("503",)) == []
    finally:
        s.stop()


def test_token_protected_service_asks_for_the_token(prometheus: Prometheus, browser: Any, tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("s3cret-token\n", encoding="utf-8")
    s = Serve(prometheus.url, tmp_path, "--token-file", str(secret))
    try:
        d = browser
        viewport(d, 1280, 800)
        d.get(s.url + "/")
        until(d, "the login form", lambda d: d.find_element(By.ID, "login").is_displayed())
        assert not d.find_element(By.ID, "main").is_displayed()
        d.find_element(By.ID, "token").send_keys("wrong")
        d.find_element(By.CSS_SELECTOR, "#login button").click()
        until(d, "the refusal", lambda d: d.find_element(By.ID, "login-error").text == "The token was refused.")
        d.find_element(By.ID, "token").send_keys("s3cret-token")
        d.find_element(By.CSS_SELECTOR, "#login button").click()
        choose(d, "target", CPU)
        wait_measured(d)
        assert first_rows(d)[0] == NET
        assert d.execute_script("return sessionStorage.getItem('stereo.token')") == "s3cret-token"
        d.refresh()  # the token survives a reload of the tab
        until(d, "the target list", lambda d: d.find_elements(By.CSS_SELECTOR, f"#target option[value='{CPU}']"))
        assert not d.find_element(By.ID, "login").is_displayed()
        screenshot(d, tmp_path, "explorer-token")
        assert console_errors(d, allowed=("401",)) == []
    finally:
        s.stop()


# ---------------------------------------------------------------- expected pairs, partial objects, derived ones


NET_TX, RPS, MEM = "pod_network_transmit_bytes", "service_request_rate", "container_memory_working_set"
LIMITS, NS_CPU = "container_cpu_limits_ratio", "namespace_cpu_usage"
RECORDED = {CPU: "cluster_namespace_pod:container_cpu_usage_seconds:rate5m",
            NET: "cluster_namespace_pod:container_network_receive_bytes:rate5m",
            NET_TX: "cluster_namespace_pod:container_network_transmit_bytes:rate5m",
            RPS: "namespace_pod:http_requests:rate5m",
            MEM: "cluster_namespace_pod:container_memory_working_set_bytes:sum",
            LIMITS: "cluster_namespace_pod_container:container_cpu_usage_over_limits:ratio_rate5m",
            NS_CPU: "cluster_namespace:container_cpu_usage_seconds:rate5m"}
LEVEL = {CPU: (1.0, 0.02), NET: (2e5, 4e3), NET_TX: (1e5, 2e3), RPS: (50.0, 1.0), MEM: (3e8, 1e6)}


def rollout_series(points: int) -> list[tuple[str, dict[str, str], list[float], int]]:
    """(signal, labels, values, index of the first point) of a cluster Stereo did not plan (fixed seed):
    shop/web-1's received bytes, requests and sent bytes share one traffic (expected pairs), its CPU follows that
    traffic loosely (the unexpected partner); shop/web-2 is created 60 % into the window and its memory follows
    its traffic (a partial object); edge/proxy-0 has traffic only (every partner expected); batch/job-0's CPU
    moves with its usage/limit ratio and its namespace's sum only (derived); solo/one-0 has CPU and its ratio;
    quiet/q-0's received and sent bytes are independent noise (an expected pair that is weak)."""
    import numpy as np

    rng = np.random.default_rng(20261207)

    def walk(shared: Any, noise: float) -> Any:
        return np.cumsum(shared + noise * rng.normal(size=shared.size))

    out: list[tuple[str, dict[str, str], list[float], int]] = []

    def add(sig: str, ns: str, pod: str, v: Any, first: int = 0, **extra: str) -> None:
        base, scale = LEVEL.get(sig, (0.0, 1.0))
        labels = {"cluster": CLUSTER, "namespace": ns, **({"pod": pod} if pod else {}), **extra}
        out.append((sig, labels, (base + scale * v).tolist(), first))

    calm = np.zeros(points)
    t = rng.normal(size=points)
    for sig, noise in ((NET, 0.15), (RPS, 0.15), (NET_TX, 0.15), (CPU, 0.7)):
        add(sig, "shop", "web-1", walk(t, noise))
    add(MEM, "shop", "web-1", walk(calm, 1.0))
    late = int(points * 0.6)
    w = rng.normal(size=points - late)
    add(NET, "shop", "web-2", walk(w, 0.2), late)
    add(MEM, "shop", "web-2", walk(w, 0.9), late)
    t = rng.normal(size=points)
    for sig in (NET, RPS, NET_TX):
        add(sig, "edge", "proxy-0", walk(t, 0.2))
    for sig in (CPU, MEM):
        add(sig, "edge", "proxy-0", walk(calm, 1.0))
    for ns, pod, others in (("batch", "job-0", (MEM, NET)), ("solo", "one-0", ())):
        cpu = 1.0 + 0.02 * walk(calm, 1.0)
        out.append((CPU, {"cluster": CLUSTER, "namespace": ns, "pod": pod}, cpu.tolist(), 0))
        add(LIMITS, ns, pod, cpu / 2, container="main")
        if others:
            add(NS_CPU, ns, "", cpu)
        for sig in others:
            add(sig, ns, pod, walk(calm, 1.0))
    for sig in (NET, NET_TX):  # quiet/q-0: two traffic volumes that do not move together (a weak expected pair)
        add(sig, "quiet", "q-0", rng.normal(size=points))
    return out


@pytest.fixture(scope="module")
def rollout(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Serve]:
    """A real Prometheus holding `rollout_series` (backfilled with promtool), and `stereo serve` over it."""
    from generator.simulate import prometheus as runner

    if shutil.which("promtool") is None or shutil.which("prometheus") is None:
        pytest.skip("prometheus and promtool are not installed")
    work = tmp_path_factory.mktemp("rollout")
    step, points = 60, 7 * 60 + 1
    end = int(time.time()) // step * step
    by: dict[str, list[str]] = {}
    for sig, labels, values, first in rollout_series(points):
        sel = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        start = end - (points - 1) * step + first * step
        by.setdefault(RECORDED[sig], []).extend(f"{RECORDED[sig]}{{{sel}}} {v!r} {start + i * step}"
                                                for i, v in enumerate(values))
    lines = [line for metric, rows in by.items() for line in (f"# TYPE {metric} gauge", *rows)]
    (work / "rollout.om").write_text("\n".join([*lines, "# EOF"]) + "\n", encoding="utf-8")
    runner.backfill(work / "rollout.om", work / "blocks")
    prom = Prometheus(work / "blocks", work / "prometheus")
    try:
        prom.start()
        s = Serve(prom.url, work)
        try:
            yield s
        finally:
            s.stop()
    finally:
        prom.stop()


def tag_texts(driver: Any, kind: str) -> dict[str, str]:
    """Row name → the text of its `kind` tag, in the related list."""
    out = {}
    for row in driver.find_elements(By.CSS_SELECTOR, "#related-table tbody tr"):
        found = row.find_elements(By.CSS_SELECTOR, f".tag.{kind}")
        if found:
            assert found[0].is_displayed()
            out[row.get_attribute("data-name")] = found[0].text
    return out


def test_expected_pairs_and_partial_objects_are_marked(rollout: Serve, browser: Any, tmp_path: Path) -> None:
    d = browser
    # the page and the API measure one pinned window: unpinned, a minute passing between the two moves the window
    # and the late pod's present points with it
    end = int(time.time())
    api = requests.get(f"{rollout.url}/api/v1/suggestions", timeout=60,
                       params={"target": NET, "selector": 'namespace="shop"', "k": 25, "end": end}).json()
    assert end - 600 < api["end"] <= end  # aligned to the step
    whole = {(f["b"] if f["a"] == NET else f["a"]): f for f in api["findings"] if f["phase"] is None}
    # what the API measured on this cluster: two unexpected partners (one on the late pod), two expected ones after
    order = [r["name"] for r in api["suggestions"]]
    assert {*order[:2]} == {CPU, MEM} and {*order[2:]} == {NET_TX, RPS}
    assert [whole[n]["expected"] for n in order] == [False, False, True, True]
    assert min(whole[n]["rho"] for n in order[2:]) > max(whole[n]["rho"] for n in order[:2])  # yet after
    late = whole[MEM]
    assert late["partial"] and late["scope"]["pod"] == "web-2" and late["present"] < 0.8 * late["points"]
    assert not any(whole[n]["partial"] for n in (CPU, NET_TX, RPS))

    for width, height in ((1280, 800), (390, 844)):
        viewport(d, width, height, mobile=width < 500)
        d.get(f"{rollout.url}/?target={NET}&namespace=shop&window=6h&end={end}")
        wait_measured(d)
        assert first_rows(d) == order  # as the API orders them: the expected ones last
        pinned = datetime.fromtimestamp(api["end"], UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert f"window 6h ending {pinned} at " in d.find_element(By.ID, "status").text
        assert f"end={end}" in d.current_url  # the page's own URL keeps the pinned window
        assert tag_texts(d, "expected") == {NET_TX: "expected: same traffic", RPS: "expected: same traffic"}
        assert tag_texts(d, "partial") == {MEM: f"web-2 present {late['present']}/{late['points']} points — "
                                                "replaced, created or deleted during the window"}
        n_cell = d.find_element(By.CSS_SELECTOR, f"#related-table tr[data-name='{MEM}'] td:nth-child(4)")
        assert n_cell.text == str(late["n"]) == str(late["present"])  # the low n the tag explains
        assert "4 at |ρ| ≥ 0.3 (2 expected)" in d.find_element(By.ID, "status").text
        assert not d.find_elements(By.ID, "related-summary")  # unexpected partners listed: no excuse needed
        inner = d.execute_script("return window.innerWidth")
        assert d.execute_script("return document.documentElement.scrollWidth") <= inner  # no sideways scrolling
        for tag in d.find_elements(By.CSS_SELECTOR, "#related-table .tag"):
            rect = tag.rect
            assert rect["x"] >= 0 and rect["x"] + rect["width"] <= inner and rect["height"] < 60, tag.text
        wait_drawn(d)
        screenshot(d, tmp_path, f"explorer-expected-partial-{width}")
    assert console_errors(d) == []


def test_a_weak_expected_pair_is_tagged_in_the_weaker_fold(rollout: Serve, browser: Any, tmp_path: Path) -> None:
    """The suggestion rows carry `expected` themselves: a pair too weak to have an object finding is still
    tagged when the weaker pairs are unfolded."""
    d = browser
    end = int(time.time())  # one window for the API and the page, as above
    api = requests.get(f"{rollout.url}/api/v1/suggestions", timeout=60,
                       params={"target": NET, "selector": 'namespace="quiet"', "k": 25, "end": end}).json()
    rows = {r["name"]: r for r in api["suggestions"] + api["not_significant"]}
    assert rows[NET_TX]["expected"] is True and abs(rows[NET_TX]["rho"]) < 0.3
    assert not any(NET_TX in (f["a"], f["b"]) for f in api["findings"])  # no finding to take the flag from
    viewport(d, 1280, 800)
    d.get(f"{rollout.url}/?target={NET}&namespace=quiet&window=6h&end={end}")
    wait_measured(d)
    assert first_rows(d) == []
    weaker = d.find_element(By.ID, "weaker")
    weaker.find_element(By.TAG_NAME, "summary").click()
    row = d.find_element(By.CSS_SELECTOR, f"#weaker-table tbody tr[data-name='{NET_TX}']")
    tag = row.find_element(By.CSS_SELECTOR, ".tag.expected")
    assert tag.is_displayed() and tag.text == "expected: same traffic"
    assert row.get_attribute("class").split() == ["weak"]
    screenshot(d, tmp_path, "explorer-weak-expected")
    assert console_errors(d) == []


def test_only_expected_or_derived_partners_are_said_in_a_sentence(rollout: Serve, browser: Any,
                                                                 tmp_path: Path) -> None:
    d = browser
    viewport(d, 1280, 800)
    signals = requests.get(f"{rollout.url}/api/v1/signals", timeout=30).json()["signals"]
    titles = {s["name"]: s["title"] for s in signals}

    # every partner listed is expected: a sentence says so above them
    d.get(f"{rollout.url}/?target={RPS}&namespace=edge&window=6h")
    wait_measured(d)
    assert sorted(first_rows(d)) == sorted([NET, NET_TX])
    assert sorted(tag_texts(d, "expected")) == sorted([NET, NET_TX])
    summary = d.find_element(By.ID, "related-summary")
    assert summary.is_displayed() and summary.text == ("Only expected pairs move with this target here (the same "
                                                       "traffic measured twice): nothing unexpected at |ρ| ≥ 0.3.")
    screenshot(d, tmp_path, "explorer-only-expected")

    # only derived partners move with it (left out of the list): named, instead of a bare 'nothing'
    d.get(f"{rollout.url}/?target={CPU}&namespace=batch&window=6h")
    wait_measured(d)
    until(d, "the derived partners", lambda d: d.find_element(By.ID, "related-summary").get_attribute("data-derived"))
    summary = d.find_element(By.ID, "related-summary")
    assert sorted(summary.get_attribute("data-derived").split(",")) == [LIMITS, NS_CPU]
    names = summary.text.rsplit(": ", 1)[1].rstrip(".").split(", ")
    assert sorted(names) == sorted([titles[LIMITS], titles[NS_CPU]])
    assert summary.text.startswith("No signal moves with this target here at |ρ| ≥ 0.3 (significant). Derived "
                                   "signals (the same data by definition) are left out: ")
    assert first_rows(d) == [] and d.find_element(By.ID, "weaker")  # the measured ones wait, folded
    screenshot(d, tmp_path, "explorer-only-derived")

    # nothing but a derived partner has data in the scope
    d.get(f"{rollout.url}/?target={CPU}&namespace=solo&window=6h")
    until(d, "the derived partner", lambda d: d.find_elements(By.CSS_SELECTOR, "#related-summary[data-derived]"))
    assert d.find_element(By.ID, "related-summary").text == (
        f"Only derived signals move with this target here — the same data by definition, so they are left out: "
        f"{titles[LIMITS]}.")
    assert console_errors(d) == []
