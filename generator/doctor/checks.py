"""The checks: each asks the Prometheus a few bounded questions and returns findings.

Every query is Stereo's own PromQL; values that come from the site settings or from the server's answers
(job and instance names) are put into PromQL only through `promql.escape`/`escape_regex`.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Iterable
from dataclasses import dataclass

from generator import promql
from generator.doctor.backend import Backend, Views, detect
from generator.doctor.client import Client
from generator.doctor.exprs import Selector
from generator.doctor.site import Part, Site, source_matchers

HISTORY = 86400.0  # a metric missing now but seen within this many seconds is intermittent, not missing
SHOWN = 5  # names shown in one detail at most


@dataclass(frozen=True)
class Finding:
    component: str
    check: str
    status: str  # ok | warn | fail | n/a (this backend cannot answer the check)
    detail: str

    def as_dict(self) -> dict[str, str]:
        return {"component": self.component, "check": self.check, "status": self.status, "detail": self.detail}


def _names(items: Iterable[str]) -> str:
    items = sorted(set(items))
    more = f" and {len(items) - SHOWN} more" if len(items) > SHOWN else ""
    return ", ".join(items[:SHOWN]) + more


def _regex_of(names: Iterable[str]) -> str:
    return "|".join(promql.escape_regex(n) for n in sorted(set(names)))


def _value(row: dict) -> float:
    try:
        return float(row["value"][1])
    except (KeyError, IndexError, TypeError, ValueError):
        return 0.0


def _label(row: dict, name: str) -> str:
    value = row.get("metric", {}).get(name, "")
    return value if isinstance(value, str) else ""


class Doctor:
    def __init__(self, site: Site, client: Client, ruler: Client | None = None) -> None:
        self.site = site
        self.client = client
        self.ruler = ruler
        self.backend = Backend("unknown")
        self.views = Views(client, ruler, self.backend)
        self.cl = site.config.cluster_label
        self._jobs: list[str] | None = None
        self._present: dict[str, bool] = {}  # metric name -> has a series now
        self._usable: dict[Selector, bool] = {}  # raw selector -> its metric exists with its job's selector
        self._targets: dict[str, list[Finding]] = {}
        self._up: dict[str, float] = {}  # job selector -> its targets (up series)
        self._sources: dict[Selector, str] = {}  # raw selector -> the job selector it was built from

    # ---- helpers -----------------------------------------------------------------------------------------
    def jobs(self) -> list[str]:
        if self._jobs is None:
            self._jobs = sorted({_label(r, "job") for r in self.client.query("count by (job) (up)")} - {""})
        return self._jobs

    def present(self, names: Iterable[str]) -> dict[str, bool]:
        """Whether each metric has a series now (one query for all not asked yet)."""
        ask = sorted(set(names) - self._present.keys())
        if ask:
            rows = self.client.query(f'count by (__name__) ({{__name__=~"{_regex_of(ask)}"}})')
            found = {_label(r, "__name__") for r in rows}
            self._present.update({n: n in found for n in ask})
        return {n: self._present[n] for n in names}

    # ---- per component -------------------------------------------------------------------------------
    def component(self, part: Part) -> list[Finding]:
        out: list[Finding] = []
        for sel in part.sources.values():
            out += self.targets(part.key, sel)
        out += self.metrics(part)
        out += self.rules(part)
        out += self.records(part)
        return out

    def targets(self, key: str, sel: str) -> list[Finding]:
        """Targets of one job selector; asked once, reported under every component that reads the job."""
        if sel not in self._targets:
            self._targets[sel] = self._ask_targets(sel)
        return [dataclasses.replace(f, component=key) for f in self._targets[sel]]

    def _ask_targets(self, sel: str) -> list[Finding]:
        key = ""
        up = f"up{{{sel}}}"
        total = sum(_value(r) for r in self.client.query(f"count({up})"))
        self._up[sel] = total
        if not total:
            near = difflib.get_close_matches(_job_value(sel), self.jobs(), n=3, cutoff=0.4)
            hint = f"; jobs with a similar name here: {', '.join(near)}" if near else (
                f"; jobs here: {_names(self.jobs())}" if self.jobs() else "; no up series at all")
            return [Finding(key, "targets", "fail", f"selector {{{sel}}} matches no target (no {up} series){hint}")]
        down = sum(_value(r) for r in self.client.query(f"count({up} == 0)"))
        out = [Finding(key, "targets", "fail" if down == total else "warn" if down else "ok",
                       f"{{{sel}}}: {int(total - down)} of {int(total)} targets up")]
        bare = sum(_value(r) for r in self.client.query(f'count({{{sel}, __name__="up", {self.cl}=""}})'))
        out.append(Finding(key, "cluster label", "fail" if bare else "ok",
                           f"{int(bare)} of {int(total)} targets of {{{sel}}} have no {self.cl} label" if bare
                           else f"every target of {{{sel}}} has a {self.cl} label"))
        out.append(self.duplicates(key, sel))
        return out

    def duplicates(self, key: str, sel: str) -> Finding:
        by = f"{self.cl}, instance, metrics_path"
        twice = self.client.query(f"count by ({by}, job) (up{{{sel}}}) > 1")
        if twice:
            shown = _names(f"{_label(r, 'instance')} ×{int(_value(r))} in job {_label(r, 'job')}" for r in twice)
            return Finding(key, "duplicate scrape", "fail",
                           f"{len(twice)} instance(s) scraped more than once within {{{sel}}}: {shown} "
                           "(joins on these series go many-to-many)")
        other = self.client.query(f"count by ({by}) (up{{{sel}}}) and on ({by}) "
                                  f"(count by ({by}) (count by ({by}, job) (up)) > 1)")
        if other:
            seen = []
            for row in other[:3]:
                inst = promql.escape(_label(row, "instance"))
                jobs = {_label(r, "job") for r in self.client.query(f'count by (job) (up{{instance="{inst}"}})')}
                seen.append(f"{_label(row, 'instance')} in jobs {', '.join(sorted(jobs))}")
            return Finding(key, "duplicate scrape", "fail",
                           f"{len(other)} target(s) of {{{sel}}} also scraped under another job: {'; '.join(seen)} "
                           "(joins on these series go many-to-many)")
        return Finding(key, "duplicate scrape", "ok", f"each target of {{{sel}}} scraped once")

    def metrics(self, part: Part) -> list[Finding]:
        raw = part.raw_selectors()
        names = {s.metric for s in raw}
        if not names:
            return []
        now = self.present(names)
        absent = sorted(n for n, here in now.items() if not here)
        recent = set()
        if absent:
            t = self.client.now()
            recent = self.client.names(f'{{__name__=~"{_regex_of(absent)}"}}', t - HISTORY, t)
        out = []
        for s in raw:
            owner = next((sel for sel in part.sources.values() if _owns(s, source_matchers(sel))), None)
            if owner is not None:
                self._sources[s] = owner
        unseen = [n for n in absent if n not in recent]
        # exported only when there is something to count (no Job, no waiting container): their job is scraped
        waiting = [n for n in unseen if all(self.conditional(s) for s in raw if s.metric == n)]
        never = [n for n in unseen if n not in waiting]
        if never:
            readers = {w for s, who in raw.items() if s.metric in never for w in who}
            out.append(Finding(part.key, "raw metrics", "warn",
                               f"{len(never)} of {len(names)} metrics not on this Prometheus: {_names(never)} "
                               f"(read by {_names(readers)})"))
        wrong = self.selector_misses(part, raw, {n for n, here in now.items() if here})
        for source in sorted({source for _, source in wrong}):
            sels = [s for s, src in wrong if src == source]
            out.append(Finding(part.key, "raw metrics", "fail",
                               f"{len({s.metric for s in sels})} metrics exist, but not with "
                               f"{{{part.sources[source]}}}: {_names(s.metric for s in sels)} (read by "
                               f"{_names(w for s in sels for w in raw[s])})"))
        if not never and not wrong:
            seen = sorted(set(absent) - set(unseen))
            note = f"; seen within a day, not now: {_names(seen)}" if seen else ""
            note += f"; no series yet from scraped jobs (exported when there is something to count): " \
                    f"{_names(waiting)}" if waiting else ""
            out.append(Finding(part.key, "raw metrics", "ok",
                               f"{len(names) - len(absent)} of {len(names)} metrics found{note}"))
        return out

    def selector_misses(self, part: Part, raw: dict[Selector, list[str]],
                        here: set[str]) -> list[tuple[Selector, str]]:
        """Raw selectors whose metric exists but not under the job selector they use: one query per source."""
        misses = []
        for source, sel in part.sources.items():
            mine = source_matchers(sel)
            owned = {s for s in raw if s.metric in here and _owns(s, mine)}
            if not owned:
                continue
            names = {s.metric for s in owned}
            rows = self.client.query(f'count by (__name__) ({{__name__=~"{_regex_of(names)}", {sel}}})')
            found = {_label(r, "__name__") for r in rows}
            for s in owned:
                self._usable[s] = s.metric in found
            misses += [(s, source) for s in sorted(owned) if s.metric not in found]
        return misses

    def conditional(self, sel: Selector) -> bool:
        """An absent metric whose job selector matches live targets: exported only when something happens."""
        owner = self._sources.get(sel)
        return owner is not None and self._up.get(owner, 0) > 0 and not self.present([sel.metric])[sel.metric]

    def usable(self, sel: Selector) -> bool:
        if sel in self._usable:
            return self._usable[sel]
        return self.present([sel.metric])[sel.metric]

    def rules(self, part: Part) -> list[Finding]:
        groups = self.groups()
        if not part.groups or groups is None:  # None: one "n/a" row for the site (run)
            return []
        loaded = {g.get("name"): g for g in groups}
        missing = [g for g in part.groups if g not in loaded]
        broken = [f"{r.get('name')}: {str(r.get('lastError', ''))[:120]}" for g in part.groups if g in loaded
                  for r in loaded[g].get("rules") or () if isinstance(r, dict) and r.get("health") == "err"]
        if missing:
            return [Finding(part.key, "rules loaded", "fail",
                            f"rule group(s) {_names(missing)} not loaded on this Prometheus (rule_files, or the "
                            "operator's ruleSelector)")]
        if broken:
            return [Finding(part.key, "rules loaded", "fail", f"rules failing to evaluate: {_names(broken)}")]
        return [Finding(part.key, "rules loaded", "ok", f"{len(part.groups)} rule group(s) loaded")]

    def groups(self) -> list[dict] | None:
        return self.views.rule_groups()

    def records(self, part: Part) -> list[Finding]:
        fast = [r for r in part.records if r not in part.slow]
        found = {n for n, here in self.present(fast).items() if here} if fast else set()
        if part.slow:  # long-window groups run every few minutes: any sample in the head block counts
            t = self.client.now()
            found |= self.client.names(f'{{__name__=~"{_regex_of(part.slow)}"}}', t - 900, t)
        missing = sorted(set(part.records) - found)
        if not part.records:
            return []
        if missing:
            return [Finding(part.key, "recorded series", "fail",
                            f"{len(missing)} of {len(part.records)} recorded series have no recent sample: "
                            f"{_names(missing)}{self._why_not_recorded(part)}")]
        return [Finding(part.key, "recorded series", "ok", f"all {len(part.records)} recorded series present")]

    def _why_not_recorded(self, part: Part) -> str:
        groups = self.groups()
        if groups is None:
            return " (rule groups not visible on this backend: see the rules loaded row)"
        loaded = {g.get("name") for g in groups}
        if not any(g in loaded for g in part.groups):
            return " (its rule groups are not loaded)"
        return " (rules loaded: see raw metrics and targets for their inputs)"

    def alerts(self, part: Part, firing: dict[str, int] | None) -> list[Finding]:
        out = []
        never, waiting = [], []
        for name, expr in part.alerts.items():
            inputs = self.site.inputs_of(expr)
            if "absent(" in expr.replace(" ", "") or not inputs or any(self.usable(s) for s in inputs):
                continue
            (waiting if all(self.conditional(s) for s in inputs) else never).append(name)
        if never:
            out.append(Finding(part.key, "alerts can fire", "fail",
                               f"{len(never)} of {len(part.alerts)} alerts can never fire here, none of their "
                               f"inputs exist: {_names(never)}"))
        elif part.alerts:
            note = f"; waiting for their metrics' first series: {_names(waiting)}" if waiting else ""
            out.append(Finding(part.key, "alerts can fire", "ok",
                               f"{len(part.alerts) - len(waiting)} of {len(part.alerts)} alerts have inputs{note}"))
        # a heartbeat (Watchdog) fires all the time: it is news when it does not
        beats = sorted(part.heartbeats)
        for beat in beats:
            if firing is None:
                out.append(Finding(part.key, "heartbeat", "n/a", f"{beat}: {self.views.why['alerts']}"))
            elif beat in firing:
                out.append(Finding(part.key, "heartbeat", "ok", f"{beat} is firing"))
            else:
                out.append(Finding(part.key, "heartbeat", "warn", f"{beat} is not firing: are the alert rules loaded?"))
        now = {a: n for a, n in (firing or {}).items() if a in part.alerts and a not in beats}
        if now:
            out.append(Finding(part.key, "alerts firing", "warn",
                               f"firing now: {_names(f'{a} ({n})' for a, n in now.items())}"))
        return out

    # ---- the whole site ----------------------------------------------------------------------------------
    def scrape_urls(self) -> list[Finding]:
        """Targets the server scrapes itself (none for backfilled or remote-written data): one URL in two
        scrape pools."""
        targets = self.views.targets()
        if targets is None:
            return [Finding("(prometheus)", "duplicate scrape", "n/a",
                            f"{self.views.why['targets']} (the per-job checks below read the up series)")]
        pools: dict[str, set[str]] = {}
        for t in targets:
            url, pool = t.get("scrapeUrl"), t.get("scrapePool")
            if isinstance(url, str) and isinstance(pool, str):
                pools.setdefault(url, set()).add(pool)
        twice = {u: p for u, p in pools.items() if len(p) > 1}
        if twice:
            shown = _names(f"{u} in {', '.join(sorted(p))}" for u, p in twice.items())
            return [Finding("(prometheus)", "duplicate scrape", "fail",
                            f"{len(twice)} URL(s) scraped by more than one job: {shown}")]
        if not pools:
            return [Finding("(prometheus)", "duplicate scrape", "ok",
                            "this server scrapes no targets itself (remote-written, imported or backfilled series)")]
        return [Finding("(prometheus)", "duplicate scrape", "ok", f"{len(pools)} scrape URLs, each in one job")]

    def run(self) -> list[Finding]:
        self.backend = detect(self.client)
        self.views = Views(self.client, self.ruler, self.backend)
        out = [Finding("(prometheus)", "backend", "ok", self.backend.describe())]
        if self.ruler is not None:
            out.append(Finding("(prometheus)", "ruler", "ok", f"rules and alerts read from {self.ruler.url}"))
        alerts = self.views.alerts()
        out += self.scrape_urls()
        if self.groups() is None:
            out.append(Finding("(prometheus)", "rules loaded", "n/a", self.views.why["rules"]))
        firing: dict[str, int] | None = None
        if alerts is None:
            out.append(Finding("(prometheus)", "alerts firing", "n/a", self.views.why["alerts"]))
        else:
            firing = {}
            for a in alerts:
                labels = a.get("labels") if isinstance(a.get("labels"), dict) else {}
                if a.get("state") == "firing" and isinstance(labels.get("alertname"), str):
                    firing[labels["alertname"]] = firing.get(labels["alertname"], 0) + 1
        for part in self.site.parts:
            out += self.component(part)
            out += self.alerts(part, firing)
        return out


def _owns(sel: Selector, mine: set[tuple[str, str, str]]) -> bool:
    """Whether a raw selector carries every matcher of a job selector (it was built from it)."""
    if not mine or not sel.matchers:
        return False
    try:
        have = set(promql.parse_selector(sel.matchers))
    except promql.PromQLError:
        return False
    return mine <= have


def _job_value(sel: str) -> str:
    for label, _, value in source_matchers(sel):
        if label == "job":
            return value
    return ""
