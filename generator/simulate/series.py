"""Series handles and the registry that holds them: what components write to on every tick.

A component asks the registry once for a handle per series (labels formatted once), then sets its value on
each tick. A handle that is not set on a tick has no sample there (a container that is not waiting has no
`..._waiting_reason` series, a target that is down exports nothing). The registry either keeps every tick
(file output) or only the last value (live /metrics).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

NAN = float("nan")


def escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def label_text(labels: Iterable[tuple[str, str]]) -> str:
    body = ",".join(f'{k}="{escape(v)}"' for k, v in labels)
    return "{" + body + "}" if body else ""


def fmt_le(bound: float) -> str:
    """A bucket bound as Go's client libraries print it (strconv 'g', shortest): 604800, 2.592e+06, 1e-08."""
    if bound == math.inf:
        return "+Inf"
    if bound == 0:
        return "0"
    sign, digits, exponent = Decimal(repr(float(bound))).normalize().as_tuple()
    exp10 = len(digits) + int(exponent) - 1
    if -4 <= exp10 < 6:  # positional, as Python's shortest repr already prints it
        text = repr(float(bound))
        return text[:-2] if text.endswith(".0") else text
    text = "".join(map(str, digits))
    mantissa = text[0] + ("." + text[1:] if len(text) > 1 else "")
    return f"{'-' if sign else ''}{mantissa}e{'-' if exp10 < 0 else '+'}{abs(exp10):02d}"


@dataclass
class Family:
    name: str
    kind: str
    series: dict[str, Series] = field(default_factory=dict)


class Series:
    """One sample stream, `name{labels}`. `values[i]` is the value at tick i (NaN: no sample)."""

    __slots__ = ("base", "order", "registry", "text", "values", "when")

    def __init__(self, registry: Registry, text: str, base: str, order: float) -> None:
        self.registry, self.text, self.base, self.order = registry, text, base, order
        self.values: array | list[float] = array("d")
        self.when = -1  # live mode: the tick of the last value

    def set(self, value: float) -> None:
        reg = self.registry
        if not reg.history:
            self.values, self.when = [value], reg.tick
            return
        values = self.values
        missing = reg.tick - len(values)
        if missing > 0:
            values.extend([NAN] * missing)
        elif missing < 0:  # set twice within a tick: the last value wins
            values[-1] = value
            return
        values.append(value)


class Registry:
    """Every family and series of a simulation, and the tick being written."""

    def __init__(self, history: bool = True) -> None:
        self.history = history
        self.families: dict[str, Family] = {}
        self.tick = 0

    def series(self, kind: str, name: str, labels: Sequence[tuple[str, str]], sample: str | None = None,
               order: float = 0.0, base: str = "") -> Series:
        family = self.families.get(name)
        if family is None:
            family = self.families[name] = Family(name, kind)
        elif family.kind != kind:
            raise ValueError(f"{name}: declared as {family.kind} and {kind}")
        text = (sample or name) + label_text(labels)
        found = family.series.get(text)
        if found is None:
            found = family.series[text] = Series(self, text, base or text, order)
        return found

    def gauge(self, name: str, labels: Sequence[tuple[str, str]]) -> Series:
        return self.series("gauge", name, labels)

    def counter(self, name: str, labels: Sequence[tuple[str, str]]) -> CounterHandle:
        """A counter; OpenMetrics wants the family without `_total` and the sample with it."""
        if name.endswith("_total"):
            return CounterHandle(self.series("counter", name[: -len("_total")], labels, sample=name))
        # real counters without the suffix (kubelet_evictions, ..._rejection_count): typed unknown
        return CounterHandle(self.series("unknown", name, labels))

    def histogram(self, name: str, labels: Sequence[tuple[str, str]], bounds: Sequence[float]) -> HistogramHandle:
        return HistogramHandle(self, name, tuple(labels), bounds)

    def clear(self) -> None:
        """Forget the values written so far (they have been written out); tick numbering starts again."""
        for family in self.families.values():
            for series in family.series.values():
                series.values = array("d") if self.history else []
        self.tick = 0

    # ---- reading back ------------------------------------------------------------------------------------
    def current(self) -> Iterator[tuple[Family, list[tuple[Series, float]]]]:
        """Families with the series set on the latest tick (live mode)."""
        for name in sorted(self.families):
            family = self.families[name]
            rows = [(s, s.values[-1]) for s in ordered(family)
                    if s.when == self.tick and s.values[-1] == s.values[-1]]
            if rows:
                yield family, rows


def ordered(family: Family) -> list[Series]:
    """Series in output order; histogram samples grouped per label set: buckets by bound, then _count, _sum."""
    return sorted(family.series.values(), key=lambda s: (s.base, s.order, s.text))


class CounterHandle:
    """A monotonic counter that starts at `start` and goes back to zero when its process restarts."""

    __slots__ = ("series", "total")

    def __init__(self, series: Series, start: float = 0.0) -> None:
        self.series, self.total = series, start

    def add(self, amount: float) -> None:
        if amount > 0:
            self.total += amount
        self.series.set(self.total)

    def reset(self) -> None:
        self.total = 0.0

    def add_int(self, amount: float) -> None:
        """Add a fractional amount but expose whole events (request counts), still never decreasing."""
        if amount > 0:
            self.total += amount
        self.series.set(math.floor(self.total))


class HistogramHandle:
    """Cumulative buckets, _count and _sum of one label set; observations arrive as expected counts per bucket."""

    __slots__ = ("bounds", "buckets", "count", "counts", "sum", "sum_series", "total")

    def __init__(self, registry: Registry, name: str, labels: tuple[tuple[str, str], ...],
                 bounds: Sequence[float]) -> None:
        self.bounds = (*bounds, math.inf)
        base = name + label_text(labels)
        self.buckets = [registry.series("histogram", name, (*labels, ("le", fmt_le(b))), sample=name + "_bucket",
                                        order=i, base=base) for i, b in enumerate(self.bounds)]
        self.count = registry.series("histogram", name, labels, sample=name + "_count", order=len(self.bounds),
                                     base=base)
        self.sum_series = registry.series("histogram", name, labels, sample=name + "_sum",
                                          order=len(self.bounds) + 1, base=base)
        self.counts = [0.0] * len(self.bounds)
        self.total = 0.0
        self.sum = 0.0

    def observe(self, cdf: Sequence[float], n: float, mean: float) -> None:
        """`n` observations whose share at or below each finite bound is `cdf[i]`, averaging `mean`."""
        if n > 0:
            counts = self.counts
            for i, share in enumerate(cdf):
                counts[i] += n * share
            counts[-1] += n
            self.total += n
            self.sum += n * mean
        self.emit()

    def emit(self) -> None:
        for series, value in zip(self.buckets, self.counts, strict=True):
            series.set(math.floor(value))
        self.count.set(math.floor(self.total))
        self.sum_series.set(round(self.sum, 6))

    def reset(self) -> None:
        self.counts = [0.0] * len(self.bounds)
        self.total = 0.0
        self.sum = 0.0
