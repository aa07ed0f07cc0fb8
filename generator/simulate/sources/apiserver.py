"""kube-apiserver (job apiserver): requests by verb/resource/code, latency and SLI histograms, its etcd client,
API priority and fairness, admission webhooks, aggregated APIs, client certificates.

Request latency rides on etcd's commit latency (the planted storage relation). Knobs: apiserver.down,
apiserver.error_ratio, apiserver.throttle, apiserver.webhook_slow, apiserver.slow_reads, apiserver.aggregated_down,
apiserver.deprecated, apiserver.cert_expiry.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from generator import buckets
from generator.simulate.series import CounterHandle
from generator.simulate.sources.base import Latency, Process, Target, rate
from generator.simulate.sources.etcd import commit_median

if TYPE_CHECKING:
    from generator.simulate.world import World

# verb, resource, group, scope, subresource, requests/s, success code, median seconds, etcd operation
REQUESTS = (
    ("GET", "pods", "", "resource", "", 6.0, "200", 0.012, "get"),
    ("LIST", "pods", "", "namespace", "", 1.5, "200", 0.06, "listWithCount"),
    ("LIST", "nodes", "", "cluster", "", 0.5, "200", 0.08, ""),
    ("POST", "events", "", "namespace", "", 3.0, "201", 0.02, "create"),
    ("PUT", "leases", "coordination.k8s.io", "namespace", "", 5.0, "200", 0.015, "update"),
    ("PATCH", "pods", "", "resource", "status", 2.0, "200", 0.018, ""),
)
WATCHES = (("configmaps", "cluster", 4), ("pods", "namespace", 9), ("nodes", "resource", 3))
WRITES = ("POST", "PUT", "PATCH", "DELETE")
# priority level: flow schema, concurrency limit in seats, usual executing seats
PRIORITY_LEVELS = (
    ("exempt", "exempt", 1, 0), ("system", "system-nodes", 117, 3),
    ("leader-election", "system-leader-election", 58, 1),
    ("node-high", "probes", 170, 1), ("workload-high", "kube-controller-manager", 114, 2),
    ("workload-low", "service-accounts", 56, 2), ("global-default", "global-default", 56, 1),
    ("catch-all", "catch-all", 30, 0),
)
OBJECTS = (("", "pods"), ("", "configmaps"), ("", "secrets"), ("", "events"), ("coordination.k8s.io", "leases"),
           ("apps", "deployments"))
APISERVICES = ("v1beta1.metrics.k8s.io", "v1beta1.custom.metrics.k8s.io")
WEBHOOK = "validate.policy.example.com"
DAY = 86400.0


class APIServer:
    def __init__(self, w: World) -> None:
        cp = w.topo.control_plane
        self.t = t = Target(w, "apiserver", f"{cp.ip}:6443")
        self.process = Process(t)
        self.rng = w.rng
        self.requests = []
        for verb, resource, group, scope, sub, rps, code, median, op in REQUESTS:
            lab = {"verb": verb, "resource": resource, "group": group, "version": "v1", "scope": scope,
                   "subresource": sub, "component": "apiserver"}
            self.requests.append({
                "spec": (verb, rps, code, median, op, resource, group),
                "labels": lab,
                "duration": Latency(t.histogram("apiserver_request_duration_seconds", buckets.APISERVER_REQUEST,
                                                dry_run="", **lab), w.rng),
                "sli": Latency(t.histogram("apiserver_request_sli_duration_seconds", buckets.APISERVER_SLI, **lab),
                               w.rng),
                "etcd": Latency(t.histogram("etcd_request_duration_seconds", buckets.APISERVER_ETCD_REQUEST,
                                            group=group, operation=op, resource=resource), w.rng) if op else None,
            })
        self.watches = [(t.counter("apiserver_request_total", code="0", component="apiserver", dry_run="", group="",
                                   resource=r, scope=s, subresource="", verb="WATCH", version="v1"),
                         t.gauge("apiserver_longrunning_requests", component="apiserver", group="", resource=r,
                                 scope=s, subresource="", verb="WATCH", version="v1"), n) for r, s, n in WATCHES]
        self.inflight = {k: t.gauge("apiserver_current_inflight_requests", request_kind=k)
                         for k in ("readOnly", "mutating")}
        self.levels = [(t.gauge("apiserver_flowcontrol_current_executing_seats", flow_schema=fs, priority_level=pl),
                        t.gauge("apiserver_flowcontrol_current_inqueue_requests", flow_schema=fs, priority_level=pl),
                        t.gauge("apiserver_flowcontrol_current_limit_seats", priority_level=pl), pl, limit, usual)
                       for pl, fs, limit, usual in PRIORITY_LEVELS]
        # counters that exist before anything happened (registered with their first label set)
        self.rejected = t.counter("apiserver_flowcontrol_rejected_requests_total", flow_schema="service-accounts",
                                  priority_level="workload-low", reason="queue-full")
        self.terminations = t.counter("apiserver_request_terminations_total", code="429", component="apiserver",
                                      group="", resource="pods", scope="namespace", subresource="", verb="LIST",
                                      version="v1")
        hook = {"name": WEBHOOK, "operation": "CREATE", "type": "validating"}
        self.webhook = Latency(t.histogram("apiserver_admission_webhook_admission_duration_seconds",
                                           buckets.WEBHOOK_ADMISSION, rejected="false", **hook), w.rng)
        self.denied = t.counter("apiserver_admission_webhook_rejection_count", error_type="no_error",
                                rejection_code="403", **hook)
        self.apiservices = {n: t.gauge("aggregator_unavailable_apiservice", name=n) for n in APISERVICES}
        # typed unknown: OpenMetrics cannot hold the gauge and a counter family of the same base name
        self.apiservice_flaps = {n: CounterHandle(w.reg.series(
            "unknown", "aggregator_unavailable_apiservice_total", t.labels(name=n, reason="FailedDiscoveryCheck")))
            for n in APISERVICES}
        self.deprecated = t.gauge("apiserver_requested_deprecated_apis", group="", removed_release="",
                                  resource="componentstatuses", subresource="", version="v1")
        self.certs = Latency(t.histogram("apiserver_client_certificate_expiration_seconds", buckets.CERT_EXPIRATION),
                             w.rng)
        self.objects = [(t.gauge("apiserver_resource_objects", group=g, resource=r),
                         t.gauge("apiserver_storage_objects", resource=r if not g else f"{r}.{g}"), r)
                        for g, r in OBJECTS]

    def tick(self, w: World) -> None:
        t, dt, rng = self.t, w.dt, self.rng
        if not t.alive(w.knob("apiserver.down")):
            return
        load = w.load
        commit = commit_median(w)
        storage = math.exp((0.45 if w.congested else 0.3) * w.storage.z)
        errors = w.knob("apiserver.error_ratio")
        throttled = w.knob("apiserver.throttle")
        webhook = 2.5 if w.knob("apiserver.webhook_slow") else 0.0
        slow_reads = 1.5 if w.knob("apiserver.slow_reads") else 0.0
        total = 0.0
        for req in self.requests:
            verb, rps, code, median, *_ = req["spec"]
            n = rate(rng, rps * load, dt)
            total += n
            self._codes(t, req["labels"], n, code, errors, throttled)
            # the SLI leaves out webhooks and APF queueing; storage time counts in both
            storage_time = commit * (3.0 if verb in WRITES else 0.5 if verb == "GET" else 2.0)
            sli = median * storage + storage_time + (slow_reads if verb == "GET" else 0.0)
            req["sli"].observe(dt, rps * load, sli, 0.6)
            hook = webhook if verb in WRITES else 0.0
            req["duration"].mixture(dt, rps * load, ((1.0, sli + hook, 0.6),))
            if req["etcd"]:
                etcd = 0.004 * storage + commit * (4.0 if verb in WRITES else 1.0)
                req["etcd"].observe(dt, rps * load, etcd, 0.5)
        for counter, gauge, base in self.watches:
            counter.add_int(rate(rng, 0.02, dt))
            gauge.set(base)
        self.inflight["readOnly"].set(rng.randrange(1, 6))
        self.inflight["mutating"].set(rng.randrange(0, 3))
        for executing, inqueue, limit, level, seats, usual in self.levels:
            busy = throttled and level == "workload-low"
            executing.set(seats - 1 if busy else rng.randrange(usual, usual + 2) if usual else 0)
            inqueue.set(40 + rng.randrange(10) if busy else 0)
            limit.set(seats)
        self.rejected.add(rate(rng, 5.0, dt) if throttled else 0.0)
        self.terminations.add_int(total * 0.5 if throttled else 0.0)
        self._webhooks(w, t)
        for name, gauge in self.apiservices.items():
            down = w.knob("apiserver.aggregated_down") and name.startswith("v1beta1.metrics")
            gauge.set(1 if down else 0)
            # a failing APIService is re-checked and marked unavailable again and again
            self.apiservice_flaps[name].add(dt / 60 if down else 0.0)
        self.deprecated.set(1)
        if w.knob("apiserver.deprecated"):
            t.lazy("deprecated", lambda: t.gauge(
                "apiserver_requested_deprecated_apis", group="flowcontrol.apiserver.k8s.io",
                removed_release="1.32", resource="prioritylevelconfigurations", subresource="",
                version="v1beta3")).set(1)
        self._certs(w)
        for resource_objects, storage_objects, resource in self.objects:
            count = len(w.topo.pods) if resource == "pods" else {"events": 240, "leases": 14}.get(resource, 40)
            resource_objects.set(count)
            storage_objects.set(count)
        self.process.tick(dt, 0.02 * total / dt + 0.1, 900e6 + 1e8 * load)

    def _codes(self, t: Target, lab: dict[str, str], n: float, ok: str, errors: float, throttled: float) -> None:
        shares = {ok: 1.0 - errors - throttled}
        if errors:
            shares.update({"503": errors * 0.7, "500": errors * 0.3})
        if throttled:
            shares["429"] = throttled
        if lab["verb"] == "GET" and lab["resource"] == "pods":
            shares["404"] = 0.02
            # the rare server error a healthy apiserver still returns (about one in ten thousand)
            shares["500"] = shares.get("500", 0.0) + 0.0001
        for code, share in shares.items():
            t.lazy(("req", code, *lab.values()), lambda c=code: t.counter(
                "apiserver_request_total", code=c, dry_run="", **lab)).add_int(n * share)

    def _webhooks(self, w: World, t: Target) -> None:
        dt = w.dt
        slow = w.knob("apiserver.webhook_slow")
        self.webhook.observe(dt, 3.0 * w.load, 3.0 if slow else 0.01, 0.5)
        self.denied.add_int(rate(self.rng, 0.01, dt))
        if slow:
            t.lazy("webhook_errors", lambda: t.counter(
                "apiserver_admission_webhook_rejection_count", error_type="calling_webhook_error",
                name=WEBHOOK, operation="CREATE", rejection_code="500", type="validating")).add_int(rate(
                    self.rng, 1.0, dt))

    def _certs(self, w: World) -> None:
        # remaining lifetime of the client certificates presented (kubelets, controllers, operators)
        days = 250.0 - (w.t - w.settings.start) / DAY
        parts = [(0.6, days * DAY), (0.4, (days - 60) * DAY)]
        if w.knob("apiserver.cert_expiry"):
            parts = [(0.95, days * DAY), (0.05, 0.4 * DAY)]
        self.certs.points(w.dt, 3.0, parts)
