"""The matcher a signal's dashboard query adds (Context.dash): the cluster variable on the site's cluster label,
the scope's own matchers, then the quantile; every catalog signal takes it from there, never spells it."""

from __future__ import annotations

from pathlib import Path

import pytest

import generator.catalog
from generator.catalog import build_all
from generator.config import load
from generator.context import Context

CATALOG = Path(generator.catalog.__file__).parent


@pytest.mark.parametrize(("label", "matchers", "quantile", "expected"), [
    ("cluster", (), None, '{cluster="$cluster"}'),
    ("cluster", (), 0.99, '{cluster="$cluster",quantile="0.99"}'),
    ("cluster", (), 0.5, '{cluster="$cluster",quantile="0.5"}'),
    ("k8s_cluster", (), 0.01, '{k8s_cluster="$cluster",quantile="0.01"}'),
    ("cluster", ('namespace=~"$namespace"', 'pod=~"$pod"'), 0.99,
     '{cluster="$cluster",namespace=~"$namespace",pod=~"$pod",quantile="0.99"}'),
    ("k8s_cluster", ('verb="WATCH"',), None, '{k8s_cluster="$cluster",verb="WATCH"}'),
    ("cluster", ("", 'namespace="$namespace"'), None, '{cluster="$cluster",namespace="$namespace"}'),
])
def test_the_dashboard_matcher(tmp_path: Path, label: str, matchers: tuple[str, ...], quantile: float | None,
                               expected: str) -> None:
    path = tmp_path / "stereo.yaml"
    path.write_text(f"cluster_label: {label}\n")
    assert Context(load(path)).dash(*matchers, quantile=quantile) == expected


def test_every_signal_scopes_to_the_sites_cluster_label(tmp_path: Path) -> None:
    path = tmp_path / "stereo.yaml"
    path.write_text("cluster_label: k8s_cluster\nservices:\n  - preset: http\n    selector: 'job=\"web\"'\n"
                    "  - preset: ingress-nginx\n")
    signals = [s for comp in build_all(Context(load(path))) for s in comp.signals]
    assert len(signals) > 100
    assert {s.name for s in signals} >= {"service_latency_p99", "ingress_latency_p99", "container_cpu_usage"}
    unscoped = [s.name for s in signals if 'k8s_cluster="$cluster"' not in s.expr or '{cluster=' in s.expr]
    assert unscoped == []
    # a signal named for a quantile reads that recorded quantile
    for s in signals:
        for suffix, value in (("_p99", "0.99"), ("_p50", "0.5"), ("_p1", "0.01")):
            if s.name.endswith(suffix):
                assert f'quantile="{value}"' in s.expr, s.name


def test_no_catalog_module_spells_the_cluster_variable() -> None:
    spelled = [p.relative_to(CATALOG).as_posix() for p in sorted(CATALOG.rglob("*.py"))
               if "$cluster" in p.read_text(encoding="utf-8")]
    assert spelled == []
