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
"""

from __future__ import annotations

import math
import re

import numpy as np
from numpy.typing import NDArray

from generator import promql

LOOKBACK = 300  # seconds: Prometheus' default --query.lookback-delta
_RANGE = re.compile(r"\[\s*([0-9]+[a-z]+(?:[0-9]+[a-z]+)*)\s*(?::[^\]]*)?\]")


def reach(expr: str) -> int:
    """Seconds one sample can influence a point of `expr`: the lookback delta or its longest range selector."""
    longest = LOOKBACK
    for m in _RANGE.finditer(expr):
        try:
            longest = max(longest, int(promql.parse_duration(m.group(1))))
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
