"""Names general's modules share: the jobs and alerts it treats apart."""

from __future__ import annotations

KSM = "kube-state-metrics"
HEARTBEAT = ("Watchdog", "InfoInhibitor")
