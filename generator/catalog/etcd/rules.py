"""etcd's recording rules and their promtool tests."""

from __future__ import annotations

from generator.catalog.etcd.names import (
    APPLY_GAP,
    COMMIT,
    COMMIT_Q,
    CPU,
    DB_IN_USE,
    DB_IN_USE_RATIO,
    DB_QUOTA_RATIO,
    DB_SIZE,
    DISK_BUCKETS,
    FSYNC,
    FSYNC_Q,
    GRPC_ERR_RATIO,
    GRPC_ERROR_CODES,
    GRPC_RATE,
    HAS_LEADER,
    LEADER_CHANGES,
    LEADER_CHANGES_1H,
    LEADER_CHANGES_15M,
    MEMBER,
    MEMBERS,
    MEMORY,
    P99,
    PEER,
    PROPOSALS_COMMITTED,
    PROPOSALS_FAILED,
    PROPOSALS_PENDING,
    QUOTA,
    RTT,
    RTT_BUCKETS,
    RTT_Q,
    SRC,
    UP_SUM,
)
from generator.catalog.helpers import bucket_quantile, counter
from generator.context import Context
from generator.model import RecordingRule, RuleTest


def rules(ctx: Context) -> tuple[RecordingRule, ...]:
    s = lambda *m: ctx.sel(SRC, *m)  # noqa: E731 - a selector shorthand reads better inline
    inst = ctx.by("instance")
    unary = s('grpc_type="unary"')
    errors = s('grpc_type="unary"', f'grpc_code=~"{GRPC_ERROR_CODES}"')
    # one value per member; max collapses copies of the same target scraped under extra labels
    latest = lambda metric: f"max {inst} (last_over_time({metric}{s()}[5m]))"  # noqa: E731
    return (
        RecordingRule(UP_SUM, f"sum {ctx.by()} (up{s()})"),
        RecordingRule(MEMBERS, f"count {ctx.by()} (up{s()})"),
        RecordingRule(HAS_LEADER, f"min {inst} (etcd_server_has_leader{s()})"),
        RecordingRule(LEADER_CHANGES, f"sum {inst} (rate(etcd_server_leader_changes_seen_total{s()}[5m]))"),
        # every member counts the same elections, so the cluster figure is the busiest member's, not the sum
        RecordingRule(LEADER_CHANGES_15M, f"max {ctx.by()} (avg_over_time({LEADER_CHANGES}[15m])) * 900"),
        # committed_total / applied_total are gauges (raft indexes) in spite of their names; they only grow
        RecordingRule(PROPOSALS_COMMITTED, f"sum {inst} (rate(etcd_server_proposals_committed_total{s()}[5m]))"),
        RecordingRule(PROPOSALS_FAILED, f"sum {inst} (rate(etcd_server_proposals_failed_total{s()}[5m]))"),
        RecordingRule(PROPOSALS_PENDING, f"max {inst} (etcd_server_proposals_pending{s()})"),
        RecordingRule(APPLY_GAP, f"max {inst} (etcd_server_proposals_committed_total{s()}"
                                 f" - etcd_server_proposals_applied_total{s()})"),
        # last_over_time rides over a missed scrape, as etcd's mixin does for the quota alerts
        RecordingRule(DB_SIZE, latest("etcd_mvcc_db_total_size_in_bytes")),
        RecordingRule(DB_IN_USE, latest("etcd_mvcc_db_total_size_in_use_in_bytes")),
        RecordingRule(QUOTA, latest("etcd_server_quota_backend_bytes")),
        RecordingRule(DB_QUOTA_RATIO, f"{DB_SIZE} / {QUOTA}"),
        RecordingRule(DB_IN_USE_RATIO, f"{DB_IN_USE} / {DB_SIZE}"),
        *COMMIT.rules(ctx, s()),
        *FSYNC.rules(ctx, s()),
        # summed over the peers (`To`): the raw series tell which link is slow when this one is high
        *RTT.rules(ctx, s()),
        # unary calls only: watch and lease-keepalive streams end with Unavailable whenever a client goes away
        RecordingRule(GRPC_RATE, f"sum {ctx.by('instance', 'grpc_code')} (rate(grpc_server_handled_total{unary}[5m]))"),
        RecordingRule(
            GRPC_ERR_RATIO,
            f"sum {inst} (rate(grpc_server_handled_total{errors}[5m]))"
            f" / sum {inst} (rate(grpc_server_started_total{unary}[5m]))",
        ),
        RecordingRule(CPU, f"sum {inst} (rate(process_cpu_seconds_total{s()}[5m]))"),
        RecordingRule(MEMORY, f"max {inst} (process_resident_memory_bytes{s()})"),
    )


