"""Regenerate with a changed threshold, POST /-/reload, and Prometheus runs the new rule."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest
from e2e.lab import EVALUATION_INTERVAL, rule_globs, write_site

from generator.simulate.prometheus import Prometheus


def _expr(prom: Prometheus, alert: str) -> str:
    for group in prom.rule_groups():
        for rule in group["rules"]:
            if rule.get("name") == alert and rule["type"] == "alerting":
                return rule["query"]
    raise AssertionError(f"{alert} not loaded")


def test_reload_runs_the_regenerated_rule(tmp_path: Path) -> None:
    if not shutil.which("prometheus"):
        pytest.skip("prometheus is not installed")
    before = write_site(tmp_path)
    prom = Prometheus(tmp_path, rule_globs(tmp_path), evaluation_interval=EVALUATION_INTERVAL)
    try:
        prom.start()
        assert _expr(prom, "CoreDNSLatencyHigh").endswith("> 1")
        after = write_site(tmp_path, thresholds={"CoreDNSLatencyHigh": 2.5})
        assert [p for p in after if after[p] != before[p]] == ["alerts/coredns.yaml"]
        prom.reload()
        deadline = time.monotonic() + 30
        while not _expr(prom, "CoreDNSLatencyHigh").endswith("> 2.5"):
            assert time.monotonic() < deadline, _expr(prom, "CoreDNSLatencyHigh")
            time.sleep(0.2)
        groups = {g["name"] for g in prom.rule_groups()}
        assert {"coredns.alerts", "coredns.rules", "kube-apiserver.rules.long"} <= groups
    finally:
        prom.stop()
    assert prom.proc is None
