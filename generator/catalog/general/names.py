"""Names general's modules share: the jobs and alerts it treats apart."""

from __future__ import annotations

KSM = "kube-state-metrics"
# jobs whose API client errors their own component alerts on (KubeControllerManagerRestClientErrors...)
OWN_CLIENT_ALERTS = ("kube-controller-manager", "kube-scheduler", "kube-proxy")
HEARTBEAT = ("Watchdog", "InfoInhibitor")
