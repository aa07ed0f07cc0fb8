"""`stereo doctor` against real Prometheus 2.42 servers over simulated clusters.

Two small labs (2 nodes, 2 namespaces, 6 pods, an hour of history at one-minute steps):

- healthy: Stereo's rules loaded, the data as the simulator writes it → every check ok, exit 0; the same
  server examined with a stereo.yaml naming a wrong job for coredns → that component fails, naming the selector;
- planted: Prometheus started without rule_files, node-exporter's series written without the cluster label,
  kube-state-metrics' series written twice (also under job "kube-state-metrics-copy"), and Prometheus scraping
  its own /metrics under two jobs → each one found.

The doctor runs right after the server is ready (the newest samples are "now" only for the few minutes the
instant queries' lookback covers), and the findings are kept for the assertions.
"""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from e2e.conftest import need_prometheus
from e2e.lab import EVALUATION_INTERVAL, SMALL_LAB_INTERVAL, rule_globs, write_site

from generator import cli
from generator.simulate import run
from generator.simulate.prometheus import Prometheus, backfill
from generator.simulate.run import ClusterSpec, Simulation, Window

SPEC = ClusterSpec("doctor", nodes=2, namespaces=2, pods=6)
INTERVAL = SMALL_LAB_INTERVAL  # the healthy lab's every group (the doctor reads no interval)
HOSTILE = 'job="co\\"re\\\\dns"'  # PromQL text job="co\"re\\dns": a quote and a backslash in the value


@dataclass
class Run:
    code: int
    out: str
    err: str

    def rows(self) -> list[dict[str, str]]:
        return json.loads(self.out)

    def where(self, component: str, check: str) -> list[dict[str, str]]:
        return [r for r in self.rows() if r["component"] == component and r["check"] == check]


def doctor(*args: str) -> Run:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main(["doctor", *args])
    return Run(code, out.getvalue(), err.getvalue())


def _plant(text: str) -> str:
    """node-exporter's series without the cluster label; kube-state-metrics' also under a second job;
    coredns' twice in its own job (a second endpoint, as two ServiceMonitors on one Service give)."""
    out: list[str] = []
    copies: list[str] = []
    series = ""
    for line in text.splitlines(keepends=True):
        name = line.rsplit(" ", 2)[0] if not line.startswith("#") else line
        if name != series and copies:  # a series' samples stay together: its copy follows it whole
            out += copies
            copies = []
        series = name
        if 'job="node-exporter"' in line:
            line = line.replace(f'cluster="{SPEC.name}",', "").replace(f',cluster="{SPEC.name}"', "")
        out.append(line)
        if 'job="kube-state-metrics"' in line:
            copies.append(line.replace('job="kube-state-metrics"', 'job="kube-state-metrics-copy"'))
        if 'job="coredns"' in line:
            copies.append(line.replace('job="coredns"', 'endpoint="metrics-copy",job="coredns"'))
    return "".join(out[:-1] + copies + out[-1:]) if copies else "".join(out)


