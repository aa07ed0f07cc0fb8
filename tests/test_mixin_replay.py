"""tools/mixin_replay.py reads promtool's failure report: an alert that fired where the replay expected silence.
promtool prints eval times its own way (`0s` for the test file's `0m`, `1h1m` for `61m`): those must still match."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

from tests.promtool_run import promtool

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))
import mixin_replay


@pytest.mark.parametrize(("text", "secs"), [("0m", 0), ("0s", 0), ("61m", 3660), ("1h1m", 3660), ("1h", 3600),
                                            ("1m30s", 90), ("500ms", 0.5), ("2d", 172800)])
def test_seconds(text: str, secs: float) -> None:
    assert mixin_replay.seconds(text) == secs


@pytest.mark.parametrize("text", ["", "1x", "m", "1h 1m", "-1m"])
def test_seconds_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        mixin_replay.seconds(text)


def test_fired_alerts_reads_real_promtool_output(tmp_path: Path) -> None:
    """An always-true alert expected quiet at 0m and 61m, a never-true one at 61m: promtool reports the first
    twice, in its own duration format, and the parsed keys match the test file's eval times."""
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": [{"name": "g", "rules": [
        {"alert": "Always", "expr": "up == 1"}, {"alert": "Never", "expr": "up == 2"}]}]}))
    checks = [{"eval_time": t, "alertname": a, "exp_alerts": []} for t, a in (("0m", "Always"), ("61m", "Always"),
                                                                              ("61m", "Never"))]
    (tmp_path / "t.yaml").write_text(yaml.safe_dump({"rule_files": ["rules.yaml"], "evaluation_interval": "1m",
                                                     "tests": [{"name": "case#1", "interval": "1m",
                                                                "input_series": [{"series": 'up{job="x"}',
                                                                                  "values": "1x70"}],
                                                                "alert_rule_test": checks}]}))
    proc = promtool("test", "rules", "t.yaml", cwd=tmp_path)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    fired = mixin_replay.fired_alerts(proc.stdout + proc.stderr)
    assert fired == {("case#1", "Always", 0), ("case#1", "Always", 3660)}
