"""Replay kubernetes-mixin's own promtool scenarios against Stereo's rules.

    python tools/mixin_replay.py --mixin /tmp/mixin [--repo .] [--table notes.txt]

`--mixin` is a local checkout (or extracted `tests/` tree) of kubernetes-monitoring/kubernetes-mixin; nothing of it is
copied into the project. Stereo's rules are generated from `--repo` (a clone, read-only: output goes to a temp dir)
with the mixin's default job selectors. Each mixin `alert_rule_test` becomes, for every Stereo alert mapped to the
mixin alert (generator/data/mixin_alerts.yaml), a promtool check that the Stereo alert is quiet; promtool's "got"
then says whether it fired. Rule groups are evaluated recording-first (`group_eval_order`). Test groups whose input
series are the mixin's own recorded series (names with a colon) are left out: Stereo records different series.

Prints `caught F/N firing, noisy Q/M quiet` and writes a per-case table.

The mixin's master needs Prometheus 3 and its tests are written for it: a range selector `[5m]` there holds the
samples in (t-5m, t], where Prometheus 2 holds [t-5m, t] — one sample more on the tests' minute-aligned series,
so an alert on `changes(...[5m])` or `max_over_time(...[5m])` fires or resolves one interval later on a 2.x
promtool (the mixin's own rules too). Unless `--ranges as-is`, the replay runs a second time with every range
selector 1 ms shorter, which on minute-aligned samples is exactly the left-open window, and reports both.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from generator.process import go_batch_env

HERE = Path(__file__).resolve().parent.parent
MAPPING = HERE / "generator" / "data" / "mixin_alerts.yaml"

# kubernetes-mixin's config.libsonnet defaults
MIXIN_SELECTORS = {
    "kube-apiserver": 'job="kube-apiserver"',
    "kubelet": 'job="kubelet"',
    "cadvisor": 'job="cadvisor"',
    "kube-state-metrics": 'job="kube-state-metrics"',
    "node-exporter": 'job="node-exporter"',
    "kube-scheduler": 'job="kube-scheduler"',
    "kube-controller-manager": 'job="kube-controller-manager"',
    "kube-proxy": 'job="kube-proxy"',
}


@dataclass
class Case:
    key: str  # file#group@eval_time
    mixin_alert: str
    fires: bool
    stereo: list[str]
    none: str = ""
    fired: tuple[str, ...] = ()
    fired_left_open: tuple[str, ...] | None = None  # with Prometheus 3's range windows emulated

    @property
    def outcome(self) -> str:
        return self._outcome(self.fired)

    @property
    def outcome_left_open(self) -> str:
        return "" if self.fired_left_open is None else self._outcome(self.fired_left_open)

    def _outcome(self, fired: tuple[str, ...]) -> str:
        if self.fires:
            return "caught" if fired else "missed"
        return "noisy" if fired else "quiet"


def load_mapping(path: Path) -> dict[str, dict[str, Any]]:
    data = yaml.safe_load(path.read_text())
    for name, entry in data.items():
        if not isinstance(entry, dict) or not (("stereo" in entry) ^ ("none" in entry)):
            raise SystemExit(f"{path}: {name}: expected `stereo: [names]` or `none: reason`")
    return data


def generate(repo: Path, out: Path) -> None:
    config = out / "stereo.yaml"
    config.write_text(yaml.safe_dump({"selectors": MIXIN_SELECTORS}))
    env = {**os.environ, "PYTHONPATH": str(repo)}
    subprocess.run([sys.executable, "-m", "generator", "generate", "--config", str(config), "--out", str(out)],
                   cwd=out, env=env, check=True, stdout=subprocess.DEVNULL)


def rule_groups(out: Path) -> tuple[list[str], list[str], dict[str, str]]:
    """(rule files, group names recording-first, alert name -> its `for`)."""
    files: list[str] = []
    recording: list[str] = []
    alerting: list[str] = []
    fors: dict[str, str] = {}
    for sub in ("rules", "alerts"):
        for path in sorted((out / sub).glob("*.yaml")):
            files.append(str(path))
            for group in yaml.safe_load(path.read_text())["groups"]:
                has_record = any("record" in r for r in group["rules"])
                (recording if has_record else alerting).append(group["name"])
                for rule in group["rules"]:
                    if "alert" in rule:
                        fors[rule["alert"]] = rule.get("for", "0s")
    return files, recording + alerting, fors


# a range selector (not a subquery `[1h:5m]`): `[5m]`, `[1h30m]`
_RANGE = re.compile(r"\[((?:\d+(?:ms|[smhdwy]))+)\]")


def left_open(expr: str) -> str:
    """Every range selector 1 ms shorter: Prometheus 3's left-open window on minute-aligned samples."""
    return _RANGE.sub(lambda m: f"[{round(seconds(m.group(1)) * 1000) - 1}ms]", expr)


