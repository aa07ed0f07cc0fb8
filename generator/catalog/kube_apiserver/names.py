"""Names the kube-apiserver catalog modules share: the scrape source, recorded series, histogram buckets."""

from __future__ import annotations

from generator import buckets
from generator.catalog.helpers import Quantiles
from generator.promql import record_name

SRC = "kube-apiserver"
PREFIX = "KubeAPIServer"

REQUEST_BUCKETS = buckets.APISERVER_REQUEST
CERT_BUCKETS = buckets.CERT_EXPIRATION
WEBHOOK_BUCKETS = buckets.WEBHOOK_ADMISSION

# traffic
REQ_RATE = record_name("cluster_verb_code_resource", "apiserver_request", "rate5m")
ERR_RATIO = record_name("cluster", "apiserver_request_5xx", "ratio_rate5m")
THROTTLED_RATIO = record_name("cluster", "apiserver_request_429", "ratio_rate5m")
RESOURCE_ERR_RATIO = record_name("cluster_verb_resource", "apiserver_request_5xx", "ratio_rate5m")
# the two histograms with the most series on a real apiserver (thousands per bucket set): each in a group of its
# own, so neither waits for the other or for the rest of kube-apiserver.rules
LAT = Quantiles("apiserver_request_duration_seconds", by=("verb",), group="latency")
LAT_VERB_Q = LAT.name
LAT_Q = record_name("cluster_quantile", "apiserver_request_duration_seconds", "histogram_quantile")
TERMINATIONS = record_name("cluster", "apiserver_request_terminations", "rate5m")
TERMINATION_RATIO = record_name("cluster", "apiserver_request_terminations", "ratio_rate5m")
# concurrency and API Priority and Fairness
INFLIGHT = record_name("cluster_request_kind", "apiserver_current_inflight_requests", "sum")
LONGRUNNING = record_name("cluster_verb", "apiserver_longrunning_requests", "sum")
APF_INQUEUE = record_name("cluster_priority_level", "apiserver_flowcontrol_current_inqueue_requests", "sum")
APF_REJECTED = record_name("cluster_priority_level_reason", "apiserver_flowcontrol_rejected_requests", "rate5m")
APF_SEATS = record_name("cluster_priority_level", "apiserver_flowcontrol_seat_utilization", "max")
# dependencies: admission webhooks, etcd, aggregated APIs, client certificates
WEBHOOK = Quantiles("apiserver_admission_webhook_admission_duration_seconds", by=("name",))
WEBHOOK_Q = WEBHOOK.name
WEBHOOK_REJECTIONS = record_name("cluster_name_error_type", "apiserver_admission_webhook_rejection", "rate5m")
# etcd_request_duration_seconds is exported by the apiserver (the etcd client side); prefixed to keep it apart
ETCD = Quantiles("etcd_request_duration_seconds", by=("operation",), recorded="apiserver_etcd_request_duration_seconds",
                 group="etcd")
ETCD_Q = ETCD.name
AGG_UNAVAILABLE = record_name("cluster_name", "aggregator_unavailable_apiservice", "max")
# the shortest-lived certificates seen, as kubernetes-mixin's KubeClientCertificateExpiration
CERT = Quantiles("apiserver_client_certificate_expiration_seconds", quantiles=(0.01,))
CERT_Q = CERT.name
# state and resources
OBJECTS = record_name("cluster_group_resource", "apiserver_resource_objects", "max")
UP = record_name("cluster", "apiserver_up", "sum")
CPU = record_name("cluster_instance", "apiserver_process_cpu_seconds", "rate5m")
MEMORY = record_name("cluster_instance", "apiserver_process_resident_memory_bytes", "sum")
