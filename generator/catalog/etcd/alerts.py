"""etcd alerts, after etcd's own mixin (etcd-io/etcd contrib/mixin), on the recorded series of `rules`."""

from __future__ import annotations

from generator import buckets
from generator.catalog import targets
from generator.catalog.etcd import names as n
from generator.catalog.etcd.rules import grpc
from generator.catalog.helpers import counter, gauge_ramp, quantile_cases
from generator.context import Context
from generator.model import Alert, Case
from generator.promql import fmt_number

GIB = 1024**3
MIB = 1024**2
QUOTA = 2 * GIB  # etcd's default --quota-backend-bytes
FRAGMENTATION_FLOOR = 100 * MIB  # below this, a fragmented database is not worth a defrag (mixin)
GRPC_BUCKETS = buckets.ETCD_GRPC


def alerts(ctx: Context) -> tuple[Alert, ...]:
    return (*_availability(ctx), *_raft(ctx), *_database(ctx), *_latency(ctx), *_grpc(ctx))


def _m(ctx: Context, metric: str, **labels: str) -> str:
    return ctx.series(n.SRC, metric, **{"instance": n.MEMBER, **labels})


def _availability(ctx: Context) -> tuple[Alert, ...]:
    c = ctx.cluster
    up = lambda *values: {ctx.series(n.SRC, "up", instance=f"10.0.0.{11 + i}:2379"): v  # noqa: E731
                          for i, v in enumerate(values)}
    leader = lambda v: {_m(ctx, "etcd_server_has_leader"): v}  # noqa: E731
    changes = ctx.threshold("EtcdHighNumberOfLeaderChanges", 4)
    peer_fail = ctx.threshold("EtcdMembersDown", 0.01)  # failed peer sends per second
    peers = lambda rate: {_m(ctx, "etcd_network_peer_sent_failures_total", To=n.PEER): counter(rate)}  # noqa: E731
    elections = lambda per_15m: {_m(ctx, "etcd_server_leader_changes_seen_total"): counter(per_15m / 900)}  # noqa: E731
    return (
        Alert(
            name="EtcdMembersDown",
            down=True,
            expr=f"({n.MEMBERS} - {n.UP_SUM} > 0) or (count {ctx.by()} (sum {ctx.by('instance')} "
                 f"(rate(etcd_network_peer_sent_failures_total{ctx.sel(n.SRC)}[5m])) > {fmt_number(peer_fail)}))"
                 f" or {targets.vanished(ctx, n.SRC)}",
            for_="10m",
            severity="critical",
            summary="etcd cluster members are down, cut off from their peers, or gone from discovery.",
            description="{{ $value }} etcd member(s) of cluster {{ $labels." + c + " }} are down, unreachable or "
                        "failing to reach their peers.",
            cases=(Case(up(1, 0, 1), fires=True, value=1), Case(up(1, 1, 1), fires=False),
                   Case({**up(1, 1, 1), **peers(1)}, fires=True, value=1,
                        note="all scraped, one member fails to send to a peer"),
                   Case({**up(1, 1, 1), **peers(peer_fail / 10)}, fires=False, note="a rare failed send"),
                   *targets.vanished_cases(ctx, n.SRC, up(1, 1, 1), value=1)),
            meaning="Prometheus cannot scrape at least one etcd member, or a member fails to send raft messages to "
                    "a peer (a partition Prometheus itself may not see)." + targets.VANISHED_MEANING,
            impact="The cluster still has quorum but less (or no) tolerance for another failure.",
            diagnosis=(f"up{ctx.sel(n.SRC)} == 0", n.HAS_LEADER,
                       f"sum by (instance, To) (rate(etcd_network_peer_sent_failures_total{ctx.sel(n.SRC)}[5m]))"),
            mitigation=("Check the etcd static pod on the member's control-plane node (`crictl ps -a | grep etcd`, "
                        "its logs) and the node itself.",
                        "If only the scrape fails, check the client certificates and the metrics port (2379/2381).",
                        "Peer send failures: check the peer port (2380) between control-plane nodes.",
                        targets.VANISHED_MITIGATION),
        ),
        Alert(
            name="EtcdInsufficientMembers",
            expr=f"{n.UP_SUM} < ({n.MEMBERS} + 1) / 2",
            for_="3m",
            severity="critical",
            summary="etcd cluster has lost quorum.",
            description="Only {{ $value }} etcd member(s) of cluster {{ $labels." + c + " }} are up: "
                        "fewer than a quorum.",
            cases=(Case(up(1, 0, 0), fires=True, value=1), Case(up(1, 0, 1), fires=False)),
            meaning="Fewer than a majority of the etcd members are up.",
            impact="etcd refuses writes and linearizable reads: the Kubernetes API stops working.",
            diagnosis=(f"up{ctx.sel(n.SRC)}", n.HAS_LEADER),
            mitigation=("Bring members back (restart the etcd static pods, fix their nodes or disks).",
                        "If a majority is lost for good, restore from a snapshot (`etcdutl snapshot restore`)."),
        ),
        Alert(
            name="EtcdNoLeader",
            expr=f"{n.HAS_LEADER} == 0",
            for_="1m",
            severity="critical",
            summary="An etcd member has no leader.",
            description="etcd member {{ $labels.instance }} of cluster {{ $labels." + c + " }} has no leader.",
            cases=(Case(leader(0), fires=True, labels={"instance": n.MEMBER}), Case(leader(1), fires=False)),
            meaning="The member does not know a raft leader: an election is running or it is cut off from its peers.",
            impact="The member serves no writes and no linearizable reads; API servers using it fail requests.",
            diagnosis=(n.HAS_LEADER, n.LEADER_CHANGES_15M, f'{n.RTT_Q}{{quantile="0.99"}}'),
            mitigation=("Check network connectivity between the control-plane nodes on the peer port (2380).",
                        "Check disk latency (WAL fsync): a member too slow to heartbeat loses its leader."),
        ),
        Alert(
            name="EtcdHighNumberOfLeaderChanges",
            expr=f"{n.LEADER_CHANGES_15M} >= {fmt_number(changes)}",
            for_="5m",
            severity="warning",
            threshold=changes,
            summary="etcd cluster has a high number of leader changes.",
            description="{{ $value | humanize }} etcd leader changes in cluster {{ $labels." + c
                        + " }} within the last 15 minutes.",
            cases=(Case(elections(2 * changes), fires=True, value=2 * changes, lookback="20m"),
                   Case(elections(changes / 2), fires=False, lookback="20m")),
            meaning="The raft leader moved between members several times in 15 minutes.",
            impact="Each election pauses writes; frequent ones show as API server latency spikes and errors.",
            diagnosis=(n.LEADER_CHANGES_1H, f'{n.FSYNC_Q}{{quantile="0.99"}}', f'{n.RTT_Q}{{quantile="0.99"}}',
                       n.CPU),
            mitigation=("Look for slow disks (WAL fsync), CPU starvation or network trouble between members.",
                        "Raise --heartbeat-interval / --election-timeout only if peers are far apart."),
        ),
    )


