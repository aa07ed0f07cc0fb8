"""`make demo`: the whole product on one machine, on 127.0.0.1, in one command.

    python -m generator.demo [--seed 1] [--pods 24] [--duration 1d] [--workdir .demo] [--once]

1. installs Prometheus when it is missing (as root with apt-get; otherwise says how);
2. `stereo generate` writes the site's rules, alerts and dashboards into WORKDIR/out (never the repository's);
3. simulates a healthy cluster with the planted relations over the last day and backfills it (promtool);
4. starts Prometheus with those rules and alerts, backfills the recording rules over the day (each rule's
   range query, loaded with promtool level by level), and lets it scrape a live `stereo simulate --serve` so the
   data stays current;
5. starts `stereo serve`, runs `stereo suggest` into WORKDIR/correlations.yaml and regenerates WORKDIR/out
   laid out from the measured correlations;
6. prints what it did and where, then runs until Ctrl-C (SIGINT/SIGTERM), which stops every process it
   started, by pid. `--once` stops them right after printing (tests, CI).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from generator.process import stop as stop_process
from generator.simulate import planted_pairs
from generator.simulate import prometheus as promrun
from generator.simulate import run as simrun
from generator.simulate.rulehistory import record_rules

ROOT = Path(__file__).resolve().parent.parent
CLUSTER = "sim"
MARKER = ".stereo-demo"  # the demo only ever clears a directory carrying this
APT = ["apt-get", "install", "-y", "--no-install-recommends", "prometheus"]
Say = Callable[[str], None]


class Interrupted(Exception):
    """SIGINT or SIGTERM arrived."""


@dataclass
class Stack:
    """Everything the demo started; `stop()` ends each process by its pid, newest first."""

    workdir: Path
    prometheus: promrun.Prometheus
    spec: simrun.ClusterSpec
    start: int = 0
    end: int = 0
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    urls: dict[str, str] = field(default_factory=dict)
    facts: list[str] = field(default_factory=list)  # what was done, for the summary

    def pids(self) -> dict[str, int]:
        out = {name: p.pid for name, p in self.procs.items()}
        if self.prometheus.pid is not None:
            out["prometheus"] = self.prometheus.pid
        return out

    def spawn(self, name: str, argv: list[str], ready: str, timeout: float = 60) -> None:
        """Start `stereo <argv>` from this checkout, logging to WORKDIR/logs/<name>.log; wait until GET `ready`."""
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
        with (self.workdir / "logs" / f"{name}.log").open("ab") as log:
            proc = subprocess.Popen([sys.executable, "-m", "generator", *argv], cwd=self.workdir, env=env,
                                    stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.procs[name] = proc
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}; see {self.workdir / 'logs' / name}.log")
            try:
                with urllib.request.urlopen(ready, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{name} did not answer {ready} within {timeout:.0f}s")

    def stop(self) -> None:
        for name in reversed(list(self.procs)):
            stop_process(self.procs.pop(name))
        self.prometheus.stop()


def _have_prometheus() -> bool:
    return all(shutil.which(b) or Path(f"/usr/bin/{b}").exists() for b in ("prometheus", "promtool"))


def ensure_prometheus(say: Say) -> bool:
    """Prometheus and promtool on this machine, installed with apt-get when root; False (having said how) if not."""
    if _have_prometheus():
        return True
    if os.geteuid() == 0 and shutil.which("apt-get"):
        say(f"Prometheus is missing; installing it: {' '.join(APT)}")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        if subprocess.run(APT, env=env, check=False).returncode != 0:  # usually a stale package index
            subprocess.run(["apt-get", "update"], env=env, check=False)
            subprocess.run(APT, env=env, check=False)
        if _have_prometheus():
            return True
    say("needs prometheus and promtool (2.x). Debian/Ubuntu: "
        "sudo apt-get install --no-install-recommends prometheus; elsewhere: "
        "https://prometheus.io/download/ and put both binaries on PATH")
    return False


def _stereo(workdir: Path, argv: list[str], log: str) -> str:
    """Run `stereo <argv>` in WORKDIR (so no ./stereo.yaml or ./correlations.yaml of the caller's is read)."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    run = subprocess.run([sys.executable, "-m", "generator", *argv], cwd=workdir, env=env, capture_output=True,
                         text=True, check=False, timeout=900)
    text = run.stdout + run.stderr
    (workdir / "logs" / log).write_text(text, encoding="utf-8")
    if run.returncode != 0:
        raise RuntimeError(f"stereo {' '.join(argv)} failed ({run.returncode}): {text[-1500:]}")
    return text.strip().splitlines()[-1] if text.strip() else ""


