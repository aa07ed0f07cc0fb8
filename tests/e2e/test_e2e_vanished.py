"""A scrape target leaves discovery in one of two clusters: that cluster's Down alert fires, the other stays quiet.

Real parts: Prometheus 2.42 scrapes two small HTTP targets (one per cluster, told apart by a `cluster` target
label, as a Prometheus federating two clusters would see them) under the kube-scheduler and node-exporter jobs,
and evaluates Stereo's generated rules for the scheduler. The test removes cluster c2's scheduler target from the
scrape config and reloads: `up{job="kube-scheduler",cluster="c2"}` is gone (not 0), which `sum(up) == 0` alone
never notices. KubeSchedulerDown's `for` is patched short through stereo.yaml, as a site would.
"""

from __future__ import annotations

import shutil
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from generator import pipeline
from generator.config import load
from generator.simulate.prometheus import Prometheus

ALERT = "KubeSchedulerDown"
FOR = "5s"  # short: the test waits it out; pending clears at once when the scheduler is back (start-up)


class _Metrics(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # http.server's naming
        body = b"# TYPE process_start_time_seconds gauge\nprocess_start_time_seconds 1\n"
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; version=0.0.4")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture()
def exporters() -> Iterator[dict[str, str]]:
    """One tiny /metrics target per cluster, on 127.0.0.1; shut down (and joined) on exit."""
    servers = {c: ThreadingHTTPServer(("127.0.0.1", 0), _Metrics) for c in ("c1", "c2")}
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers.values()]
    for thread in threads:
        thread.start()
    try:
        yield {c: f"127.0.0.1:{s.server_address[1]}" for c, s in servers.items()}
    finally:
        for server in servers.values():
            server.shutdown()
            server.server_close()
        for thread in threads:
            thread.join(timeout=10)


def _site(workdir: Path) -> list[str]:
    config = workdir / "stereo.yaml"
    config.write_text(yaml.safe_dump({"evaluation_interval": "2s", "patch": {ALERT: {"for": FOR}}}), encoding="utf-8")
    files = pipeline.generate(load(config))
    globs = []
    for path in ("rules/kube-scheduler.yaml", "alerts/kube-scheduler.yaml"):
        target = workdir / "site" / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(files[path], encoding="utf-8")
        globs.append(str(target))
    assert f"for: {FOR}" in files["alerts/kube-scheduler.yaml"]
    return globs


def _scrape(targets: dict[str, str], scheduler_in: tuple[str, ...]) -> list[dict[str, Any]]:
    def job(name: str, clusters: tuple[str, ...]) -> dict[str, Any]:
        return {"job_name": name, "scrape_interval": "1s",
                "static_configs": [{"targets": [targets[c]], "labels": {"cluster": c}} for c in clusters]}

    return [job("kube-scheduler", scheduler_in), job("node-exporter", ("c1", "c2"))]


def _wait(what: str, check: Callable[[], Any], timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.5)


def _down(prom: Prometheus) -> dict[str, str]:
    """cluster -> state of the KubeSchedulerDown alerts Prometheus holds now."""
    return {a["labels"].get("cluster", ""): a["state"] for a in prom.alerts() if a["labels"]["alertname"] == ALERT}


def test_a_vanished_target_fires_its_clusters_down_alert(tmp_path: Path, exporters: dict[str, str]) -> None:
    if not shutil.which("prometheus"):
        pytest.skip("prometheus is not installed")
    globs = _site(tmp_path)
    prom = Prometheus(tmp_path, globs, evaluation_interval="2s", scrape=_scrape(exporters, ("c1", "c2")),
                      scrape_interval="1s")
    try:
        prom.start()
        up = 'up{job="kube-scheduler"} == 1'
        _wait("both schedulers up", lambda: len(prom.query(up)) == 2)
        _wait("the scheduler rules evaluated", lambda: (groups := prom.rule_groups()) and all(
            not g["lastEvaluation"].startswith("0001") for g in groups))
        # right after start a cluster's node-exporter may be scraped before its scheduler: pending, then cleared
        _wait(f"no {ALERT} while both schedulers are scraped", lambda: _down(prom) == {})

        prom.configure(globs, "2s", _scrape(exporters, ("c1",)), "1s")
        prom.reload()
        _wait("c2's scheduler series to go stale", lambda: len(prom.query(up)) == 1)
        assert prom.query('up{cluster="c2"}'), "c2 still reports its node-exporter target"
        states = _wait(f"{ALERT} firing for c2", lambda: (s := _down(prom)).get("c2") == "firing" and s)
        assert states == {"c2": "firing"}, states
        fired = next(a for a in prom.alerts() if a["labels"]["alertname"] == ALERT)
        assert fired["labels"]["severity"] == "critical" and fired["labels"]["component"] == "kube-scheduler"
        assert "c2" in fired["annotations"]["description"]
        # the other cluster's scheduler is still there: nothing pending or firing for it, and its up is 1
        assert [r["metric"]["cluster"] for r in prom.query(up)] == ["c1"]
    finally:
        prom.stop()
    assert prom.proc is None
