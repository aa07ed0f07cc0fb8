"""kube-apiserver alerts besides the SLO burn rates: down, errors, throttling, latency, API Priority and Fairness,
terminated requests, admission webhooks, client certificates, etcd as the apiserver sees it (availability and
aggregated APIs: alerts_availability.py)."""

from __future__ import annotations

from generator.catalog.helpers import counter, quantile_cases
from generator.catalog.kube_apiserver import names as n
from generator.context import Context
from generator.model import Alert, Case
from generator.promql import fmt_number

SRC = n.SRC
EMPTY = '""'  # an empty label value, for matchers


def _fire_ratio(t: float) -> float:
    return min(2 * t, (1 + t) / 2)


def alerts(ctx: Context) -> tuple[Alert, ...]:
    return (*_availability(ctx), *_flowcontrol(ctx), *_dependencies(ctx))


def _availability(ctx: Context) -> tuple[Alert, ...]:
    c = ctx.cluster
    req = lambda code, rate: {ctx.series(SRC, "apiserver_request_total", code=code, resource="pods",  # noqa: E731
                                         scope="resource", verb="GET"): counter(rate)}
    errors = ctx.threshold("KubeAPIServerResourceErrorsHigh", 0.1)
    throttled = ctx.threshold("KubeAPIServerThrottlingHigh", 0.05)
    latency = ctx.threshold("KubeAPIServerLatencyHigh", 1.0)
    duration = lambda seconds: ctx.histogram(  # noqa: E731
        SRC, n.LAT.metric, n.REQUEST_BUCKETS, seconds, 20, resource="pods", scope="resource", verb="GET")
    slow = quantile_cases(ctx, "KubeAPIServerLatencyHigh", n.REQUEST_BUCKETS, latency)
    return (
        Alert(
            name="KubeAPIServerResourceErrorsHigh",
            expr=f"{n.RESOURCE_ERR_RATIO} > {fmt_number(errors)}",
            for_="10m",
            severity="warning",
            threshold=errors,
            summary="The API server fails many requests for one resource.",
            description="{{ $value | humanizePercentage }} of {{ $labels.verb }} requests for {{ $labels.resource }} "
                        "in cluster {{ $labels." + c + " }} fail with 5xx.",
            cases=(Case({**req("200", 100 * (1 - _fire_ratio(errors))), **req("500", 100 * _fire_ratio(errors))},
                        fires=True, labels={"verb": "GET", "resource": "pods"}, value=_fire_ratio(errors)),
                   Case({**req("200", 100 * (1 - errors / 2)), **req("500", 100 * errors / 2)}, fires=False)),
            meaning="Requests of one verb on one resource are answered with 5xx above the threshold.",
            impact="Clients of that resource (its controller, operators, users) fail and retry.",
            diagnosis=(f'{n.REQ_RATE}{{code=~"5.."}}', f"{n.RESOURCE_ERR_RATIO}",
                       f"{n.ETCD_Q}"),
            mitigation=("Read the apiserver logs for the failing resource; an aggregated API or a conversion "
                        "webhook behind a CRD is the usual suspect.",
                        "Check etcd health if the resource is built in."),
        ),
        Alert(
            name="KubeAPIServerThrottlingHigh",
            expr=f"{n.THROTTLED_RATIO} > {fmt_number(throttled)}",
            for_="15m",
            severity="warning",
            threshold=throttled,
            summary="The API server throttles many requests (HTTP 429).",
            description="{{ $value | humanizePercentage }} of API requests in cluster {{ $labels." + c + " }} are "
                        "answered 429 Too Many Requests.",
            cases=(Case({**req("200", 100 * (1 - _fire_ratio(throttled))), **req("429", 100 * _fire_ratio(throttled))},
                        fires=True, value=_fire_ratio(throttled)),
                   Case({**req("200", 100 * (1 - throttled / 2)), **req("429", 100 * throttled / 2)}, fires=False)),
            meaning="API Priority and Fairness (or the max-inflight limits) reject a share of requests above the "
                    "threshold.",
            impact="Throttled clients back off: controllers reconcile late, kubectl is slow.",
            diagnosis=(f"{n.APF_REJECTED}", f"{n.APF_SEATS}", f"{n.INFLIGHT}",
                       f'topk(10, sum by ({c}, flow_schema) (rate(apiserver_flowcontrol_rejected_requests_total'
                       f'{ctx.sel(SRC)}[5m])))'),
            mitigation=("Find the flow schema that is rejected and the client behind it; fix a hot loop or give it "
                        "its own FlowSchema/PriorityLevelConfiguration.",
                        "Raise --max-requests-inflight / --max-mutating-requests-inflight only if the control "
                        "plane has CPU to spare."),
        ),
        Alert(
            name="KubeAPIServerLatencyHigh",
            expr=f'{n.LAT_VERB_Q}{{quantile="0.99",verb!="LIST"}} > {fmt_number(latency)}',
            for_="10m",
            severity="warning",
            threshold=latency,
            summary="The API server answers slowly.",
            description="99th percentile latency of {{ $labels.verb }} requests in cluster {{ $labels." + c
                        + " }} is {{ $value | humanize }}s.",
            cases=(Case(duration(slow.fire), fires=True, labels={"verb": "GET", "quantile": "0.99"},
                        value=slow.value),
                   Case(duration(slow.quiet), fires=False)),
            meaning="The 99th percentile of apiserver_request_duration_seconds for one verb (LIST, WATCH, CONNECT "
                    "and streaming subresources left out) is above the threshold.",
            impact="Every client waits longer; controllers fall behind.",
            diagnosis=(f'{n.LAT_VERB_Q}{{quantile="0.99"}}', f'{n.ETCD_Q}{{quantile="0.99"}}',
                       f'{n.WEBHOOK_Q}{{quantile="0.99"}}', f"{n.CPU}"),
            mitigation=("If etcd latency is high too, fix etcd first (disk, defragmentation, size).",
                        "If an admission webhook is slow, fix or scale it.",
                        "If the apiserver is CPU-bound, scale it up or out."),
        ),
        Alert(
            name="KubeAPIServerTerminatedRequests",
            expr=f"{n.TERMINATION_RATIO} > {fmt_number(_terminated(ctx))}",
            for_="5m",
            severity="warning",
            threshold=_terminated(ctx),
            summary="The API server terminates incoming requests in self-defense.",
            description="The kube-apiserver in cluster {{ $labels." + c + " }} has terminated "
                        "{{ $value | humanizePercentage }} of its incoming requests.",
            cases=(_terminated_case(ctx, _fire_ratio(_terminated(ctx)), True),
                   _terminated_case(ctx, _terminated(ctx) / 2, False)),
            meaning="apiserver_request_terminations_total grows: requests dropped by the apiserver itself "
                    "(timeouts, overload) rather than answered.",
            impact="Clients see timeouts and 429/504 answers.",
            diagnosis=(f"{n.TERMINATIONS}", f"sum by ({c}, code, verb, resource) (rate("
                       f"apiserver_request_terminations_total{ctx.sel(SRC)}[5m]))", f"{n.APF_SEATS}"),
            mitigation=("Look at the flow schemas and clients behind the load; see KubeAPIServerThrottlingHigh.",),
        ),
    )


