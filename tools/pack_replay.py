"""Check promtool_groups' packing on test groups and rules Stereo did not write.

    python tools/pack_replay.py --tests /tmp/mixin/tests --rules kube-prometheus/manifests/*-prometheusRule.yaml

`--tests`: a directory of promtool test files (e.g. kubernetes-mixin's `tests/`); `--rules`: rule files or
PrometheusRule manifests (e.g. kube-prometheus' rendered ones) holding the alerts and records they test. Nothing of
either is copied into the project. Every test group is run alone, then all of them packed the way
generator/render/promtool_groups.py packs Stereo's cases (each group its own check; what it reads, through the
records, against the metrics the others' series carry). The same checks must fail packed as alone — nothing hidden,
nothing new — and no packed group may hold a series twice. Prints both counts and the evaluated steps.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from generator.model import Component, RecordingRule
from generator.process import go_batch_env
from generator.promql import parse_duration
from generator.render import promtool_groups as pg

_FAILED = re.compile(r"(alertname: \S+|expr: .*?), time: (\S+?),")


def _groups(paths: list[Path]) -> list[dict[str, Any]]:
    out = []
    for path in paths:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        out += (doc.get("spec") or doc).get("groups") or []
    return out


def _horizon(test: dict[str, Any]) -> float:
    checks = (test.get("alert_rule_test") or []) + (test.get("promql_expr_test") or [])
    return max((parse_duration(c["eval_time"]) for c in checks), default=0)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tests", type=Path, required=True)
    ap.add_argument("--rules", type=Path, nargs="+", required=True)
    args = ap.parse_args(argv)
    groups = _groups(args.rules)
    recording = [g["name"] for g in groups if any("record" in r for r in g["rules"])]
    order = recording + [g["name"] for g in groups if g["name"] not in recording]
    records = tuple(RecordingRule(r["record"], str(r["expr"])) for g in groups for r in g["rules"] if "record" in r)
    reads = pg.reader(Component(key="replay", title="", description="", rules=records))
    alerts: dict[str, list[str]] = {}
    for rule in (r for g in groups for r in g["rules"] if "alert" in r):
        alerts.setdefault(rule["alert"], []).append(str(rule["expr"]))
    tests = [{"name": f"{path.stem}#{i}", **t} for path in sorted(args.tests.glob("*.yaml"))
             for i, t in enumerate((yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("tests") or [])
             if t.get("interval", "1m") == "1m"]  # combine() writes one-minute groups
    for t in tests:  # an empty expectation may be left out; combine() joins them
        for check in t.get("alert_rule_test") or []:
            check.setdefault("exp_alerts", [])
        for check in t.get("promql_expr_test") or []:
            check.setdefault("exp_samples", [])

    with tempfile.TemporaryDirectory(prefix="pack-replay-") as tmp:
        work = Path(tmp)
        (work / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}, sort_keys=False), encoding="utf-8")

        def failed(batch: list[dict[str, Any]]) -> set[tuple[str, str]]:
            (work / "t.yaml").write_text(yaml.safe_dump({"rule_files": ["rules.yaml"], "evaluation_interval": "1m",
                                                         "group_eval_order": order, "tests": batch}, sort_keys=False))
            ran = subprocess.run(["promtool", "test", "rules", "t.yaml"], cwd=work, capture_output=True, text=True,
                                 env=go_batch_env(), check=False)
            return {(m.group(1), m.group(2)) for m in _FAILED.finditer(ran.stdout + ran.stderr)}

        alone = set().union(*(failed([t]) for t in tests))
        entries = []
        for i, t in enumerate(tests):
            exprs = [e for a in t.get("alert_rule_test") or [] for e in alerts.get(a["alertname"], ["{}"])]
            found = [reads(e) for e in exprs + [p["expr"] for p in t.get("promql_expr_test") or []]]
            entries.append(pg.Entry(("group", str(i)), _horizon(t),
                                    frozenset(pg.series_metric(s["series"]) for s in t["input_series"]),
                                    None if None in found else frozenset().union(*found), lambda _, t=t: t))
        packed = [pg.combine([e.render(pg.keep) for e in g]) for g in pg.pack(entries)]
        twice = [p["name"] for p in packed if len({s["series"] for s in p["input_series"]}) < len(p["input_series"])]
        together = failed(packed)
    print(f"{len(tests)} groups -> {len(packed)} packed; evaluated minutes {sum(map(_horizon, tests)) / 60:.0f} -> "
          f"{sum(map(_horizon, packed)) / 60:.0f}; failing checks alone {len(alone)}, packed {len(together)}; "
          f"hidden {sorted(alone - together)}, new {sorted(together - alone)}, series twice {twice}")
    return 0 if alone == together and not twice else 1


if __name__ == "__main__":
    sys.exit(main())
