"""Hostile use of the CLI: bad paths, devices, pipes, binary inputs, killed runs, output the real validators
refuse, and the worst inputs under a 300 MB address-space and 10 s CPU limit (no wall-clock assertions).
"""

from __future__ import annotations

import hashlib
import os
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from generator import cli, validate_tools, writer
from generator.config import Config, load
from generator.process import go_batch_env

MEMORY = 300 * 1024 * 1024
CPU_SECONDS = 10


def _snapshot(tree: Path) -> dict[str, str]:
    return {p.relative_to(tree).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(tree.rglob("*")) if p.is_file()}


def _one_line(capsys: pytest.CaptureFixture[str], code: int) -> str:
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("stereo: ")
    return lines[0]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    assert cli.main(["generate", "--out", str(out)]) == 0
    return out


# ------------------------------------------------------------------------------------------------ CLI paths
def test_out_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "file.txt"
    target.write_text("keep me\n")
    line = _one_line(capsys, cli.main(["generate", "--out", str(target)]))
    assert line == f"stereo: --out {target}: not a directory"
    assert target.read_text() == "keep me\n"
    line = _one_line(capsys, cli.main(["generate", "--check", "--out", str(target)]))
    assert line == f"stereo: --out {target}: not a directory"


def test_out_cannot_be_created(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "file.txt").write_text("x")
    line = _one_line(capsys, cli.main(["generate", "--out", str(tmp_path / "file.txt" / "sub")]))
    assert line.endswith("cannot create: Not a directory")
    line = _one_line(capsys, cli.main(["generate", "--out", "/proc/stereo-cannot-be-here"]))
    assert line.startswith("stereo: --out /proc/stereo-cannot-be-here: cannot create:")


