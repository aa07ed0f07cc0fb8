"""`stereo`: a thin face over the wings. Each subcommand imports its wing only when it runs.

Exit codes: 0 success, 1 `--check` found differences, 2 bad input (one line on stderr naming what and where).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from pathlib import Path

import generator
from generator.oneline import one_line

# subcommands served by other wings: name -> (module, help); each module has main(argv) -> int
DELEGATED: dict[str, tuple[str, str]] = {
    "correlate": ("generator.correlate.offline", "Spearman correlation matrix of a CSV or Prometheus JSON file"),
    "suggest": ("generator.correlate.suggest", "measure correlations on a live Prometheus, write correlations.yaml"),
    "backfill": ("generator.correlate.backfill", "write recording-rule history with promtool, one rule level per run"),
    "serve": ("generator.correlate.server", "run the correlation service Grafana queries"),
    "simulate": ("generator.simulate", "write a simulated cluster's series as OpenMetrics or serve /metrics"),
    "preview": ("generator.preview", "draw a dashboard's grid layout as SVG or PNG, and report holes and overlaps"),
    "doctor": ("generator.doctor", "check a live Prometheus against the site: targets, labels, metrics, rules"),
}

# what each delegated subcommand imports beyond the base package: extra -> modules it provides
EXTRAS: dict[str, dict[str, tuple[str, ...]]] = {
    "correlate": {"correlate": ("numpy", "scipy")},
    "suggest": {"correlate": ("numpy", "scipy", "requests", "prometheus_api_client", "threadpoolctl")},
    "serve": {"correlate": ("numpy", "scipy", "requests", "prometheus_api_client", "threadpoolctl"),
              "service": ("fastapi", "uvicorn", "prometheus_client")},
    "simulate": {},
    "preview": {},
    "doctor": {},
    "backfill": {"correlate": ("numpy", "requests", "prometheus_api_client")},
}
HEATMAP: dict[str, tuple[str, ...]] = {"heatmap": ("matplotlib",)}


def missing_extras(needs: dict[str, tuple[str, ...]]) -> list[str]:
    """The extras (of `needs`) with a module that cannot be imported; in the order given."""
    return [extra for extra, modules in needs.items() if any(importlib.util.find_spec(m) is None for m in modules)]


def install_hint(command: str, extras: list[str]) -> str:
    """One line: what `command` needs and the pip command that installs it."""
    return (f"stereo: `{command}` needs the {', '.join(extras)} extra{'s' if len(extras) > 1 else ''}: "
            f"pip install 'stereo[{','.join(extras)}]' (from a checkout: pip install '.[{','.join(extras)}]')")


def _delegate(argv: list[str]) -> int:
    name = argv[0]
    needs = dict(EXTRAS.get(name, {}))
    flag = {"correlate": "--heatmap", "preview": "--png"}.get(name)  # the options drawn with matplotlib
    if flag and any(a == flag or a.startswith(f"{flag}=") for a in argv[1:]):
        needs.update(HEATMAP)
    missing = missing_extras(needs)
    if missing:
        print(install_hint(f"stereo {name}" + (f" {flag}" if "heatmap" in missing else ""), missing),
              file=sys.stderr)
        return 2
    module = importlib.import_module(DELEGATED[name][0])
    return int(module.main(argv[1:]) or 0)


def _generate(args: argparse.Namespace) -> int:
    from generator import pipeline, validate_tools, writer
    from generator.checks import CatalogError
    from generator.config import ConfigError, load
    from generator.pairsource import PairSource
    from generator.promql import PromQLError
    from generator.render.manifests import ManifestError

    config_path = args.config
    if config_path is None and Path("stereo.yaml").exists():
        config_path = "stereo.yaml"
    source = PairSource(Path(args.correlations) if args.correlations else None, args.suggestions,
                        args.suggestions_optional)
    out = Path(args.out)
    # manifests/ once written is output like the rest: --check compares it whenever it exists
    manifests = args.manifests or (args.check and writer.has_manifests(out))
    try:
        config = load(config_path)
        files = pipeline.generate(config, source.read(), manifests=manifests)
    except (ConfigError, ManifestError, CatalogError) as exc:
        print(f"stereo: {one_line(exc)}", file=sys.stderr)
        return 2
    except PromQLError as exc:  # a setting the catalog could not use, not caught by the config checks
        print(f"stereo: {config_path or '<defaults>'}: {one_line(exc)}", file=sys.stderr)
        return 2
    if args.check and out.exists() and not out.is_dir():
        print(f"stereo: --out {out}: not a directory", file=sys.stderr)
        return 2
    if args.check:
        problems = writer.differences(files, out)
        for line in problems:
            print(line)
        if problems:
            print(f"stereo: {len(problems)} generated file(s) are out of date; run `make generate`", file=sys.stderr)
            return 1
        print(f"stereo: {len(files)} generated files are up to date")
        return 0
    try:
        check = None if args.no_tool_check else (lambda staged: validate_tools.check(staged, config))
        writer.write(files, out, check=check)
    except (writer.WriteError, validate_tools.ToolError) as exc:
        print(f"stereo: {one_line(exc)}", file=sys.stderr)
        return 2
    counts = _counts(files)
    print(f"stereo: wrote {len(files)} files to {out} ({counts})")
    if not manifests and writer.has_manifests(out):
        print(f"stereo: {out / 'manifests'} was not rewritten (no --manifests); `generate --check` compares it",
              file=sys.stderr)
    return 0


def _counts(files: dict[str, str]) -> str:
    rules = sum(t.count("\n  - record: ") + t.count("\n- record: ") for p, t in files.items() if p.startswith("rules/"))
    alerts = sum(t.count("- alert: ") for p, t in files.items() if p.startswith("alerts/"))
    dashboards = sum(1 for p in files if p.startswith("dashboards/"))
    return f"{rules} recording rules, {alerts} alerts, {dashboards} dashboards"


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="stereo", description="Kubernetes monitoring as code.")
    p.add_argument("--version", action="version", version=f"stereo {generator.__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    gen = sub.add_parser("generate", help="write rules/, alerts/, dashboards/, tests and runbooks")
    gen.add_argument("--config", help="site settings, UTF-8 YAML of at most 2 MiB without aliases (default: "
                     "./stereo.yaml when it exists)")
    gen.add_argument("--out", default=".", help="directory to write into (default: .)")
    gen.add_argument("--check", action="store_true", help="write nothing; exit 1 naming files that differ")
    gen.add_argument("--no-tool-check", action="store_true",
                     help="do not run promtool/amtool on the staged output before writing it")
    gen.add_argument("--correlations", metavar="FILE",
                     help="pairs that lay the dashboards out (default: ./correlations.yaml when it exists, else the "
                          "built-in prior)")
    gen.add_argument("--suggestions", metavar="URL",
                     help="read the pairs from the correlation service instead, e.g. "
                          "http://stereo:9797/api/v1/correlations.yaml")
    gen.add_argument("--suggestions-optional", action="store_true",
                     help="when the service cannot be reached, warn and use the file instead of stopping")
    gen.add_argument("--manifests", action="store_true",
                     help="also write manifests/: PrometheusRule objects and Grafana sidecar ConfigMaps")
    gen.set_defaults(func=_generate)
    for name, (_, text) in DELEGATED.items():
        sub.add_parser(name, help=text, add_help=False)
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in DELEGATED:
        return _delegate(argv)
    args = parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
