"""A healthy simulated cluster in a real Prometheus: every recording rule yields a series, no alert fires.

Every alert's `for` is 0s here, so any evaluation above a threshold counts. The long-window recording rules
(30d, 3d...) read recorded 5m series, which exist only since the server started: they yield a series (over
the few minutes there are), which is what this checks; their values over real history are the promtool unit
tests' business.
"""

from __future__ import annotations

from e2e.lab import Lab, recording_rules


def _shown(labels: dict[str, str]) -> str:
    skip = {"alertname", "severity", "component", "cluster", "job"}
    return ",".join(f"{k}={v}" for k, v in sorted(labels.items()) if k not in skip)


def test_every_recording_rule_yields_a_series(simulated_lab: Lab) -> None:
    names = recording_rules(simulated_lab.files)
    missing = [n for n in names if "healthy" not in simulated_lab.recorded.get(n, ())]
    assert len(names) > 150
    assert not missing, f"{len(missing)} of {len(names)} recording rules have no series: {missing}"


def test_no_alert_fires_on_a_healthy_cluster(simulated_lab: Lab) -> None:
    firing = simulated_lab.firing_in("healthy")
    shown = {name: [_shown(labels) for labels in rows] for name, rows in firing.items()}
    assert not firing, f"alerts firing on the healthy cluster: {shown} (timings {simulated_lab.timings})"


def test_the_newest_samples_reach_the_end(simulated_lab: Lab) -> None:
    # rates and time()-based alerts (PLEG, kube-proxy sync age) read the newest samples as "now": the backfill
    # must carry the minutes that passed while the day was simulated, up to the lab's end (the lab itself
    # refuses a snapshot taken after those samples went stale)
    end = simulated_lab.end
    newest = simulated_lab.prometheus.query('max(timestamp(container_cpu_usage_seconds_total{cluster="healthy"}))',
                                            at=end)
    assert newest and float(newest[0]["value"][1]) == end
    oldest = simulated_lab.prometheus.query('count_over_time(container_cpu_usage_seconds_total{cluster="healthy"}[6h])',
                                            at=end)
    assert oldest and min(float(r["value"][1]) for r in oldest) >= 300