@pytest.mark.parametrize("flag", ["--config", "--correlations"])
def test_inputs_that_are_not_files(tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path, expected in [("/dev/urandom", "not a regular file"), (str(fifo), "not a regular file"),
                           (str(tmp_path), "is a directory"), (sys.executable, "not UTF-8 text")]:
        line = _one_line(capsys, cli.main(["generate", flag, path, "--out", str(tmp_path / "out")]))
        assert line.startswith(f"stereo: {path}") and expected in line, line
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(("body", "expected"), [
    ("pairs: &p []\nmore: *p\n", ":2: YAML alias *p is not allowed"),
    ("pairs: []\npairs: []\n", ":2: duplicate key pairs"),
    ("pairs: " + "[" * 50 + "]" * 50 + "\n", ":1: nested deeper than 8 levels"),
    ("pairs:\n  - {a: x, b: y, rho: .nan}\n", ":2: pairs[0].rho: expected a finite number"),
])
def test_hostile_correlations_file(tmp_path: Path, site: Path, capsys: pytest.CaptureFixture[str],
                                   body: str, expected: str) -> None:
    path = tmp_path / "correlations.yaml"
    path.write_text(body)
    before = _snapshot(site)
    line = _one_line(capsys, cli.main(["generate", "--correlations", str(path), "--out", str(site)]))
    assert line.startswith(f"stereo: {path}{expected}"), line
    assert _snapshot(site) == before


# ------------------------------------------------------------------------------------------- killed runs
def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_next_run_cleans_a_killed_runs_staging(site: Path) -> None:
    dead = site / f".stereo-{_dead_pid()}-abc123"
    (dead / "new" / "rules").mkdir(parents=True)
    (dead / "new" / "rules" / "half.yaml").write_text("groups: [")
    legacy = site / ".stereo-q1w2e3"  # the name older versions gave their staging folder
    legacy.mkdir()
    alive = site / f".stereo-{os.getppid()}-zzz"  # a run still in progress is left alone
    alive.mkdir()
    assert cli.main(["generate", "--out", str(site)]) == 0
    assert not dead.exists() and not legacy.exists()
    assert alive.exists()
    alive.rmdir()
    assert sorted(p.name for p in site.iterdir() if p.name.startswith(".stereo-")) == []


def test_sigkilled_generate_leaves_nothing_after_the_next_run(tmp_path: Path) -> None:
    """Kill a real generate at random moments; whatever it left, the next run starts clean."""
    out = tmp_path / "out"
    out.mkdir()
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    for delay in (0.3, 0.6, 0.9):
        proc = subprocess.Popen([sys.executable, "-m", "generator", "generate", "--out", str(out)], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            proc.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    assert cli.main(["generate", "--out", str(out)]) == 0
    assert [p.name for p in out.iterdir() if p.name.startswith(".stereo-")] == []


# --------------------------------------------------------------------------------- the real validators
def test_promtool_error_names_the_patched_alert(tmp_path: Path) -> None:
    """A rule file promtool refuses (written by hand: Stereo's own checks would stop this earlier)."""
    cfg = tmp_path / "stereo.yaml"
    cfg.write_text("profile: managed\npatch:\n  CoreDNSDown:\n    severity: info\n")
    staged = tmp_path / "staged"
    (staged / "alerts").mkdir(parents=True)
    (staged / "alerts" / "coredns.yaml").write_text(
        'groups:\n- name: coredns.alerts\n  rules:\n  - alert: CoreDNSDown\n    expr: up{job=~"a\\\\C"}\n')
    with pytest.raises(validate_tools.ToolError) as info:
        validate_tools.check(staged, load(cfg))
    assert str(info.value).startswith(f"{cfg}:3: patch.CoreDNSDown: promtool check rules refuses the generated "
                                      "output: alerts/coredns.yaml: 5:11: ")
    assert "invalid escape sequence" in str(info.value)


def test_amtool_refusal_stops_the_write(tmp_path: Path, site: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "stereo.yaml"
    cfg.write_text("alertmanager:\n  integrations:\n    pager:\n      telegram_configs:\n        - bot_token: 5\n")
    before = _snapshot(site)
    line = _one_line(capsys, cli.main(["generate", "--config", str(cfg), "--out", str(site)]))
    assert line == (f"stereo: {cfg}:2: alertmanager.integrations: amtool check-config refuses the generated "
                    "output: missing chat_id on telegram_config")
    assert _snapshot(site) == before
    assert [p.name for p in site.iterdir() if p.name.startswith(".stereo-")] == []


def test_tools_accept_the_default_output(tmp_path: Path, default_files: dict[str, str]) -> None:
    writer.write(default_files, tmp_path, check=lambda staged: validate_tools.check(staged, Config()))
    assert (tmp_path / "alertmanager" / "alertmanager.yml").exists()


# ------------------------------------------------------------------------------- bounded time and memory
def _limits() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))
    resource.setrlimit(resource.RLIMIT_CPU, (CPU_SECONDS, CPU_SECONDS))


def _worst(tmp: Path) -> list[tuple[list[str], str]]:
    """(argv, expected text in the one line) for the heaviest inputs each category allows."""
    cases = {
        "long_string.yaml": ("cluster_label: " + "x" * (2 * 1024 * 1024 - 100) + "\n", "a label name of at most 100"),
        "too_big.yaml": ("#" + "x" * (50 * 1024 * 1024) + "\n", "larger than the 2 MiB limit"),
        "nodes.yaml": ("thresholds: [" + "1," * 1_000_000 + "1]\n", "more than 20000 YAML nodes"),
        "deep.yaml": ("a: " + "[" * 2_000_000 + "\n", "invalid YAML: exceeded maximum nesting depth"),
        "laughs.yaml": ("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
            f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]\n" for i in range(1, 40)), "YAML alias"),
        "keys.yaml": ("".join(f"k{i}: {i}\n" for i in range(9_000)), "expected a known key"),
        "digits.yaml": ("thresholds:\n  CoreDNSLatencyHigh: " + "9" * 1_000_000 + "\n", "number out of range"),
    }
    out = []
    for name, (body, expected) in cases.items():
        (tmp / name).write_text(body)
        out.append((["generate", "--config", str(tmp / name), "--out", str(tmp / "out")], expected))
    deep_json = tmp / "deep.json"
    deep_json.write_text('{"status": "success", "data": ' + "[" * 16_000_000 + "]" * 16_000_000 + "}")
    out.append((["correlate", str(deep_json)], "nested deeper than 32 levels"))
    return out


def test_worst_inputs_stay_within_300_mb_and_10_cpu_seconds(tmp_path: Path) -> None:
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    for argv, expected in _worst(tmp_path):
        proc = subprocess.run([sys.executable, "-m", "generator", *argv], capture_output=True, text=True,
                              preexec_fn=_limits, env=env, timeout=600, check=False)
        assert proc.returncode == 2, (argv, proc.returncode, proc.stderr[-500:])
        assert len(proc.stderr.splitlines()) == 1, proc.stderr[-500:]
        assert expected in proc.stderr, proc.stderr
        assert proc.stdout == ""
    assert not (tmp_path / "out").exists()


# ------------------------------------------------------------------ hostile but valid: accepted, and valid
def test_awkward_but_valid_settings_pass_promtool_and_amtool(tmp_path: Path) -> None:
    cfg = tmp_path / "stereo.yaml"
    cfg.write_text(
        "\ufeffselectors:\n"
        '  etcd: \'job=~"kube-etcd|etcd", instance!~".*\\\\.test:[0-9]+", note!="a\\"b\\\\c\\n"\'\n'
        "thresholds:\n  CoreDNSLatencyHigh: 2\n"
        "runbook_url: https://wiki.example.com/runbooks/{{$labels.cluster}}\n"
        "patch:\n  CoreDNSDown:\n    labels:\n      team: 'sré \"$value\" \\\\ {x}'\n    for: 6h\n"
        "alertmanager:\n  integrations:\n    pager:\n      webhook_configs:\n"
        "        - url: https://hooks.example.com/x\n          send_resolved: true\n          max_alerts: 0\n"
        "      email_configs:\n        - to: oncall@example.com\n          from: am@example.com\n"
        "          smarthost: mail.example.com:587\n"
        "          html: '{{ template \"email.default.html\" . }}{{ if .CommonLabels.team }}!{{ end }}'\n",
        encoding="utf-8")
    out = tmp_path / "out"
    assert cli.main(["generate", "--config", str(cfg), "--out", str(out)]) == 0  # promtool + amtool ran
    alerts = (out / "alerts" / "coredns.yaml").read_text()
    assert 'team: sré "$value" \\\\ {x}' in alerts
    assert "runbook_url: https://wiki.example.com/runbooks/{{$labels.cluster}}/CoreDNSDown.md" in alerts
    proc = subprocess.run(["promtool", "test", "rules", "tests/rules/coredns.yaml", "tests/rules/etcd.yaml"],
                          cwd=out, capture_output=True, text=True, timeout=600, check=False, env=go_batch_env())
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]


