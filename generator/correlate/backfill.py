"""`stereo backfill`: recording-rule history for a Prometheus that started recording today.

Recording rules only produce series from the moment Prometheus loads them, so `stereo suggest` over last week
finds nothing recorded (it then falls back to raw expressions, per signal). Sites that want the recorded
history write it with `promtool tsdb create-blocks-from rules`, which evaluates the rules against the server's
raw data and writes TSDB blocks:

    stereo backfill --prometheus URL --start UNIX --end UNIX [--out DIR] [--level N]

Rules that read other recorded series need those series' history first, so the rules go level by level
(level 1 reads raw metrics only, level k reads level k − 1): each run writes one level's blocks into
DIR/level-N; move the block directories into Prometheus' data directory (`--storage.tsdb.path`), restart it,
then run the next level. The levels come from the site's generated rules (stereo.yaml via --config); the work
is `generator.simulate.prometheus.backfill_rules` (promtool processes, stopped by pid when interrupted).
promtool cannot authenticate, so an upstream that needs a token or a password is refused.
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from generator.correlate.upstream import Parser, UsageError, upstream, upstream_options

PROG = "stereo backfill"


@dataclass
class _Remote:
    """What backfill_rules needs of a server: its URL, a scratch dir, where blocks go; never restarted here."""

    url: str
    workdir: Path
    data: Path

    def restart(self) -> None:  # the operator loads the blocks and restarts their own Prometheus
        return None


def _time(text: str, flag: str) -> int:
    now = time.time()
    try:
        value = now if text == "now" else float(text)
    except ValueError:
        raise UsageError(f"{flag}: expected unix seconds or now, got {text!r}") from None
    if not 0 < value <= now + 3600:
        raise UsageError(f"{flag}: {text} is not a time in the past")
    return int(value)


def _parser() -> Parser:
    p = Parser(prog=PROG, description="Write recording-rule history with promtool, one rule level per run.")
    upstream_options(p)
    p.add_argument("--start", required=True, help="first time to backfill, unix seconds")
    p.add_argument("--end", default="now", help="last time to backfill, unix seconds or now (default)")
    p.add_argument("--out", default="backfill", help="directory for the blocks (default ./backfill)")
    p.add_argument("--level", type=int, default=1, help="rule level to write (default 1: rules on raw metrics)")
    p.add_argument("--workers", type=int, default=2, help="promtool processes at once (default 2)")
    return p


def main(argv: list[str]) -> int:
    from generator import pipeline
    from generator.simulate.prometheus import backfill_rules, rule_levels

    try:
        args = _parser().parse_args(argv)
        config, url, auth, _ = upstream(args)
        if auth.bearer_token or auth.basic:
            raise UsageError("promtool cannot authenticate to the upstream: backfill from an address without auth")
        start, end = _time(args.start, "--start"), _time(args.end, "--end")
        if start >= end:
            raise UsageError(f"--start {start} is not before --end {end}")
        files = pipeline.generate(config)
        texts = [text for path, text in sorted(files.items()) if path.startswith("rules/")]
        levels = rule_levels(texts)
        if not 1 <= args.level <= len(levels):
            raise UsageError(f"--level: expected 1 to {len(levels)}, got {args.level}")
        wanted = {r["record"] for g in levels[args.level - 1] for r in g["rules"]}
        out = Path(args.out) / f"level-{args.level}"
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"--out {args.out}: cannot write: {exc.strerror or exc}") from None
        with tempfile.TemporaryDirectory(prefix="stereo-backfill-") as scratch:
            remote = _Remote(url, Path(scratch), out)
            try:
                backfill_rules(remote, texts, start, end, keep=lambda r: r["record"] in wanted,  # type: ignore[arg-type]
                               workers=max(1, args.workers),
                               progress=lambda m: print(f"{PROG}: {m}", file=sys.stderr, flush=True))
            except RuntimeError as exc:
                raise UsageError(str(exc).splitlines()[0] if str(exc) else "promtool failed") from None
    except UsageError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    blocks = sorted(p.name for p in out.iterdir() if (p / "meta.json").exists())
    nxt = (f"; then run with --level {args.level + 1} (of {len(levels)})" if args.level < len(levels) else
           " (the last level)")
    print(f"{PROG}: wrote {len(blocks)} blocks of {len(wanted)} recording rules (level {args.level}) to {out}: "
          f"move them into Prometheus' data directory and restart it{nxt}", file=sys.stderr)
    return 0
