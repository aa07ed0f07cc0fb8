"""Application pods serving HTTP (the `http` service preset): http_request_duration_seconds per pod.

The job is the Service name, as a ServiceMonitor names it; namespace and pod are target labels. Response time
follows the pod's memory shock (a planted relation). The app's own counters restart with its container.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from generator import buckets
from generator.simulate.sources.base import Latency, Target

if TYPE_CHECKING:
    from generator.simulate.world import World


class HTTPServices:
    def __init__(self, w: World) -> None:
        self.pods = []
        for pod in w.topo.pods:
            if not pod.http:
                continue
            t = Target(w, pod.workload, f"{pod.ip}:8080", namespace=pod.namespace, pod=pod.name,
                       service=pod.workload)
            hist = t.histogram("http_request_duration_seconds", buckets.HTTP, handler="/api", method="GET")
            self.pods.append((pod, t, hist, Latency(hist, w.rng)))

    def tick(self, w: World) -> None:
        for pod, target, hist, latency in self.pods:
            s = w.state(pod)
            running = s.phase == "Running" and not s.waiting
            if not target.alive(not running):
                continue
            if s.restarted:
                hist.reset()
            latency.observe(w.dt, s.rps, s.latency, 0.5, cv=0.03)
