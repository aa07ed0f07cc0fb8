"""What every dashboard needs to know about the catalog: signals, alerts, homes, recorded series, pairs."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from generator import naming
from generator.config import Config
from generator.correlations import Pair
from generator.layout import Index
from generator.model import Alert, Component, Signal

TITLE_PREFIX = "Stereo / "
# a recording rule name inside an expression: level:metric:operations
RECORD = re.compile(r"\b[a-z][a-z0-9_]*:[a-z][a-z0-9_]*:[a-z0-9_]+\b")


@dataclass
class Lookup:
    components: list[Component]
    config: Config
    pairs: list[Pair]
    index: Index = field(init=False)
    signals: dict[str, Signal] = field(init=False)
    alerts: dict[str, Alert] = field(init=False)
    # dashboard key → title, for components and views alike
    titles: dict[str, str] = field(init=False)
    records: set[str] = field(init=False)
    boards: set[str] = field(default_factory=set)  # the optional views this site gets (see dashboards())

    def __post_init__(self) -> None:
        self.index = Index(self.components)
        self.signals = {}
        self.alerts = {}
        self.titles = {}
        self.records = set()
        for comp in self.components:
            self.records |= {r.record for r in (*comp.rules, *comp.slow_rules)}
            self.titles[comp.key] = comp.title
            for sig in comp.signals:
                self.signals.setdefault(sig.name, sig)
            for alert in comp.alerts:
                self.alerts[alert.name] = alert

    @property
    def cluster(self) -> str:
        return self.config.cluster_label

    @property
    def single_cluster(self) -> bool:
        """stereo.yaml says the site has one cluster: no cluster picker."""
        return self.config.clusters == "single"

    def uid(self, key: str) -> str:
        return naming.dashboard_uid(key)

    def title(self, key: str) -> str:
        return TITLE_PREFIX + self.titles.get(key, key)

    def home(self, signal: str) -> str:
        return self.index.home[signal]

    def has_board(self, key: str) -> bool:
        """A view is rendered on this site (the boards are decided before any is rendered)."""
        return key in self.boards

    def record(self, name: str) -> str | None:
        """`name` when a component records it (the site may have excluded it, or left the component out)."""
        return name if name in self.records else None


def recorded(expr: str) -> str | None:
    """The first recorded series an expression reads."""
    match = RECORD.search(expr)
    return match.group(0) if match else None
