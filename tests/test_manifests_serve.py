"""The Deployment's command line and the settings ConfigMap are what the real `stereo serve` accepts: the service
is started with the generated args (paths and listen address moved to the test's), answers /healthz without
a token and refuses the API without one. Stopped by pid."""

from __future__ import annotations

import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from generator import pipeline
from generator.config import load
from generator.render import manifests_service
from generator.simulate.prometheus import free_port


def _status(url: str, token: str | None = None) -> int:
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


def test_generated_deployment_args_start_the_real_service(tmp_path: Path) -> None:
    settings = tmp_path / "stereo.yaml"
    settings.write_text("cluster_label: k8s_cluster\nprofile: managed\nselectors: {coredns: 'job=\"kube-dns\"'}\n"
                        "manifests: {namespace: observability, labels: {release: kps}}\n", encoding="utf-8")
    files = pipeline.generate(load(settings), manifests=True)
    deployment = yaml.safe_load(files["manifests/service/deployment.yaml"])
    site = yaml.safe_load(files["manifests/service/config.yaml"])["data"]["stereo.yaml"]
    assert yaml.safe_load(site) == {"cluster_label": "k8s_cluster", "profile": "managed",
                                    "selectors": {"coredns": 'job="kube-dns"'}}
    # the files the pod would mount, here
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "stereo.yaml").write_text(site, encoding="utf-8")
    (tmp_path / "token").mkdir()
    (tmp_path / "token" / "token").write_text("s3cret\n", encoding="utf-8")
    port = free_port()
    args = [a.replace(manifests_service.CONFIG_DIR, str(tmp_path / "config"))
             .replace(manifests_service.TOKEN_DIR, str(tmp_path / "token"))
            for a in deployment["spec"]["template"]["spec"]["containers"][0]["args"]]
    args[args.index("--listen") + 1] = f"127.0.0.1:{port}"
    args[args.index("--prometheus") + 1] = f"http://127.0.0.1:{free_port()}"  # nothing there: liveness holds
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "generator", *args], stdout=log, stderr=subprocess.STDOUT,
                            stdin=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        status = 0
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                status = _status(f"{base}/healthz")
                break
            except (urllib.error.URLError, OSError):
                time.sleep(0.3)
        assert status == 200, (tmp_path / "serve.log").read_text(encoding="utf-8")[-2000:]
        assert _status(f"{base}/api/v1/correlations.yaml") == 401
        assert _status(f"{base}/metrics") == 200
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        log.close()


@pytest.mark.parametrize("path", ["/healthz", "/metrics"])
def test_probes_and_scrape_paths_need_no_token(path: str) -> None:
    """What the kubelet and Prometheus call carries no Authorization header: the service must exempt them."""
    config = load(None)
    pod = manifests_service.deployment(config)["spec"]["template"]["spec"]["containers"][0]
    monitor = manifests_service.service_monitor(config)["spec"]["endpoints"][0]
    assert path in {pod["livenessProbe"]["httpGet"]["path"], monitor["path"]}
    assert "authorization" not in monitor and "bearerTokenSecret" not in monitor