def build(workdir: Path, spec: simrun.ClusterSpec, seed: int, duration: int, say: Say, step: int = 60) -> Stack:
    """Site files, simulated history, Prometheus with the rules backfilled and the live simulator scraped.
    The caller stops the returned stack (also when this raises: nothing is left running then)."""
    for old in ("prometheus", "out", "logs", "correlations.yaml"):  # only what a previous run wrote
        target = workdir / old
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    (workdir / "logs").mkdir(parents=True)
    prom = promrun.Prometheus(workdir / "prometheus", [], workdir / "prometheus" / "data", evaluation_interval="1m")
    stack = Stack(workdir, prom, spec)
    try:
        service_port, sim_port = promrun.free_port(), promrun.free_port()
        stack.urls = {"prometheus": prom.url, "service": f"http://127.0.0.1:{service_port}",
                      "simulator": f"http://127.0.0.1:{sim_port}/metrics"}
        (workdir / "stereo.yaml").write_text(yaml.safe_dump({  # the provisioning then points at this demo
            "prometheus_url": prom.url, "correlation_url": stack.urls["service"]}), encoding="utf-8")
        last = _stereo(workdir, ["generate", "--config", "stereo.yaml", "--out", "out"], "generate-prior.log")
        stack.facts.append(f"stereo generate (built-in prior layout): {last.removeprefix('stereo: ')}")
        say(stack.facts[-1])

        began = time.monotonic()
        stack.end = simrun.now() // step * step
        stack.start = stack.end - duration
        window = simrun.Window(end=stack.end, duration=duration, step=step, congested_from=1.0)  # healthy
        sim = simrun.Simulation([spec], seed, window)
        samples = promrun.backfill_simulation(sim, prom.data, workdir / "scratch")
        shutil.rmtree(workdir / "scratch", ignore_errors=True)
        stack.facts.append(f'simulated cluster "{spec.name}" ({spec.nodes} nodes, {spec.namespaces} namespaces, '
                           f"{spec.pods} pods, seed {seed}) over the last {_dur(duration)} at {step}s: "
                           f"{samples:,} samples backfilled in {time.monotonic() - began:.1f}s")
        say(stack.facts[-1])

        stack.spawn("simulate", ["simulate", "--serve", f"127.0.0.1:{sim_port}", "--nodes", str(spec.nodes),
                                  "--namespaces", str(spec.namespaces), "--pods", str(spec.pods), "--seed", str(seed),
                                  "--step", f"{step}s", "--congested-from", "1", "--cluster", spec.name],
                    stack.urls["simulator"])
        out = workdir / "out"
        prom.configure([str(out / "rules" / "*.yaml"), str(out / "alerts" / "*.yaml")], "1m",
                       [{"job_name": "stereo-simulator", "honor_labels": True, "scrape_interval": "30s",
                         "static_configs": [{"targets": [f"127.0.0.1:{sim_port}"]}]}])
        prom.start()
        stack.facts.append(f"started Prometheus {promrun.version() or ''} with those rules and alerts, scraping "
                           "the live simulator")
        began = time.monotonic()
        rules = [p.read_text(encoding="utf-8") for p in sorted((out / "rules").glob("*.yaml"))]
        levels = record_rules(prom, rules, stack.start, stack.end, progress=say)
        count = sum(len(g["rules"]) for level in promrun.rule_levels(rules) for g in level)
        stack.facts.append(f"backfilled {count} recording rules over the same window, level by level "
                           f"({len(levels)} levels), in {time.monotonic() - began:.1f}s")
        say(stack.facts[-1])
    except BaseException:
        stack.stop()
        raise
    return stack


def _dur(seconds: int) -> str:
    from generator.promql import format_duration

    return format_duration(seconds)


