"""promtool input values for catalog rule tests and alert cases: counters and histograms.

Values use expanding notation; `{n}` is filled in by the test renderer with the number of one-minute samples the
case needs, so a patched `for` never outruns the test data. Outside the catalog package so that Context
(`Context.histogram`) can use them without an import circle.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from generator.promql import fmt_number

Series = Callable[..., str]


def counter(per_second: float, start: float = 0) -> str:
    """A counter growing at `per_second` for the whole case (1-minute samples)."""
    step = per_second * 60
    return f"{fmt_number(start)}+{fmt_number(step)}x{{n}}"



def histogram(
    series: Series,
    bounds: Sequence[float],
    observed: float,
    per_second: float,
    **labels: str,
) -> dict[str, str]:
    """Bucket, _count and _sum inputs for a histogram whose observations all fall in the bucket holding `observed`.

    `series(suffix, **labels)` must return the series text for metric+suffix. With every observation in
    (lower, upper], histogram_quantile(q) is lower + (upper - lower) * q, which a case can state exactly.
    """
    out: dict[str, str] = {}
    for le in [*bounds, float("inf")]:
        le_text = "+Inf" if le == float("inf") else fmt_number(le)
        inside = observed <= le
        out[series("_bucket", le=le_text, **labels)] = counter(per_second if inside else 0)
    out[series("_count", **labels)] = counter(per_second)
    out[series("_sum", **labels)] = counter(per_second * observed)
    return out
