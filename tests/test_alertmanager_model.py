"""The seeds' alert model in alertmanager.yml (generator.render.alertmanager_schedule): each setting passes
`amtool check-config`, `amtool config routes test` says which receivers a label set reaches, the schedule
approximation is the documented one, time windows mute or let through notifications in a real Alertmanager,
and leaving every setting out keeps the generated file byte-identical."""

from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

import pytest
from alertmanager_run import ALERTMANAGER, amtool, post, routes, running

from generator import pipeline, yamlio
from generator.config import Config, ConfigError, load
from generator.model import Component
from generator.render import alertmanager as am
from generator.render import alertmanager_schedule as model

ROOT = Path(__file__).resolve().parent.parent

ESCALATION = "alertmanager:\n  escalation: seeds\n"
ESCALATION_OVERRIDDEN = "alertmanager:\n  escalation: seeds\n  repeat_interval: {critical: 15m}\n  group_interval: 2m\n"
HOURS = """
alertmanager:
  active_hours:
    warning: {weekdays: ["monday:friday"], times: ["09:00-12:00", "13:00-18:00"], location: Asia/Shanghai}
  mute_hours:
    info: {weekdays: [saturday, sunday]}
"""
LEVELS = """
alertmanager:
  receivers: {critical: oncall, warning: tickets, info: tickets}
  levels: {P0: critical, P1: critical, P2: warning, P3: info}
  subscriptions:
    - {receiver: dba-phone, levels: [P0]}
    - {receiver: team-im, levels: [P1, P2]}
  integrations:
    team-im:
      webhook_configs: [{url: "https://im.example.com/hook"}]
patch:
  KubeletDown: {labels: {level: P0}}
"""
FEATURES = {"escalation": ESCALATION, "escalation_overridden": ESCALATION_OVERRIDDEN, "hours": HOURS,
            "levels": LEVELS}


def _site(tmp_path: Path, text: str) -> tuple[list[Component], Config]:
    path = tmp_path / "stereo.yaml"
    path.write_text(text)
    config = load(path)
    components, _ = pipeline.build(config)
    return pipeline.apply_site(pipeline.select_profile(components, config), config), config


def _text(components: list[Component], config: Config) -> str:
    return next(iter(am.alertmanager(components, config).values()))


def _write(tmp_path: Path, text: str) -> Path:
    target = tmp_path / "alertmanager.yml"
    target.write_text(_text(*_site(tmp_path, text)))
    return target


def _route(path: Path, **labels: str) -> set[str]:
    return set(routes(path, **labels))


# ------------------------------------------------------------------------------------------------- defaults
@pytest.mark.parametrize("text", ["", "alertmanager:\n  escalation: 'off'\n", "alertmanager:\n  subscriptions: []\n",
                                  "alertmanager:\n  levels: {P0: critical}\n  active_hours: {}\n"])
def test_without_settings_the_file_is_byte_identical(text: str, tmp_path: Path) -> None:
    assert _text(*_site(tmp_path, text)) == (ROOT / am.PATH).read_text()


@pytest.mark.parametrize("feature", sorted(FEATURES))
def test_amtool_accepts_each_feature(feature: str, tmp_path: Path) -> None:
    done = amtool("check-config", str(_write(tmp_path, FEATURES[feature])))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


# ----------------------------------------------------------------------------------------------- escalation
def test_the_seeds_schedule_as_data() -> None:
    first_hour = model.seeds_notifications(60)
    assert first_hour == [0, 1, 2, 3, 5, 7, 12, 17, 22, 27, 32, 42, 52]
    assert len(model.seeds_notifications(240)) == 21  # 20 in the stepped 232 minutes, then hourly
    assert len(model.seeds_notifications(1440)) == 41
    assert [model.approximation_count(r, 1440) for r in ("5m", "30m", "1h")] == [288, 48, 24]


def test_escalation_sets_each_severity_to_its_step(tmp_path: Path) -> None:
    doc = yamlio.load(_write(tmp_path, ESCALATION).read_text())
    by = {r["matchers"][0]: r for r in doc["route"]["routes"]}
    assert {s: (by[f'severity="{s}"']["group_interval"], by[f'severity="{s}"']["repeat_interval"])
            for s in ("critical", "warning", "info")} == {"critical": ("1m", "5m"), "warning": ("5m", "30m"),
                                                          "info": ("5m", "1h")}
    assert doc["route"]["repeat_interval"] == "30m"


