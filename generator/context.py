"""What a catalog module may know of the site: selectors, the cluster label, thresholds, test labels.

Catalog modules are functions of a Context. They never read the config directly, so the same module
serves every site, and the Context records which thresholds were asked for (to reject unknown overrides).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field

from generator import promql
from generator.config import FILTER_DEFAULTS, Config, ConfigError
from generator.model import Component
from generator.promql import example_of
from generator.series_inputs import histogram

__all__ = ["TEST_CLUSTER", "TEST_NAMESPACE", "Context", "NeedsPeers", "example_of", "namespace_example", "selects"]

# the cluster label value test series carry, so promtool checks that every rule keeps the label
TEST_CLUSTER = "test-cluster"
# the namespace of the workload fixtures, and one to fall back on when filters.namespace leaves it out
TEST_NAMESPACE, FALLBACK_NAMESPACE = "shop", "stereo-test"


class UnknownJob(LookupError):
    """A catalog module asked for a scrape job with no selector: its job belongs in config.DEFAULT_SELECTORS."""

    def __init__(self, job: str) -> None:
        super().__init__(job)
        self.job = job
        self.module = ""  # the catalog module that asked (set by catalog.build_all)


class NeedsPeers(LookupError):
    """A catalog module asked about the other components while they are unknown: it needs `AFTER_PEERS = True`
    (catalog.build_all then builds it after them)."""


def selects(text: str, labels: dict[str, str]) -> bool:
    """Whether a series with `labels` passes the matchers `text` ('' passes everything; a missing label is "")."""
    for label, op, value in promql.parse_selector(text) if text else ():
        have = labels.get(label, "")
        ok = {"=": have == value, "!=": have != value}.get(op)
        if ok is None:
            ok = (promql.compile_regex(value).fullmatch(have) is not None) == (op == "=~")
        if not ok:
            return False
    return True


def namespace_example(text: str, preferred: str = TEST_NAMESPACE) -> str | None:
    """A namespace the matchers `text` pass: `preferred` when it passes, else the value of an = matcher, an example
    of a =~ matcher or FALLBACK_NAMESPACE; None when none of these pass."""
    candidates = [preferred]
    for _, op, value in promql.parse_selector(text) if text else ():
        if op == "=":
            candidates.append(value)
        elif op == "=~":
            # e.g. prod-.* gives "prod-" and "prod-x" (the second passes namespace!="prod-" too)
            candidates += _examples(value.replace(".*", ".+")) + _examples(value)
    candidates.append(FALLBACK_NAMESPACE)
    return next((name for name in candidates if selects(text, {"namespace": name})), None)


def _examples(regex: str) -> list[str]:
    try:
        return [example_of(regex)]
    except promql.PromQLError:
        return []


@dataclass
class Context:
    config: Config = field(default_factory=Config)
    asked_thresholds: set[str] = field(default_factory=set)
    # the other components, built (whole catalog, before the site's exclusions); None until they are
    peers: tuple[Component, ...] | None = None

    @property
    def cluster(self) -> str:
        return self.config.cluster_label

    def by(self, *labels: str) -> str:
        """`by (cluster, ...)`: every aggregation keeps the cluster label."""
        return promql.by(self.cluster, *labels)

    def dash(self, *matchers: str, quantile: float | None = None) -> str:
        """The matchers a signal's dashboard query puts on a recorded series: `{<cluster>="$cluster",matchers...}`
        (the dashboard's $cluster variable picks the cluster; matchers such as 'namespace=~"$namespace"' narrow
        the scope further), then `quantile="q"` to pick one recorded quantile."""
        picked = (f'quantile="{promql.fmt_number(quantile)}"',) if quantile is not None else ()
        return promql.selector(f'{self.cluster}="$cluster"', *matchers, *picked)

    def sel(self, source: str, *matchers: str) -> str:
        """`{<job selector of source>, matchers...}`."""
        return promql.selector(self._selector(source), *matchers)

    def _selector(self, source: str) -> str:
        try:
            return self.config.selectors[source]
        except KeyError:
            raise UnknownJob(source) from None

    def watched_jobs(self, *own: str) -> tuple[str, ...]:
        """The scrape jobs whose own component alerts on their targets on this site: each peer's `jobs`, less
        the components this site leaves out (exclude.components, the managed profile's control plane), and
        `own`, the asking component's. Raises NeedsPeers before the peers are built."""
        return tuple(sorted({*own, *(job for c in self._kept_peers("watched_jobs") for job in c.jobs)}))

    def watched_client_jobs(self) -> tuple[str, ...]:
        """The scrape jobs whose API client errors their own component alerts on, on this site: each kept peer's
        `client_jobs`, in catalog order. Raises NeedsPeers before the peers are built."""
        return tuple(dict.fromkeys(job for c in self._kept_peers("watched_client_jobs") for job in c.client_jobs))

    def _kept_peers(self, asking: str) -> list[Component]:
        """The peers this site keeps: less exclude.components and, on a managed profile, the control plane."""
        if self.peers is None:
            raise NeedsPeers(f"{asking}() needs the other components: set AFTER_PEERS = True in the module")
        cfg = self.config
        return [c for c in self.peers if c.key not in cfg.exclude_components
                and not (cfg.profile == "managed" and c.control_plane)]

    def containers(self, *matchers: str) -> str:
        """`{<cadvisor job selector>, <real containers' selector>, matchers...}` (site settings, '' = any series)."""
        return promql.selector(self.config.selectors["cadvisor"], self.container_filter, *matchers)

    def container_cgroups(self, *matchers: str) -> str:
        """`{<cadvisor job selector>, <containers' cgroups selector>, matchers...}`: any container, any image."""
        return self.sel("cadvisor", self.config.selectors["cadvisor_container_cgroups"], *matchers)

    @property
    def container_filter(self) -> str:
        """The real containers' matchers alone (selectors.cadvisor_containers), for queries of any job."""
        return self.config.selectors["cadvisor_containers"]

    def matches(self, source: str, labels: dict[str, str]) -> bool:
        """Whether a series with `labels` passes the site's selector `source` (a missing label is "")."""
        return selects(self._selector(source), labels)

    # ---- filters: label matchers added to the series a component reads (site settings `filters:`) -------
    @property
    def fs_filter(self) -> str:
        """Filesystems worth alerting on (node_filesystem_*): matchers on fstype, mountpoint, device."""
        return self.config.filters["fstype"]

    @property
    def disk_filter(self) -> str:
        """Block devices that are disks (node_disk_*): matchers on device."""
        return self.config.filters["disk_device"]

    @property
    def ns_filter(self) -> str:
        """Namespaces the namespaced alerts watch (matchers on namespace; '' = every namespace)."""
        return self.config.filters["namespace"]

    def sel_ns(self, source: str, *matchers: str) -> str:
        """`sel(source, ...)` limited to the watched namespaces: the namespaced alerts' raw series."""
        return self.sel(source, self.ns_filter, *matchers)

    def in_namespaces(self, record: str) -> str:
        """A recorded series an alert reads, limited to the watched namespaces (`record{namespace=~...}`)."""
        return record + promql.selector(self.ns_filter) if self.ns_filter else record

    @property
    def test_namespace(self) -> str:
        """The namespace of the workload alerts' promtool cases: one filters.namespace watches."""
        name = namespace_example(self.ns_filter)
        if name is None:
            key = "filters.namespace"
            raise ConfigError(f"{self.config.where(key)}: {key}: expected matchers that pass a namespace the promtool "
                              f"cases can use ({TEST_NAMESPACE}, {FALLBACK_NAMESPACE}, the value of an = matcher or "
                              f"an example of a =~ one), got {self.ns_filter!r}")
        return name

    @property
    def pv_exclude(self) -> str:
        """PersistentVolumeClaims the volume alerts leave out: matchers on kube_persistentvolumeclaim_labels."""
        return self.config.filters["pv_exclude"]

    @property
    def pv_exclude_is_default(self) -> bool:
        return self.pv_exclude == FILTER_DEFAULTS["pv_exclude"]

    def threshold(self, alert: str, default: float) -> float:
        self.asked_thresholds.add(alert)
        return float(self.config.thresholds.get(alert, default))

    def threshold_error(self, alert: str, why: str) -> ConfigError:
        """A threshold the catalog cannot use (e.g. outside the buckets), reported at the site setting's line."""
        return self.setting_error(f"thresholds.{alert}", why)

    def setting_error(self, key: str, why: str) -> ConfigError:
        """A site setting the catalog cannot use, reported at its line: `file:line: key: why`."""
        return ConfigError(f"{self.config.where(key)}: {key}: {why}")

    def interval(self) -> str:
        return self.config.evaluation_interval

    # ---- site settings some components need ------------------------------------------------------------
    @property
    def slo_objective(self) -> float:
        """The apiserver availability objective, e.g. 0.999."""
        return self.config.slo_objective

    @property
    def slo_read_latency(self) -> str:
        """The latency a read request must beat to count as good for the apiserver SLO (a duration)."""
        return self.config.slo_read_latency

    @property
    def slo_write_latency(self) -> str:
        return self.config.slo_write_latency

    @property
    def services(self) -> tuple[dict[str, str], ...]:
        """The service presets the site asked for (`services:`), each at most once."""
        return self.config.services

    # ---- promtool inputs -----------------------------------------------------------------------------
    def source_labels(self, source: str) -> dict[str, str]:
        """Label values a series from `source` carries so that it matches the configured selector."""
        return passing_labels(self._selector(source))

    def series(self, source: str, metric: str, **labels: str) -> str:
        """A promtool input series: `metric{cluster="test-cluster",job="...",labels...}`."""
        return self.series_passing(self._selector(source), metric, **labels)

    def series_passing(self, matchers: str, metric: str, **labels: str) -> str:
        """A promtool input series that passes `matchers` (a selector of the site settings, e.g. a service's)."""
        merged = {self.cluster: TEST_CLUSTER, **passing_labels(matchers), **labels}
        body = ",".join(f'{k}="{promql.escape(v)}"' for k, v in sorted(merged.items()))
        return f"{metric}{{{body}}}"

    def histogram(self, source: str, metric: str, bounds: Sequence[float], observed: float, per_second: float,
                  **labels: str) -> dict[str, str]:
        """promtool inputs (`metric`_bucket, _count, _sum from `source`, with `labels`) of a histogram observing
        `per_second` times a second, every observation in the bucket holding `observed`."""
        return self.histogram_passing(self._selector(source), metric, bounds, observed, per_second, **labels)

    def histogram_passing(self, matchers: str, metric: str, bounds: Sequence[float], observed: float,
                          per_second: float, **labels: str) -> dict[str, str]:
        """`histogram` whose series pass `matchers` (a selector of the site settings, e.g. a service's)."""
        series = lambda suffix, **lb: self.series_passing(matchers, f"{metric}{suffix}", **lb)  # noqa: E731
        return histogram(series, bounds, observed, per_second, **labels)


def passing_labels(matchers: str) -> dict[str, str]:
    """Label values a series carries to pass `matchers`: the value of each =, an example of each =~ regex."""
    return dict(_passing(matchers))


@functools.lru_cache(maxsize=1024)
def _passing(matchers: str) -> tuple[tuple[str, str], ...]:
    """passing_labels, remembered per selector: a site's few selectors are asked for some 20,000 input series."""
    out: dict[str, str] = {}
    for label, op, value in promql.parse_selector(matchers) if matchers else ():
        if op == "=":
            out[label] = value
        elif op == "=~":
            out[label] = example_of(value)
    return tuple(out.items())
