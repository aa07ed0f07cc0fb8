"""A cluster Stereo did not simulate (issue 12.8), through the CLI as a user runs it: a stereo.yaml and flags only.

Labels differ from the simulator's: no `job`, no `image`, the cluster label is `k8s_cluster`. Four web pods with
planted relations — CPU ↔ network receive (one load drives both) and memory ↔ response time — and four batch
pods of independent random walks; the last quarter is congested: the web pods' CPU and memory levels jump,
CPU ↔ network holds, and response time is driven by queueing, no longer by memory (the relation vanishes).

Only raw series exist (no recording rules ever ran), so `stereo suggest` must evaluate the signals' raw
expressions. The data is written as OpenMetrics, backfilled with `promtool tsdb create-blocks-from openmetrics`
and served by a real Prometheus on 127.0.0.1 (generator.simulate.prometheus), stopped by pid.

Scored on object-scoped, non-derived, significant findings per regime: a finding is right when it pairs the two
planted signals on a web pod that has that relation in that regime.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from generator.simulate.prometheus import Prometheus, backfill

STEP = 30  # seconds between samples
HOURS = 6
WEB = [f"web-{i}" for i in range(4)]
BATCH = [f"batch-{i}" for i in range(4)]
CPU, NET, MEM, LAT = ("container_cpu_usage", "pod_network_receive_bytes", "container_memory_working_set",
                      "service_latency_p99")
BUCKETS = [round(0.01 * 1.25**k, 6) for k in range(40)]
QUANTILES = np.linspace(-2.5, 2.5, 60)  # fixed spread of each interval's observations (no sampling noise)
STEREO_YAML = """\
cluster_label: k8s_cluster
selectors:
  cadvisor: ''
  cadvisor_containers: 'container!=""'
  kube-state-metrics: ''
services:
  - preset: http
    selector: ''