def _backfill(workdir: Path, plant: Callable[[str], str] | None) -> None:
    """An hour up to now, then the minutes the first backfill took, each through `plant`."""
    sim = Simulation([SPEC], seed=3, window=Window(end=run.now(), duration=3600, step=60))
    sim.run()
    for part in ("history", "recent"):
        if part == "recent":
            sim.advance_to(run.now())
        path = workdir / f"{part}.om"
        sim.write_file(path)
        if plant:
            path.write_text(plant(path.read_text(encoding="utf-8")), encoding="utf-8")
        backfill(path, workdir / "data")
        path.unlink()
        sim.registry = type(sim.registry)() if part == "history" else sim.registry


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[Run]]:
    need_prometheus()
    work = tmp_path_factory.mktemp("doctor-healthy")
    write_site(work, interval=INTERVAL)
    _backfill(work, None)
    prom = Prometheus(work, rule_globs(work), work / "data", INTERVAL)
    try:
        prom.start()
        prom.wait_for_rounds(2, timeout=300)
        wrong = work / "wrong-job.yaml"
        site = yaml.safe_load((work / "stereo.yaml").read_text())
        wrong.write_text(yaml.safe_dump({**site, "selectors": {"coredns": 'job="core-dns"'}}), encoding="utf-8")
        hostile = work / "hostile.yaml"
        hostile.write_text(yaml.safe_dump({**site, "selectors": {"coredns": HOSTILE}}), encoding="utf-8")
        runs = [doctor("--prometheus", prom.url, "--config", str(work / "stereo.yaml"), "--json"),
                doctor("--prometheus", prom.url, "--config", str(work / "stereo.yaml")),
                doctor("--prometheus", prom.url, "--config", str(wrong), "--json"),
                doctor("--prometheus", prom.url, "--config", str(hostile), "--json")]
        # then one alert made to fire on this healthy cluster: its threshold far below the data
        write_site(work, {"NodeMemoryHighUtilization": 0.001}, INTERVAL)
        prom.reload()
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and not any(
                a["labels"].get("alertname") == "NodeMemoryHighUtilization" and a["state"] == "firing"
                for a in prom.alerts()):
            time.sleep(1)
        runs.append(doctor("--prometheus", prom.url, "--config", str(work / "stereo.yaml"), "--json"))
        yield runs
    finally:
        prom.stop()


@pytest.fixture(scope="module")
def planted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    need_prometheus()
    work = tmp_path_factory.mktemp("doctor-planted")
    write_site(work)
    _backfill(work, _plant)
    prom = Prometheus(work, [], work / "data", EVALUATION_INTERVAL)
    me = [f"127.0.0.1:{prom.port}"]
    prom.configure([], EVALUATION_INTERVAL, [{"job_name": "self-a", "static_configs": [{"targets": me}]},
                                             {"job_name": "self-b", "static_configs": [{"targets": me}]}], "2s")
    try:
        prom.start()
        deadline = time.monotonic() + 180  # the scrape manager picks up static targets within a few seconds
        while time.monotonic() < deadline and len(prom.api("/api/v1/targets")["activeTargets"]) < 2:
            time.sleep(0.5)
        yield doctor("--prometheus", prom.url, "--config", str(work / "stereo.yaml"), "--json")
    finally:
        prom.stop()


def test_a_healthy_lab_passes(healthy: list[Run]) -> None:
    found = healthy[0]
    problems = [r for r in found.rows() if r["status"] != "ok"]
    assert not problems, problems
    assert found.code == 0, found.err
    checks = {(r["component"], r["check"]) for r in found.rows()}
    for component in ("kube-apiserver", "etcd", "kubelet", "coredns", "nodes", "workloads"):
        for check in ("targets", "cluster label", "duplicate scrape", "raw metrics", "rules loaded",
                      "recorded series", "alerts can fire"):
            assert (component, check) in checks, (component, check)


def test_the_table_names_every_component(healthy: list[Run]) -> None:
    table = healthy[1]
    assert table.code == 0
    lines = table.out.splitlines()
    assert lines[0].split() == ["COMPONENT", "CHECK", "STATUS", "DETAIL"]
    assert lines[-1].endswith(" 0 warn, 0 fail")
    assert any(line.startswith("coredns ") and " ok " in line and 'job="coredns"' in line for line in lines)


def test_a_wrong_job_name_is_named(healthy: list[Run]) -> None:
    wrong = healthy[2]
    assert wrong.code == 1
    targets = wrong.where("coredns", "targets")
    assert [r["status"] for r in targets] == ["fail"]
    assert '{job="core-dns"}' in targets[0]["detail"] and "coredns" in targets[0]["detail"]  # the near job
    raw = wrong.where("coredns", "raw metrics")
    assert [r["status"] for r in raw] == ["fail"]
    assert re.match(r'[0-9]+ metrics exist, but not with {job="core-dns"}: coredns_cache_misses_total',
                    raw[0]["detail"])
    never = wrong.where("coredns", "alerts can fire")
    assert never[0]["status"] == "fail" and "CoreDNS" in never[0]["detail"]
    # general's TargetDown and KubeVersionMismatch read every watched job's selector, the wrong one too
    assert {r["component"] for r in wrong.rows() if r["status"] != "ok"} in ({"coredns"}, {"coredns", "general"})