# ------------------------------------------------------------------------------------ stereo correlate
@pytest.mark.parametrize(("body", "expected"), [
    ('{"status": "success", "data": ' + "[" * 5000 + "]" * 5000 + "}", "nested deeper than 32 levels"),
    ('{"status": "success", "data": ' + "[ " * 33 + "]" * 33 + "}", "nested deeper than 32 levels"),
    ("\ufefftime,a,b\n1,2,\xe9\n".encode("utf-16"), "not UTF-8 text (UTF-16"),
    ("time,a,b\n1," + "9" * 200_000 + ",2\n", "not valid CSV: field larger than field limit"),
])
def test_correlate_hostile_inputs(tmp_path: Path, capsys: pytest.CaptureFixture[str], body: str | bytes,
                                  expected: str) -> None:
    path = tmp_path / ("in.json" if str(body).startswith("{") else "in.csv")
    path.write_bytes(body if isinstance(body, bytes) else body.encode())
    code = cli.main(["correlate", str(path)])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith(f"stereo correlate: {path}: ") and expected in err, err
    assert err.count("\n") == 1


def test_correlate_refuses_devices_and_pipes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fifo = tmp_path / "pipe.csv"
    os.mkfifo(fifo)
    for path in ("/dev/urandom", str(fifo)):
        assert cli.main(["correlate", path]) == 2
        assert capsys.readouterr().err == f"stereo correlate: {path}: cannot read: not a regular file (a device, " \
                                          "pipe or socket)\n"


@pytest.mark.parametrize("char", ["\n", "\r", "\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"])
def test_an_error_stays_one_line_whatever_the_input_put_into_it(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], char: str) -> None:
    """A label name from the site's config ends up in the message; any character a reader splits lines at is
    written escaped (hypothesis found U+001E splitting the line)."""
    cfg = tmp_path / "stereo.yaml"
    cfg.write_text(f'patch:\n  CoreDNSDown:\n    labels:\n      "a{char.encode("unicode_escape").decode()}b": x\n',
                   encoding="utf-8")
    code = cli.main(["generate", "--config", str(cfg), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.splitlines()) == 1, err
    assert repr(char)[1:-1] in err


def test_doctor_and_cli_write_the_same_one_line() -> None:
    """One escaping for every message built from input or an upstream answer (doctor read a Prometheus error
    with U+2028 as two lines before)."""
    from generator.doctor import client

    text = "bad\u2028query\x1e\nend"
    assert client.one_line(text) == "bad\\u2028query\\x1e\\nend"
    assert len(client.one_line("x" * 500, 300)) == 300
