"""CoreDNS (job coredns, one target per pod) and kube-proxy (job kube-proxy, one per node).

CoreDNS latency and CPU share the DNS load shock (a planted relation); in the congested phase CPU moves the
other way (queries wait on a slow upstream while the pods idle). Knobs: coredns.down, coredns.servfail,
coredns.slow_upstream; kube_proxy.down, kube_proxy.sync_failing (victim node), clients.errors.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from generator import buckets
from generator.simulate.sources.base import Latency, Process, Target, rate
from generator.simulate.sources.controllers import RestClient

if TYPE_CHECKING:
    from generator.simulate.world import World

QTYPES = (("A", 0.6), ("AAAA", 0.25), ("SRV", 0.1), ("PTR", 0.05))
UPSTREAM = "10.0.0.2:53"
SERVER = {"server": "dns://:53"}


class CoreDNS:
    def __init__(self, w: World) -> None:
        self.pods = []
        for i, pod in enumerate(p for p in w.topo.pods if p.role == "coredns"):
            t = Target(w, "coredns", f"{pod.ip}:9153", namespace=pod.namespace, pod=pod.name)
            zone = {**SERVER, "zone": "."}
            self.pods.append({
                "index": i, "target": t, "pod": pod, "process": Process(t),
                "requests": {q: t.counter("coredns_dns_requests_total", family="1", proto="udp", type=q, **zone)
                             for q, _ in QTYPES},
                "responses": {r: t.counter("coredns_dns_responses_total", rcode=r, **zone)
                              for r in ("NOERROR", "NXDOMAIN", "SERVFAIL")},
                "duration": Latency(t.histogram("coredns_dns_request_duration_seconds", buckets.COREDNS, **zone),
                                    w.rng),
                "cache_requests": t.counter("coredns_cache_requests_total", **SERVER),
                "cache_misses": t.counter("coredns_cache_misses_total", **SERVER),
                "forward_requests": t.counter("coredns_forward_requests_total", to=UPSTREAM),
                "forward_responses": {r: t.counter("coredns_forward_responses_total", rcode=r, to=UPSTREAM)
                                      for r in ("NOERROR", "NXDOMAIN", "SERVFAIL")},
                "forward_duration": Latency(t.histogram("coredns_forward_request_duration_seconds", buckets.COREDNS,
                                                        rcode="NOERROR", to=UPSTREAM), w.rng),
                "panics": t.counter("coredns_panics_total"),
                "health_failures": t.counter("coredns_forward_healthcheck_failures_total", to=UPSTREAM),
                "health_broken": t.counter("coredns_forward_healthcheck_broken_total"),
            })

    def tick(self, w: World) -> None:
        dt, rng = w.dt, w.rng
        servfail = w.knob("coredns.servfail")
        slow = w.knob("coredns.slow_upstream")
        shock = w.dns.z
        for p in self.pods:
            if not p["target"].alive(w.knob("coredns.down")):
                continue
            own = w.dns_own[p["index"] % len(w.dns_own)].z
            qps = 25.0 * w.load * math.exp(0.3 * shock + 0.05 * own)
            n = rate(rng, qps, dt, 0.02)
            for qtype, share in QTYPES:
                p["requests"][qtype].add_int(n * share)
            fail = 0.10 if servfail else 0.0005
            p["responses"]["NOERROR"].add_int(n * (0.8 - fail))
            p["responses"]["NXDOMAIN"].add_int(n * 0.2)
            p["responses"]["SERVFAIL"].add_int(n * fail)
            miss = 0.3
            p["cache_requests"].add_int(n)
            p["cache_misses"].add_int(n * miss)
            upstream = 1.5 if slow else 0.012 * math.exp(0.2 * shock)
            cached = 0.0015 * math.exp(0.3 * shock)
            p["duration"].mixture(dt, qps, ((1 - miss, cached, 0.5), (miss, upstream, 0.5)), cv=0.02)
            p["forward_requests"].add_int(n * miss)
            upstream_down = w.knob("coredns.upstream_down")  # health checks every 0.5 s fail, all upstreams down
            p["health_failures"].add(rate(rng, 2.0, dt) if upstream_down else 0.0)
            p["health_broken"].add(rate(rng, 0.5, dt) if upstream_down else 0.0)
            forward_fail = 0.25 if servfail else 0.0
            p["forward_responses"]["NOERROR"].add_int(n * miss * (0.8 - forward_fail))
            p["forward_responses"]["NXDOMAIN"].add_int(n * miss * 0.2)
            p["forward_responses"]["SERVFAIL"].add_int(n * miss * forward_fail)
            p["forward_duration"].observe(dt, qps * miss, upstream, 0.5, cv=0.02)
            p["panics"].add(1 if servfail and p["index"] == 0 and w.due(300, 45) else 0)
            if w.congested:  # waiting on the upstream: latency up, CPU down
                cores = 0.04 * w.load * math.exp(-0.3 * shock + 0.1 * own)
            else:
                cores = 0.02 * w.load * math.exp(0.3 * shock + 0.1 * own)
            p["process"].tick(dt, cores, 40e6 + 5e5 * qps)


class KubeProxy:
    def __init__(self, w: World) -> None:
        self.nodes = []
        for node in w.topo.nodes:
            t = Target(w, "kube-proxy", f"{node.ip}:10249")
            self.nodes.append({
                "node": node, "target": t, "process": Process(t),
                "sync": Latency(t.histogram("kubeproxy_sync_proxy_rules_duration_seconds", buckets.PROXY_SYNC), w.rng),
                "programming": Latency(t.histogram("kubeproxy_network_programming_duration_seconds",
                                                   buckets.PROXY_NETWORK_PROGRAMMING), w.rng),
                "rules": {table: t.gauge("kubeproxy_sync_proxy_rules_iptables_total", table=table)
                          for table in ("filter", "nat")},
                "restore_failures": t.counter("kubeproxy_sync_proxy_rules_iptables_restore_failures_total"),
                "last": t.gauge("kubeproxy_sync_proxy_rules_last_timestamp_seconds"),
                "queued": t.gauge("kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds"),
                "client": RestClient(w, t, (("GET", "200", 0.2), ("PATCH", "200", 0.01)), False, past_errors=3),
            })

    def tick(self, w: World) -> None:
        dt, rng = w.dt, w.rng
        victim = w.topo.victim_node()
        services = 30 + len(w.topo.workloads)
        for p in self.nodes:
            if not p["target"].alive(w.knob("kube_proxy.down")):
                continue
            failing = w.knob("kube_proxy.sync_failing") and p["node"] is victim
            p["sync"].observe(dt, 0.05, 8.0 if failing else 0.05, 0.5)
            p["programming"].observe(dt, 0.05, 45.0 if failing else 1.5, 0.5)
            p["rules"]["filter"].set(4 * services)
            p["rules"]["nat"].set(12 * services)
            p["restore_failures"].add(rate(rng, 0.05, dt) if failing else 0.0)
            synced = w.settings.scenario_start if failing else w.t - rng.uniform(0, 30)
            p["last"].set(round(synced, 3))
            p["queued"].set(round(w.t - rng.uniform(0, 5) if failing else synced - rng.uniform(0, 1), 3))
            p["client"].tick(w)
            p["process"].tick(dt, 0.01 * (10 if failing else 1), 45e6)
