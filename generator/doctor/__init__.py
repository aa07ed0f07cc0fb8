"""`stereo doctor`: does this Prometheus give Stereo's rules what they read, and are the rules running?

    stereo doctor --prometheus URL [--ruler URL] [--config stereo.yaml] [--json] [--token TOKEN | --token-file FILE]

For every component of the site: do its job selectors match targets and are they up, do their series carry
the cluster label, is a target scraped twice, do the raw metrics its rules and alerts read exist (under the
job selector they use), are its rule groups loaded and its recorded series produced, which of its alerts can
never fire here and which fire now. Prints a table (or `--json`, a list of objects).

The server may be Prometheus or another backend serving its query API (VictoriaMetrics, Thanos Query, Mimir):
a check the backend cannot answer (VictoriaMetrics' placeholder /api/v1/rules, Mimir's missing /api/v1/targets)
is one "n/a" row saying so; `--ruler` names where the rules and alerts are served instead (vmalert).

Exit codes: 0 every check ok (or n/a), 1 a check warned or failed, 2 bad input or the server cannot be asked
(one line on stderr). Needs nothing beyond the base package (stdlib urllib).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from generator.doctor.checks import Doctor, Finding
from generator.oneline import one_line

STATUSES = ("ok", "warn", "fail", "n/a")
PASSING = ("ok", "n/a")


def table(findings: list[Finding]) -> str:
    head = ("COMPONENT", "CHECK", "STATUS", "DETAIL")
    # a detail may quote the server's label values: one row stays one line whatever they hold
    rows = [head] + [(f.component, f.check, f.status, one_line(f.detail)) for f in findings]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    lines = ["  ".join(r[i].ljust(widths[i]) for i in range(3)) + "  " + r[3] for r in rows]
    counts = {s: sum(1 for f in findings if f.status == s) for s in STATUSES}
    na = f", {counts['n/a']} not available on this backend" if counts["n/a"] else ""
    lines.append(f"{len(findings)} checks: {counts['ok']} ok, {counts['warn']} warn, {counts['fail']} fail{na}")
    return "\n".join(lines) + "\n"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="stereo doctor", description=__doc__.split("\n\n")[0])
    p.add_argument("--prometheus", required=True, metavar="URL", help="the Prometheus to examine")
    p.add_argument("--ruler", metavar="URL", help="where rule groups and alerts are served when not by the "
                   "--prometheus server (vmalert; Thanos Ruler; Mimir's .../prometheus)")
    p.add_argument("--config", help="site settings (default: ./stereo.yaml when it exists)")
    p.add_argument("--json", action="store_true", help="print a JSON list of {component, check, status, detail}")
    auth = p.add_mutually_exclusive_group()
    auth.add_argument("--token", help="bearer token (prefer --token-file or STEREO_PROMETHEUS_TOKEN)")
    auth.add_argument("--token-file", metavar="FILE", help="read the bearer token from FILE")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds per request (default: 30)")
    return p




def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from generator.checks import CatalogError
    from generator.config import ConfigError, load
    from generator.doctor.client import Client, Unreachable
    from generator.doctor.site import load_site
    from generator.promql import PromQLError

    token = args.token or os.environ.get("STEREO_PROMETHEUS_TOKEN") or None
    try:
        if args.token_file:
            token = Path(args.token_file).read_text(encoding="utf-8").strip()
        if not 0 < args.timeout <= 600:
            raise ValueError(f"--timeout {args.timeout}: expected seconds in (0, 600]")
        client = Client(args.prometheus, token, args.timeout)
        ruler = Client(args.ruler, token, args.timeout, flag="--ruler") if args.ruler else None
        config_path = args.config
        if config_path is None and Path("stereo.yaml").exists():
            config_path = "stereo.yaml"
        site = load_site(load(config_path))
        findings = Doctor(site, client, ruler).run()
    except (OSError, ValueError, ConfigError, CatalogError, PromQLError, Unreachable) as exc:
        print(f"stereo doctor: {one_line(str(exc))}", file=sys.stderr)
        return 2
    if args.json:
        sys.stdout.write(json.dumps([f.as_dict() for f in findings], indent=1, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(table(findings))
    return 0 if all(f.status in PASSING for f in findings) else 1


__all__ = ["Finding", "main", "table"]
