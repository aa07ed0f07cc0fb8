"""etcd's signals (what the dashboard and the correlation engine read) and its dashboard panels."""

from __future__ import annotations

from generator.catalog.etcd import names as n
from generator.context import Context
from generator.model import Panel, Signal


def signals(ctx: Context) -> tuple[Signal, ...]:
    c = ctx.cluster
    f = ctx.dash()
    p99 = ctx.dash(quantile=0.99)
    ci = (c, "instance")
    return (
        Signal("etcd_members_up", f"{n.UP_SUM}{f}", "short", (c,), "Members up",
               "Number of etcd members Prometheus scrapes successfully.", kind="state",
               alert="EtcdInsufficientMembers"),
        Signal("etcd_has_leader", f"{n.HAS_LEADER}{f}", "short", ci, "Has leader",
               "1 when the member knows a raft leader, 0 during an election or when cut off.", kind="state",
               alert="EtcdNoLeader"),
        Signal("etcd_leader_changes_15m", f"{n.LEADER_CHANGES_15M}{f}", "short", (c,), "Leader changes (15m)",
               "Raft leader elections in the last 15 minutes.", kind="state", alert="EtcdHighNumberOfLeaderChanges"),
        Signal("etcd_leader_changes_1h", f"{n.LEADER_CHANGES_1H}{f}", "short", (c,), "Leader changes (1h)",
               "Raft leader elections in the last hour.", kind="state"),
        Signal("etcd_proposals_committed_rate", f"{n.PROPOSALS_COMMITTED}{f}", "ops", ci, "Proposals committed",
               "Raft proposals committed per second: the write throughput of the cluster."),
        Signal("etcd_proposals_pending", f"{n.PROPOSALS_PENDING}{f}", "short", ci, "Proposals pending",
               "Raft proposals waiting to be committed.", alert="EtcdProposalsPendingHigh"),
        Signal("etcd_proposals_failed_rate", f"{n.PROPOSALS_FAILED}{f}", "ops", ci, "Proposals failed",
               "Raft proposals failing per second.", alert="EtcdHighNumberOfFailedProposals"),
        Signal("etcd_commit_apply_gap", f"{n.APPLY_GAP}{f}", "short", ci, "Committed − applied",
               "Raft entries committed but not yet applied by the member.", alert="EtcdCommitApplyGapHigh"),
        Signal("etcd_backend_commit_p99", f"{n.COMMIT_Q}{p99}", "s", ci, "Backend commit p99",
               "99th percentile time the member takes to commit its bbolt backend to disk.",
               alert="EtcdHighCommitDurations"),
        Signal("etcd_wal_fsync_p99", f"{n.FSYNC_Q}{p99}", "s", ci, "WAL fsync p99",
               "99th percentile time the member takes to fsync its write-ahead log.",
               alert="EtcdHighFsyncDurations"),
        Signal("etcd_peer_rtt_p99", f"{n.RTT_Q}{p99}", "s", ci, "Peer round trip p99",
               "99th percentile round-trip time from the member to its peers.", alert="EtcdPeerRoundTripSlow"),
        Signal("etcd_grpc_requests", f"{n.GRPC_RATE}{f}", "reqps", (c, "instance", "grpc_code"),
               "gRPC requests by code", "Unary gRPC requests per second the member handles, by status code."),
        Signal("etcd_grpc_error_ratio", f"{n.GRPC_ERR_RATIO}{f}", "percentunit", ci, "gRPC error ratio",
               "Share of unary gRPC requests ending with a server-side error code.", alert="EtcdHighGRPCErrorRatio"),
        Signal("etcd_db_size", f"{n.DB_SIZE}{f}", "bytes", ci, "Database size",
               "Size of the member's database file on disk.", kind="resource"),
        Signal("etcd_db_quota_ratio", f"{n.DB_QUOTA_RATIO}{f}", "percentunit", ci, "Database quota used",
               "Database file size as a share of --quota-backend-bytes.", kind="resource",
               alert="EtcdDatabaseQuotaLowSpace"),
        Signal("etcd_db_in_use_ratio", f"{n.DB_IN_USE_RATIO}{f}", "percentunit", ci, "Database in use",
               "Share of the database file holding live data; the rest is fragmentation.", kind="resource",
               alert="EtcdDatabaseHighFragmentation"),
        Signal("etcd_cpu", f"{n.CPU}{f}", "cores", ci, "etcd CPU", "CPU cores used by each etcd member.",
               kind="resource"),
        Signal("etcd_memory", f"{n.MEMORY}{f}", "bytes", ci, "etcd memory",
               "Resident memory of each etcd member.", kind="resource"),
    )


def panels() -> tuple[Panel, ...]:
    member = "{{instance}}"
    return (
        Panel("Members up", ("etcd_members_up",), kind="stat", width=6),
        Panel("Has leader", ("etcd_has_leader",), legend=member, width=6),
        Panel("Leader changes", ("etcd_leader_changes_15m", "etcd_leader_changes_1h")),
        Panel("Backend commit p99", ("etcd_backend_commit_p99",), legend=member),
        Panel("WAL fsync p99", ("etcd_wal_fsync_p99",), legend=member),
        Panel("Peer round trip p99", ("etcd_peer_rtt_p99",), legend=member),
        Panel("Proposals committed", ("etcd_proposals_committed_rate",), legend=member),
        Panel("Proposals pending", ("etcd_proposals_pending",), legend=member),
        Panel("Proposals failed", ("etcd_proposals_failed_rate",), legend=member),
        Panel("Committed − applied", ("etcd_commit_apply_gap",), legend=member),
        Panel("gRPC requests by code", ("etcd_grpc_requests",), stack=True, legend="{{instance}} {{grpc_code}}"),
        Panel("gRPC error ratio", ("etcd_grpc_error_ratio",), legend=member),
        Panel("Database size", ("etcd_db_size",), legend=member),
        Panel("Database quota used", ("etcd_db_quota_ratio",), legend=member),
        Panel("Database in use", ("etcd_db_in_use_ratio",), legend=member),
        Panel("CPU", ("etcd_cpu",), legend=member),
        Panel("Memory", ("etcd_memory",), legend=member),
    )
