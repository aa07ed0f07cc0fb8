"""`stereo generate` reads the pairs from --correlations FILE, ./correlations.yaml, the prior, or the correlation
service (--suggestions URL, optionally with a fallback), and says clearly when one of them is wrong."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from dashboard_helpers import assert_adjacent, leaves

from generator import cli
from generator.correlations import Pair

MEASURED = """\
version: 1
generated_by: stereo suggest
window: 6h
pairs:
  - a: node_memory_utilisation
    b: node_disk_io_utilisation
    rho: 0.7
    n: 360
    critical: 0.135602
    alpha: 0.01
    window: 6h
    stability: 0.9
    source: measured
    relation: Memory ↔ disk IO
"""
PAIR = Pair("node_memory_utilisation", "node_disk_io_utilisation", rho=0.7, n=360, source="measured",
            relation="Memory ↔ disk IO")


def generate(tmp_path: Path, *args: str, out: str = "out") -> tuple[int, dict[str, str]]:
    code = cli.main(["generate", "--out", str(tmp_path / out), *args])
    files = {}
    if code == 0:
        files = {p.name: p.read_text(encoding="utf-8") for p in (tmp_path / out / "dashboards").glob("*.json")}
    return code, files


@pytest.fixture(autouse=True)
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # ./correlations.yaml is read from the working directory: keep the repository's own out of these tests
    monkeypatch.chdir(tmp_path)


def test_default_correlations_file_lays_out_deterministically(tmp_path: Path) -> None:
    code, prior = generate(tmp_path, out="prior")
    assert code == 0
    (tmp_path / "correlations.yaml").write_text(MEASURED, encoding="utf-8")
    code, first = generate(tmp_path, out="first")
    code2, second = generate(tmp_path, out="second")
    assert code == code2 == 0
    assert first == second
    assert first["nodes.json"] != prior["nodes.json"]
    assert_adjacent(json.loads(first["nodes.json"]), PAIR, "stereo-nodes", "stereo-nodes")


def test_unknown_signal_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "pairs.yaml"
    path.write_text(MEASURED.replace("b: node_disk_io_utilisation", "b: node_disk_io_utilization"), encoding="utf-8")
    code, _ = generate(tmp_path, "--correlations", str(path))
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1
    assert err.startswith(f"stereo: {path}:6: pairs[0].b: unknown signal node_disk_io_utilization")
    assert "closest: node_disk_io_utilisation" in err


def test_missing_correlations_file_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = generate(tmp_path, "--correlations", str(tmp_path / "nope.yaml"))
    assert code == 2
    assert "nope.yaml: no such file" in capsys.readouterr().err


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_service_stops_unless_optional(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{_closed_port()}/api/v1/correlations.yaml"
    code, _ = generate(tmp_path, "--suggestions", url)
    err = capsys.readouterr().err.strip()
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith(f"stereo: cannot read suggestions from {url}: ")

    (tmp_path / "correlations.yaml").write_text(MEASURED, encoding="utf-8")
    code, files = generate(tmp_path, "--suggestions", url, "--suggestions-optional")
    err = capsys.readouterr().err.strip()
    assert code == 0
    assert err.startswith(f"stereo: warning: cannot read suggestions from {url}: ")
    assert err.endswith("using correlations.yaml")
    assert_adjacent(json.loads(files["nodes.json"]), PAIR, "stereo-nodes", "stereo-nodes")


@pytest.fixture
def service() -> Iterator[tuple[str, list[str]]]:
    """A real HTTP server on 127.0.0.1 serving the correlations document, as the correlation service does."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(self.path)
            if self.path != "/api/v1/correlations.yaml":
                self.send_error(404)
                return
            body = MEASURED.encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", "application/yaml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", seen
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_suggestions_from_the_service(tmp_path: Path, service: tuple[str, list[str]],
                                      capsys: pytest.CaptureFixture[str]) -> None:
    base, seen = service
    code, files = generate(tmp_path, "--suggestions", f"{base}/api/v1/correlations.yaml")
    assert code == 0, capsys.readouterr().err
    assert seen == ["/api/v1/correlations.yaml"]
    nodes = json.loads(files["nodes.json"])
    assert_adjacent(nodes, PAIR, "stereo-nodes", "stereo-nodes")
    panel = next(p for p in leaves(nodes) if p["title"] == "Memory utilisation")
    assert "ρ = +0.70, n = 360" in panel["description"]

    code, _ = generate(tmp_path, "--suggestions", f"{base}/missing", out="again")
    assert code == 2
    assert "HTTP 404" in capsys.readouterr().err
