"""`stereo simulate`: a synthetic Kubernetes cluster's metrics, as OpenMetrics for backfilling or live /metrics.

    stereo simulate --out sim.om && promtool tsdb create-blocks-from openmetrics sim.om data/
    stereo simulate --scenario etcd-slow-disk --end now --duration 6h --out sim.om
    stereo simulate --serve 127.0.0.1:9100

Every raw metric the generated rules and alerts read is produced, with the components' own label names and
histogram buckets. Same options and seed, same bytes (the default --end is fixed). Planted relations between
signals are listed by `planted_pairs()`; fault scenarios by `--list-scenarios`.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, NoReturn

from generator.simulate.scenarios import SCENARIOS
from generator.simulate.world import PLANTED

if TYPE_CHECKING:
    from generator.simulate.run import ClusterSpec, Window


def planted_pairs() -> list[tuple[str, str]]:
    """Catalog signal pairs whose changes are planted to move together (in the smooth phase)."""
    return list(PLANTED)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2
        self.exit(2, f"{self.prog}: error: {message}\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _seconds(text: str) -> int:
    from generator.promql import PromQLError, parse_duration

    try:
        value = parse_duration(text)
    except PromQLError:
        raise argparse.ArgumentTypeError(f"expected a duration such as 60s, 5m, 1d, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a duration of at least 1s, got {text!r}")
    return int(value)


def _end(text: str) -> int:
    from generator.simulate.run import now

    if text == "now":
        return now()
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f'expected unix seconds or "now", got {text!r}') from None


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a number from 0 to 1, got {text!r}")
    return value


def _scenario(text: str) -> str:
    if text not in SCENARIOS:
        raise argparse.ArgumentTypeError(f"unknown scenario {text!r} (see --list-scenarios)")
    return text


def _label(text: str) -> str:
    import re

    if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", text) or text.startswith("__"):
        raise argparse.ArgumentTypeError(f"expected a label name, got {text!r}")
    return text


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def parser() -> argparse.ArgumentParser:
    from generator.simulate.run import DEFAULT_END

    p = _Parser(prog="stereo simulate", description="Write a simulated cluster's metrics as OpenMetrics "
                "(for promtool backfill) or serve them on /metrics.")
    p.add_argument("--nodes", type=_positive_int, default=3, help="nodes, the first one the control plane (3)")
    p.add_argument("--namespaces", type=_positive_int, default=3, help="application namespaces (3)")
    p.add_argument("--pods", type=_positive_int, default=12, help="application pods; system pods come on top (12)")
    p.add_argument("--seed", type=int, default=1, help="random seed (1)")
    p.add_argument("--duration", type=_seconds, default=86400, help="length of the window (1d)")
    p.add_argument("--step", type=_seconds, default=60, help="time between samples (60s)")
    p.add_argument("--end", type=_end, default=DEFAULT_END,
                   help=f'last sample time, unix seconds or "now" (default {DEFAULT_END}, fixed for repeatable '
                        "output)")
    p.add_argument("--scenario", type=_scenario, action="append", default=[], metavar="NAME",
                   help="fault scenario to play in the last part of the window; repeatable (default: healthy)")
    p.add_argument("--scenario-window", type=_seconds, default=1800, help="how long the scenarios run (30m)")
    p.add_argument("--congested-from", type=_fraction, default=0.75, metavar="FRACTION",
                   help="where the congested phase starts, as a fraction of the window (0.75)")
    p.add_argument("--cluster", default="sim", help='value of the cluster label ("sim")')
    p.add_argument("--cluster-label", type=_label, default="cluster",
                   help="name of the cluster label, as cluster_label in stereo.yaml (cluster)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--out", metavar="FILE", help="write OpenMetrics with timestamps to FILE (- for stdout)")
    out.add_argument("--serve", type=_address, metavar="HOST:PORT", help="serve live values on /metrics")
    out.add_argument("--list-scenarios", action="store_true", help="list the fault scenarios and their alerts")
    return p


def main(argv: list[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(sys.argv[1:] if argv is None else argv)
    if args.list_scenarios:
        for s in SCENARIOS.values():
            print(f"{s.name}: {s.description}\n    expect: {', '.join(s.expect)}"
                  + (f"\n    allow: {', '.join(s.allow)}" if s.allow else ""))
        return 0
    if not args.out and not args.serve:
        p.error("one of --out FILE, --serve HOST:PORT or --list-scenarios is required")
    if args.step > args.duration:
        p.error(f"--step ({args.step}s) is longer than --duration ({args.duration}s)")
    from generator.simulate.run import ClusterSpec, Window

    spec = ClusterSpec(args.cluster, args.nodes, args.namespaces, args.pods, tuple(args.scenario),
                       label=args.cluster_label)
    window = Window(end=args.end, duration=args.duration, step=args.step, congested_from=args.congested_from,
                    scenario_window=args.scenario_window)
    if args.serve:
        from generator.simulate import serve

        return serve.main(args.serve, spec, args.seed, window)
    return _write(args.out, spec, args.seed, window)


def _write(out: str, spec: ClusterSpec, seed: int, window: Window) -> int:
    from generator.simulate.run import Simulation

    sim = Simulation([spec], seed, window).run()
    families = len(sim.registry.families)
    series = sum(len(f.series) for f in sim.registry.families.values())
    if out == "-":
        try:
            sim.write(sys.stdout)
            sys.stdout.flush()
        except BrokenPipeError:  # `| head`: the reader has what it wanted
            import os

            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    try:
        samples = sim.write_file(out)
    except OSError as exc:
        print(f"stereo simulate: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"stereo simulate: wrote {samples} samples of {series} series in {families} families to {out}")
    return 0
