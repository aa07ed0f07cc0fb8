"""A real Prometheus 2.42 on 127.0.0.1: backfill, start, wait, query, reload, stop by pid — outside the tests too.

Backfilled blocks go straight into the data directory before the server starts. Prometheus 2.42 always accepts
blocks that overlap each other (the `--storage.tsdb.allow-overlapping-blocks` flag is gone since 2.39), so no
flag is needed; the retention is long enough that blocks ending "now" are kept.

Recording rules can be backfilled too (`backfill_rules`): `promtool tsdb create-blocks-from rules` evaluates
them through a running server's query API, and a rule that reads another recorded series only sees it once the
blocks of the rule it reads are loaded. So the rules are split by level (level 1 reads raw series only, level
k reads level k-1) and each level is backfilled after the server was restarted over the previous level's blocks.

The one runner for the project, the tests and the demo: `tests/correlate/promlab.py` builds on it.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml

from generator.process import go_batch_env
from generator.process import stop as stop_process

PROMETHEUS = shutil.which("prometheus") or "/usr/bin/prometheus"
PROMTOOL = shutil.which("promtool") or "/usr/bin/promtool"


def free_port() -> int:
    """A free port on 127.0.0.1, kept from every other process's port-0 bind until a server takes it.

    A port merely bound and released could be handed to another process (a parallel test worker, another
    demo) before our server binds it, and a readiness check would then talk to the wrong server. So the port is
    left in TIME_WAIT (its accepted side closes first): for about a minute the kernel gives it to no port-0 bind
    and no outgoing connection, while a server binding it by number with SO_REUSEADDR — Prometheus, Alertmanager
    and VictoriaMetrics (Go), uvicorn, http.server — still can. Nothing listens on it until then: a client
    is refused."""
    with socket.socket() as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = int(listener.getsockname()[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10):
            accepted, _ = listener.accept()
            accepted.close()
    return port


def backfill(openmetrics: Path, data_dir: Path, timeout: float = 300) -> None:
    """`promtool tsdb create-blocks-from openmetrics`; raises with promtool's own message on failure."""
    run = subprocess.run([PROMTOOL, "tsdb", "create-blocks-from", "openmetrics", "--quiet", str(openmetrics),
                          str(data_dir)], capture_output=True, text=True, timeout=timeout, check=False,
                         env=go_batch_env())
    if run.returncode != 0:
        raise RuntimeError(f"promtool backfill failed: {(run.stderr or run.stdout)[-2000:]}")


BLOCK = 7200  # seconds: the block range promtool cuts backfilled data into


def backfill_simulation(sim: Any, data_dir: Path, scratch: Path, workers: int = 2) -> int:
    """Run a `generator.simulate.run.Simulation` over its window and backfill it into `data_dir`.

    promtool re-reads its whole input file for every 2h block it cuts, so a day in one file is read 13 times.
    Here the samples go out in one file per 2h block range, and promtool reads each file while the simulation
    writes the next. Returns the number of samples."""
    stamps = sim.window.timestamps()
    scratch.mkdir(parents=True, exist_ok=True)
    samples = 0

    def load(path: Path) -> None:
        try:
            backfill(path, data_dir)
        finally:
            path.unlink(missing_ok=True)

    with ThreadPoolExecutor(workers) as pool:
        jobs = []
        for i, t in enumerate(stamps):
            sim.tick(t)
            if i == len(stamps) - 1 or (t + sim.window.step) // BLOCK != t // BLOCK:
                path = scratch / f"history-{i:06d}.om"
                samples += sim.write_file(path)
                jobs.append(pool.submit(load, path))
        for job in jobs:
            job.result()
    return samples


def version(binary: str = PROMETHEUS) -> str:
    """`2.42.0+ds` from `prometheus --version`; "" when it cannot be run."""
    try:
        out = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return ""
    found = re.search(r"version (\S+)", out.stdout + out.stderr)
    return found.group(1) if found else ""