"""


def _walk(rng: np.random.Generator, n: int, scale: float) -> np.ndarray:
    return np.cumsum(rng.normal(scale=scale, size=n))


def _openmetrics(start: int, n: int, congested_from: int, seed: int = 12) -> str:
    rng = np.random.default_rng(seed)
    stamps = start + STEP * np.arange(n)
    congested = np.arange(n) >= congested_from
    lines: list[str] = []
    series: dict[str, list[tuple[str, np.ndarray]]] = {}

    def add(metric: str, labels: dict[str, str], values: np.ndarray) -> None:
        body = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        series.setdefault(metric, []).append((body, values))

    for pod in WEB + BATCH:
        base = {"k8s_cluster": "lab", "namespace": "shop" if pod in WEB else "jobs", "pod": pod}
        ctr = {**base, "container": "app"}
        load, memory = _walk(rng, n, 1.0), _walk(rng, n, 1.0)
        if pod in WEB:
            cpu_rate = 0.5 * np.exp(0.03 * load + rng.normal(scale=0.01, size=n)) * np.where(congested, 4.0, 1.0)
            net_rate = 4e5 * np.exp(0.03 * load + rng.normal(scale=0.01, size=n))
            mem = 2e8 * np.exp(0.01 * memory) * np.where(congested, 1.5, 1.0)
            queue = _walk(rng, n, 1.0)
            latency = np.where(congested, 0.5 * np.exp(0.03 * queue), 0.1 * np.exp(0.03 * memory))
            counts = np.zeros((len(BUCKETS) + 1, n))
            for k, le in enumerate([*BUCKETS, np.inf]):
                obs = latency[None, :] * np.exp(0.2 * QUANTILES[:, None])
                counts[k] = np.cumsum((obs <= le).sum(axis=0))
            for k, le in enumerate([*BUCKETS, "+Inf"]):
                add("http_request_duration_seconds_bucket", {**base, "le": str(le)}, counts[k])
            add("http_request_duration_seconds_count", base, counts[-1])
        else:  # batch: independent random walks
            cpu_rate = 0.3 * np.exp(0.03 * load)
            net_rate = 1e5 * np.exp(0.03 * _walk(rng, n, 1.0))
            mem = 5e8 * np.exp(0.01 * memory)
        add("container_cpu_usage_seconds_total", ctr, np.cumsum(cpu_rate * STEP))
        add("container_memory_working_set_bytes", ctr, mem)
        add("container_network_receive_bytes_total", {**base, "interface": "eth0"}, np.cumsum(net_rate * STEP))
    for metric, rows in series.items():
        kind = "gauge" if metric == "container_memory_working_set_bytes" else "counter"
        family = metric.removesuffix("_total") if kind == "counter" else metric
        if metric.startswith("http_request_duration_seconds"):
            continue
        lines.append(f"# TYPE {family} {kind}")
        for body, values in rows:
            lines += [f"{metric}{{{body}}} {v:.6f} {t}" for v, t in zip(values, stamps, strict=True)]
    lines.append("# TYPE http_request_duration_seconds histogram")
    for metric in ("http_request_duration_seconds_bucket", "http_request_duration_seconds_count"):
        for body, values in series.get(metric, []):
            lines += [f"{metric}{{{body}}} {v:.0f} {t}" for v, t in zip(values, stamps, strict=True)]
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def foreign(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Prometheus, int, int, Path]]:
    assert shutil.which("promtool") and shutil.which("prometheus"), "promtool and prometheus are needed"
    work = tmp_path_factory.mktemp("foreign")
    end = int(time.time()) // 60 * 60 - 300
    n = (HOURS * 3600 + 600) // STEP + 1  # 10 minutes before the window so 5m rates exist at its start
    start = end - (n - 1) * STEP
    window_start = end - HOURS * 3600
    congested_from = (window_start + HOURS * 3600 * 3 // 4 - start) // STEP
    om = work / "foreign.om"
    om.write_text(_openmetrics(start, n, congested_from), encoding="utf-8")
    backfill(om, work / "data")
    prom = Prometheus(work, [], data_dir=work / "data")
    try:
        prom.start()
        yield prom, window_start, end, work
    finally:
        prom.stop()


def _score(found: list[dict], truth: set[tuple[str, frozenset[str]]]) -> tuple[float, float]:
    got = {(f["scope"].get("pod", ""), frozenset((f["a"], f["b"]))) for f in found}
    hits = got & truth
    precision = len(hits) / len(got) if got else 0.0
    recall = len(hits) / len(truth) if truth else 1.0
    return precision, recall


def test_foreign_labels_planted_relations_per_regime(foreign: tuple[Prometheus, int, int, Path]) -> None:
    prom, start, end, work = foreign
    url = prom.url
    (work / "stereo.yaml").write_text(STEREO_YAML, encoding="utf-8")
    cmd = [sys.executable, "-m", "generator", "suggest", "--prometheus", url, "--start", str(start), "--end",
           str(end), "--step", "60s", "--targets", f"{CPU},{MEM}", "--json", "findings.json",
           "--out", "correlations.yaml"]
    run = subprocess.run(cmd, cwd=work, capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    found = json.loads((work / "findings.json").read_text())
    assert "used its raw expression" in run.stderr  # no recording rule ever ran here
    assert "no data: pod_network_transmit_bytes:" in run.stderr  # every empty signal is named with its query
    phases = {f["phase"] for f in found}
    assert {"smooth", "congested"} <= phases, run.stderr[-2000:]
    cpu_net = {(p, frozenset((CPU, NET))) for p in WEB}
    mem_lat = {(p, frozenset((MEM, LAT))) for p in WEB}
    truth = {"smooth": cpu_net | mem_lat, "congested": cpu_net}
    scores = {}
    for phase, expected in truth.items():
        measured = [f for f in found if f["phase"] == phase and f["significant"] and not f["derived"]
                    and "pod" in f["scope"]]
        scores[phase] = _score(measured, expected)
    print(f"precision/recall per regime: {scores}")
    for phase, (precision, recall) in scores.items():
        assert precision >= 0.95 and recall >= 0.95, (phase, scores, run.stderr[-1500:])
    # the congested phase reports that memory ↔ response time vanished on every web pod
    vanished = {f["scope"]["pod"] for f in found if f["phase"] == "congested" and f["change"] == "vanishes"
                and frozenset((f["a"], f["b"])) == frozenset((MEM, LAT))}
    assert vanished == set(WEB)
    assert f"phase congested: {MEM} ↔ {LAT} vanishes on 4 object(s)" in run.stderr
    doc = (work / "correlations.yaml").read_text()
    assert "objects: 4" in doc  # CPU ↔ network holds on the four web pods


def test_backfill_writes_recorded_history_a_restart_serves(foreign: tuple[Prometheus, int, int, Path]) -> None:
    """`stereo backfill` (promtool create-blocks-from rules) over the last hour of the same foreign cluster:
    level 1 written to --out; once the blocks are in the data directory and the server restarted, the recorded
    series answer for that hour."""
    prom, _, end, work = foreign
    record = "cluster_namespace_pod_container:container_cpu_usage_seconds:rate5m"
    assert prom.query(f"count({record})", at=end - 600) == []  # no rule ever ran here
    out = work / "blocks"
    cmd = [sys.executable, "-m", "generator", "backfill", "--prometheus", prom.url, "--start", str(end - 3600),
           "--end", str(end)]
    run = subprocess.run([*cmd, "--out", str(out)], cwd=work, capture_output=True, text=True, timeout=900,
                         check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "then run with --level 2" in run.stderr
    blocks = [p for p in (out / "level-1").iterdir() if (p / "meta.json").exists()]
    assert blocks
    bad = subprocess.run([*cmd, "--level", "99"], cwd=work, capture_output=True, text=True, timeout=300,
                         check=False)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--level: expected 1 to" in bad.stderr
    for block in blocks:
        shutil.move(str(block), str(prom.data / block.name))
    prom.restart()
    got = prom.query(f"count({record})", at=end - 600)
    assert got and int(float(got[0]["value"][1])) == len(WEB + BATCH)  # one container per pod