def test_explicit_settings_win_over_the_escalation(tmp_path: Path) -> None:
    doc = yamlio.load(_write(tmp_path, ESCALATION_OVERRIDDEN).read_text())
    by = {r["matchers"][0]: r for r in doc["route"]["routes"]}
    assert (by['severity="critical"']["group_interval"], by['severity="critical"']["repeat_interval"]) == ("2m", "15m")
    assert by['severity="warning"']["repeat_interval"] == "30m"
    assert _route(tmp_path / "alertmanager.yml", severity="critical", alertname="X") == {"pager"}


# ---------------------------------------------------------------------------------------------- time windows
def test_time_windows_become_time_intervals(tmp_path: Path) -> None:
    path = _write(tmp_path, HOURS)
    doc = yamlio.load(path.read_text())
    assert doc["time_intervals"] == [
        {"name": "stereo-info-mute", "time_intervals": [{"weekdays": ["saturday", "sunday"]}]},
        {"name": "stereo-warning-active", "time_intervals": [{
            "weekdays": ["monday:friday"],
            "times": [{"start_time": "09:00", "end_time": "12:00"}, {"start_time": "13:00", "end_time": "18:00"}],
            "location": "Asia/Shanghai"}]},
    ]
    by = {r["matchers"][0]: r for r in doc["route"]["routes"]}
    assert by['severity="warning"']["active_time_intervals"] == ["stereo-warning-active"]
    assert by['severity="info"']["mute_time_intervals"] == ["stereo-info-mute"]
    assert "active_time_intervals" not in by['severity="critical"']
    # routing itself does not change: the window decides whether the receiver is notified, not which one
    assert _route(path, severity="warning", alertname="X") == {"ticket"}
    assert _route(path, severity="info", alertname="X") == {"null"}


# -------------------------------------------------------------------------------------- levels, subscriptions
@pytest.mark.parametrize(("labels", "receivers"), [
    ({"severity": "critical", "level": "P0"}, {"dba-phone", "oncall"}),
    ({"severity": "critical", "level": "P1"}, {"team-im", "oncall"}),
    ({"severity": "critical"}, {"dba-phone", "team-im", "oncall"}),  # no level: every level of its severity
    ({"severity": "warning"}, {"team-im", "tickets"}),
    ({"severity": "warning", "level": "P0"}, {"dba-phone", "tickets"}),  # the label wins over the severity
    ({"severity": "info"}, {"tickets"}),
    ({"severity": "info", "level": "P3"}, {"tickets"}),
    # no severity: a matched subscription ends Alertmanager's fallback to the root receiver (docs/alert-model.md)
    ({"level": "P2"}, {"team-im"}),
    ({"level": "P4"}, {"tickets"}),  # nothing matched: the root receiver (warning's)
])
def test_subscriptions_by_level(labels: dict[str, str], receivers: set[str], tmp_path: Path) -> None:
    assert _route(_write(tmp_path, LEVELS), alertname="X", cluster="c", **labels) == receivers


def test_subscription_receivers_are_declared_with_their_integrations(tmp_path: Path) -> None:
    doc = yamlio.load(_write(tmp_path, LEVELS).read_text())
    receivers = {r["name"]: r for r in doc["receivers"]}
    # the heartbeat's and the info inhibitor's own receivers come from the general alerts
    assert sorted(receivers) == ["dba-phone", "info-inhibitor", "oncall", "team-im", "tickets", "watchdog"]
    assert receivers["team-im"]["webhook_configs"] == [{"url": "https://im.example.com/hook"}]
    assert receivers["dba-phone"] == {"name": "dba-phone"}
    # subscriptions come after the heartbeat's and the inhibitor's routes (those must not reach a subscriber)
    names = [r["receiver"] for r in doc["route"]["routes"]]
    assert names[:2] == ["watchdog", "info-inhibitor"]
    first = doc["route"]["routes"][2]
    assert first == {"receiver": "dba-phone", "matchers": ['level="P0"'], "continue": True, "repeat_interval": "1h"}


