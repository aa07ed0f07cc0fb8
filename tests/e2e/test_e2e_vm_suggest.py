"""`stereo suggest` and `stereo serve` against VictoriaMetrics' Prometheus API (issue 14.4) give the findings they
give against Prometheus, on the same raw samples.

The data is the foreign cluster of test_e2e_foreign (no `job`, no `image`, cluster label `k8s_cluster`, planted
web-pod relations, a congested last quarter): one OpenMetrics file goes to a Prometheus (promtool backfill) and
to a VictoriaMetrics (its import API, tests/e2e/vmlab.py), both on 127.0.0.1 and stopped by pid. No recording
rule ever ran, so every signal is evaluated from its raw expression by each engine's own PromQL: rate(),
sum by and histogram_quantile on Prometheus, their MetricsQL counterparts on VictoriaMetrics (whose rate() does
not extrapolate to the window's edges — hence ρ agrees closely, not to the last digit).

Compared: the significant object-scoped findings (signal pair, object, phase), their ρ, the phases, and how each
relation changed — from `stereo suggest --json` on each engine, and from a real `stereo serve` process's
/api/v1/findings on VictoriaMetrics against the CLI's file."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from e2e.test_e2e_foreign import CPU, HOURS, MEM, STEP, STEREO_YAML, WEB, _openmetrics
from e2e.vmlab import VICTORIA_METRICS, VictoriaMetrics
from serve_run import serving

from generator.simulate.prometheus import Prometheus, backfill

TARGETS = f"{CPU},{MEM}"
Key = tuple[str, str, tuple[tuple[str, str], ...], str]


class Engines:
    def __init__(self, prometheus: Prometheus, vm: VictoriaMetrics, start: int, end: int, work: Path) -> None:
        self.prometheus, self.vm, self.start, self.end, self.work = prometheus, vm, start, end, work


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engines]:
    assert shutil.which("promtool") and shutil.which("prometheus"), "promtool and prometheus are needed"
    assert shutil.which(VICTORIA_METRICS), "victoria-metrics is not installed (apt-get install victoria-metrics)"
    work = tmp_path_factory.mktemp("vm-suggest")
    end = int(time.time()) // 60 * 60 - 300
    n = (HOURS * 3600 + 600) // STEP + 1  # 10 minutes before the window so 5m rates exist at its start
    start = end - (n - 1) * STEP
    window_start = end - HOURS * 3600
    congested_from = (window_start + HOURS * 3600 * 3 // 4 - start) // STEP
    om = work / "foreign.om"
    om.write_text(_openmetrics(start, n, congested_from), encoding="utf-8")
    backfill(om, work / "data")
    (work / "stereo.yaml").write_text(STEREO_YAML, encoding="utf-8")
    prom = Prometheus(work, [], data_dir=work / "data")
    vm = VictoriaMetrics(work)
    try:
        prom.start()
        vm.start()
        assert vm.import_openmetrics(om) > 8 * 3 * n  # at least CPU, memory and network of every pod
        yield Engines(prom, vm, window_start, end, work)
    finally:
        vm.stop()
        prom.stop()


def _suggest(engines: Engines, url: str, name: str) -> tuple[list[dict[str, Any]], str]:
    cmd = [sys.executable, "-m", "generator", "suggest", "--prometheus", url, "--start", str(engines.start),
           "--end", str(engines.end), "--step", "60s", "--targets", TARGETS, "--json", f"{name}.json",
           "--out", f"{name}.yaml"]
    run = subprocess.run(cmd, cwd=engines.work, capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads((engines.work / f"{name}.json").read_text(encoding="utf-8")), run.stderr


def _key(f: dict[str, Any]) -> Key:
    return f["a"], f["b"], tuple(sorted(f["scope"].items())), f["phase"] or ""


def _significant(found: list[dict[str, Any]]) -> dict[Key, dict[str, Any]]:
    return {_key(f): f for f in found if f["significant"] and not f["derived"]}


def _same_findings(on_prometheus: list[dict[str, Any]], on_vm: list[dict[str, Any]]) -> None:
    prom, vm = _significant(on_prometheus), _significant(on_vm)
    assert sorted(prom) == sorted(vm), (sorted(set(prom) - set(vm)), sorted(set(vm) - set(prom)))
    # the planted relations are among them, on every web pod, in both phases
    pods = {dict(k[2]).get("pod") for k in prom if k[3] == "smooth"}
    assert set(WEB) <= pods
    for key, f in prom.items():
        assert vm[key]["rho"] == pytest.approx(f["rho"], abs=0.05), key
        assert vm[key]["window"] == f["window"], key  # the same phases, to the second
    changes = {(_key(f), f["change"]) for f in on_prometheus if f["change"] and not f["derived"]}
    assert changes and changes == {(_key(f), f["change"]) for f in on_vm if f["change"] and not f["derived"]}


def test_suggest_gives_the_same_findings_on_victoria_metrics(engines: Engines) -> None:
    on_prometheus, err_prometheus = _suggest(engines, engines.prometheus.url, "prometheus")
    on_vm, err_vm = _suggest(engines, engines.vm.url, "vm")
    for err in (err_prometheus, err_vm):
        assert "service_latency_p99: no recorded samples in the window, used its raw expression" in err
    _same_findings(on_prometheus, on_vm)
    changed = [line for line in err_vm.splitlines() if "phase congested:" in line and "↔" in line]
    assert changed == [line for line in err_prometheus.splitlines() if "phase congested:" in line and "↔" in line]
    doc_prometheus = (engines.work / "prometheus.yaml").read_text(encoding="utf-8")
    doc_vm = (engines.work / "vm.yaml").read_text(encoding="utf-8")
    pairs = [line for line in doc_prometheus.splitlines() if line.startswith(("- a:", "  b:", "  objects:"))]
    assert pairs and pairs == [line for line in doc_vm.splitlines() if line.startswith(("- a:", "  b:", "  objects:"))]


def test_serve_on_victoria_metrics_answers_what_suggest_writes(engines: Engines) -> None:
    on_prometheus = json.loads((engines.work / "prometheus.json").read_text(encoding="utf-8")) \
        if (engines.work / "prometheus.json").exists() else _suggest(engines, engines.prometheus.url, "prometheus")[0]
    with serving(engines.vm.url, engines.work, "--timeout", "120s") as served:
        ready = requests.get(f"{served.url}/readyz", timeout=30)
        assert ready.status_code == 200, ready.text  # VictoriaMetrics answers the readiness query
        r = requests.get(f"{served.url}/api/v1/findings", params={"targets": TARGETS, "start": engines.start,
                                                                 "end": engines.end, "step": "60s"}, timeout=300)
        assert r.status_code == 200, r.text[:2000]
        _same_findings(on_prometheus, r.json())