class Prometheus:
    """One server process. `stop()` ends exactly that process (by pid) and is safe to call twice.

    `scrape` adds scrape jobs (`{"job_name": ..., "static_configs": ...}`) to the generated prometheus.yml."""

    def __init__(self, workdir: Path, rule_globs: list[str], data_dir: Path | None = None,
                 evaluation_interval: str = "5s", scrape: list[dict[str, Any]] | None = None,
                 scrape_interval: str = "15s", port: int | None = None) -> None:
        self.workdir = workdir
        self.data = data_dir or workdir / "data"
        self.data.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.config = workdir / "prometheus.yml"
        self.configure(rule_globs, evaluation_interval, scrape or [], scrape_interval)
        self.log = workdir / "prometheus.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def configure(self, rule_globs: list[str], evaluation_interval: str = "5s",
                  scrape: list[dict[str, Any]] | None = None, scrape_interval: str = "15s") -> None:
        """(Re)write prometheus.yml; a running server picks it up on `reload()`."""
        config: dict[str, Any] = {"global": {"evaluation_interval": evaluation_interval,
                                             "scrape_interval": scrape_interval},
                                  "rule_files": rule_globs}
        if scrape:
            config["scrape_configs"] = scrape
        self.config.write_text(json.dumps(config, indent=1), encoding="utf-8")

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    def start(self, timeout: float = 300) -> Prometheus:
        """Start and wait until /-/ready (the deadline is generous: a busy machine loads blocks slowly)."""
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                [PROMETHEUS, f"--config.file={self.config}", f"--storage.tsdb.path={self.data}",
                 "--storage.tsdb.retention.time=30d", f"--web.listen-address=127.0.0.1:{self.port}",
                 "--web.enable-lifecycle", "--log.level=warn"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"prometheus exited with {self.proc.returncode}: {self.tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=2) as resp:
                    if resp.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"prometheus not ready after {timeout}s: {self.tail()}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        stop_process(proc, grace=60)  # a clean shutdown closes the head; under load it can take a while

    def restart(self, timeout: float = 300) -> Prometheus:
        """Stop and start on the same port: the way to make the server open blocks added to its data dir."""
        self.stop()
        return self.start(timeout)

    def tail(self, chars: int = 2000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""

    # ---- HTTP API ----------------------------------------------------------------------------------------
    def api(self, path: str, method: str = "GET", **params: str) -> Any:
        data = urllib.parse.urlencode(params).encode() if method == "POST" else None
        url = f"{self.url}{path}" + (f"?{urllib.parse.urlencode(params)}" if params and method == "GET" else "")
        req = urllib.request.Request(url, data=data, method=method)
        try:
            with urllib.request.urlopen(req, timeout=60) as resp:
                body = resp.read()
        except urllib.error.HTTPError as exc:
            raise RuntimeError(f"{method} {path} {params}: HTTP {exc.code} {exc.read()[:500]!r}") from None
        if not path.startswith("/api/"):
            return body
        payload = json.loads(body)
        if payload.get("status") != "success":
            raise RuntimeError(f"{path} {params}: {payload}")
        return payload["data"]

    def query(self, expr: str, at: float | None = None) -> list[dict[str, Any]]:
        params = {"query": expr} if at is None else {"query": expr, "time": f"{at:.3f}"}
        return self.api("/api/v1/query", "POST", **params)["result"]

    def query_range(self, expr: str, start: float, end: float, step: str) -> list[dict[str, Any]]:
        return self.api("/api/v1/query_range", "POST", query=expr, start=f"{start:.3f}", end=f"{end:.3f}",
                        step=step)["result"]

    def alerts(self) -> list[dict[str, Any]]:
        return self.api("/api/v1/alerts")["alerts"]

    def rule_groups(self) -> list[dict[str, Any]]:
        return self.api("/api/v1/rules")["groups"]

    def reload(self) -> None:
        self.api("/-/reload", "POST")

    def quiesce(self) -> None:
        """Stop evaluating rules (reload with no rule files): a server kept for queries after its rules
        settled must not keep spending the machine's CPU on them. Stays so across `restart()`."""
        config = json.loads(self.config.read_text(encoding="utf-8"))
        config["rule_files"] = []
        self.config.write_text(json.dumps(config, indent=1), encoding="utf-8")
        if self.proc is not None:
            self.reload()

    def wait_for_rounds(self, rounds: int = 3, timeout: float = 900) -> float:
        """Wait until every rule group has been evaluated `rounds` times since now; returns the seconds waited.
        The deadline only stops a server that is not evaluating at all; a busy one is waited for."""
        began = time.monotonic()
        seen: dict[str, set[str]] = {}
        deadline = began + timeout
        while time.monotonic() < deadline:
            groups = self.rule_groups()
            for g in groups:
                stamp = g.get("lastEvaluation", "")
                if stamp and not stamp.startswith("0001-"):
                    seen.setdefault(g["file"] + g["name"], set()).add(stamp)
            if groups and all(len(seen.get(g["file"] + g["name"], ())) >= rounds for g in groups):
                return time.monotonic() - began
            time.sleep(0.5)
        slow = sorted(g["name"] for g in self.rule_groups() if len(seen.get(g["file"] + g["name"], ())) < rounds)
        raise TimeoutError(f"rule groups not evaluated {rounds} times in {timeout}s: {slow}")


# ---- recording rules over backfilled history ------------------------------------------------------------

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'')
# a recorded series name has a colon; the lookbehind keeps `5m:1m` of a subquery out
_RECORDED = re.compile(r"(?<![\w:.])[a-zA-Z_]\w*:[\w:]*")


def recorded_names(expr: str) -> set[str]:
    """The recorded series (names with a colon) an expression reads."""
    return set(_RECORDED.findall(_STRING.sub('""', expr)))


def rule_levels(rule_files: Iterable[str]) -> list[list[dict[str, Any]]]:
    """Every recording-rule group of the given rule file texts, split by level: [[level-1 groups], [level 2]...].

    A group keeps its name and interval; a rule reading no recorded series is level 1, one reading level-k
    outputs is level k+1. Records nothing here produces count as raw (they come from elsewhere)."""
    rules: list[tuple[dict[str, Any], dict[str, Any]]] = []  # (group header, rule)
    for text in rule_files:
        for group in (yaml.safe_load(text) or {}).get("groups", []):
            head = {k: v for k, v in group.items() if k != "rules"}
            rules += [(head, r) for r in group.get("rules", []) if "record" in r]
    produced = {r["record"] for _, r in rules}
    reads = {id(r): recorded_names(r["expr"]) & produced for _, r in rules}
    level: dict[str, int] = {}
    for _ in range(len(rules) + 1):  # relaxation; a cycle would never settle and is refused below
        changed = False
        for _, r in rules:
            deps = reads[id(r)]
            if all(d in level for d in deps):
                mine = 1 + max((level[d] for d in deps), default=0)
                if level.get(r["record"], 0) < mine:
                    level[r["record"]], changed = mine, True
        if not changed:
            break
    missing = produced - level.keys()
    if missing:
        raise ValueError(f"recording rules read each other in a cycle: {sorted(missing)}")
    out: list[dict[str, dict[str, Any]]] = []
    for head, r in rules:
        k = level[r["record"]] - 1
        while len(out) <= k:
            out.append({})
        key = json.dumps(head, sort_keys=True)
        out[k].setdefault(key, {**head, "rules": []})["rules"].append(r)
    return [list(groups.values()) for groups in out]


def _move_blocks(src: Path, data_dir: Path) -> int:
    moved = 0
    for block in src.iterdir() if src.exists() else ():
        if (block / "meta.json").exists():
            shutil.move(str(block), str(data_dir / block.name))
            moved += 1
    return moved


BACKFILL_GROUP = "stereo-backfill"


def _units(groups: list[dict[str, Any]], parts: int) -> list[dict[str, Any]]:
    """The rules of one level as backfill groups: by evaluation interval, each dealt round-robin into `parts`.

    promtool evaluates a group at `offset + k·interval`, the offset hashed from the group's name and file path.
    Every unit is one group named BACKFILL_GROUP in a file `rules.yaml` read from its own directory, so every
    recorded series of one interval gets the same timestamps whatever its level, part or temporary directory:
    a level-2 rule reads the level-1 sample of its own timestamp (never the one a step before), and a rerun
    over the same data gives the same series."""
    by_interval: dict[str, list[dict[str, Any]]] = {}
    for g in groups:
        by_interval.setdefault(str(g.get("interval", "")), []).extend(g["rules"])
    units = []
    for interval, rules in sorted(by_interval.items()):
        for k in range(parts):
            if rules[k::parts]:
                head = {"name": BACKFILL_GROUP, **({"interval": interval} if interval else {})}
                units.append({**head, "rules": rules[k::parts]})
    return units


def _run_units(units: list[dict[str, Any]], tmp: Path, url: str, start: int, end: int, workers: int,
               deadline: float) -> list[Path]:
    """promtool over each unit, at most `workers` at once; returns the block directories. Raises on failure
    (promtool's own message) and always ends the processes it started, by pid."""
    running: list[tuple[subprocess.Popen[bytes], Path]] = []
    done: list[Path] = []

    def finish(proc: subprocess.Popen[bytes], where: Path) -> None:
        try:
            proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            stop_process(proc, grace=5)
        if proc.returncode != 0:
            log = (where / "promtool.log").read_text(errors="replace")[-2000:]
            raise RuntimeError(f"promtool rule backfill failed ({proc.returncode}): {log}")
        done.append(where / "blocks")

    try:
        for k, unit in enumerate(units):
            where = tmp / f"unit-{k}"
            where.mkdir()
            (where / "rules.yaml").write_text(yaml.safe_dump({"groups": [unit]}, sort_keys=False), encoding="utf-8")
            with (where / "promtool.log").open("wb") as log:
                proc = subprocess.Popen(
                    [PROMTOOL, "tsdb", "create-blocks-from", "rules", "--quiet", f"--url={url}", f"--start={start}",
                     f"--end={end}", "--output-dir=blocks", "rules.yaml"],
                    cwd=where, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=go_batch_env())
            running.append((proc, where))
            if len(running) >= workers:
                finish(*running.pop(0))
        while running:
            finish(*running.pop(0))
    finally:  # a failure or an interrupt: end what still runs
        for proc, _ in running:
            stop_process(proc, grace=5)
    return done


def backfill_rules(prom: Prometheus, rule_files: Iterable[str], start: int, end: int,
                   keep: Callable[[dict[str, Any]], bool] | None = None, workers: int = 2, timeout: float = 1800,
                   progress: Callable[[str], None] | None = None) -> list[float]:
    """Backfill the recording rules of `rule_files` (texts) over [start, end] with `promtool tsdb
    create-blocks-from rules`, level by level (`by_level`). `keep(rule)` limits the rules (e.g. to what some
    queries need); `workers` promtool processes share a level (the server answers their queries on as many cores).
    Every level's series share one evaluation grid (see `_units`), so the result depends only on the data, the
    rules and [start, end]. Returns the seconds each level took."""
    parts = max(1, workers)
    return by_level(prom, rule_files, lambda groups, tmp, deadline: _run_units(
        _units(groups, parts), tmp, prom.url, start, end, parts, deadline), keep, timeout, progress)


LevelWriter = Callable[[list[dict[str, Any]], Path, float], list[Path]]


def by_level(prom: Prometheus, rule_files: Iterable[str], write: LevelWriter,
             keep: Callable[[dict[str, Any]], bool] | None = None, timeout: float = 1800,
             progress: Callable[[str], None] | None = None) -> list[float]:
    """The recording rules of `rule_files` into the running `prom`'s data, level by level: `write(groups, tmp,
    deadline)` writes one level's blocks under `tmp` and returns their directories; they are moved into the data
    and the server restarts, so the next level reads them. Returns the seconds each level took."""
    took = []
    for i, groups in enumerate(rule_levels(rule_files), 1):
        groups = [{**g, "rules": [r for r in g["rules"] if keep is None or keep(r)]} for g in groups]
        groups = [g for g in groups if g["rules"]]
        if not groups:
            continue
        began = time.monotonic()
        with tempfile.TemporaryDirectory(prefix=f"rules-{i}-", dir=prom.workdir) as tmp:
            moved = sum(_move_blocks(b, prom.data) for b in write(groups, Path(tmp), began + timeout))
        prom.restart()
        took.append(time.monotonic() - began)
        if progress:
            count = sum(len(g["rules"]) for g in groups)
            progress(f"recording rules, level {i}: {count} rules backfilled into {moved} blocks in {took[-1]:.1f}s")
    return took