def _raft(ctx: Context) -> tuple[Alert, ...]:
    c = ctx.cluster
    failed = ctx.threshold("EtcdHighNumberOfFailedProposals", 5)
    pending = ctx.threshold("EtcdProposalsPendingHigh", 100)
    # etcd rejects new requests ("too many requests") once the gap passes 5000; warn at half of that
    gap = ctx.threshold("EtcdCommitApplyGapHigh", 2500)
    inst = {"instance": n.MEMBER}
    applied = lambda behind: {_m(ctx, "etcd_server_proposals_committed_total"): 100000 + behind,  # noqa: E731
                              _m(ctx, "etcd_server_proposals_applied_total"): 100000}
    return (
        Alert(
            name="EtcdHighNumberOfFailedProposals",
            expr=f"{n.PROPOSALS_FAILED} > {fmt_number(failed)}",
            for_="15m",
            severity="warning",
            threshold=failed,
            summary="etcd member has a high number of proposal failures.",
            description="etcd member {{ $labels.instance }} of cluster {{ $labels." + c
                        + " }} fails {{ $value | humanize }} raft proposals per second.",
            cases=(Case({_m(ctx, "etcd_server_proposals_failed_total"): counter(2 * failed)}, fires=True, lookback="3m",
                        labels=inst, value=2 * failed),
                   Case({_m(ctx, "etcd_server_proposals_failed_total"): counter(failed / 2)}, fires=False,
                        lookback="3m")),
            meaning="Raft proposals fail, usually because of leader elections or a member losing quorum.",
            impact="Writes to the Kubernetes API fail or are retried.",
            diagnosis=(n.PROPOSALS_FAILED, n.LEADER_CHANGES_15M, n.HAS_LEADER),
            mitigation=("Find why leadership is unstable (see EtcdHighNumberOfLeaderChanges).",),
        ),
        Alert(
            name="EtcdProposalsPendingHigh",
            expr=f"{n.PROPOSALS_PENDING} > {fmt_number(pending)}",
            for_="15m",
            severity="warning",
            threshold=pending,
            summary="etcd member has many proposals waiting to commit.",
            description="etcd member {{ $labels.instance }} of cluster {{ $labels." + c
                        + " }} has {{ $value | humanize }} raft proposals pending.",
            cases=(Case({_m(ctx, "etcd_server_proposals_pending"): 2 * pending}, fires=True, labels=inst,
                        value=2 * pending),
                   Case({_m(ctx, "etcd_server_proposals_pending"): pending / 2}, fires=False)),
            meaning="Proposals queue up faster than the cluster commits them.",
            impact="Write latency grows for every API request that touches etcd.",
            diagnosis=(n.PROPOSALS_PENDING, n.PROPOSALS_COMMITTED, f'{n.FSYNC_Q}{{quantile="0.99"}}',
                       f'{n.RTT_Q}{{quantile="0.99"}}'),
            mitigation=("Check disk (fsync, commit) and peer latency; find the clients writing heavily "
                        "(apiserver_storage_objects, events).",),
        ),
        Alert(
            name="EtcdCommitApplyGapHigh",
            expr=f"{n.APPLY_GAP} > {fmt_number(gap)}",
            for_="10m",
            severity="warning",
            threshold=gap,
            summary="etcd member applies committed entries too slowly.",
            description="etcd member {{ $labels.instance }} of cluster {{ $labels." + c
                        + " }} is {{ $value | humanize }} committed entries behind in applying them.",
            cases=(Case(applied(2 * gap), fires=True, labels=inst, value=2 * gap),
                   Case(applied(gap / 2), fires=False)),
            meaning="Entries are committed by raft but the member's state machine lags in applying them.",
            impact="Reads on the member are stale or wait; past 5000 etcd rejects requests as 'too many requests'.",
            diagnosis=(n.APPLY_GAP, f'{n.COMMIT_Q}{{quantile="0.99"}}', n.CPU),
            mitigation=("Look for expensive requests (large ranges, big transactions) and a slow backend disk.",
                        "Give the member more CPU; defragment a large, fragmented database."),
        ),
    )