def left_open_copy(files: list[str], out: Path) -> list[str]:
    """The rule files with left_open() applied to every expression, written under `out`."""
    out.mkdir()
    copies = []
    for path in map(Path, files):
        doc = yaml.safe_load(path.read_text())
        for group in doc["groups"]:
            for rule in group["rules"]:
                rule["expr"] = left_open(rule["expr"])
        copy = out / f"{path.parent.name}-{path.name}"
        copy.write_text(yaml.safe_dump(doc, sort_keys=False))
        copies.append(str(copy))
    return copies


def feeds_recorded(test: dict[str, Any]) -> bool:
    return any(":" in s["series"].split("{")[0] for s in test.get("input_series") or [])


def build_cases(mixin: Path, mapping: dict[str, dict[str, Any]]) -> tuple[list[Case], list[dict[str, Any]]]:
    cases: list[Case] = []
    groups: list[dict[str, Any]] = []
    for path in sorted((mixin / "tests").glob("*.yaml")):
        for index, test in enumerate(yaml.safe_load(path.read_text())["tests"]):
            if not test.get("alert_rule_test") or feeds_recorded(test):
                continue
            name = f"{path.stem}#{index}"
            checks = []
            for art in test["alert_rule_test"]:
                alert = art["alertname"]
                entry = mapping.get(alert, {"none": "not in the mapping"})
                case = Case(f"{name}@{art['eval_time']}", alert, bool(art.get("exp_alerts")),
                            list(entry.get("stereo", [])), entry.get("none", ""))
                cases.append(case)
                checks.extend({"eval_time": art["eval_time"], "alertname": s, "exp_alerts": []} for s in case.stereo)
            group = {"name": name, "interval": test.get("interval", "1m"), "input_series": test["input_series"]}
            if "external_labels" in test:
                group["external_labels"] = test["external_labels"]
            if checks:
                group["alert_rule_test"] = checks
                groups.append(group)
    return cases, groups


_NAME = re.compile(r"^\s*name: (.+?),\s*$")
_ALERT = re.compile(r"^\s*alertname: (\S+), time: (\S+?),")


_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
_PART = re.compile(r"(\d+)(ms|[smhdwy])")


def seconds(duration: str) -> float:
    """A Prometheus duration in seconds: the test file says `61m`, promtool prints `1h1m` and `0s` for `0m`."""
    parts = _PART.findall(duration)
    if not parts or "".join(n + u for n, u in parts) != duration:
        raise ValueError(f"not a duration: {duration!r}")
    return sum(int(n) * _UNITS[u] for n, u in parts)


def fired_alerts(output: str) -> set[tuple[str, str, float]]:
    """(group name, alertname, eval time in seconds) of every quiet-expectation that promtool reports as failed."""
    fired: set[tuple[str, str, str]] = set()
    group = ""
    for line in output.splitlines():
        if m := _NAME.match(line):
            group = m.group(1)
        elif m := _ALERT.match(line):
            fired.add((group, m.group(1), seconds(m.group(2))))
    return fired


def replay(files: list[str], order: list[str], groups: list[dict[str, Any]], test: Path) -> set[tuple[str, str, float]]:
    test.write_text(yaml.safe_dump({"rule_files": files, "evaluation_interval": "1m",
                                    "group_eval_order": order, "tests": groups}, sort_keys=False))
    proc = subprocess.run(["promtool", "test", "rules", str(test)], capture_output=True, text=True,
                          env=go_batch_env())
    output = proc.stdout + proc.stderr
    if proc.returncode not in (0, 1) or ("FAILED" not in output and proc.returncode):
        raise SystemExit(f"promtool failed:\n{output}")
    return fired_alerts(output)


