"""Which server answers the Prometheus API, and which of its answers doctor can believe.

Every backend serves the query API doctor's main checks use (/api/v1/query, /api/v1/label/__name__/values).
The rest differs:

- Prometheus serves rules, alerts and its own scrape targets.
- VictoriaMetrics (single-node, or vmselect) answers /api/v1/rules and /api/v1/alerts with empty placeholders
  (for Grafana) unless `-vmalert.proxyURL` sends them to vmalert, and /api/v1/targets lists only what its own
  `-promscrape.config` scrapes; /api/v1/status/buildinfo is an empty placeholder too.
- Mimir and others answer 404 for endpoints they do not have (Mimir: /api/v1/targets).

`Views` asks each once and says why when an answer cannot be had or believed, so that doctor can write one
"n/a" row for the check instead of a wrong verdict. Rules and alerts may come from a separate ruler
(`--ruler`: vmalert, Thanos Ruler, Mimir's /prometheus prefix).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from generator.doctor.client import Client, NotServed


@dataclass(frozen=True)
class Backend:
    name: str  # "VictoriaMetrics", the buildinfo's application, "Prometheus-compatible" or "unknown"
    version: str = ""
    placeholders: bool = False  # answers rules/alerts/targets with empty placeholders

    def describe(self) -> str:
        text = f"{self.name}, version {self.version}" if self.version else self.name
        if self.placeholders:
            text += " (/api/v1/rules and /api/v1/alerts are placeholders unless -vmalert.proxyURL is set)"
        return text


def detect(client: Client) -> Backend:
    info = client.probe("/api/v1/status/buildinfo")
    data = info.get("data") if isinstance(info, dict) and info.get("status") == "success" else None
    if isinstance(data, dict) and isinstance(data.get("version"), str) and data["version"]:
        app = data.get("application")
        return Backend(app if isinstance(app, str) and app else "Prometheus-compatible", data["version"])
    # VictoriaMetrics' own endpoint (single-node and vmselect), answered in its own shape
    top = client.probe("/api/v1/status/top_queries")
    if isinstance(top, dict) and "topByCount" in top:
        return Backend("VictoriaMetrics", placeholders=True)
    return Backend("unknown (no /api/v1/status/buildinfo)")


class Views:
    """Rule groups, alerts and scrape targets, each asked once; None with a reason when this backend cannot
    tell (the reason ends up in one "n/a" row)."""

    def __init__(self, client: Client, ruler: Client | None, backend: Backend) -> None:
        self.client, self.ruler, self.backend = client, ruler, backend
        self.why: dict[str, str] = {}
        self._cache: dict[str, list[dict[str, Any]] | None] = {}

    def _ask(self, what: str) -> list[dict[str, Any]] | None:
        if what in self._cache:
            return self._cache[what]
        asker = self.client if what == "targets" or self.ruler is None else self.ruler
        call = {"rules": asker.rule_groups, "alerts": asker.alerts, "targets": asker.active_targets}[what]
        path = {"rules": "/api/v1/rules", "alerts": "/api/v1/alerts", "targets": "/api/v1/targets"}[what]
        answer: list[dict[str, Any]] | None
        try:
            answer = call()
        except NotServed as exc:
            answer = None
            hint = "" if what == "targets" else "; give --ruler URL (vmalert, Thanos Ruler, Mimir's /prometheus)"
            self.why[what] = f"not available on this backend ({self.backend.name}): {exc}{hint}"
        # an empty answer from a placeholder is no answer; alerts are believed when the rules are
        placeholder = answer == [] and asker is self.client and self.backend.placeholders
        if placeholder and (what == "rules" or (what == "alerts" and self._ask("rules") is None)):
            answer = None
            self.why[what] = (f"not available on this backend: {self.backend.name} answers {path} with an empty "
                              "placeholder unless -vmalert.proxyURL is set; give --ruler URL of vmalert")
        self._cache[what] = answer
        return answer

    def rule_groups(self) -> list[dict[str, Any]] | None:
        return self._ask("rules")

    def alerts(self) -> list[dict[str, Any]] | None:
        return self._ask("alerts")

    def targets(self) -> list[dict[str, Any]] | None:
        return self._ask("targets")