def _database(ctx: Context) -> tuple[Alert, ...]:
    c = ctx.cluster
    low = ctx.threshold("EtcdDatabaseQuotaLowSpace", 0.95)
    filling = ctx.threshold("EtcdDatabaseQuotaFillingUp", 0.8)
    frag = ctx.threshold("EtcdDatabaseHighFragmentation", 0.5)
    inst = {"instance": n.MEMBER}
    size = lambda ratio: {_m(ctx, "etcd_mvcc_db_total_size_in_bytes"): round(QUOTA * ratio),  # noqa: E731
                          _m(ctx, "etcd_server_quota_backend_bytes"): QUOTA}
    in_use = 4 * FRAGMENTATION_FLOOR
    used = lambda ratio: {_m(ctx, "etcd_mvcc_db_total_size_in_bytes"): round(in_use / ratio),  # noqa: E731
                          _m(ctx, "etcd_mvcc_db_total_size_in_use_in_bytes"): in_use}
    growth = lambda per_minute: {  # noqa: E731 - from a fifth of the quota, growing linearly
        _m(ctx, "etcd_mvcc_db_total_size_in_bytes"): gauge_ramp(QUOTA // 5, per_minute),
        _m(ctx, "etcd_server_quota_backend_bytes"): QUOTA}
    quota_notes = dict(
        impact="At the quota etcd raises a NOSPACE alarm and accepts only reads and deletes: the cluster freezes.",
        diagnosis=(n.DB_QUOTA_RATIO, n.DB_IN_USE_RATIO, n.DB_SIZE),
        mitigation=("Compact and defragment (`etcdctl defrag`, one member at a time), then `etcdctl alarm disarm` "
                    "if the alarm fired.", "Find what fills etcd (events, large ConfigMaps/Secrets, CRDs) or "
                    "raise --quota-backend-bytes (at most 8 GiB recommended)."),
    )
    return (
        Alert(
            name="EtcdDatabaseQuotaLowSpace",
            expr=f"{n.DB_QUOTA_RATIO} > {fmt_number(low)}",
            for_="10m",
            severity="critical",
            threshold=low,
            summary="etcd database is about to reach its quota.",
            description="etcd member {{ $labels.instance }} of cluster {{ $labels." + c
                        + " }} uses {{ $value | humanizePercentage }} of its database quota.",
            cases=(Case(size((1 + low) / 2), fires=True, labels=inst, value=(1 + low) / 2),
                   Case(size(low / 2), fires=False)),
            meaning="The database file is close to --quota-backend-bytes.",
            **quota_notes,
        ),
        Alert(
            name="EtcdDatabaseQuotaFillingUp",
            expr=f"{n.DB_QUOTA_RATIO} > {fmt_number(filling)}",
            for_="10m",
            severity="warning",
            threshold=filling,
            summary="etcd database is filling its quota.",
            description="etcd member {{ $labels.instance }} of cluster {{ $labels." + c
                        + " }} uses {{ $value | humanizePercentage }} of its database quota.",
            cases=(Case(size((1 + filling) / 2), fires=True, labels=inst, value=(1 + filling) / 2),
                   Case(size(filling / 2), fires=False)),
            meaning="The database file uses a large share of --quota-backend-bytes.",
            **quota_notes,
        ),
        Alert(
            name="EtcdExcessiveDatabaseGrowth",
            expr=f"predict_linear({n.DB_SIZE}[4h], 4 * 3600) > {n.QUOTA}",
            for_="10m",
            severity="warning",
            summary="etcd database grows fast enough to reach its quota within four hours.",
            description="At the growth of the last four hours, the database of etcd member {{ $labels.instance }} "
                        "in cluster {{ $labels." + c + " }} reaches its quota within four hours.",
            # a straight line has the same slope over 30 minutes as over 4 hours, and promtool runs 8x faster
            cases=(Case(growth(QUOTA // 240), fires=True, labels=inst, lookback="30m"),
                   Case(growth(QUOTA // 2400), fires=False, lookback="30m")),
            meaning="A linear prediction from the last four hours puts the database above the quota in four hours.",
            impact="When it gets there, etcd stops accepting writes.",
            # apiserver_resource_objects since Kubernetes 1.34 (apiserver_storage_objects before)
            diagnosis=(n.DB_SIZE, n.DB_IN_USE, "topk(10, max by (group, resource) (apiserver_resource_objects))"),
            mitigation=("Find the writer (an operator creating objects in a loop, event floods) and stop it.",
                        "Check that compaction runs (the API server compacts every 5 minutes by default)."),
        ),
        Alert(
            name="EtcdDatabaseHighFragmentation",
            expr=f"{n.DB_IN_USE_RATIO} < {fmt_number(frag)} and {n.DB_IN_USE} > {FRAGMENTATION_FLOOR}",
            for_="10m",
            severity="warning",
            threshold=frag,
            summary="etcd database is highly fragmented.",
            description="etcd member {{ $labels.instance }} of cluster {{ $labels." + c
                        + " }} uses only {{ $value | humanizePercentage }} of its database file.",
            cases=(Case(used(frag / 2), fires=True, labels=inst, value=frag / 2),
                   Case(used((1 + frag) / 2), fires=False)),
            meaning="Most of the database file is free pages left by compaction.",
            impact="Disk space and quota are wasted; the quota can be hit while little data is stored.",
            diagnosis=(n.DB_IN_USE_RATIO, n.DB_SIZE, n.DB_IN_USE),
            mitigation=("Defragment each member in turn (`etcdctl defrag --endpoints=<member>`); defrag blocks the "
                        "member while it runs.",),
        ),
    )


def _latency(ctx: Context) -> tuple[Alert, ...]:
    c = ctx.cluster
    out = []
    specs = (
        ("EtcdHighCommitDurations", n.COMMIT_Q, "etcd_disk_backend_commit_duration_seconds", n.DISK_BUCKETS, 0.25,
         "warning", "backend commit", {}),
        ("EtcdHighFsyncDurations", n.FSYNC_Q, "etcd_disk_wal_fsync_duration_seconds", n.DISK_BUCKETS, 0.5,
         "warning", "WAL fsync", {}),
        ("EtcdHighFsyncDurationsCritical", n.FSYNC_Q, "etcd_disk_wal_fsync_duration_seconds", n.DISK_BUCKETS, 1.0,
         "critical", "WAL fsync", {}),
        ("EtcdPeerRoundTripSlow", n.RTT_Q, "etcd_network_peer_round_trip_time_seconds", n.RTT_BUCKETS, 0.15,
         "warning", "peer round-trip", {"To": n.PEER}),
    )
    for name, record, metric, bounds, default, severity, what, extra in specs:
        t = ctx.threshold(name, default)
        picked = quantile_cases(ctx, name, bounds, t)
        disk = what != "peer round-trip"
        out.append(Alert(
            name=name,
            expr=f'{record}{{quantile="0.99"}} > {fmt_number(t)}',
            for_="10m",
            severity=severity,
            threshold=t,
            summary=f"etcd {what} latency is high.",
            description=f"99th percentile {what} latency of etcd member {{{{ $labels.instance }}}} in cluster "
                        f"{{{{ $labels.{c} }}}} is {{{{ $value | humanizeDuration }}}}.",
            cases=(Case(ctx.histogram(n.SRC, metric, bounds, picked.fire, 20, instance=n.MEMBER, **extra), fires=True,
                        labels={"instance": n.MEMBER, **n.P99}, value=picked.value),
                   Case(ctx.histogram(n.SRC, metric, bounds, picked.quiet, 20, instance=n.MEMBER, **extra),
                        fires=False)),
            meaning=(f"The member's 99th percentile {what} time is above {fmt_number(t)}s"
                     + (": its disk is slow." if disk else ": the network between members is slow.")),
            impact="Raft commits wait for it: API writes slow down, and heartbeats late enough cause elections.",
            diagnosis=(f'{record}{{quantile="0.99"}}', n.LEADER_CHANGES_15M)
            + ((f"histogram_quantile(0.99, sum by (instance, To, le) (rate({metric}_bucket{ctx.sel(n.SRC)}[5m])))",)
               if not disk else ()),
            mitigation=(("Put etcd's data dir on a dedicated low-latency SSD; check noisy neighbours on the disk "
                         "(node_disk_io_time_seconds_total).", "Check the member is not CPU-throttled.")
                        if disk else ("Check the network path between the control-plane nodes (packet loss, "
                                      "saturated links); keep members in one region.",)),
        ))
    return tuple(out)


def _grpc(ctx: Context) -> tuple[Alert, ...]:
    c = ctx.cluster
    unary = ctx.sel(n.SRC, 'grpc_type="unary"')
    slow_t = ctx.threshold("EtcdGRPCRequestsSlow", 0.15)
    slow = quantile_cases(ctx, "EtcdGRPCRequestsSlow", GRPC_BUCKETS, slow_t)
    handling = lambda seconds, method="Range": ctx.histogram(  # noqa: E731
        n.SRC, "grpc_server_handling_seconds", GRPC_BUCKETS, seconds, 10, instance=n.MEMBER, grpc_method=method,
        grpc_service="etcdserverpb.KV", grpc_type="unary")
    by = ctx.by("instance", "grpc_service", "grpc_method", "le")
    slow_sel = ctx.sel(n.SRC, 'grpc_type="unary"', 'grpc_method!="Defragment"')
    out = [Alert(
        name="EtcdGRPCRequestsSlow",
        expr=f"histogram_quantile(0.99, sum {by} (rate(grpc_server_handling_seconds_bucket{slow_sel}[5m]))) > "
             f"{fmt_number(slow_t)}",
        for_="10m",
        severity="critical",
        threshold=slow_t,
        summary="etcd answers gRPC requests slowly.",
        description="99th percentile of {{ $labels.grpc_method }} requests to etcd member {{ $labels.instance }} "
                    "in cluster {{ $labels." + c + " }} takes {{ $value | humanizeDuration }}.",
        cases=(Case(handling(slow.fire), fires=True, labels={"instance": n.MEMBER, "grpc_method": "Range",
                                                            "grpc_service": "etcdserverpb.KV"}, value=slow.value),
               Case(handling(slow.quiet), fires=False),
               Case(handling(slow.fire, "Defragment"), fires=False, note="defragmentation is slow by nature")),
        meaning="The member's server-side handling time of unary requests (Range, Txn, Put...) is high. Needs "
                "etcd's --metrics=extensive (grpc_server_handling_seconds); without it the alert has no series.",
        impact="Every API server request that reads or writes etcd waits that long.",
        diagnosis=(f"histogram_quantile(0.99, sum by (instance, grpc_method, le) "
                   f"(rate(grpc_server_handling_seconds_bucket{slow_sel}[5m])))", f'{n.FSYNC_Q}{{quantile="0.99"}}'),
        mitigation=("Slow disk (fsync) or a large database are the usual causes: see the fsync and commit "
                    "durations; defragment a fragmented database.",),
    )]
    for name, default, severity, for_ in (("EtcdHighGRPCErrorRatio", 0.01, "warning", "10m"),
                                          ("EtcdGRPCErrorRatioCritical", 0.05, "critical", "5m")):
        t = ctx.threshold(name, default)
        out.append(Alert(
            name=name,
            expr=f"{n.GRPC_ERR_RATIO} > {fmt_number(t)}",
            for_=for_,
            severity=severity,
            threshold=t,
            summary="etcd fails a high share of gRPC requests.",
            description="{{ $value | humanizePercentage }} of unary gRPC requests to etcd member "
                        "{{ $labels.instance }} in cluster {{ $labels." + c + " }} fail.",
            cases=(Case(grpc(ctx, 100 * (1 - 2 * t), 100 * 2 * t), fires=True, labels={"instance": n.MEMBER},
                        value=2 * t),
                   Case(grpc(ctx, 100 * (1 - t / 2), 100 * t / 2), fires=False)),
            meaning="The member answers a share of unary requests (Range, Txn, Put...) with a server-side error code.",
            impact="API server requests fail or are retried.",
            diagnosis=(f"sum by (grpc_code) ({n.GRPC_RATE})",
                       f"sum by (instance, grpc_method, grpc_code) (rate(grpc_server_handled_total{unary}[5m]))",
                       n.HAS_LEADER),
            mitigation=("Unavailable or DeadlineExceeded with leader changes: fix leadership first.",
                        "ResourceExhausted: the database quota or request limits are hit."),
        ))
    return tuple(out)