def measure_and_regenerate(stack: Stack, window: int, say: Say) -> list[dict[str, Any]]:
    """`stereo serve`, `stereo suggest`, `stereo generate --correlations`; returns the measured pairs."""
    workdir, prom = stack.workdir, stack.prometheus
    port = stack.urls["service"].rsplit(":", 1)[1]
    stack.spawn("serve", ["serve", "--prometheus", prom.url, "--listen", f"127.0.0.1:{port}", "--config",
                          "stereo.yaml", "--log-level", "warning"], f"{stack.urls['service']}/healthz")
    say(f"correlation service up on {stack.urls['service']}")
    began = time.monotonic()
    last = _stereo(workdir, ["suggest", "--prometheus", prom.url, "--config", "stereo.yaml", "--window",
                             _dur(window), "--out", "correlations.yaml"], "suggest.log")
    stack.facts.append(f"stereo suggest over the last {_dur(window)} ({time.monotonic() - began:.1f}s): "
                       f"{last.removeprefix('stereo suggest: ')}")
    say(stack.facts[-1])
    last = _stereo(workdir, ["generate", "--config", "stereo.yaml", "--out", "out", "--correlations",
                             "correlations.yaml"], "generate.log")
    stack.facts.append(f"regenerated from the measured correlations: {last.removeprefix('stereo: ')}")
    say(stack.facts[-1])
    prom.reload()  # the documented step after `make generate`; the rule files are read again
    doc = yaml.safe_load((workdir / "correlations.yaml").read_text(encoding="utf-8")) or {}
    return list(doc.get("pairs") or [])


def example_url(stack: Stack) -> str:
    query = urllib.parse.urlencode({"target": "container_cpu_usage", "selector": f'cluster="{stack.spec.name}"'})
    return f"{stack.urls['service']}/api/v1/suggestions?{query}"


def summary(stack: Stack, pairs: list[dict[str, Any]], top: int = 10) -> str:
    w, out = stack.workdir, stack.urls
    try:
        with urllib.request.urlopen(example_url(stack), timeout=60) as resp:
            answer = json.loads(resp.read())
        live = f"answers {len(answer.get('suggestions', []))} suggestions now"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        live = f"did not answer: {exc}"
    dashboards = sorted((w / "out" / "dashboards").glob("*.json"))
    rules = [r for g in stack.prometheus.rule_groups() for r in g["rules"]]
    alerts = [r for r in rules if r["type"] == "alerting"]
    loaded = (f"{len(rules) - len(alerts)} recording rules, {len(alerts)} alerts loaded, "
              f"{sum(r['state'] == 'firing' for r in alerts)} firing")
    lines = ["", "Stereo demo: what it did", *(f"  {i}. {f}" for i, f in enumerate(stack.facts, 1)), "",
             "URLs (127.0.0.1 only)",
             f"  Prometheus            {out['prometheus']}  ({loaded}; see /rules, /alerts)",
             f"  suggestions example   {example_url(stack)}  ({live})",
             f"  service API docs      {out['service']}/docs",
             f"  service metrics       {out['service']}/metrics",
             f"  correlations.yaml     {out['service']}/api/v1/correlations.yaml",
             f"  live simulator        {out['simulator']}", "",
             "Files",
             f"  {w / 'out' / 'dashboards'}/*.json   {len(dashboards)} Grafana dashboards, laid out from the "
             "measured correlations",
             f"  {w / 'out' / 'provisioning'}/   Grafana provisioning (dashboard provider; Prometheus and "
             "correlation-service datasources pointing at the URLs above)",
             f"  {w / 'out' / 'rules'}/, {w / 'out' / 'alerts'}/   loaded by the Prometheus above",
             f"  {w / 'correlations.yaml'}   what stereo suggest measured",
             f"  {w / 'logs'}/   logs of every process", "",
             _table(pairs, top), "",
             "Processes: " + ", ".join(f"{_name(n)} pid {pid}" for n, pid in sorted(stack.pids().items()))]
    return "\n".join(lines)


def _table(pairs: list[dict[str, Any]], top: int) -> str:
    head = ("a", "b", "ρ", "n", "stability")
    rows = [_row(p) for p in pairs[:top]]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    a, b, rho, n, stab = widths

    def fmt(r: tuple[str, ...]) -> str:
        return f"  {r[0]:<{a}}  {r[1]:<{b}}  {r[2]:>{rho}}  {r[3]:>{n}}  {r[4]:>{stab}}"

    lines = [f"Top suggestions by |ρ| ({min(top, len(pairs))} of {len(pairs)} significant pairs)", fmt(head),
             *(fmt(r) for r in rows)] if rows else ["Top suggestions: none significant"]
    lines += ["", "Relations the simulator planted (its ground truth)"]
    rank = {frozenset((p["a"], p["b"])): i for i, p in enumerate(pairs)}
    for x, y in planted_pairs():
        i = rank.get(frozenset((x, y)))
        found = "not found" if i is None else "found: ρ {2}, n {3}, stability {4}".format(*_row(pairs[i]))
        lines.append(f"  {x} ↔ {y}: {found}" + ("" if i is None else f" (rank {i + 1})"))
    return "\n".join(lines)


