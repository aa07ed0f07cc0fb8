"""Small builders shared by catalog modules: quantile records, counter inputs, histogram inputs, common expressions,
and the observations a quantile alert's firing and quiet cases use.

promtool input values use expanding notation (see generator.series_inputs, where `counter` and `histogram` live so
that Context can build histogram inputs too).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
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
    # per-pod histograms: no bucket record (nothing else reads it, and it is `le` times the quantile's series);
    # each quantile rule rates the buckets itself. Worth it for one quantile, not for several
    fused: bool = False
    # the recording group of its rules (RecordingRule.group): a histogram with many series per bucket is most of
    # a group's evaluation time, and groups evaluate concurrently
    group: str = ""

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
        then the quantile rules over it; `fused`: the quantile rules over `expr` itself."""
        expr = expr or f"sum {ctx.by(*self.by, 'le')} (rate({self.metric}_bucket{selector}[5m]))"
        if self.fused:
            return quantile_rules(self.name, expr, self.quantiles, self.group)
        return (RecordingRule(self.buckets, expr, group=self.group),
                *quantile_rules(self.name, self.buckets, self.quantiles, self.group))


def quantile_rules(name: str, buckets: str, quantiles: Sequence[float] = (0.99,), group: str = ""
                   ) -> tuple[RecordingRule, ...]:
    """`name` = histogram_quantile(q, `buckets`) labelled quantile="q", for each q (in recording group `group`)."""
    return tuple(RecordingRule(name, f"histogram_quantile({fmt_number(q)}, {buckets})", {"quantile": fmt_number(q)},
                               group) for q in quantiles)


def gauge_ramp(start: float, per_minute: float) -> str:
    """A gauge moving linearly by `per_minute` each sample (negative values allowed)."""
    sign = "+" if per_minute >= 0 else "-"
    return f"{fmt_number(start)}{sign}{fmt_number(abs(per_minute))}x{{n}}"


def bucket_quantile(bounds: Sequence[float], observed: float, q: float) -> float:
    """What histogram_quantile(q) returns for the inputs `histogram()` makes."""
    upper_i = next(i for i, b in enumerate(bounds) if observed <= b)
    lower = bounds[upper_i - 1] if upper_i > 0 else 0.0
    return lower + (bounds[upper_i] - lower) * q


# the comparisons a histogram-quantile alert makes with its threshold
COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}


@dataclass(frozen=True)
class Observations:
    """The observations a quantile alert's promtool cases put every sample at (see `observations`)."""

    fire: float  # the firing case's observation
    value: float  # what histogram_quantile(q) returns for it: the firing case's value
    quiet: float  # the quiet case's observation


def observations(bounds: Sequence[float], threshold: float, op: str = ">", q: float = 0.99) -> Observations:
    """Observations for the cases of an alert `histogram_quantile(q, ...) <op> threshold` over a histogram whose
    finite upper bounds are `bounds` (ascending). Every sample sits in one bucket (lower, upper], the first from 0,
    so the quantile is lower + (upper - lower) * q.

    `>` and `>=` (fires above): the firing bucket is the first lying wholly at or above the threshold (lower >= t;
    "the next bucket above" is not enough, interpolation inside a bucket that holds the threshold can land under
    it); past the last bucket histogram_quantile answers the last finite bound, which fires for `>` only when that
    bound exceeds t and for `>=` when it reaches t (the PLEG alert: `>= 10` with buckets ending at 10 s). The
    quiet observation is the largest bound at most half the threshold, else the largest at most the threshold,
    else the first bucket when its quantile stays on the quiet side.
    `<` and `<=` (fires below, e.g. a certificate lifetime): the firing bucket is the last lying wholly at or
    below the threshold, the quiet one the first lying wholly at or above it.

    A threshold the buckets cannot tell apart raises ValueError saying why (`quantile_cases` reports it as the
    site setting's mistake)."""
    cmp = COMPARE[op]
    t = threshold
    buckets = list(zip((0.0, *bounds[:-1]), bounds, strict=True))
    at = lambda lower, upper: lower + (upper - lower) * q  # noqa: E731

    top = (f"{'above' if op in ('>=', '<') else 'at or above'} the largest finite bucket {fmt_number(bounds[-1])}; "
           "histogram_quantile never exceeds it, so the alert could never ")
    bottom = f"below what the smallest bucket {fmt_number(bounds[0])} can tell apart, so the alert could never "

    def why(what: str) -> ValueError:
        return ValueError(f"{fmt_number(t)} is {what}")

    if op in (">", ">="):
        fire = next(((upper, at(lower, upper)) for lower, upper in buckets
                     if lower >= t and cmp(at(lower, upper), t)), None)
        if fire is None:
            if not cmp(bounds[-1], t):
                raise why(top + "fire")
            fire = (2 * bounds[-1], float(bounds[-1]))  # in +Inf
        quiet_bounds = [b for b in bounds if b <= t / 2] or [b for b in bounds if b <= t]
        if quiet_bounds:
            quiet = quiet_bounds[-1]
        elif not cmp(at(0.0, bounds[0]), t):
            quiet = bounds[0]
        else:
            raise why(bottom + "stay quiet")
        return Observations(fire[0], fire[1], quiet)
    fire = next(((upper, at(lower, upper)) for lower, upper in reversed(buckets)
                 if upper <= t and cmp(at(lower, upper), t)), None)
    if fire is None:
        raise why(bottom + "fire")
    quiet_at = next((upper for lower, upper in buckets if lower >= t), None)
    if quiet_at is None:
        if cmp(bounds[-1], t):
            raise why(top + "stay quiet")
        quiet_at = 2 * bounds[-1]
    return Observations(fire[0], fire[1], quiet_at)


def quantile_cases(ctx: Context, alert: str, bounds: Sequence[float], threshold: float, op: str = ">",
                   q: float = 0.99) -> Observations:
    """`observations` for the site's threshold of `alert`; one the buckets cannot express is a site-settings
    mistake, reported at the setting's line."""
    try:
        return observations(bounds, threshold, op, q)
    except ValueError as exc:
        raise ctx.threshold_error(alert, str(exc)) from None
