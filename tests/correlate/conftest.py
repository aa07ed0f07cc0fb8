"""Fixtures for the live-Prometheus tests: planted data backfilled into a real Prometheus 2.42, and a fake
upstream that injects faults (slow, 500, invalid JSON) in front of it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from promlab import FakePrometheus, Prometheus, build_blocks


@pytest.fixture(scope="session")
def planted_blocks(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    """TSDB blocks holding the planted data (written and backfilled once per session), and its last timestamp."""
    if shutil.which("promtool") is None:
        pytest.skip("promtool is not installed")
    return build_blocks(tmp_path_factory.mktemp("planted"))


@pytest.fixture(scope="session")
def prometheus(planted_blocks: tuple[Path, int], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prometheus]:
    """One real Prometheus for the session, stopped by pid at the end whatever happens."""
    if shutil.which("prometheus") is None:
        pytest.skip("prometheus is not installed")
    server = Prometheus(planted_blocks[0], tmp_path_factory.mktemp("prometheus"))
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def own_prometheus(planted_blocks: tuple[Path, int], tmp_path: Path) -> Iterator[Prometheus]:
    """A Prometheus of the test's own (it may stop and restart it); always stopped afterwards."""
    if shutil.which("prometheus") is None:
        pytest.skip("prometheus is not installed")
    server = Prometheus(planted_blocks[0], tmp_path / "prometheus")
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
def fake_prometheus(prometheus: Prometheus) -> Iterator[FakePrometheus]:
    """A fault injector in front of the real Prometheus (mode "proxy" = no fault)."""
    fake = FakePrometheus(prometheus.url)
    try:
        yield fake
    finally:
        fake.close()


@pytest.fixture
def fake_slow_prometheus(prometheus: Prometheus) -> Iterator[FakePrometheus]:
    """A fake Prometheus that exists only to inject slowness: every request sleeps 3 s, then is proxied to the
    real one. Set `.mode = "proxy"` to remove the fault."""
    fake = FakePrometheus(prometheus.url, mode="slow", delay=3.0)
    try:
        yield fake
    finally:
        fake.close()