def _row(p: dict[str, Any]) -> tuple[str, ...]:
    stability = "" if p.get("stability") is None else f"{p['stability']:.0%}"
    return p["a"], p["b"], f"{p.get('rho', 0):+.2f}", str(p.get("n", "")), stability


def _name(key: str) -> str:
    return key if key == "prometheus" else f"stereo {key}"


def _raise(signum: int, _: Any) -> None:
    raise Interrupted(signal.Signals(signum).name)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m generator.demo", description=__doc__.splitlines()[0])
    p.add_argument("--seed", type=int, default=1, help="simulation seed (1)")
    p.add_argument("--pods", type=int, default=24, help="application pods (24)")
    p.add_argument("--nodes", type=int, default=3, help="nodes (3)")
    p.add_argument("--namespaces", type=int, default=3, help="application namespaces (3)")
    p.add_argument("--duration", default="1d", help="simulated history up to now (1d)")
    p.add_argument("--workdir", default=".demo", help="where everything goes (.demo)")
    p.add_argument("--once", action="store_true", help="do everything, print, stop all and exit")
    return p


def main(argv: list[str] | None = None) -> int:
    from generator.promql import PromQLError, parse_duration

    args = parser().parse_args(argv)
    from generator.cli import EXTRAS, install_hint, missing_extras

    missing = missing_extras(EXTRAS["serve"])  # the demo runs `stereo suggest` and `stereo serve`
    if missing:
        print(install_hint("make demo", missing), file=sys.stderr)
        return 2
    try:
        duration = int(parse_duration(args.duration))
    except PromQLError:
        parser().error(f"--duration: expected a duration such as 6h or 1d, got {args.duration!r}")
    if duration < 3600 or min(args.pods, args.nodes, args.namespaces) < 1:
        parser().error("--duration must be at least 1h and the sizes at least 1")

    def say(message: str) -> None:
        print(f"stereo demo: {message}", flush=True)

    workdir = Path(args.workdir).resolve()
    if workdir.is_dir() and any(workdir.iterdir()) and not (workdir / MARKER).exists():
        say(f"{workdir} is not empty and not a demo directory (no {MARKER}); choose another --workdir")
        return 2
    if not ensure_prometheus(say):
        return 2
    signal.signal(signal.SIGTERM, _raise)
    signal.signal(signal.SIGINT, _raise)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / MARKER).write_text("made by `python -m generator.demo`; it clears and rewrites this directory\n",
                                  encoding="utf-8")
    say(f"Prometheus {promrun.version() or '?'}; working in {workdir}")
    stack: Stack | None = None
    ready = False
    try:
        spec = simrun.ClusterSpec(CLUSTER, args.nodes, args.namespaces, args.pods)
        stack = build(workdir, spec, args.seed, duration, say)
        pairs = measure_and_regenerate(stack, min(duration, 6 * 3600), say)
        print(summary(stack, pairs), flush=True)
        ready = True
        if args.once:
            return 0
        print("\nRunning; Ctrl-C stops everything above.", flush=True)
        while True:
            for name, pid in stack.pids().items():
                proc = stack.procs.get(name) or stack.prometheus.proc
                if proc is not None and proc.poll() is not None:
                    say(f"{_name(name)} (pid {pid}) exited with {proc.returncode}; stopping the rest")
                    return 1
            time.sleep(1)
    except Interrupted as exc:
        say(f"{exc}: stopping")
        return 0 if ready else 130
    except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
        say(f"failed: {exc}")
        return 1
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):  # a second Ctrl-C must not cut the clean-up short
            signal.signal(sig, signal.SIG_IGN)
        if stack is not None:
            pids = stack.pids()
            stack.stop()
            say("stopped " + ", ".join(f"{_name(n)} (pid {p})" for n, p in sorted(pids.items())) if pids else
                "nothing left")


if __name__ == "__main__":
    sys.exit(main())
