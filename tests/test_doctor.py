"""`stereo doctor` without a Prometheus: the selector scanner, the table, the client's answers to faults.

The scanner is checked against what it did not produce: a regular-expression scan for recorded names (kept
here as an independent oracle) over every expression of the catalog, and the metric names the simulator writes.
The HTTP faults (an HTML page, 401 without a token, a bearer token) come from a fake server, named as such:
a real Prometheus does not answer with HTML or ask for a token.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterator
from contextlib import redirect_stderr, redirect_stdout
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
import yaml

from generator import cli, pipeline
from generator.build import build, site
from generator.config import load
from generator.doctor import Finding, table
from generator.doctor.checks import Doctor
from generator.doctor.client import Client
from generator.doctor.exprs import Selector, selectors
from generator.doctor.site import Part, Site, load_site, rule_groups
from generator.simulate.run import ClusterSpec, Simulation, Window


def test_the_scanner_finds_each_vector_selector_once() -> None:
    expr = ('sum by (cluster, le) (rate(apiserver_request_duration_seconds_bucket{job="apiserver", '
            'verb!~"WATCH|CONNECT"}[5m])) / on (cluster) group_left() max without (instance) '
            '(up{job="x"} offset 5m) > bool 0.5e1 and absent(foo{a="}b\\"c"}) or '
            'label_replace(max_over_time(cluster:x:rate5m[1h:1m]), "dst", "$1", "src", "(.*)") '
            'unless topk(3, up{job="x"}) * 1e3 + {__name__="bare"}')
    assert selectors(expr) == [
        Selector("apiserver_request_duration_seconds_bucket", 'job="apiserver", verb!~"WATCH|CONNECT"'),
        Selector("up", 'job="x"'), Selector("foo", 'a="}b\\"c"'), Selector("cluster:x:rate5m", ""),
        Selector("", '__name__="bare"')]


@pytest.fixture(scope="module")
def site_parts() -> list:
    return load_site(load(None)).parts


@pytest.mark.parametrize("settings", [
    {}, {"profile": "managed", "evaluation_interval": "5m", "exclude": {"alerts": ["KubeletDown"]}},
    {"exclude": {"components": ["etcd", "coredns"], "alerts": ["NodeSystemSaturation"],
                 "rules": ["instance:node_load1_per_cpu:ratio", "instance:node_load15_per_cpu:ratio"]}}])
def test_rule_groups_are_the_generated_files_groups(tmp_path: Path, settings: dict) -> None:
    """doctor takes the groups from the components; the oracle: the rule and alert files generated, parsed."""
    (tmp_path / "stereo.yaml").write_text(yaml.safe_dump(settings))
    config = load(tmp_path / "stereo.yaml")
    files = pipeline.generate(config)
    parsed = [(g["name"], {r.get("record") or r.get("alert") for r in g["rules"]})
              for path in sorted(files) if path.startswith(("rules/", "alerts/"))
              for g in yaml.safe_load(files[path])["groups"]]
    assert len(parsed) > 10 and rule_groups(site(config, build(config))) == parsed


# the oracle: names with colons outside strings, not before `(` (the catalog checks' scan before promql_tokens)
SERIES = re.compile(r"(?<![\w:$])[a-zA-Z_]\w*(?::\w+)+(?![\w:(])")
QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`')


def test_recorded_names_agree_with_a_regex_oracle(site_parts: list) -> None:
    for part in site_parts:
        for what, expr in part.readers():
            mine = {s.metric for s in selectors(expr) if s.recorded}
            assert mine == set(SERIES.findall(QUOTED.sub('""', expr))), (part.key, what)


def test_raw_names_are_metrics_the_simulator_writes(site_parts: list) -> None:
    sim = Simulation([ClusterSpec("t", 2, 2, 6)], seed=1, window=Window(duration=300, step=60)).run()
    out = io.StringIO()
    sim.write(out)
    written = {line.split("{", 1)[0].split(" ", 1)[0] for line in out.getvalue().splitlines()
               if line and not line.startswith("#")}
    read = {s.metric for p in site_parts for s in p.raw_selectors()}
    # exported only when something happens (a Job, a waiting container, a 5xx burst): not in a quiet cluster
    lazy = {n for n in read - written if n.startswith(("kube_job_", "kube_pod_container_status_"))}
    assert len(read) > 150
    assert read - written - lazy == set()


def test_components_know_their_job_selectors(site_parts: list) -> None:
    by_key = {p.key: p.sources for p in site_parts}
    assert by_key["etcd"] == {"etcd": 'job="kube-etcd"'}
    assert set(by_key["workloads"]) == {"cadvisor", "kube-state-metrics"}  # container filter is no job
    assert by_key["services"] == {}


def test_the_heartbeat_is_the_alert_model_flag_not_a_name(site_parts: list) -> None:
    """Doctor's heartbeat check reads `Alert.heartbeat`: the catalog's Watchdog is one, a name ending in
    Watchdog is not. The alerts here read no series, so the client (pointed nowhere) is never asked."""
    assert {b for p in site_parts for b in p.heartbeats} == {"Watchdog"}
    part = Part("meta", {}, alerts={"Beat": "vector(1)", "NodeWatchdog": "vector(0)"}, heartbeats={"Beat"})
    doctor = Doctor(Site(load(None), [part]), Client("http://127.0.0.1:9"))
    quiet = doctor.alerts(part, {})
    assert [(f.check, f.status, f.detail) for f in quiet if f.check == "heartbeat"] == [
        ("heartbeat", "warn", "Beat is not firing: are the alert rules loaded?")]
    both = doctor.alerts(part, {"Beat": 1, "NodeWatchdog": 2})
    assert [(f.check, f.status, f.detail) for f in both if f.check in ("heartbeat", "alerts firing")] == [
        ("heartbeat", "ok", "Beat is firing"), ("alerts firing", "warn", "firing now: NodeWatchdog (2)")]


def test_the_table_lines_up_and_counts() -> None:
    text = table([Finding("etcd", "targets", "ok", '{job="kube-etcd"}: 3 of 3 targets up'),
                  Finding("kube-proxy", "targets", "fail", 'no target; jobs here: a"b\nc')])
    lines = text.splitlines()
    assert lines[0].index("CHECK") == lines[1].index("targets") == lines[2].index("targets")
    assert lines[2].split()[:3] == ["kube-proxy", "targets", "fail"]
    assert lines[-1] == "2 checks: 1 ok, 0 warn, 1 fail" and len(lines) == 4
    assert lines[2].endswith('no target; jobs here: a"b\\nc')


def _doctor(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = cli.main(["doctor", *args])
    return code, out.getvalue(), err.getvalue()


class _Fake(BaseHTTPRequestHandler):
    """A fake server: answers HTML on /html/..., 404 on /mimir/api/v1/targets (as Mimir does), 401 unless the
    bearer token is right."""

    seen: ClassVar[list[str]] = []

    def _answer(self) -> None:
        _Fake.seen.append(self.headers.get("Authorization", ""))
        if self.path.startswith("/html/"):
            self._send(200, b"<html>login</html>", "text/html")
        elif self.path.startswith("/mimir/api/v1/targets"):
            self._send(404, b"404 page not found\n", "text/plain")
        elif self.headers.get("Authorization") != "Bearer s3cret":
            self._send(401, b'{"status":"error","error":"token required"}', "application/json")
        else:
            self._send(200, b'{"status":"success","data":{"alerts":[]}}', "application/json")

    do_GET = do_POST = _answer

    def _send(self, code: int, body: bytes, kind: str) -> None:
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Fake)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_page_that_is_not_the_api_is_bad_input(fake: str) -> None:
    code, out, err = _doctor("--prometheus", f"{fake}/html")
    assert code == 2 and out == ""
    assert err == f"stereo doctor: {fake}/html/api/v1/alerts: not a Prometheus API answer (not JSON)\n"


def test_the_token_is_sent_as_a_bearer_header(fake: str, tmp_path: Path) -> None:
    _Fake.seen.clear()
    code, _, err = _doctor("--prometheus", fake)
    assert code == 2 and "HTTP 401: token required" in err and _Fake.seen == [""]
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    code, _, err = _doctor("--prometheus", fake, "--token-file", str(token))
    # every call carries the token (buildinfo and top_queries to tell the backend, alerts, targets, rules, the
    # first query); the fake's answer to that query is no vector, which ends it
    assert _Fake.seen[1:] == ["Bearer s3cret"] * 6
    assert code == 2 and "/api/v1/query: expected a vector for 'count(up{job=" in err and len(err.splitlines()) == 1


def test_an_endpoint_the_backend_lacks_is_one_na_row(fake: str) -> None:
    """Mimir answers 404 for /api/v1/targets: the duplicate-URL check says so, the other answers still count."""
    from generator.doctor.backend import Backend, Views

    views = Views(Client(f"{fake}/mimir", "s3cret"), None, Backend("Grafana Mimir", "2.10.0"))
    assert views.targets() is None
    assert views.why["targets"] == (f"not available on this backend (Grafana Mimir): {fake}/mimir/api/v1/targets: "
                                    "HTTP 404")
    assert views.alerts() == [] and views.rule_groups() == []  # real answers (nothing firing), not placeholders
    doctor = Doctor(Site(load(None), []), Client(f"{fake}/mimir", "s3cret"))
    doctor.views = views
    assert [f.as_dict() for f in doctor.scrape_urls()] == [
        {"component": "(prometheus)", "check": "duplicate scrape", "status": "n/a",
         "detail": views.why["targets"] + " (the per-job checks below read the up series)"}]


def test_a_placeholder_rules_api_is_no_answer(fake: str) -> None:
    """VictoriaMetrics answers /api/v1/rules and /api/v1/alerts with empty lists unless proxied to vmalert."""
    from generator.doctor.backend import Backend, Views

    views = Views(Client(fake, "s3cret"), None, Backend("VictoriaMetrics", placeholders=True))
    assert views.rule_groups() is None and views.alerts() is None
    assert "placeholder" in views.why["rules"] and "--ruler" in views.why["alerts"]
    assert views.targets() == []  # it scrapes nothing itself: a true answer
    ruled = Views(Client(fake, "s3cret"), Client(fake, "s3cret"), Backend("VictoriaMetrics", placeholders=True))
    assert ruled.rule_groups() == [] and ruled.alerts() == []  # asked of the ruler: believed


@pytest.mark.parametrize("args, says", [
    (["--timeout", "0"], "--timeout 0.0: expected seconds in (0, 600]"),
    (["--config", "/nonexistent/stereo.yaml"], "/nonexistent/stereo.yaml"),
    (["--token-file", "/nonexistent/token"], "/nonexistent/token"),
    (["--ruler", "vmalert:8880"], "--ruler 'vmalert:8880': expected an http(s) URL"),
])
def test_bad_input_is_one_line_and_exit_2(args: list[str], says: str) -> None:
    code, out, err = _doctor("--prometheus", "http://127.0.0.1:9", *args)
    assert code == 2 and out == "" and says in err and len(err.splitlines()) == 1


def test_doctor_needs_no_extra() -> None:
    import subprocess
    import sys

    code = ("import sys, generator.doctor, generator.doctor.site, generator.doctor.checks; "
            "print(sorted(m for m in ('numpy', 'scipy', 'fastapi', 'requests', 'prometheus_api_client') "
            "if m in sys.modules))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
