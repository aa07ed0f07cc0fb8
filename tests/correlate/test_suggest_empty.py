"""A window with no data names every series selector that came back empty and why (issue 12.2), as a user sees
it: cAdvisor counters without `job` or `image` labels under the default selectors, on a real Prometheus."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from promlab import Prometheus

from generator.correlate import suggest_empty
from generator.correlate.suggest_empty import Selector, selectors_of
from generator.simulate import prometheus as runner

STEP = 60
POINTS = 90


def test_selectors_of_reads_raw_series_only() -> None:
    expr = ('sum by (cluster, namespace, pod) (rate(container_cpu_usage_seconds_total{job="kubelet", '
            'container!=""}[5m])) / on (pod) group_left cluster_namespace_pod:foo:sum{x="1"}'
            ' unless kube_pod_info{host_network="true"}')
    assert selectors_of(expr) == [
        Selector("container_cpu_usage_seconds_total", (("job", "=", "kubelet"), ("container", "!=", ""))),
        Selector("kube_pod_info", (("host_network", "=", "true"),)),
    ]


def test_a_matcher_is_named_after_the_setting_it_comes_from() -> None:
    settings = suggest_empty.settings_of({"kubelet": 'job="kubelet", metrics_path="/metrics"',
                                          "cadvisor": 'job="kubelet", metrics_path="/metrics/cadvisor"',
                                          "cadvisor_containers": 'container!="", image!=""', "other": ""})
    sel = selectors_of('m{job="kubelet", metrics_path="/metrics/cadvisor", container!="", image!=""}')[0]
    origin = suggest_empty._origin(sel, settings)
    assert origin[("job", "=", "kubelet")] == "selectors.cadvisor"  # not selectors.kubelet: that one is not inside
    assert origin[("image", "!=", "")] == "selectors.cadvisor_containers"


@pytest.fixture(scope="module")
def raw_cadvisor(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Prometheus, int]]:
    work = tmp_path_factory.mktemp("empty")
    end = int(time.time()) // STEP * STEP
    start = end - (POINTS - 1) * STEP
    lines = ["# TYPE container_cpu_usage_seconds counter"]
    for pod in ("web-0", "web-1"):
        labels = f'container="app",namespace="shop",pod="{pod}"'  # no job, no image, no cluster label
        lines += [f"container_cpu_usage_seconds_total{{{labels}}} {0.5 * k * STEP + (k % 7):.1f} {start + k * STEP}"
                  for k in range(POINTS)]
    lines.append("# EOF")
    (work / "raw.om").write_text("\n".join(lines) + "\n", encoding="utf-8")
    runner.backfill(work / "raw.om", work / "blocks")
    prom = Prometheus(work / "blocks", work / "server")
    try:
        prom.start()
        yield prom, end
    finally:
        prom.stop()


def _suggest(tmp_path: Path, url: str, end: int, config: dict | None) -> str:
    if config is not None:
        (tmp_path / "stereo.yaml").write_text(yaml.safe_dump(config), encoding="utf-8")
    cmd = [sys.executable, "-m", "generator", "suggest", "--prometheus", url, "--window", "1h", "--end", str(end),
           "--targets", "container_cpu_usage,pod_network_receive_bytes", "--out", "c.yaml"]
    run = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stderr


def test_the_default_selectors_on_data_without_job_or_image_are_named(raw_cadvisor: tuple[Prometheus, int],
                                                                       tmp_path: Path) -> None:
    prom, end = raw_cadvisor
    err = _suggest(tmp_path, prom.url, end, None)
    line = next(x for x in err.splitlines() if "matched nothing: container_cpu_usage_seconds_total{" in x)
    assert "container_cpu_usage_seconds_total has 2 series, none with" in line
    assert 'job="kubelet" (selectors.cadvisor)' in line and 'image!="" (selectors.cadvisor_containers)' in line
    assert 'container!=""' not in line.split("none with")[1]  # that matcher does match: not blamed
    assert "container_cpu_usage, namespace_cpu_usage" in line.split("read by")[1]
    # a metric that is not there at all is one line, whatever selectors read it
    absent = [x for x in err.splitlines() if "matched nothing: container_network_receive_bytes_total:" in x]
    assert len(absent) == 1 and "no series in the window (read by pod_network_receive_bytes)" in absent[0]


def test_nothing_is_blamed_once_the_site_is_configured(raw_cadvisor: tuple[Prometheus, int], tmp_path: Path) -> None:
    prom, end = raw_cadvisor
    err = _suggest(tmp_path, prom.url, end, {"selectors": {"cadvisor": "", "cadvisor_containers": 'container!=""'}})
    assert "container_cpu_usage: no recorded samples in the window, used its raw expression" in err
    assert "matched nothing: container_cpu_usage_seconds_total" not in err
    assert "matched nothing: container_network_receive_bytes_total: no series in the window" in err
