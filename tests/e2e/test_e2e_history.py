"""Recorded series get hours of history from the rule backfill, down to rules built on other recorded series."""

from __future__ import annotations

from e2e.lab import Lab


def test_recorded_series_have_hours_of_history(recorded_lab: Lab) -> None:
    prom = recorded_lab.prometheus
    for record in ("cluster_namespace_pod_container:container_cpu_usage_seconds:rate5m",  # reads raw series
                   "namespace_pod_quantile:http_request_duration_seconds:histogram_quantile",  # reads a recorded one
                   "cluster_slo:apiserver_slo_errors:ratio_rate30d"):  # four levels up
        points = prom.query(f'min(count_over_time({record}{{cluster="healthy"}}[6h]))')
        assert points and float(points[0]["value"][1]) > 300, (record, points, recorded_lab.timings)
