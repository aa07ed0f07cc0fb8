"""The last check before output moves into place: Prometheus' and Alertmanager's own validators.

When `promtool` / `amtool` are on PATH, `stereo generate` runs one `promtool check rules` over every staged
rule and alert file and `amtool check-config` over the staged Alertmanager file. Their first error becomes
one line naming the setting that produced it where that can be told (a patched alert, a component's
selector, the Alertmanager settings), else the generated file.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from generator.config import Config

TIMEOUT = 60  # seconds; both tools take well under a second on Stereo's output
# `FILE: 5:11: group "x", rule 1, "Name": message` (the line/column part is optional)
_PROMTOOL = re.compile(r'^(?P<file>\S+?): (?:\d+:\d+: )?(?:group "[^"]*", rule \d+, "(?P<name>[^"]*)": )?(?P<msg>.*)$')


class ToolError(Exception):
    """The staged output failed a real validator; str() is the one line to print."""


def _run(argv: list[str], cwd: Path) -> tuple[int, str]:
    try:
        proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        return 1, f"{argv[0]} did not finish within {TIMEOUT}s"
    except OSError as exc:
        return 1, f"cannot run {argv[0]}: {exc.strerror or exc}"
    return proc.returncode, proc.stderr + proc.stdout


def _first_error(output: str) -> str:
    failed = re.search(r"FAILED: (.+)", output)  # amtool: `Checking 'FILE'  FAILED: message`
    if failed and failed.group(1).strip():
        return failed.group(1).strip()
    for line in output.splitlines():
        line = line.strip()
        if line and not line.startswith(("Checking", "SUCCESS", "FAILED", "Found:", "- ", "WARNING", "amtool:")):
            return line
    return output.strip().splitlines()[-1] if output.strip() else "failed without a message"


def _key_for_rule(config: Config, path: str, name: str | None, message: str) -> str:
    """The setting behind a rule promtool refused: a patch of that alert, a URL in its annotations, the
    component's selector, or its threshold; "" when none of them was set."""
    if name and name in config.patch:
        return f"patch.{name}"
    for url_key in ("runbook_url", "grafana_url"):
        if "template" in message and url_key in config.raw:
            return url_key
    component = Path(path).stem
    if component in config.raw.get("selectors", {}):
        return f"selectors.{component}"
    return f"thresholds.{name}" if name and name in config.thresholds else ""


def _fail(config: Config, key: str, tool: str, message: str) -> ToolError:
    where = config.where(key) if key else config.source
    return ToolError(f"{where}: {key + ': ' if key else ''}{tool} refuses the generated output: {message}")


def check(staged: Path, config: Config) -> None:
    """Raise ToolError on the first problem promtool or amtool finds in the files under `staged`."""
    promtool, amtool = shutil.which("promtool"), shutil.which("amtool")
    rule_files = sorted(p.relative_to(staged).as_posix() for d in ("rules", "alerts")
                        for p in (staged / d).glob("*.yaml"))
    if promtool and rule_files:
        code, output = _run([promtool, "check", "rules", *rule_files], staged)
        if code != 0:
            error = _first_error(output)
            m = _PROMTOOL.match(error)
            key = _key_for_rule(config, m.group("file"), m.group("name"), m.group("msg")) if m else ""
            raise _fail(config, key, "promtool check rules", error)
    am_file = staged / "alertmanager" / "alertmanager.yml"
    if amtool and am_file.exists():
        code, output = _run([amtool, "check-config", "alertmanager/alertmanager.yml"], staged)
        if code != 0:
            given = config.raw.get("alertmanager", {})
            key = "alertmanager.integrations" if "integrations" in given else "alertmanager"
            raise _fail(config, key, "amtool check-config", _first_error(output))