def run(mixin: Path, repo: Path, mapping_path: Path,
        ranges: str = "both") -> tuple[list[Case], dict[str, str]]:
    mapping = load_mapping(mapping_path)
    with tempfile.TemporaryDirectory(prefix="mixin-replay-") as tmp:
        out = Path(tmp)
        generate(repo, out)
        files, order, fors = rule_groups(out)
        unknown = sorted({s for e in mapping.values() for s in e.get("stereo", []) if s not in fors})
        if unknown:
            print(f"warning: mapped Stereo alerts not generated: {', '.join(unknown)}", file=sys.stderr)
        cases, groups = build_cases(mixin, mapping)
        fired = replay(files, order, groups, out / "replay.yaml")
        opened = None
        if ranges == "both":
            opened = replay(left_open_copy(files, out / "left-open"), order, groups, out / "replay-left-open.yaml")
        for case in cases:
            group, _, at = case.key.rpartition("@")
            case.fired = tuple(s for s in case.stereo if (group, s, seconds(at)) in fired)
            if opened is not None:
                case.fired_left_open = tuple(s for s in case.stereo if (group, s, seconds(at)) in opened)
    return cases, fors


def why(case: Case, fors: dict[str, str]) -> str:
    if case.none:
        return f"no Stereo counterpart: {case.none}"
    if case.fired:
        return "fires: " + ", ".join(case.fired)
    return "quiet: " + ", ".join(f"{s} (for {fors.get(s, 'not generated')})" for s in case.stereo)


def table(cases: list[Case], fors: dict[str, str]) -> str:
    rows = [("case", "mixin alert", "expected", "stereo", "left-open", "why")]
    rows += [(c.key, c.mixin_alert, "firing" if c.fires else "none", c.outcome, c.outcome_left_open, why(c, fors))
             for c in cases]
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    return "\n".join("  ".join(r[i].ljust(widths[i]) for i in range(5)) + "  " + r[5] for r in rows) + "\n"


def summary(cases: list[Case], left_open_ranges: bool = False) -> str:
    firing = [c for c in cases if c.fires]
    quiet = [c for c in cases if not c.fires]
    hit = (lambda c: c.fired_left_open) if left_open_ranges else (lambda c: c.fired)
    caught = sum(1 for c in firing if hit(c))
    noisy = sum(1 for c in quiet if hit(c))
    return f"caught {caught}/{len(firing)} firing, noisy {noisy}/{len(quiet)} quiet"


def promtool_version() -> str:
    proc = subprocess.run(["promtool", "--version"], capture_output=True, text=True)
    words = (proc.stdout + proc.stderr).split()
    return words[2] if len(words) > 2 and words[1] == "version" else "unknown"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mixin", type=Path, required=True, help="kubernetes-mixin checkout (needs tests/*.yaml)")
    parser.add_argument("--repo", type=Path, default=HERE, help="Stereo clone to generate from (default: this one)")
    parser.add_argument("--mapping", type=Path, default=MAPPING, help="mixin alert -> Stereo alerts")
    parser.add_argument("--table", type=Path, help="write the per-case table here")
    parser.add_argument("--ranges", choices=("both", "as-is"), default="both",
                        help="also replay with Prometheus 3's left-open range windows emulated (default: both)")
    args = parser.parse_args(argv)
    if not (args.mixin / "tests").is_dir():
        print(f"{args.mixin}: expected a kubernetes-mixin checkout with tests/*.yaml", file=sys.stderr)
        return 2
    cases, fors = run(args.mixin, args.repo.resolve(), args.mapping, args.ranges)
    line = f"{summary(cases)} (promtool {promtool_version()} as installed)"
    if args.ranges == "both":
        line += f"\n{summary(cases, left_open_ranges=True)} (Prometheus 3 range windows, left-open, emulated)"
    if args.table:
        args.table.write_text(f"{line}\nrepo: {args.repo.resolve()}\n\n{table(cases, fors)}")
    print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