def _terminated(ctx: Context) -> float:
    return ctx.threshold("KubeAPIServerTerminatedRequests", 0.2)


def _terminated_case(ctx: Context, ratio: float, fires: bool) -> Case:
    # terminations / (requests + terminations) = ratio, with 10 answered requests per second
    inputs = {
        ctx.series(SRC, "apiserver_request_total", code="200", resource="pods", scope="resource",
                   verb="GET"): counter(10),
        ctx.series(SRC, "apiserver_request_terminations_total", code="429", resource="pods", scope="resource",
                   verb="GET"): counter(10 * ratio / (1 - ratio)),
    }
    return Case(inputs, fires=fires, value=ratio if fires else None)


def _flowcontrol(ctx: Context) -> tuple[Alert, ...]:
    c = ctx.cluster
    rejected = ctx.threshold("KubeAPIServerFlowControlRejections", 0)
    queued = ctx.threshold("KubeAPIServerFlowControlQueueing", 10)
    seats = ctx.threshold("KubeAPIServerFlowControlSaturated", 0.9)
    pl = {"flow_schema": "service-accounts", "priority_level": "workload-low"}
    reject = lambda rate: {ctx.series(SRC, "apiserver_flowcontrol_rejected_requests_total", reason="queue-full",  # noqa: E731
                                      **pl): counter(rate)}
    queue = lambda v: {ctx.series(SRC, "apiserver_flowcontrol_current_inqueue_requests", instance="10.0.0.1:6443",  # noqa: E731
                                  **pl): v}
    seat = lambda used: {  # noqa: E731
        ctx.series(SRC, "apiserver_flowcontrol_current_executing_seats", instance="10.0.0.1:6443", **pl): used,
        ctx.series(SRC, "apiserver_flowcontrol_current_limit_seats", instance="10.0.0.1:6443",
                   priority_level="workload-low"): 100,
    }
    fire_rate = max(2 * rejected, 1)
    return (
        Alert(
            name="KubeAPIServerFlowControlRejections",
            expr=f"{n.APF_REJECTED} > {fmt_number(rejected)}",
            for_="10m",
            severity="warning",
            threshold=rejected,
            summary="API Priority and Fairness rejects requests.",
            description="API Priority and Fairness in cluster {{ $labels." + c + " }} rejects "
                        "{{ $value | humanize }} requests/s of priority level {{ $labels.priority_level }} "
                        "({{ $labels.reason }}).",
            cases=(Case(reject(fire_rate), fires=True, lookback="3m",
                        labels={"priority_level": "workload-low", "reason": "queue-full"}, value=fire_rate),
                   Case(reject(rejected / 2), fires=False, lookback="3m")),
            meaning="Requests of a priority level found its queues full or waited too long and were answered 429.",
            impact="The clients of that priority level are throttled; if it is `system` or `node-high`, "
                   "nodes and controllers are affected.",
            diagnosis=(f"{n.APF_REJECTED}", f"{n.APF_INQUEUE}", f"{n.APF_SEATS}",
                       f"sum by ({c}, flow_schema) (rate(apiserver_flowcontrol_rejected_requests_total"
                       f"{ctx.sel(SRC)}[5m]))"),
            mitigation=("Find the flow schema and client sending the load (audit log, user agent) and fix or "
                        "isolate it.", "Give the priority level more shares if the load is legitimate."),
        ),
        Alert(
            name="KubeAPIServerFlowControlQueueing",
            expr=f"{n.APF_INQUEUE} > {fmt_number(queued)}",
            for_="15m",
            severity="warning",
            threshold=queued,
            summary="Requests wait in API Priority and Fairness queues.",
            description="{{ $value | humanize }} requests of priority level {{ $labels.priority_level }} are "
                        "queued in cluster {{ $labels." + c + " }}.",
            cases=(Case(queue(max(2 * queued, 1)), fires=True, labels={"priority_level": "workload-low"},
                        value=max(2 * queued, 1)),
                   Case(queue(queued / 2), fires=False)),
            meaning="A priority level has used all its seats for a while; new requests queue.",
            impact="Queued requests add their wait to the latency clients see; full queues mean 429s.",
            diagnosis=(f"{n.APF_INQUEUE}", f"{n.APF_SEATS}", f"{n.APF_REJECTED}"),
            mitigation=("See KubeAPIServerFlowControlRejections.",),
        ),
        Alert(
            name="KubeAPIServerFlowControlSaturated",
            expr=f"{n.APF_SEATS} > {fmt_number(seats)}",
            for_="15m",
            severity="warning",
            threshold=seats,
            summary="An API Priority and Fairness priority level is using almost all its seats.",
            description="Priority level {{ $labels.priority_level }} in cluster {{ $labels." + c + " }} uses "
                        "{{ $value | humanizePercentage }} of its seats.",
            cases=(Case(seat(100 * (1 + seats) / 2), fires=True, labels={"priority_level": "workload-low"},
                        value=(1 + seats) / 2),
                   Case(seat(100 * seats / 2), fires=False)),
            meaning="Executing seats over the current seat limit of a priority level (exempt left out), on the "
                    "busiest apiserver instance.",
            impact="Further requests of that priority level queue, then are rejected.",
            diagnosis=(f"{n.APF_SEATS}", f"{n.APF_INQUEUE}",
                       f"apiserver_flowcontrol_current_executing_seats{ctx.sel(SRC)}"),
            mitigation=("Find the flow schemas that fill the priority level; scale the apiserver if every level "
                        "is busy.",),
        ),
    )


