"""etcd (job kube-etcd): an external 3-member cluster. Backend commit latency follows the storage shock that
kube-apiserver's request latency follows too (a planted relation).

Knobs: etcd.leaderless, etcd.members_down (count), etcd.db_fill, etcd.disk_slow (also slow gRPC handling),
etcd.network (also failed peer sends).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from generator import buckets
from generator.simulate.sources.base import Latency, Process, Target, rate

if TYPE_CHECKING:
    from generator.simulate.world import World

QUOTA = 2 * 1024**3  # etcd's default --quota-backend-bytes
UNARY = (("etcdserverpb.KV", "Range", 30.0), ("etcdserverpb.KV", "Txn", 8.0), ("etcdserverpb.Lease", "LeaseGrant", 0.2))
STREAM = (("etcdserverpb.Watch", "Watch"), ("etcdserverpb.Lease", "LeaseKeepAlive"))
ERROR_CODES = ("Unavailable", "DeadlineExceeded")


def commit_median(w: World) -> float:
    """Median backend commit time: the storage shock, or a slow disk."""
    if w.knob("etcd.disk_slow"):
        return 0.15
    strength = 0.45 if w.congested else 0.35
    return 0.006 * math.exp(strength * w.storage.z)


class Etcd:
    def __init__(self, w: World) -> None:
        rng = w.rng
        self.members = []
        ids = [f"{rng.getrandbits(64):016x}" for _ in w.topo.etcd]
        for i, instance in enumerate(w.topo.etcd):
            t = Target(w, "kube-etcd", instance)
            m = {
                "target": t,
                "process": Process(t),
                "has_leader": t.gauge("etcd_server_has_leader"),
                "leader_changes": t.counter("etcd_server_leader_changes_seen_total"),
                "committed": t.counter("etcd_server_proposals_committed_total"),
                "applied": t.counter("etcd_server_proposals_applied_total"),
                "failed": t.counter("etcd_server_proposals_failed_total"),
                "pending": t.gauge("etcd_server_proposals_pending"),
                "db_size": t.gauge("etcd_mvcc_db_total_size_in_bytes"),
                "db_in_use": t.gauge("etcd_mvcc_db_total_size_in_use_in_bytes"),
                "quota": t.gauge("etcd_server_quota_backend_bytes"),
                "commit": Latency(t.histogram("etcd_disk_backend_commit_duration_seconds", buckets.ETCD_DISK), rng),
                "fsync": Latency(t.histogram("etcd_disk_wal_fsync_duration_seconds", buckets.ETCD_DISK), rng),
                "rtt": [Latency(t.histogram("etcd_network_peer_round_trip_time_seconds", buckets.ETCD_PEER_RTT,
                                            To=peer), rng) for j, peer in enumerate(ids) if j != i],
                "sent_failures": [t.counter("etcd_network_peer_sent_failures_total", To=peer)
                                  for j, peer in enumerate(ids) if j != i],
                # server-side handling time of unary calls (etcd --metrics=extensive), DefBuckets
                "handling": {(svc, meth): Latency(t.histogram("grpc_server_handling_seconds", buckets.ETCD_GRPC,
                                                              grpc_method=meth, grpc_service=svc, grpc_type="unary"),
                                                  rng) for svc, meth, _ in UNARY},
                "started": {(svc, meth): t.counter("grpc_server_started_total", grpc_method=meth, grpc_service=svc,
                                                   grpc_type="unary") for svc, meth, _ in UNARY},
                "handled": {(svc, meth, code): t.counter("grpc_server_handled_total", grpc_code=code, grpc_method=meth,
                                                         grpc_service=svc, grpc_type="unary")
                            for svc, meth, _ in UNARY for code in ("OK", *ERROR_CODES)},
                "streams": [t.counter("grpc_server_started_total", grpc_method=meth, grpc_service=svc,
                                      grpc_type="bidi_stream") for svc, meth in STREAM],
                "own": rng.gauss(0, 0.05),
            }
            m["leader_changes"].total = 1.0 + i  # elections seen since the members started
            m["committed"].total = m["applied"].total = 4.0e6 + rng.randrange(1000)
            self.members.append(m)
        self.db_base = 180e6 + rng.random() * 40e6

    def tick(self, w: World) -> None:
        dt, rng = w.dt, w.rng
        down = int(w.knob("etcd.members_down"))
        leaderless = w.knob("etcd.leaderless") or down >= 2
        commit = commit_median(w)
        writes = 20.0 * w.load
        for i, m in enumerate(self.members):
            if not m["target"].alive(i >= len(self.members) - down):
                continue
            m["has_leader"].set(0 if leaderless else 1)
            m["leader_changes"].add(1 if w.knob("etcd.leaderless") and w.due(60, 10) else 0)
            failed = 8.0 if leaderless else 0.0
            m["failed"].add(rate(rng, failed, dt))
            committed = 0.0 if leaderless else writes
            m["committed"].add_int(rate(rng, committed, dt))
            gap = 3000.0 if w.knob("etcd.disk_slow") and w.elapsed > 60 else float(rng.randrange(3))
            m["applied"].total = max(m["applied"].total, m["committed"].total - gap)
            m["applied"].add_int(0)
            m["pending"].set(150 if w.knob("etcd.disk_slow") else rng.randrange(3))
            self._db(w, m)
            m["commit"].observe(dt, writes, commit * math.exp(m["own"]), 0.5)
            fsync = 0.5 if w.knob("etcd.disk_slow") else 0.003 * math.exp(0.2 * w.storage.z + m["own"])
            m["fsync"].observe(dt, writes * 1.5, fsync, 0.5)
            rtt = 0.1 if w.knob("etcd.network") else 0.002
            for peer in m["rtt"]:
                peer.observe(dt, 0.5, rtt, 0.4)
            for failures in m["sent_failures"]:  # raft messages to a peer that could not be sent
                failures.add(rate(rng, 0.2, dt) if w.knob("etcd.network") else 0.0)
            handling = 0.4 if w.knob("etcd.disk_slow") else 0.002 * math.exp(0.2 * w.storage.z)
            for (svc, meth, base) in UNARY:
                m["handling"][(svc, meth)].observe(dt, base * w.load / len(self.members), handling, 0.5)
            error_share = 0.08 if w.knob("etcd.network") else 0.0
            for (svc, meth, base) in UNARY:
                n = rate(rng, base * w.load / len(self.members), dt)
                m["started"][(svc, meth)].add_int(n)
                m["handled"][(svc, meth, "OK")].add_int(n * (1 - error_share))
                for code in ERROR_CODES:
                    m["handled"][(svc, meth, code)].add_int(n * error_share / len(ERROR_CODES))
            for stream in m["streams"]:
                stream.add_int(rate(rng, 0.05, dt))
            m["process"].tick(dt, 0.15 * w.load * math.exp(0.2 * w.storage.z), 350e6 + 2 * self.db_base / 10)

    def _db(self, w: World, m: dict) -> None:
        # slow growth with periodic compaction dips; a fill scenario ramps toward the quota, fragmented
        size = self.db_base * (1.0 + 0.02 * ((w.t / 3600.0) % 6.0) / 6.0)
        in_use = size * 0.82
        if w.knob("etcd.db_fill"):
            size = size + (0.97 * QUOTA - size) * w.progress
            in_use = size * 0.45
        m["db_size"].set(round(size))
        m["db_in_use"].set(round(in_use))
        m["quota"].set(QUOTA)
