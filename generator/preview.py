"""`stereo preview dashboards/X.json --svg OUT` (or `--png OUT`): a picture of a dashboard's grid without Grafana.

Every panel is drawn where its gridPos puts it, with its title and type; rows are bands across the grid, and the
panels of a collapsed row are drawn expanded under a "collapsed" band, so a review sees the whole layout. The same
module checks the layout (`problems()`): panels that overlap, that leave the 24 columns, and holes wider than
`MAX_HOLE` columns on a line some panel occupies.

The SVG is written by hand (no imports beyond the standard library); `--png` draws with matplotlib, imported only
then (the `correlate` extra installs it).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

COLUMNS = 24
MAX_HOLE = 6
CELL_W, CELL_H = 40, 24  # pixels per grid column and per grid unit of height
FILL = {"row": "#d8dee9", "timeseries": "#e3f2fd", "stat": "#e8f5e9", "gauge": "#fff8e1", "bargauge": "#fff3e0",
        "table": "#f3e5f5"}


@dataclass(frozen=True)
class Box:
    title: str
    kind: str
    x: int
    y: int
    w: int
    h: int
    collapsed: bool = False  # a row whose panels Grafana hides until it is opened


def boxes(dash: dict[str, Any]) -> list[Box]:
    """Every panel and row with its place on the grid, the panels of collapsed rows expanded under their row
    (each row's panels moved down by what the collapsed rows above it hold)."""
    out: list[Box] = []
    shift = 0
    for panel in sorted(dash.get("panels", []), key=lambda p: (p["gridPos"]["y"], p["gridPos"]["x"])):
        box = _box(panel, shift)
        out.append(box)
        nested = panel.get("panels") or []
        if panel.get("type") == "row" and panel.get("collapsed") and nested:
            top = min(p["gridPos"]["y"] for p in nested)
            below = box.y + box.h
            inner = [_box(p, below - top) for p in nested]
            out += inner
            shift += max(b.y + b.h for b in inner) - below
    return out


def _box(panel: dict[str, Any], dy: int) -> Box:
    pos = panel["gridPos"]
    return Box(str(panel.get("title", "")), str(panel.get("type", "")), int(pos["x"]), int(pos["y"]) + dy,
               int(pos["w"]), int(pos["h"]), bool(panel.get("collapsed", False)))


def problems(dash: dict[str, Any]) -> list[str]:
    """What is wrong with the layout, one line each: overlaps, panels past the 24 columns, holes too wide."""
    out: list[str] = []
    grid = boxes(dash)
    owner: dict[tuple[int, int], Box] = {}
    for box in grid:
        if box.x < 0 or box.w <= 0 or box.x + box.w > COLUMNS:
            out.append(f"{box.title!r} spans columns {box.x}..{box.x + box.w}, outside 0..{COLUMNS}")
        for y in range(box.y, box.y + box.h):
            for x in range(max(box.x, 0), min(box.x + box.w, COLUMNS)):
                other = owner.setdefault((x, y), box)
                if other is not box:
                    line = f"{box.title!r} overlaps {other.title!r}"
                    if line not in out:
                        out.append(line)
    for y in sorted({y for x, y in owner}):
        free = [x for x in range(COLUMNS) if (x, y) not in owner]
        for start, width in _runs(free):
            if width > MAX_HOLE:
                out.append(f"line {y}: a hole of {width} columns at {start}..{start + width}")
    return out


def _runs(columns: list[int]) -> list[tuple[int, int]]:
    """Consecutive columns as (start, width)."""
    runs: list[tuple[int, int]] = []
    for x in columns:
        if runs and runs[-1][0] + runs[-1][1] == x:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((x, 1))
    return runs


def holes(dash: dict[str, Any]) -> int:
    """The widest hole (in columns) on any occupied line."""
    grid = boxes(dash)
    taken = {(x, y) for b in grid for y in range(b.y, b.y + b.h) for x in range(b.x, b.x + b.w)}
    widest = 0
    for y in {y for _, y in taken}:
        free = [x for x in range(COLUMNS) if (x, y) not in taken]
        widest = max([widest, *(w for _, w in _runs(free))])
    return widest


# -------------------------------------------------------------------------------------------------- drawing
def _label(box: Box, chars: int) -> str:
    """A row's title (marked when collapsed) or a panel's title and type, cut to `chars` characters."""
    label = f"{box.title} (collapsed)" if box.collapsed else box.title
    if box.kind != "row":
        label = f"{box.title} [{box.kind}]"
    return label if len(label) <= chars else label[: chars - 1] + "…"


def svg(dash: dict[str, Any]) -> str:
    grid = boxes(dash)
    bottom = max((b.y + b.h for b in grid), default=0)
    head = 36
    width, height = COLUMNS * CELL_W + 2, bottom * CELL_H + head + 2
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
             f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
             f'<text x="4" y="22" font-size="16" font-weight="bold">{escape(str(dash.get("title", "")))}</text>']
    for col in range(COLUMNS + 1):
        parts.append(f'<line x1="{col * CELL_W + 1}" y1="{head}" x2="{col * CELL_W + 1}" y2="{height}" '
                     'stroke="#f0f0f0"/>')
    for box in grid:
        x, y = box.x * CELL_W + 1, box.y * CELL_H + head + 1
        w, h = box.w * CELL_W, box.h * CELL_H
        shown = _label(box, max(w // 7, 4))
        parts.append(f'<rect x="{x + 1}" y="{y + 1}" width="{w - 2}" height="{h - 2}" rx="3" '
                     f'fill="{FILL.get(box.kind, "#eeeeee")}" stroke="#607d8b"/>')
        weight = ' font-weight="bold"' if box.kind == "row" else ""
        parts.append(f'<text x="{x + 6}" y="{y + 16}"{weight}>{escape(shown)}</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def png(dash: dict[str, Any], out: Path) -> None:
    import matplotlib  # only here: the generator stays free of heavy imports

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    grid = boxes(dash)
    bottom = max((b.y + b.h for b in grid), default=1)
    fig, ax = plt.subplots(figsize=(12, max(bottom * 0.3, 2)))
    ax.set_xlim(0, COLUMNS)
    ax.set_ylim(bottom, 0)
    ax.set_axis_off()
    ax.set_title(str(dash.get("title", "")), loc="left")
    for box in grid:
        ax.add_patch(Rectangle((box.x + 0.05, box.y + 0.05), box.w - 0.1, box.h - 0.1,
                               facecolor=FILL.get(box.kind, "#eeeeee"), edgecolor="#607d8b"))
        ax.text(box.x + 0.2, box.y + 0.6, _label(box, max(box.w * 4, 4)), fontsize=7, va="center",
                fontweight="bold" if box.kind == "row" else "normal")
    fig.savefig(out, dpi=100, bbox_inches="tight")
    plt.close(fig)


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="stereo preview", description="Draw a dashboard's grid layout.")
    p.add_argument("dashboard", help="a dashboard JSON file (dashboards/X.json)")
    out = p.add_mutually_exclusive_group(required=True)
    out.add_argument("--svg", metavar="OUT", help="write an SVG picture")
    out.add_argument("--png", metavar="OUT", help="write a PNG picture (needs matplotlib: the correlate extra)")
    args = p.parse_args(argv)
    try:
        dash = json.loads(Path(args.dashboard).read_text(encoding="utf-8"))
        if not isinstance(dash, dict) or not isinstance(dash.get("panels", []), list):
            raise ValueError("expected a dashboard object with a panels list")
        grid = boxes(dash)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"stereo: {args.dashboard}: not a readable dashboard: {exc}", file=sys.stderr)
        return 2
    if args.png:
        try:
            png(dash, Path(args.png))
        except ImportError:
            print("stereo: --png needs matplotlib (pip install 'stereo[correlate]'); --svg needs nothing",
                  file=sys.stderr)
            return 2
    else:
        Path(args.svg).write_text(svg(dash), encoding="utf-8")
    found = problems(dash)
    for line in found:
        print(f"{args.dashboard}: {line}", file=sys.stderr)
    print(f"stereo: {len(grid)} panels drawn to {args.png or args.svg}; {len(found)} layout problem(s)")
    return 0