def _dependencies(ctx: Context) -> tuple[Alert, ...]:
    c = ctx.cluster
    cert_warn = ctx.threshold("KubeClientCertificateExpiration", 7 * 86400)
    cert_crit = ctx.threshold("KubeClientCertificateExpirationCritical", 86400)
    hook_latency = ctx.threshold("KubeAPIServerWebhookLatencyHigh", 1.0)
    hook_errors = ctx.threshold("KubeAPIServerWebhookErrors", 0)
    etcd_latency = ctx.threshold("KubeAPIServerEtcdLatencyHigh", 1.0)
    cert = lambda seconds: ctx.histogram(SRC, n.CERT.metric, n.CERT_BUCKETS, seconds, 1)  # noqa: E731
    hook = lambda seconds: ctx.histogram(  # noqa: E731
        SRC, n.WEBHOOK.metric, n.WEBHOOK_BUCKETS, seconds, 5, name="policy.example.com", operation="CREATE",
        rejected="false", type="validating")
    hook_reject = lambda rate: {ctx.series(  # noqa: E731
        SRC, "apiserver_admission_webhook_rejection_count", error_type="calling_webhook_error",
        name="policy.example.com", operation="CREATE", rejection_code="0", type="validating"): counter(rate)}
    etcd = lambda seconds: ctx.histogram(  # noqa: E731
        SRC, n.ETCD.metric, n.REQUEST_BUCKETS, seconds, 20, operation="get", resource="pods")
    deprecated = lambda v: {ctx.series(SRC, "apiserver_requested_deprecated_apis", group="batch",  # noqa: E731
                                       removed_release="1.25", resource="cronjobs", version="v1beta1"): v}
    hook_slow = quantile_cases(ctx, "KubeAPIServerWebhookLatencyHigh", n.WEBHOOK_BUCKETS, hook_latency)
    etcd_slow = quantile_cases(ctx, "KubeAPIServerEtcdLatencyHigh", n.REQUEST_BUCKETS, etcd_latency)
    hook_rate = max(2 * hook_errors, 1)
    certs = [(name, severity, t, quantile_cases(ctx, name, n.CERT_BUCKETS, t, "<", 0.01))
             for name, severity, t in (("KubeClientCertificateExpiration", "warning", cert_warn),
                                       ("KubeClientCertificateExpirationCritical", "critical", cert_crit))]
    cert_note = dict(
        summary="A client certificate used to authenticate to the API server expires soon.",
        meaning="The 1st percentile of the remaining lifetime of client certificates presented to the apiserver "
                "in the last 5 minutes is below the threshold.",
        impact="When it expires, that client (kubelet, controller, user) can no longer authenticate.",
        diagnosis=(f"{n.CERT_Q}", "kubectl get csr"),
        mitigation=("Find the client (apiserver audit log by user) and renew its certificate; for kubelets check "
                    "that client certificate rotation and CSR approval work.",),
    )
    return (
        *(Alert(
            name=name,
            expr=f'{n.CERT_Q}{{quantile="0.01"}} < {fmt_number(t)}',
            for_="5m",
            severity=severity,
            threshold=t,
            description=f"A client certificate used to authenticate to the kube-apiserver in cluster "
                        f"{{{{ $labels.{c} }}}} expires in less than {fmt_number(t / 86400)} days.",
            cases=(Case(cert(short.fire), fires=True, labels={"quantile": "0.01"}),
                   Case(cert(short.quiet), fires=False)),
            **cert_note,  # type: ignore[arg-type]
        ) for name, severity, t, short in certs),
        Alert(
            name="KubeAPIServerWebhookLatencyHigh",
            expr=f'{n.WEBHOOK_Q}{{quantile="0.99"}} > {fmt_number(hook_latency)}',
            for_="15m",
            severity="warning",
            threshold=hook_latency,
            summary="An admission webhook answers slowly.",
            description="99th percentile latency of admission webhook {{ $labels.name }} in cluster {{ $labels."
                        + c + " }} is {{ $value | humanize }}s.",
            cases=(Case(hook(hook_slow.fire), fires=True, labels={"name": "policy.example.com", "quantile": "0.99"},
                        value=hook_slow.value),
                   Case(hook(hook_slow.quiet), fires=False)),
            meaning="The apiserver waits for an admission webhook longer than the threshold.",
            impact="Every create/update the webhook intercepts is that much slower; near its timeout, requests fail.",
            diagnosis=(f'{n.WEBHOOK_Q}{{quantile="0.99"}}', f"{n.WEBHOOK_REJECTIONS}"),
            mitigation=("Scale or fix the webhook's backend; narrow its rules/namespaceSelector so it sees fewer "
                        "requests.",),
        ),
        Alert(
            name="KubeAPIServerWebhookErrors",
            expr=f'sum by ({c}, name) ({n.WEBHOOK_REJECTIONS}{{error_type!="no_error"}}) > {fmt_number(hook_errors)}',
            for_="10m",
            severity="warning",
            threshold=hook_errors,
            summary="Requests are rejected because an admission webhook cannot be called.",
            description="Admission webhook {{ $labels.name }} in cluster {{ $labels." + c + " }} fails "
                        "{{ $value | humanize }} requests/s (calling errors, not policy denials).",
            cases=(Case(hook_reject(hook_rate), fires=True, labels={"name": "policy.example.com"}, value=hook_rate),
                   Case(hook_reject(hook_errors / 2), fires=False)),
            meaning="Rejections counted with error_type calling_webhook_error or apiserver_internal_error: the "
                    "webhook is down or unreachable and its failurePolicy is Fail.",
            impact="Creates and updates the webhook intercepts fail; a webhook on pods can stop every rollout.",
            diagnosis=(f"{n.WEBHOOK_REJECTIONS}", "kubectl get validatingwebhookconfigurations,"
                       "mutatingwebhookconfigurations"),
            mitigation=("Bring the webhook's Service back (endpoints, certificate); as a last resort delete its "
                        "webhook configuration.",),
        ),
        Alert(
            name="KubeAPIServerEtcdLatencyHigh",
            expr=f'{n.ETCD_Q}{{operation!~"list|listWithCount",quantile="0.99"}} > {fmt_number(etcd_latency)}',
            for_="10m",
            severity="warning",
            threshold=etcd_latency,
            summary="etcd answers the API server slowly.",
            description="99th percentile etcd {{ $labels.operation }} latency seen by the kube-apiserver in cluster "
                        "{{ $labels." + c + " }} is {{ $value | humanize }}s.",
            cases=(Case(etcd(etcd_slow.fire), fires=True, labels={"operation": "get", "quantile": "0.99"},
                        value=etcd_slow.value),
                   Case(etcd(etcd_slow.quiet), fires=False)),
            meaning="etcd_request_duration_seconds, measured by the apiserver, is high for single-object "
                    "operations (lists left out, they grow with the collection). Works on managed clusters "
                    "where etcd itself cannot be scraped.",
            impact="Every API request touching etcd is slow; leader elections may be lost.",
            diagnosis=(f'{n.ETCD_Q}{{quantile="0.99"}}', f"{n.OBJECTS}"),
            mitigation=("Check etcd disk latency (fsync), database size and defragmentation, and network between "
                        "apiserver and etcd.",),
        ),
        Alert(
            name="KubeAPIServerDeprecatedAPIRequested",
            expr=f'max by ({c}, group, version, resource, removed_release) (apiserver_requested_deprecated_apis'
                 f"{ctx.sel(SRC, 'removed_release!=' + EMPTY)}) > 0",
            for_="1h",
            severity="info",
            summary="Clients use an API version that a later Kubernetes release removes.",
            description="{{ $labels.resource }}.{{ $labels.group }}/{{ $labels.version }} is requested in cluster "
                        "{{ $labels." + c + " }} and is removed in Kubernetes {{ $labels.removed_release }}.",
            cases=(Case(deprecated(1), fires=True, labels={"group": "batch", "version": "v1beta1",
                                                           "resource": "cronjobs", "removed_release": "1.25"}),
                   Case(deprecated(0), fires=False)),
            meaning="The apiserver has served a deprecated API version since it started.",
            impact="None today; the client breaks when the cluster is upgraded to the removal release.",
            diagnosis=("apiserver_requested_deprecated_apis", "kubectl get --raw /metrics | grep deprecated"),
            mitigation=("Find the client in the audit log (annotation k8s.io/deprecated) and move it to the "
                        "current API version before upgrading.",),
        ),
    )