def test_a_missing_cluster_label_is_found(planted: Run) -> None:
    rows = {r["detail"]: r["status"] for r in planted.where("nodes", "cluster label")}
    assert rows == {'2 of 2 targets of {job="node-exporter"} have no cluster label': "fail",
                    'every target of {job="kube-state-metrics"} has a cluster label': "ok"}
    assert all(r["status"] == "ok" for r in planted.where("kube-apiserver", "cluster label"))


def test_a_duplicated_scrape_is_found(planted: Run) -> None:
    rows = [r for r in planted.where("workloads", "duplicate scrape") if 'job="kube-state-metrics"' in r["detail"]]
    assert [r["status"] for r in rows] == ["fail"]
    assert "kube-state-metrics-copy" in rows[0]["detail"]
    urls = planted.where("(prometheus)", "duplicate scrape")
    assert urls[0]["status"] == "fail" and "self-a, self-b" in urls[0]["detail"]
    within = planted.where("coredns", "duplicate scrape")
    assert within[0]["status"] == "fail" and "scraped more than once within {job=\"coredns\"}" in within[0]["detail"]
    assert "×2 in job coredns" in within[0]["detail"]
    assert all(r["status"] == "ok" for r in planted.where("etcd", "duplicate scrape"))


def test_rules_not_loaded_are_found(planted: Run) -> None:
    assert planted.code == 1
    for component in ("kube-apiserver", "nodes", "workloads"):
        loaded = planted.where(component, "rules loaded")
        assert loaded[0]["status"] == "fail" and f"{component}.rules" in loaded[0]["detail"]
        recorded = planted.where(component, "recorded series")[0]
        assert recorded["status"] == "fail" and "not loaded" in recorded["detail"]


def test_unreachable_and_bad_input_exit_2(tmp_path: Path) -> None:
    down = doctor("--prometheus", f"http://127.0.0.1:{_closed_port()}")
    assert down.code == 2 and down.out == "" and len(down.err.splitlines()) == 1 and "refused" in down.err
    bad = doctor("--prometheus", "file:///etc/passwd")
    assert bad.code == 2 and "http(s) URL" in bad.err
    config = tmp_path / "stereo.yaml"
    config.write_text("selectors: {coredns: 'job=\"x'}\n")
    broken = doctor("--prometheus", "http://127.0.0.1:9", "--config", str(config))
    assert broken.code == 2 and str(config) in broken.err and len(broken.err.splitlines()) == 1


def _closed_port() -> int:
    from generator.simulate.prometheus import free_port

    return free_port()


def test_a_hostile_job_value_is_escaped_not_refused(healthy: list[Run]) -> None:
    hostile = healthy[3]
    assert hostile.code == 1, hostile.err  # not 2: every query with it was valid PromQL
    targets = hostile.where("coredns", "targets")
    assert targets[0]["status"] == "fail" and targets[0]["detail"].startswith(f"selector {{{HOSTILE}}} matches no")


def test_an_alert_firing_now_is_named(healthy: list[Run]) -> None:
    firing = healthy[4]
    assert firing.code == 1
    rows = firing.where("nodes", "alerts firing")
    assert [r["status"] for r in rows] == ["warn"]
    assert rows[0]["detail"] == "firing now: NodeMemoryHighUtilization (2)"  # one per node
    assert {(r["component"], r["check"]) for r in firing.rows() if r["status"] != "ok"} == {("nodes", "alerts firing")}
