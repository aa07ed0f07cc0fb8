"""`stereo simulate`: repeatable bytes, valid OpenMetrics promtool accepts, the CLI's errors, live /metrics."""

from __future__ import annotations

import math
import shutil
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from simhelpers import ROOT, parse_text

from generator.process import go_batch_env
from generator.simulate import main
from generator.simulate.scenarios import SCENARIOS
from generator.simulate.serve import LiveCluster, make_server

SHORT = ["--duration", "30m"]


def _simulate(tmp_path: Path, name: str, *args: str) -> bytes:
    out = tmp_path / name
    assert main(["--out", str(out), *args]) == 0
    return out.read_bytes()


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path: Path) -> None:
    first = _simulate(tmp_path, "a.om", *SHORT, "--scenario", "oom-kills")
    assert _simulate(tmp_path, "b.om", *SHORT, "--scenario", "oom-kills") == first
    assert _simulate(tmp_path, "c.om", *SHORT, "--scenario", "oom-kills", "--seed", "2") != first
    assert _simulate(tmp_path, "d.om", *SHORT) != first


def _check_openmetrics(text: str) -> None:
    assert text.endswith("# EOF\n") and text.count("# EOF") == 1
    families: dict[str, str] = {}
    current = kind = ""
    allowed: set[str] = set()  # the sample names of the current family (none before the first TYPE line)
    for line in text.splitlines()[:-1]:
        if line.startswith("# TYPE "):
            _, _, current, kind = line.split(" ")
            assert current not in families, f"family {current} declared twice (samples of a family must be together)"
            families[current] = kind
            allowed = {"counter": {f"{current}_total"}, "gauge": {current}, "unknown": {current},
                       "histogram": {f"{current}_bucket", f"{current}_count", f"{current}_sum"}}[kind]
            continue
        sample = line.split("{", 1)[0].split(" ", 1)[0]
        assert sample in allowed, f"{sample} inside the {kind} family {current}"
        value, stamp = line.rsplit(" ", 2)[-2:]
        assert stamp.isdigit() and len(stamp) == 10, f"timestamp not in seconds: {line}"
        assert not math.isnan(float(value))
    assert any(k == "histogram" for k in families.values()) and any(k == "counter" for k in families.values())


def test_output_is_openmetrics_that_promtool_backfills(tmp_path: Path) -> None:
    text = _simulate(tmp_path, "sim.om", "--duration", "1h", "--scenario", "pod-crash-loop").decode()
    _check_openmetrics(text)
    histograms = parse_text(text)
    for name in ("apiserver_request_duration_seconds", "http_request_duration_seconds"):
        assert any(labels.get("le") == "+Inf" for labels, _, _ in histograms[f"{name}_bucket"])
        assert f"{name}_count" in histograms and f"{name}_sum" in histograms
    if not shutil.which("promtool"):
        pytest.skip("promtool is not installed")
    run = subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", str(tmp_path / "sim.om"),
                          str(tmp_path / "blocks")], capture_output=True, text=True, timeout=300, check=False,
                         env=go_batch_env())
    assert run.returncode == 0, run.stderr[-2000:]
    assert list((tmp_path / "blocks").glob("*/meta.json"))


@pytest.mark.parametrize("argv", [
    ["--nodes", "0", "--out", "x.om"],
    ["--pods", "many", "--out", "x.om"],
    ["--duration", "forever", "--out", "x.om"],
    ["--step", "0s", "--out", "x.om"],
    ["--duration", "1m", "--step", "5m", "--out", "x.om"],
    ["--end", "yesterday", "--out", "x.om"],
    ["--scenario", "meteor-strike", "--out", "x.om"],
    ["--congested-from", "1.5", "--out", "x.om"],
    ["--cluster-label", "not a label", "--out", "x.om"],
    ["--serve", "no-port-here"],
    ["--out", "x.om", "--serve", "127.0.0.1:0"],
    [],
    ["--bogus"],
])
def test_bad_options_exit_2_with_one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("stereo simulate: error: "), err


def test_unwritable_output_is_one_line_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--out", str(tmp_path / "missing" / "x.om"), *SHORT]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot write" in err


def test_the_stereo_command_delegates_and_exits_2() -> None:
    run = subprocess.run([sys.executable, "-m", "generator", "simulate", "--nodes", "0", "--out", "x.om"],
                         capture_output=True, text=True, cwd=ROOT, check=False)
    assert run.returncode == 2 and run.stderr.count("\n") == 1, run.stderr


def test_list_scenarios(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--list-scenarios"]) == 0
    out = capsys.readouterr().out
    for scenario in SCENARIOS.values():
        assert f"{scenario.name}: " in out and ", ".join(scenario.expect) in out


def test_the_simulator_needs_no_numpy() -> None:
    code = ("import sys, io; import generator.simulate.serve, generator.simulate.run as r; "
            "r.Simulation([r.ClusterSpec()], 1, r.Window(duration=120)).run().write(io.StringIO()); "
            "assert 'numpy' not in sys.modules, 'numpy imported'")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False)
    assert run.returncode == 0, run.stderr


def test_live_metrics_endpoint() -> None:
    from generator.simulate.run import ClusterSpec, Window

    cluster = LiveCluster(ClusterSpec(name="live", scenarios=("coredns-servfail",)), 1, Window(step=15))
    server = make_server("127.0.0.1", 0, cluster)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        with urllib.request.urlopen(f"{url}/metrics", timeout=30) as resp:
            assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
            text = resp.read().decode()
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{url}/nothing", timeout=10)
        assert missing.value.code == 404
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    samples = parse_text(text)
    assert all(stamp is None for rows in samples.values() for _, _, stamp in rows)  # live values: no timestamps
    jobs = {labels["job"] for labels, value, _ in samples["up"] if value == 1}
    assert {"apiserver", "kube-etcd", "kubelet", "coredns", "kube-state-metrics", "node-exporter"} <= jobs
    assert "# TYPE apiserver_request_total counter" in text
    assert "# TYPE apiserver_request_duration_seconds histogram" in text
    servfail = [v for labels, v, _ in samples["coredns_dns_responses_total"] if labels["rcode"] == "SERVFAIL"]
    assert servfail and min(servfail) > 0  # the scenario plays from the start (after a ten-minute warm-up)
