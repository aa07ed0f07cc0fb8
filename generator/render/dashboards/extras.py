"""Panels a component's dashboard shows beyond its catalog panels, computed from series the catalog records.

CoreDNS: the resolution success rate the TKE CoreDNS board leads with, (NOERROR + NXDOMAIN) / all responses
(NXDOMAIN is a correct answer: the name does not exist), now and against the same time yesterday.
"""

from __future__ import annotations

from collections.abc import Callable

from generator.catalog.coredns import RCODE_RATE
from generator.render.dashboards import compare
from generator.render.dashboards.board import Cell, Section
from generator.render.dashboards.lookup import Lookup
from generator.render.dashboards.panels import Spec, Target

ANSWERED = "NOERROR|NXDOMAIN"
SUCCESS_STEPS = ({"color": "red", "value": 0.0}, {"color": "orange", "value": 0.99}, {"color": "green", "value": 0.999})


def success_rate(lk: Lookup) -> str:
    every = f'{RCODE_RATE}{{{lk.cluster}="$cluster"}}'
    answered = f'{RCODE_RATE}{{{lk.cluster}="$cluster",rcode=~"{ANSWERED}"}}'
    return f"sum({answered}) / sum({every})"


def coredns(lk: Lookup) -> list[Section]:
    if not lk.record(RCODE_RATE):
        return []
    expr = success_rate(lk)
    what = ("Share of DNS responses that answer the question: NOERROR plus NXDOMAIN (the name does not exist, "
            "a correct answer) over every response. SERVFAIL and REFUSED pull it down.")
    now = Spec(title="Resolution success rate", kind="stat", unit="percentunit", description=what,
               targets=(Target(expr),), steps=SUCCESS_STEPS)
    yesterday = compare.offset(expr)
    assert yesterday is not None
    delta = Spec(title="Success rate vs 1 day ago", kind="stat", unit="percentunit",
                 description="The success rate now minus the same time yesterday (offset 1d): negative means more "
                             "failed resolutions than a day ago.", targets=(Target(f"{expr} - ({yesterday})"),),
                 steps=({"color": "red", "value": -1.0}, {"color": "green", "value": -0.001}))
    series = Spec(title="Resolution success rate", kind="timeseries", unit="percentunit",
                  description=f"{what}\n\nThe dashed line is the same series yesterday (offset 1d).",
                  targets=(Target(expr, "success rate", yesterday=True),), steps=SUCCESS_STEPS,
                  threshold_style="line")
    return [Section("DNS resolution success", [Cell(now, 5), Cell(delta, 5), Cell(series, 14)])]


EXTRAS: dict[str, Callable[[Lookup], list[Section]]] = {"coredns": coredns}


def sections(lk: Lookup, key: str) -> list[Section]:
    return EXTRAS[key](lk) if key in EXTRAS else []