def slow_rules(ctx: Context) -> tuple[RecordingRule, ...]:
    # an hour of elections from the recorded 5m rate, not from an hour of raw samples
    return (RecordingRule(LEADER_CHANGES_1H, f"max {ctx.by()} (avg_over_time({LEADER_CHANGES}[1h])) * 3600"),)


def grpc(ctx: Context, ok: float, failed: float, canceled: float = 0) -> dict[str, str]:
    """Unary Range calls per second: `ok` succeed, `failed` end Unavailable, `canceled` are given up by the client."""
    call = {"grpc_method": "Range", "grpc_service": "etcdserverpb.KV", "grpc_type": "unary", "instance": MEMBER}
    out = {
        ctx.series(SRC, "grpc_server_started_total", **call): counter(ok + failed + canceled),
        ctx.series(SRC, "grpc_server_handled_total", grpc_code="OK", **call): counter(ok),
        ctx.series(SRC, "grpc_server_handled_total", grpc_code="Unavailable", **call): counter(failed),
    }
    if canceled:
        out[ctx.series(SRC, "grpc_server_handled_total", grpc_code="Canceled", **call)] = counter(canceled)
    return out


def rule_tests(ctx: Context) -> tuple[RuleTest, ...]:
    m = lambda metric, **lb: ctx.series(SRC, metric, **{"instance": MEMBER, **lb})  # noqa: E731
    up = {ctx.series(SRC, "up", instance=f"10.0.0.{i}:2379"): float(i != 13) for i in (11, 12, 13)}
    watch = {"grpc_method": "Watch", "grpc_service": "etcdserverpb.Watch", "grpc_type": "bidi_stream"}
    streams = {  # a watch stream ending Unavailable is a client going away, no server error
        m("grpc_server_handled_total", grpc_code="Unavailable", **watch): counter(50),
        m("grpc_server_started_total", **watch): counter(50),
    }
    inst = {"instance": MEMBER}
    return (
        RuleTest(inputs=up, expr=UP_SUM, expected=(({}, 2),), note="members up"),
        RuleTest(inputs=up, expr=MEMBERS, expected=(({}, 3),), note="members scraped"),
        RuleTest(inputs={m("etcd_server_leader_changes_seen_total"): "0+1x{n}",
                         ctx.series(SRC, "etcd_server_leader_changes_seen_total", instance="10.0.0.12:2379"):
                         "0+0.5x{n}"},
                 expr=LEADER_CHANGES_15M, expected=(({}, 15),), eval_time="30m",
                 note="one election a minute seen by the busiest member"),
        RuleTest(inputs={m("etcd_server_proposals_failed_total"): counter(2)}, expr=PROPOSALS_FAILED,
                 expected=((inst, 2),)),
        RuleTest(inputs={m("etcd_server_proposals_committed_total"): 105000,
                         m("etcd_server_proposals_applied_total"): 100000},
                 expr=APPLY_GAP, expected=((inst, 5000),), note="committed but not yet applied"),
        RuleTest(inputs={m("etcd_mvcc_db_total_size_in_bytes"): 1073741824,
                         m("etcd_server_quota_backend_bytes"): 2147483648},
                 expr=DB_QUOTA_RATIO, expected=((inst, 0.5),)),
        RuleTest(inputs={m("etcd_mvcc_db_total_size_in_bytes"): 1073741824,
                         m("etcd_mvcc_db_total_size_in_use_in_bytes"): 268435456},
                 expr=DB_IN_USE_RATIO, expected=((inst, 0.25),)),
        RuleTest(inputs=ctx.histogram(SRC, "etcd_disk_backend_commit_duration_seconds", DISK_BUCKETS, 0.1, 20, **inst),
                 expr=COMMIT_Q, expected=(({**inst, **P99}, bucket_quantile(DISK_BUCKETS, 0.1, 0.99)),)),
        RuleTest(inputs=ctx.histogram(SRC, "etcd_disk_wal_fsync_duration_seconds", DISK_BUCKETS, 0.003, 20, **inst),
                 expr=FSYNC_Q, expected=(({**inst, **P99}, bucket_quantile(DISK_BUCKETS, 0.003, 0.99)),)),
        RuleTest(inputs=ctx.histogram(SRC, "etcd_network_peer_round_trip_time_seconds", RTT_BUCKETS, 0.01, 20, To=PEER,
                                       **inst),
                 expr=RTT_Q, expected=(({**inst, **P99}, bucket_quantile(RTT_BUCKETS, 0.01, 0.99)),)),
        RuleTest(inputs={**grpc(ctx, 97, 2, canceled=1), **streams}, expr=GRPC_ERR_RATIO, expected=((inst, 0.02),),
                 note="unary server errors over unary calls; Canceled and streams left out"),
        RuleTest(inputs={m("process_cpu_seconds_total"): counter(0.25)}, expr=CPU, expected=((inst, 0.25),)),
    )
