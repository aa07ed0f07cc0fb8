"""Recording-rule history for a Prometheus of our own (the demo, the test labs): each rule evaluated over
[start, end] by one range query, the samples written as OpenMetrics and loaded with `promtool tsdb
create-blocks-from openmetrics`, level by level, the server restarting after each level.

`promtool tsdb create-blocks-from rules` (`generator.simulate.prometheus.backfill_rules`, what `stereo backfill`
runs against a site's server) writes one TSDB block per rule and two-hour range, each from a fresh in-memory
head, written and fsynced: 214 rules over six hours are ~850 blocks and ~14 s of CPU, and every restart opens
them all. The series here are the ones promtool's rule importer writes — the rule's query at its group's
interval, the query's labels with the rule's own labels over them, the record as the name — in one block per
two-hour range for a whole level (~5x less CPU); the importer evaluates at an offset hashed from the group's name,
these at the interval's multiples (tests/e2e/test_e2e_history.py holds each sample equal to the server's own
evaluation at its time, both ways). Every rule of one interval is evaluated on one grid, so a rule reading
another rule's record reads the sample of its own timestamp, and the result depends only on the data, the rules
and [start, end].
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import IO, Any

from generator.promql import parse_duration
from generator.simulate.prometheus import BLOCK, Prometheus, backfill, by_level
from generator.simulate.series import label_text

DEFAULT_INTERVAL = 60  # seconds: promtool's --eval-interval default, for a group without an interval


def _stamp(t: float) -> str:
    return str(int(t)) if t == int(t) else repr(t)


def _write_level(prom: Prometheus, rules: list[tuple[int, dict[str, Any]]], start: int, end: int,
                 tmp: Path) -> list[Path]:
    """Every rule's samples in one OpenMetrics file per two-hour block range (promtool reads a file once per
    range it covers); a record's samples stay together."""
    files: dict[int, IO[str]] = {}
    try:
        for step, rule in sorted(rules, key=lambda sr: sr[1]["record"]):  # stable: a record's rules together
            first = -(-start // step) * step
            if first > end:
                continue
            for series in prom.query_range(rule["expr"], first, end, f"{step}s"):
                labels = {**series["metric"], **{k: str(v) for k, v in (rule.get("labels") or {}).items()}}
                labels.pop("__name__", None)
                head = rule["record"] + label_text(sorted(labels.items())) + " "
                for t, value in series["values"]:
                    block = int(t) // BLOCK
                    if block not in files:
                        files[block] = (tmp / f"range-{block}.om").open("w", encoding="utf-8", newline="\n")
                    files[block].write(f"{head}{value} {_stamp(t)}\n")
    finally:
        for out in files.values():
            out.write("# EOF\n")
            out.close()
    return [tmp / f"range-{block}.om" for block in sorted(files)]


def record_rules(prom: Prometheus, rule_files: Iterable[str], start: int, end: int,
                 keep: Callable[[dict[str, Any]], bool] | None = None, workers: int = 2, timeout: float = 1800,
                 progress: Callable[[str], None] | None = None) -> list[float]:
    """The recording rules of `rule_files` (texts) over [start, end] into the running `prom`'s data, level by
    level (`prometheus.by_level`: level k reads the records of level k-1, loaded by the restart after each level).
    `keep(rule)` limits the rules; `workers` promtool processes load a level's files. Returns the seconds each
    level took."""

    def write(groups: list[dict[str, Any]], tmp: Path, deadline: float) -> list[Path]:
        rules = [(int(parse_duration(str(g["interval"]))) if g.get("interval") else DEFAULT_INTERVAL, r)
                 for g in groups for r in g["rules"]]
        blocks = tmp / "blocks"
        with ThreadPoolExecutor(max(1, workers)) as pool:
            for job in [pool.submit(backfill, path, blocks, max(1.0, deadline - time.monotonic()))
                        for path in _write_level(prom, rules, start, end, tmp)]:
                job.result()
        return [blocks]

    return by_level(prom, rule_files, write, keep, timeout, progress)
