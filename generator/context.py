"""What a catalog module may know of the site: selectors, the cluster label, thresholds, test labels.

Catalog modules are functions of a Context. They never read the config directly, so the same module
serves every site, and the Context records which thresholds were asked for (to reject unknown overrides).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from generator import promql
from generator.config import Config

# the cluster label value test series carry, so promtool checks that every rule keeps the label
TEST_CLUSTER = "test-cluster"


@dataclass
class Context:
    config: Config = field(default_factory=Config)
    asked_thresholds: set[str] = field(default_factory=set)

    @property
    def cluster(self) -> str:
        return self.config.cluster_label

    def by(self, *labels: str) -> str:
        """`by (cluster, ...)`: every aggregation keeps the cluster label."""
        return promql.by(self.cluster, *labels)

    def sel(self, source: str, *matchers: str) -> str:
        """`{<job selector of source>, matchers...}`."""
        return promql.selector(self.config.selectors[source], *matchers)

    def containers(self, *matchers: str) -> str:
        """`{<cadvisor job selector>, <real containers' selector>, matchers...}` (site settings, '' = any series)."""
        return promql.selector(self.config.selectors["cadvisor"], self.config.selectors["cadvisor_containers"],
                               *matchers)

    def matches(self, source: str, labels: dict[str, str]) -> bool:
        """Whether a series with `labels` passes the site's selector `source` (a missing label is "")."""
        text = self.config.selectors[source]
        for label, op, value in promql.parse_selector(text) if text else ():
            have = labels.get(label, "")
            ok = {"=": have == value, "!=": have != value}.get(op)
            if ok is None:
                ok = (re.fullmatch(value, have) is not None) == (op == "=~")
            if not ok:
                return False
        return True

    def threshold(self, alert: str, default: float) -> float:
        self.asked_thresholds.add(alert)
        return float(self.config.thresholds.get(alert, default))

    def interval(self) -> str:
        return self.config.evaluation_interval

    # ---- promtool inputs -----------------------------------------------------------------------------
    def source_labels(self, source: str) -> dict[str, str]:
        """Label values a series from `source` carries so that it matches the configured selector."""
        out: dict[str, str] = {}
        if not self.config.selectors[source]:
            return out
        for label, op, value in promql.parse_selector(self.config.selectors[source]):
            if op == "=":
                out[label] = value
            elif op == "=~":
                out[label] = example_of(value)
        return out

    def series(self, source: str, metric: str, **labels: str) -> str:
        """A promtool input series: `metric{cluster="test-cluster",job="...",labels...}`."""
        merged = {self.cluster: TEST_CLUSTER, **self.source_labels(source), **labels}
        body = ",".join(f'{k}="{promql.escape(v)}"' for k, v in sorted(merged.items()))
        return f"{metric}{{{body}}}"


def example_of(regex: str) -> str:
    """A string the regex fully matches, for simple alternations such as `kube-etcd|etcd` or `.*etcd.*`."""
    for candidate in regex.split("|"):
        plain = candidate.replace(".*", "").replace(".+", "x").replace("\\", "")
        plain = re.sub(r"[\^$()?]", "", plain)
        if re.fullmatch(regex, plain):
            return plain
    raise promql.PromQLError(f"cannot derive a test label value matching the regular expression {regex!r}")
