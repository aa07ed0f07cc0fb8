"""etcd's names: the scrape source, test labels, bucket layouts and the recorded series its modules share.

etcd problems are usually one member's (a slow disk, a partitioned peer), so the rules keep `instance`; the
member count and leader-change rules are per cluster. Names checked against etcd 3.5.15–3.6.6.
"""

from __future__ import annotations

from generator import buckets
from generator.catalog.helpers import Quantiles
from generator.promql import record_name

SRC = "etcd"
MEMBER = "10.0.0.11:2379"  # test instance
PEER = "8688e899f7831fc7"  # test peer id (the `To` label of peer metrics)

DISK_BUCKETS = buckets.ETCD_DISK
RTT_BUCKETS = buckets.ETCD_PEER_RTT
# the codes etcd's own mixin counts as server-side failures (Canceled, NotFound... are the client's business)
GRPC_ERROR_CODES = "Unknown|FailedPrecondition|ResourceExhausted|Internal|Unavailable|DataLoss|DeadlineExceeded"

UP_SUM = record_name("cluster", "etcd_members_up", "sum")
MEMBERS = record_name("cluster", "etcd_members", "count")
HAS_LEADER = record_name("cluster_instance", "etcd_server_has_leader", "min")
LEADER_CHANGES = record_name("cluster_instance", "etcd_server_leader_changes_seen", "rate5m")
LEADER_CHANGES_15M = record_name("cluster", "etcd_server_leader_changes_seen", "increase15m")
LEADER_CHANGES_1H = record_name("cluster", "etcd_server_leader_changes_seen", "increase1h")
PROPOSALS_COMMITTED = record_name("cluster_instance", "etcd_server_proposals_committed", "rate5m")
PROPOSALS_FAILED = record_name("cluster_instance", "etcd_server_proposals_failed", "rate5m")
PROPOSALS_PENDING = record_name("cluster_instance", "etcd_server_proposals_pending", "max")
APPLY_GAP = record_name("cluster_instance", "etcd_server_proposals_committed_applied", "delta")
DB_SIZE = record_name("cluster_instance", "etcd_mvcc_db_total_size_in_bytes", "max")
DB_IN_USE = record_name("cluster_instance", "etcd_mvcc_db_total_size_in_use_in_bytes", "max")
QUOTA = record_name("cluster_instance", "etcd_server_quota_backend_bytes", "max")
DB_QUOTA_RATIO = record_name("cluster_instance", "etcd_mvcc_db_total_size_quota", "ratio")
DB_IN_USE_RATIO = record_name("cluster_instance", "etcd_mvcc_db_total_size_in_use", "ratio")
COMMIT = Quantiles("etcd_disk_backend_commit_duration_seconds", by=("instance",))
COMMIT_Q = COMMIT.name
FSYNC = Quantiles("etcd_disk_wal_fsync_duration_seconds", by=("instance",))
FSYNC_Q = FSYNC.name
RTT = Quantiles("etcd_network_peer_round_trip_time_seconds", by=("instance",))
RTT_Q = RTT.name
GRPC_RATE = record_name("cluster_instance_grpc_code", "grpc_server_handled", "rate5m")
GRPC_ERR_RATIO = record_name("cluster_instance", "grpc_server_handled_errors", "ratio_rate5m")
CPU = record_name("cluster_instance", "etcd_process_cpu_seconds", "rate5m")
MEMORY = record_name("cluster_instance", "etcd_process_resident_memory_bytes", "max")

P99 = {"quantile": "0.99"}
