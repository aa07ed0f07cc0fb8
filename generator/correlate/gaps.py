"""Missed scrapes: points next to a hole are not measurements, so they are made missing too.

When a target is not scraped for a while (the target was down, the network dropped, Prometheus restarted), a
range query does not simply return nothing at those times. For `--query.lookback-delta` (5 minutes by default)
after the last sample a gauge keeps returning that stale sample, and a `rate(x[5m])` is computed from fewer and
fewer old samples — it drains towards the hole, then ramps up again from a few samples after it. Every series of
that target (or of the whole Prometheus) does this at the same time steps, so two independent series get the
same shapes at the same places and their changes correlate: a false pair made by the outage, not by the system.

So a hole (NaN on the grid) is widened by the signal's *reach* — the longest time one sample can influence a
point: the lookback delta, or the largest range selector (`[5m]`, `[1h]`) in the signal's raw expression —
on both sides. A series' first and last appearance inside the window (a pod created or deleted) count as
holes too; the window's own edges do not. The analysis then drops missing points per pair (`stats`: shared
holes are dropped for everyone, scattered ones pairwise-complete), so what is left are real measurements.

A single missed scrape leaves no hole on the grid but still biases a rate: `rate()` extrapolates to the window's
ends only as far as about one scrape interval, so when the sample just before a point (or just after the
window's start) is missing the rate dips by a few percent — at the same points for every series of the target.
Over a day of 2 % missed scrapes that alone gives two independent pods' CPU and network ρ ≈ 0.06–0.15. So for
signals that read a range selector, `coverage` asks how many samples each series' raw metric has in every
step (`count_over_time(metric{...}[step])`, the minimum over the signal's labels), and `missed` marks the
points whose step holds fewer samples than the series' usual count (the rate's last sample came late), and the
points whose rate window starts in such a step (its first sample came late). Which of the two biases a rate
depends on the targets' scrape phase against the query grid, so both are marked: at 2 % missed scrapes about
15 % of a series' points, only on the series of targets that missed scrapes.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from generator import promql, promql_tokens

LOOKBACK = 300  # seconds: Prometheus' default --query.lookback-delta


def reach(expr: str) -> int:
    """Seconds one sample can influence a point of `expr`: the lookback delta or its longest range (a range
    selector's `[5m]` or a subquery's `[10m:1m]`), read with the project's PromQL scanner."""
    longest = LOOKBACK
    for tok in promql_tokens.tokens(expr):
        if tok.kind != "range":
            continue
        window = expr[tok.start + 1:tok.end - 1].partition(":")[0].strip()
        try:
            longest = max(longest, int(promql.parse_duration(window)))
        except promql.PromQLError:
            continue  # a template variable such as $__rate_interval was bound elsewhere: keep the lookback
    return longest


def points(expr: str, step: int) -> int:
    """How many grid points on each side of a hole are not measurements, at resolution `step`."""
    return math.ceil(reach(expr) / max(1, step))


def widen(values: NDArray[np.float64], width: int) -> NDArray[np.float64]:
    """`values` (series × points) with every point within `width` points of a hole NaN as well (a copy when
    anything changes). Series without holes, and windows' edges, are left alone."""
    hole = np.isnan(values)
    if width <= 0 or not hole.any() or values.shape[1] == 0:
        return values
    # a row that is all NaN stays as it is; a row with values gets its holes widened
    has = (~hole).any(axis=1)
    padded = np.zeros((values.shape[0], values.shape[1] + 2 * width + 1), np.int64)
    padded[:, width + 1: width + 1 + values.shape[1]] = hole
    count = np.cumsum(padded, axis=1)
    near = (count[:, 2 * width + 1:] - count[:, : values.shape[1]]) > 0  # a hole within ±width of the point
    near &= has[:, None]
    if not (near & ~hole).any():
        return values
    out = values.copy()
    out[near] = np.nan
    return out


def coverage(expr: str, labels: Sequence[str], step: int) -> str | None:
    """Samples per step of the first range-selected metric of `expr`, per `labels` (the fewest over the series
    behind one signal series); None when `expr` reads no range selector."""
    ranged = next((f for f in promql_tokens.find_selectors(expr) if f.range_end > f.end), None)
    if ranged is None or not labels:
        return None
    return f"min by ({', '.join(labels)}) (count_over_time({expr[ranged.start:ranged.end]}[{int(step)}s]))"


def missed(counts: NDArray[np.float64], reach_points: int) -> NDArray[np.bool_]:
    """Points (series × points) a missed scrape biases, from `coverage` counts on the same grid: where the step
    ending there holds fewer samples than the series' usual count (its median) — the rate's last sample is then
    older than usual — and `reach_points` − 1 points later, where that step is the start of the rate's window
    (its first sample is then later than usual). Series without counts mark nothing."""
    out = np.zeros(counts.shape, bool)
    have = ~np.isnan(counts)
    rows = np.flatnonzero(have.any(axis=1)) if counts.size else np.empty(0, np.int64)
    if rows.size:
        usual = np.nanmedian(counts[rows], axis=1, keepdims=True)
        low = np.where(have[rows], counts[rows], 0.0) < usual
        shift = reach_points - 1
        if 0 < shift < counts.shape[1]:
            low[:, shift:] |= low[:, :-shift].copy()
        out[rows] = low
    return out
