""""vs yesterday": the key latency and traffic panels draw the same series a day earlier as a dashed line
(`offset 1d`), as the TKE CoreDNS board does, so a spike reads against the daily rhythm.

Only expressions over whole selectors get an overlay (no range selector, no offset already): `offset` is then
added after each selector, which is what PromQL allows.
"""

from __future__ import annotations

import re
from typing import Any

OFFSET = "1d"
LABEL = "yesterday"
# the key latency and traffic signals (names from the catalog; a test checks each still exists)
KEY = ("apiserver_request_rate_by_verb", "apiserver_request_latency_p99", "coredns_requests", "coredns_latency_p99",
       "etcd_backend_commit_p99", "scheduler_pod_scheduling_duration_p99", "kubelet_pod_start_p99",
       "node_network_receive_bytes", "node_network_transmit_bytes")
_SELECTOR = re.compile(r'\b[a-zA-Z_:][a-zA-Z0-9_:]*\{(?:[^{}"]|"(?:[^"\\]|\\.)*")*\}')
_RECORD = re.compile(r"\b[a-z][a-z0-9_]*:[a-z][a-z0-9_]*:[a-z0-9_]+\b")


def offset(expr: str, by: str = OFFSET) -> str | None:
    """`expr` a day earlier, or None when it is not made of plain `name{...}` selectors."""
    if "[" in expr or " offset " in expr:
        return None
    if any(not expr.startswith("{", m.end()) for m in _RECORD.finditer(expr)):
        return None  # a series named without braces would stay today's
    shifted, count = _SELECTOR.subn(lambda m: f"{m.group(0)} offset {by}", expr)
    return shifted if count else None


def overrides(ref_ids: list[str], unit: str) -> list[dict[str, Any]]:
    """Yesterday's lines: dashed, thin, unfilled, never stacked, in the unit of the series they shadow."""
    props: list[dict[str, Any]] = [
        {"id": "custom.lineStyle", "value": {"fill": "dash", "dash": [10, 10]}},
        {"id": "custom.fillOpacity", "value": 0},
        {"id": "custom.lineWidth", "value": 1},
        {"id": "custom.stacking", "value": {"mode": "none", "group": "A"}},
        {"id": "color", "value": {"mode": "fixed", "fixedColor": "#8f8f8f"}},
    ]
    if unit:
        props.append({"id": "unit", "value": unit})
    return [{"matcher": {"id": "byFrameRefID", "options": ref}, "properties": props} for ref in ref_ids]