def test_the_patched_level_reaches_the_rule(tmp_path: Path) -> None:
    components, _ = _site(tmp_path, LEVELS)
    kubelet = next(a for c in components for a in c.alerts if a.name == "KubeletDown")
    assert kubelet.labels.get("level") == "P0"


@pytest.mark.parametrize(("text", "message"), [
    ("alertmanager:\n  levels: {P0: critical}\n  subscriptions: [{receiver: x, levels: [P0, P2]}]\n",
     ":3: alertmanager.subscriptions[0].levels[1]: expected a level named in alertmanager.levels (P0), got \"P2\""),
    ("alertmanager:\n  levels: {P0: critical}\npatch:\n  KubeletDown: {labels: {level: P9}}\n",
     ":4: patch.KubeletDown.labels.level: expected a level named in alertmanager.levels (P0), got \"P9\""),
])
def test_cross_checks_name_the_line(text: str, message: str, tmp_path: Path) -> None:
    path = tmp_path / "stereo.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load(path)
    assert str(err.value) == f"{path}{message}"


# -------------------------------------------------------------------------- time windows in a real Alertmanager
class _Hook(http.server.BaseHTTPRequestHandler):
    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _wait(condition: Callable[[], object], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.2)


@pytest.mark.skipif(ALERTMANAGER is None, reason="prometheus-alertmanager is not installed")
def test_windows_mute_and_let_through_in_a_real_alertmanager(tmp_path: Path) -> None:
    """Windows that hold at any time of any day, so the outcome does not depend on when the test runs: the
    critical route is active all week, the warning route muted all week."""
    hook = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    _Hook.received = []
    threading.Thread(target=hook.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{hook.server_address[1]}/"
    always = '{weekdays: ["sunday:saturday"], times: ["00:00-24:00"]}'
    text = (f"alertmanager:\n  group_wait: 1s\n  receivers: {{critical: pager, warning: ticket, info: ticket}}\n"
            f"  active_hours: {{critical: {always}}}\n  mute_hours: {{warning: {always}}}\n  integrations:\n"
            f"    pager: {{webhook_configs: [{{url: '{url}'}}]}}\n"
            f"    ticket: {{webhook_configs: [{{url: '{url}'}}]}}\n")
    path = _write(tmp_path, text)
    log: list[str] = []
    try:
        with running(path, tmp_path / "data", "--log.level=debug", log=log) as am_url:
            post(am_url, [{"alertname": "Muted", "severity": "warning", "cluster": "c"},
                          {"alertname": "Paged", "severity": "critical", "cluster": "c"}])
            # both decisions are logged (debug): the critical group notified, the warning group held back
            _wait(lambda: any("Notifications not sent, route is within mute time" in line for line in log)
                  and _Hook.received, 120, "no notification and no mute decision")
    finally:
        hook.shutdown()
    names = [a["labels"]["alertname"] for n in _Hook.received for a in n["alerts"]]
    assert names == ["Paged"], names


def test_stereo_generate_writes_every_feature_the_same_twice(tmp_path: Path) -> None:
    """The whole command (which runs amtool check-config on the staged file) with every setting at once."""
    from generator import cli

    config = tmp_path / "stereo.yaml"
    hours = "\n".join(HOURS.strip().splitlines()[1:])
    config.write_text(LEVELS.replace("alertmanager:\n", f"alertmanager:\n  escalation: seeds\n{hours}\n", 1))
    outputs = []
    for run in ("a", "b"):
        assert cli.main(["generate", "--config", str(config), "--out", str(tmp_path / run)]) == 0
        outputs.append((tmp_path / run / am.PATH).read_bytes())
    assert outputs[0] == outputs[1]
    doc = yamlio.load(outputs[0])
    assert [t["name"] for t in doc["time_intervals"]] == ["stereo-info-mute", "stereo-warning-active"]
    routes = doc["route"]["routes"]
    assert [r["receiver"] for r in routes[:6]] == ["watchdog", "info-inhibitor", "dba-phone", "dba-phone", "team-im",
                                                   "team-im"]
    assert routes[2]["repeat_interval"] == "5m"  # P0 -> critical -> the escalation's step
