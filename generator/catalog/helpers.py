"""Small builders shared by catalog modules: quantile records, counter inputs, histogram inputs, common expressions.

promtool input values use expanding notation (see generator.series_inputs, where `counter` and `histogram` live so
that Context can build histogram inputs too).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING

from generator.model import RecordingRule
from generator.promql import fmt_number, record_name
from generator.series_inputs import counter as counter  # re-exported: catalog modules import them from here
from generator.series_inputs import histogram as histogram

if TYPE_CHECKING:
    from generator.context import Context


@dataclass(frozen=True)
class Quantiles:
    """A histogram recorded as kubernetes-mixin records its latencies: the bucket rates summed by `by` and `le`
    (`<level>_le:<recorded>_bucket:rate5m`), then histogram_quantile over them, one rule per quantile, each
    labelled `quantile` (`<level>_quantile:<recorded>:histogram_quantile`).

    `level` defaults to `cluster_<by...>`; `recorded` (the metric part of both names) defaults to `metric`, and
    differs when a component prefix keeps two components' copies of one raw name apart.
    """

    metric: str
    by: tuple[str, ...] = ()
    quantiles: tuple[float, ...] = (0.99,)
    level: str = ""
    recorded: str = ""

    @property
    def buckets(self) -> str:
        """The recorded bucket rates."""
        return record_name(f"{self._level}_le", f"{self.recorded or self.metric}_bucket", "rate5m")

    @property
    def name(self) -> str:
        """The recorded quantiles."""
        return record_name(f"{self._level}_quantile", self.recorded or self.metric, "histogram_quantile")

    @property
    def _level(self) -> str:
        return self.level or "_".join(("cluster", *self.by))

    def rules(self, ctx: Context, selector: str = "", expr: str = "") -> tuple[RecordingRule, ...]:
        """The bucket rule (`expr`, or the rate of `metric`_bucket{`selector`} summed by cluster, `by` and le),
        then the quantile rules."""
        expr = expr or f"sum {ctx.by(*self.by, 'le')} (rate({self.metric}_bucket{selector}[5m]))"
        return RecordingRule(self.buckets, expr), *quantile_rules(self.name, self.buckets, self.quantiles)


def quantile_rules(name: str, buckets: str, quantiles: Sequence[float] = (0.99,)) -> tuple[RecordingRule, ...]:
    """`name` = histogram_quantile(q, `buckets`) labelled quantile="q", for each q."""
    return tuple(RecordingRule(name, f"histogram_quantile({fmt_number(q)}, {buckets})", {"quantile": fmt_number(q)})
                 for q in quantiles)


def gauge_ramp(start: float, per_minute: float) -> str:
    """A gauge moving linearly by `per_minute` each sample (negative values allowed)."""
    sign = "+" if per_minute >= 0 else "-"
    return f"{fmt_number(start)}{sign}{fmt_number(abs(per_minute))}x{{n}}"


def bucket_quantile(bounds: Sequence[float], observed: float, q: float) -> float:
    """What histogram_quantile(q) returns for the inputs `histogram()` makes."""
    upper_i = next(i for i, b in enumerate(bounds) if observed <= b)
    lower = bounds[upper_i - 1] if upper_i > 0 else 0.0
    return lower + (bounds[upper_i] - lower) * q


def over(bounds: Sequence[float], threshold: float, q: float = 0.99) -> tuple[float, float]:
    """An observation whose whole bucket lies above `threshold`, and the quantile histogram_quantile then returns.

    "The next bucket above" is not enough: with the threshold inside a bucket, interpolation can land below it.
    """
    for lower, upper in pairwise(bounds):
        if lower >= threshold:
            return upper, lower + (upper - lower) * q
    if bounds[-1] <= threshold:
        raise ValueError(f"threshold {threshold} is beyond the histogram's last bucket {bounds[-1]}")
    return bounds[-1] * 2, bounds[-1]  # in +Inf: histogram_quantile returns the highest finite bound


def under(bounds: Sequence[float], threshold: float) -> float:
    """An observation whose quantile stays at or below half the threshold (the smallest bucket if none is that low)."""
    low = [b for b in bounds if b <= threshold / 2]
    return low[-1] if low else bounds[0]


def fire_obs(bounds: Sequence[float], threshold: float) -> tuple[float, float]:
    """An observation whose p99 lies above `threshold`, and that p99: the first bucket wholly above it.

    Past the last finite bucket histogram_quantile answers that bucket's bound, which is why kubernetes-mixin
    compares the PLEG p99 with `>= 10` (DefBuckets end at 10 s).
    """
    for lower, upper in zip((0.0, *bounds), bounds, strict=False):
        if lower >= threshold:
            return upper, lower + (upper - lower) * 0.99
    return bounds[-1] * 2, float(bounds[-1])


def quiet_obs(bounds: Sequence[float], threshold: float) -> float:
    """An observation whose p99 stays below `threshold`: the largest bound under it ends its bucket."""
    below = [b for b in bounds if b < threshold]
    return below[-1] if below else bounds[0] / 2
