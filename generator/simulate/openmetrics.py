"""Writers: OpenMetrics with timestamps (for `promtool tsdb create-blocks-from openmetrics`) and the Prometheus
text format for a live /metrics page.

OpenMetrics rules promtool's parser holds us to: one `# TYPE` per family and all of a family's samples
together, counters typed by the family name without `_total`, histogram samples `_bucket` (with `+Inf`),
`_count`, `_sum` in a `histogram` family, timestamps in seconds, and `# EOF` last.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TextIO

from generator.simulate.series import Registry, ordered

TEXT_TYPES = {"counter": "counter", "gauge": "gauge", "histogram": "histogram", "unknown": "untyped"}


def fmt(value: float) -> str:
    """Shortest stable text: integers without a point, others with 10 significant digits (monotonic rounding)."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{value:.10g}"


def write_openmetrics(registry: Registry, timestamps: Sequence[int], out: TextIO) -> int:
    """Every family, series by series, each in time order; returns the number of samples written."""
    stamps = [str(t) for t in timestamps]
    written = 0
    for name in sorted(registry.families):
        family = registry.families[name]
        out.write(f"# TYPE {name} {family.kind}\n")
        for series in ordered(family):
            prefix = series.text + " "
            lines = [f"{prefix}{fmt(v)} {ts}\n" for v, ts in zip(series.values, stamps, strict=False)
                     if not math.isnan(v)]
            written += len(lines)
            out.write("".join(lines))
    out.write("# EOF\n")
    return written


def write_text(registry: Registry, out: TextIO) -> None:
    """The latest value of every series set on the latest tick, Prometheus text format 0.0.4, no timestamps."""
    for family, rows in registry.current():
        kind = TEXT_TYPES[family.kind]
        type_name = family.name + "_total" if family.kind == "counter" else family.name
        out.write(f"# TYPE {type_name} {kind}\n")
        out.write("".join(f"{series.text} {fmt(value)}\n" for series, value in rows))
