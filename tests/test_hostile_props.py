"""Property tests over the settings an attacker controls most directly: selectors, label values, thresholds.

For any value: either `stereo generate` stops with exit 2 and one line naming file:line and the key, or the
output it writes is accepted by promtool and amtool (generate runs them on the staged output; a refusal by
`promtool check rules` or `amtool check-config` would mean Stereo's own checks let something through, so it
counts as a failure here).
Example counts are small: each accepted example generates the whole site.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from generator import cli

# CI (CI=true) runs the same examples every time, so a submission is judged on its own change; elsewhere each run
# draws new ones (and the examples below always run): that is how the NEL and `)(` cases were found
SETTINGS = settings(max_examples=12, deadline=None, derandomize=os.environ.get("CI") == "true",
                    suppress_health_check=[HealthCheck.function_scoped_fixture])
HOSTILE_CHARS = st.sampled_from(list('"\\\n\t{}|()[]*+?.^$=~!,\'`:#&*%@ -_aZ09é\u2028\x00\x7f'))
TEXT = st.text(HOSTILE_CHARS, max_size=24) | st.text(max_size=24)


def _run(tmp_path: Path, capsys: pytest.CaptureFixture[str], yaml_text: str, key: str, line: int) -> None:
    cfg = tmp_path / "stereo.yaml"
    cfg.write_text(yaml_text, encoding="utf-8")
    out = tmp_path / "out"
    shutil.rmtree(out, ignore_errors=True)
    code = cli.main(["generate", "--config", str(cfg), "--out", str(out)])
    err = capsys.readouterr().err
    if code == 0:
        assert err == ""
        assert (out / "alertmanager" / "alertmanager.yml").is_file()
        return
    assert code == 2, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    # promtool check rules / amtool refusing would mean our own checks let something through; `promtool test
    # rules` refusing a threshold is the intended last line (whether an alert stays quiet is not static)
    assert "check rules refuses" not in err and "check-config refuses" not in err, err
    assert lines[0].startswith(f"stereo: {cfg}:{line}: "), lines[0]
    assert f" {key}" in lines[0] or "invalid YAML" in lines[0], lines[0]
    assert not out.exists() or not any(out.iterdir())


def _q(value: object) -> str:
    """A YAML scalar for any value (JSON is YAML)."""
    return json.dumps(value)


@SETTINGS
@given(label=st.sampled_from(["job", "instance", "__name__", "namespace", "a_b"]) | st.text(max_size=6),
       op=st.sampled_from(["=", "!=", "=~", "!~"]), value=TEXT)
def test_selectors(tmp_path: Path, capsys: pytest.CaptureFixture[str], label: str, op: str, value: str) -> None:
    selector = f'job="kube-etcd", {label}{op}"{value}"'
    _run(tmp_path, capsys, f"profile: self-managed\nselectors:\n  etcd: {_q(selector)}\n", "selectors.etcd", 3)


@SETTINGS
@given(regex=st.text(st.sampled_from(list("ab.*+?|()[]{}^$\\-0123,dDwWsSpPLN<>=!:")), max_size=14))
def test_selector_regexes(tmp_path: Path, capsys: pytest.CaptureFixture[str], regex: str) -> None:
    escaped = regex.replace("\\", "\\\\").replace('"', '\\"')
    selector = f'job=~"{escaped}"'
    _run(tmp_path, capsys, f"selectors:\n  coredns: {_q(selector)}\n", "selectors.coredns", 2)


@SETTINGS
@given(name=st.sampled_from(["team", "severity", "page", "x" * 101]) | st.text(max_size=8), value=TEXT)
@example(name="team", value="0\x85")  # a NEL, written raw in a single-quoted scalar, read back as a space
@example(name="team", value="a\u2028b\u2029c")
def test_patched_label_values(tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, value: str) -> None:
    text = f"patch:\n  CoreDNSDown:\n    labels:\n      {_q(name)}: {_q(value)}\n"
    _run(tmp_path, capsys, text, "patch.CoreDNSDown.labels", 4)


@SETTINGS
@given(threshold=st.floats() | st.integers(min_value=-(10**30), max_value=10**30)
       | st.sampled_from([".nan", ".inf", "-.inf", "1e400", "0x" + "f" * 30, "9" * 400, "yes", "~"]))
def test_thresholds(tmp_path: Path, capsys: pytest.CaptureFixture[str], threshold: object) -> None:
    if isinstance(threshold, float):
        literal = ".nan" if threshold != threshold else (".inf" if threshold == float("inf") else
                                                         "-.inf" if threshold == float("-inf") else repr(threshold))
    else:
        literal = str(threshold)
    _run(tmp_path, capsys, f"thresholds:\n  CoreDNSLatencyHigh: {literal}\n", "thresholds.CoreDNSLatencyHigh", 2)


def test_the_real_validators_are_installed() -> None:
    """generate skips a validator that is missing; these properties need both to mean anything."""
    assert shutil.which("promtool") and shutil.which("amtool")
