"""The last check before output moves into place: Prometheus' and Alertmanager's own validators.

When `promtool` / `amtool` are on PATH, `stereo generate` runs one `promtool check rules` over every staged
rule and alert file and `amtool check-config` over the staged Alertmanager file. When the settings change
alerts (thresholds, patches), the promtool unit tests of just those alerts run too (`promtool test rules`),
so a threshold that makes an alert's own quiet case fire is refused. The first error becomes one line naming
the setting that produced it where that can be told (a patched alert, a threshold, a component's selector,
the Alertmanager settings), else the generated file.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import yaml

from generator.config import Config
from generator.process import go_batch_env

TIMEOUT = 60  # seconds; both tools take well under a second on Stereo's output
# `FILE: 5:11: group "x", rule 1, "Name": message` (the line/column part is optional)
_PROMTOOL = re.compile(r'^(?P<file>\S+?): (?:\d+:\d+: )?(?:group "[^"]*", rule \d+, "(?P<name>[^"]*)": )?(?P<msg>.*)$')


class ToolError(Exception):
    """The staged output failed a real validator; str() is the one line to print."""


def _run(argv: list[str], cwd: Path) -> tuple[int, str]:
    try:
        proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=TIMEOUT, check=False,
                              env=go_batch_env())
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


def _changed_alert_tests(staged: Path, config: Config) -> list[str]:
    """promtool test files holding only the test groups of alerts the settings changed, next to `staged`."""
    changed = set(config.thresholds) | set(config.patch)
    if not changed:
        return []
    out = []
    for path in sorted((staged / "tests" / "rules").glob("*.yaml")):
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
        groups = [g for g in doc.get("tests") or []
                  if any(t.get("alertname") in changed for t in g.get("alert_rule_test") or [])]
        if groups:
            doc["tests"] = groups
            doc["rule_files"] = [str((path.parent / f).resolve()) for f in doc.get("rule_files") or []]
            target = staged.parent / "check" / path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            # ASCII with escapes: a single-quoted scalar may hold a NEL or LS raw, which a YAML reader folds to a space
            target.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
            out.append(str(target))
    return out


def _test_failure(config: Config, output: str) -> ToolError:
    """The failing alert and its cases: a test group holds the cases of several checks ("<case> | <case>"), and
    promtool names the check that failed on the line after the group's name."""
    key, what = "", _first_error(output)
    m = re.search(r"name: (.*?),?\n\s*(?:alertname: ([^,\s]+))?", output)
    if m:
        cases = m.group(1).split(" | ")
        alert = m.group(2) or cases[0].split(" ")[0]
        key = f"thresholds.{alert}" if alert in config.thresholds else f"patch.{alert}" if alert in config.patch else ""
        what = 'its test "{}" fails'.format(" | ".join(c for c in cases if c.startswith(f"{alert} ")) or m.group(1))
    return _fail(config, key, "promtool test rules", f"{what}; the alert cannot tell firing from quiet this way")


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
    test_files = _changed_alert_tests(staged, config) if promtool else []
    if test_files:
        code, output = _run([promtool, "test", "rules", *test_files], staged)
        if code != 0:
            raise _test_failure(config, output)
    am_file = staged / "alertmanager" / "alertmanager.yml"
    if amtool and am_file.exists():
        code, output = _run([amtool, "check-config", "alertmanager/alertmanager.yml"], staged)
        if code != 0:
            given = config.raw.get("alertmanager", {})
            key = "alertmanager.integrations" if "integrations" in given else "alertmanager"
            raise _fail(config, key, "amtool check-config", _first_error(output))
