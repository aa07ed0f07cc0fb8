"""`stereo doctor` against VictoriaMetrics (single-node) and vmalert, Debian's `victoria-metrics`.

One small cluster (2 nodes, 2 namespaces, 6 pods, an hour at one-minute steps, the lab of test_e2e_doctor)
imported into VictoriaMetrics; vmalert evaluates Stereo's rules and alerts and writes the records back. Then:

- VictoriaMetrics alone (its /api/v1/rules and /api/v1/alerts are empty placeholders): every check VM can
  answer is ok, rules and alerts are one "n/a" row each, exit 0;
- `--ruler` vmalert: every check ok, none n/a, exit 0;
- planted: a stereo.yaml with a wrong job for coredns (found: targets, raw metrics, alerts can fire), and a
  vmalert given only the alert files (`-rule=alerts/*.yaml`, the recording rules forgotten) as `--ruler`
  (found: every component's rules loaded fails);
- VictoriaMetrics restarted with `-vmalert.proxyURL` (rules and alerts answered by vmalert through it) and a
  `-promscrape.config` scraping its own /metrics under two jobs: rules are checked through the proxy, and the
  URL scraped twice is found through VictoriaMetrics' own /api/v1/targets.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
import yaml
from e2e.lab import EVALUATION_INTERVAL, write_site
from e2e.test_e2e_doctor import SPEC, Run, doctor
from e2e.vmlab import VICTORIA_METRICS, VMALERT, VictoriaMetrics, VMAlert

from generator.simulate import run
from generator.simulate.run import Simulation, Window

COMPONENTS = ("kube-apiserver", "etcd", "kubelet", "coredns", "nodes", "workloads")
CHECKS = ("targets", "cluster label", "duplicate scrape", "raw metrics", "recorded series", "alerts can fire")


class _VM(VictoriaMetrics):
    """VictoriaMetrics with extra flags (a proxy to vmalert, a scrape config), restartable on its port."""

    extra: list[str]

    def args(self) -> list[str]:
        return [*super().args(), *getattr(self, "extra", [])]


class _AlertsOnly(VMAlert):
    """vmalert without remote write: enough for alert files, whose groups hold no recording rule."""

    def args(self) -> list[str]:
        return [a for a in super().args() if not a.startswith(("-remoteWrite.", "-remoteRead."))]


def _import(vm: VictoriaMetrics, work: Path) -> Simulation:
    """An hour up to now, then the minutes the first part took: both into VictoriaMetrics."""
    sim = Simulation([SPEC], seed=3, window=Window(end=run.now(), duration=3600, step=60))
    sim.run()
    _send(vm, sim, work / "history.om")
    _top_up(vm, sim, work)
    return sim


def _send(vm: VictoriaMetrics, sim: Simulation, path: Path) -> None:
    if sim.write_file(path):
        vm.import_openmetrics(path)
    path.unlink()


def _top_up(vm: VictoriaMetrics, sim: Simulation, work: Path) -> None:
    """The minutes since the last import, so the restarted server's newest samples are as fresh as they were
    for the first runs (imported data ages like a scrape that stopped)."""
    sim.registry = type(sim.registry)()
    sim.advance_to(run.now())
    _send(vm, sim, work / "recent.om")


def _records(files: list[Path]) -> set[str]:
    return {r["record"] for p in files for g in yaml.safe_load(p.read_text(encoding="utf-8"))["groups"]
            for r in g["rules"] if "record" in r}


def _wait_for_records(vm: VictoriaMetrics, names: set[str], timeout: float = 240) -> None:
    """Until every record has a series: vmalert writes them through remote write, a round or two late, and each
    level of records reads the one before. VictoriaMetrics makes new series searchable every few seconds on its
    own (~10 s a level here, ~30 s for five); flushing it at each look lets the next level read them at once."""
    deadline = time.monotonic() + timeout
    seen: set[str] = set()
    while time.monotonic() < deadline:
        seen = {r["metric"]["__name__"] for r in vm.query('count by (__name__) ({__name__=~".+:.+"})')}
        if names <= seen:
            return
        vm.flush()
        time.sleep(1)
    raise AssertionError(f"records never written: {sorted(names - seen)[:10]}")


def _fresh_rounds(vmalert: VMAlert, timeout: float = 240) -> None:
    """Until every group of `vmalert` has run twice more: its evaluations failed while VictoriaMetrics restarted,
    and the doctor reports a group whose last evaluation failed (one run could have started before the restart
    ended)."""
    before = vmalert.iterations()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = vmalert.iterations()
        if all(now.get(g, 0) >= n + 2 for g, n in before.items()):
            return
        time.sleep(0.5)
    raise AssertionError(f"vmalert's groups did not run twice in {timeout}s after the restart: {vmalert.tail()}")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Run]:
    """Every doctor run the tests read; the servers stop once the last one is taken."""
    if not (shutil.which(VMALERT) and shutil.which(VICTORIA_METRICS)):
        pytest.fail("vmalert and victoria-metrics are not installed (apt-get install victoria-metrics)")
    work = tmp_path_factory.mktemp("doctor-vm")
    write_site(work)
    config = str(work / "stereo.yaml")
    site = yaml.safe_load((work / "stereo.yaml").read_text(encoding="utf-8"))
    wrong = work / "wrong-job.yaml"
    wrong.write_text(yaml.safe_dump({**site, "selectors": {"coredns": 'job="core-dns"'}}), encoding="utf-8")
    rule_files = sorted((work / "site" / "rules").glob("*.yaml"))
    alert_files = sorted((work / "site" / "alerts").glob("*.yaml"))
    vm = _VM(work)
    vmalert = VMAlert(work, rule_files + alert_files, vm, EVALUATION_INTERVAL)
    forgetful = _AlertsOnly(work / "forgetful", alert_files, vm, EVALUATION_INTERVAL)
    (work / "forgetful").mkdir()
    out: dict[str, Run] = {}
    try:
        vm.start()
        sim = _import(vm, work)
        vmalert.start()
        forgetful.start()
        groups = sum(len(yaml.safe_load(p.read_text(encoding="utf-8"))["groups"]) for p in rule_files + alert_files)
        vmalert.wait_for_rounds(groups, 2, timeout=300)
        _wait_for_records(vm, _records(rule_files))
        out["alone"] = doctor("--prometheus", vm.url, "--config", config, "--json")
        out["ruler"] = doctor("--prometheus", vm.url, "--ruler", vmalert.url, "--config", config, "--json")
        out["table"] = doctor("--prometheus", vm.url, "--config", config)
        out["wrong job"] = doctor("--prometheus", vm.url, "--ruler", vmalert.url, "--config", str(wrong), "--json")
        out["forgotten rules"] = doctor("--prometheus", vm.url, "--ruler", forgetful.url, "--config", config, "--json")
        # the same VictoriaMetrics, its rules API proxied to vmalert and scraping itself under two jobs
        me = vm.url.removeprefix("http://")
        scrape = work / "scrape.yaml"
        scrape.write_text(yaml.safe_dump({"global": {"scrape_interval": "2s"}, "scrape_configs": [
            # in the lab's cluster: a target without the cluster label is a fault of its own (every Down alert's
            # "cluster without this job" arm fires for cluster="")
            {"job_name": job, "static_configs": [{"targets": [me], "labels": {"cluster": SPEC.name}}]}
            for job in ("self-a", "self-b")]}))
        vm.stop()
        vm.extra = [f"-vmalert.proxyURL={vmalert.url}", f"-promscrape.config={scrape}"]
        vm.start()
        _top_up(vm, sim, work)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(vm.query('up{job=~"self-a|self-b"} == 1')) < 2:
            vm.flush()  # its own scrapes become searchable now, not at its next flush
            time.sleep(0.5)
        _fresh_rounds(vmalert)
        out["proxied"] = doctor("--prometheus", vm.url, "--config", config, "--json")
        return out
    finally:
        forgetful.stop()
        vmalert.stop()
        vm.stop()


def _statuses(found: Run) -> dict[tuple[str, str], set[str]]:
    out: dict[tuple[str, str], set[str]] = {}
    for r in found.rows():
        out.setdefault((r["component"], r["check"]), set()).add(r["status"])
    return out


def test_victoria_metrics_alone_passes_and_says_what_it_cannot_check(runs: dict[str, Run]) -> None:
    found = runs["alone"]
    assert found.code == 0, found.err
    assert found.err == ""
    backend = found.where("(prometheus)", "backend")
    assert backend[0]["status"] == "ok" and backend[0]["detail"].startswith("VictoriaMetrics")
    na = [r for r in found.rows() if r["status"] == "n/a"]
    assert {(r["component"], r["check"]) for r in na} == {
        ("(prometheus)", "rules loaded"), ("(prometheus)", "alerts firing"), ("general", "heartbeat")}
    assert all(r["detail"].count("not available on this backend") == 1 and "--ruler" in r["detail"] for r in na)
    problems = [r for r in found.rows() if r["status"] not in ("ok", "n/a")]
    assert not problems, problems
    statuses = _statuses(found)
    for component in COMPONENTS:
        for check in CHECKS:
            assert statuses.get((component, check)) == {"ok"}, (component, check)
        assert (component, "rules loaded") not in statuses  # not a per-component guess


def test_with_vmalert_as_ruler_every_check_runs_and_passes(runs: dict[str, Run]) -> None:
    found = runs["ruler"]
    problems = [r for r in found.rows() if r["status"] != "ok"]
    assert not problems, problems
    assert found.code == 0
    statuses = _statuses(found)
    for component in COMPONENTS:
        for check in (*CHECKS, "rules loaded"):
            assert statuses.get((component, check)) == {"ok"}, (component, check)
    assert found.where("general", "heartbeat")[0]["detail"] == "Watchdog is firing"


def test_the_table_counts_what_is_not_available(runs: dict[str, Run]) -> None:
    table = runs["table"]
    assert table.code == 0
    assert table.out.splitlines()[-1].endswith(" 0 warn, 0 fail, 3 not available on this backend")
    assert any(line.startswith("(prometheus)") and " n/a " in line and "rules loaded" in line
               for line in table.out.splitlines())


def test_a_wrong_job_name_is_found_on_victoria_metrics(runs: dict[str, Run]) -> None:
    wrong = runs["wrong job"]
    assert wrong.code == 1
    targets = wrong.where("coredns", "targets")
    assert [r["status"] for r in targets] == ["fail"]
    assert targets[0]["detail"].startswith('selector {job="core-dns"} matches no target')
    assert "similar name here: coredns" in targets[0]["detail"]
    raw = wrong.where("coredns", "raw metrics")
    assert [r["status"] for r in raw] == ["fail"] and 'not with {job="core-dns"}' in raw[0]["detail"]
    assert wrong.where("coredns", "alerts can fire")[0]["status"] == "fail"
    assert {r["component"] for r in wrong.rows() if r["status"] != "ok"} in ({"coredns"}, {"coredns", "general"})


def test_a_ruler_without_the_recording_rules_is_found(runs: dict[str, Run]) -> None:
    found = runs["forgotten rules"]
    assert found.code == 1
    for component in COMPONENTS:
        loaded = found.where(component, "rules loaded")
        assert [r["status"] for r in loaded] == ["fail"], component
        assert f"{component}.rules" in loaded[0]["detail"] and "not loaded" in loaded[0]["detail"]
    # the alerts are loaded there: the heartbeat fires
    assert found.where("general", "heartbeat")[0]["status"] == "ok"


def test_rules_through_the_proxy_and_a_url_scraped_twice(runs: dict[str, Run]) -> None:
    found = runs["proxied"]
    assert found.code == 1
    assert not [r for r in found.rows() if r["status"] == "n/a"]
    urls = found.where("(prometheus)", "duplicate scrape")
    assert urls[0]["status"] == "fail" and "self-a, self-b" in urls[0]["detail"], urls
    assert {(r["component"], r["check"]) for r in found.rows() if r["status"] != "ok"} == {
        ("(prometheus)", "duplicate scrape")}, [r for r in found.rows() if r["status"] != "ok"]
    for component in COMPONENTS:
        assert found.where(component, "rules loaded")[0]["status"] == "ok"
