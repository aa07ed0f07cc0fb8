"""node-exporter on every node (job node-exporter, instance = node name as kube-prometheus relabels it).

CPU and memory follow the pods scheduled on the node. Knobs on the victim node: node.exporter_down,
node.cpu_busy, node.mem_pressure, node.fs_fill, node.inodes_fill, node.disk_io, node.net_errors,
node.kernel_limits (conntrack, file descriptors), node.clock; pod.oom counts kernel OOM kills on its node.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from generator.simulate.sources.base import Target, rate
from generator.simulate.topology import GIB, Node

if TYPE_CHECKING:
    from generator.simulate.world import World

MODES = (("user", 0.7), ("system", 0.25), ("iowait", 0.05))
FILESYSTEMS = (("/dev/nvme0n1p1", "ext4", "/", 100 * GIB, 6_553_600), ("tmpfs", "tmpfs", "/run", 2 * GIB, 500_000))
DEVICES = (("eth0", 1.0), ("lo", 0.2))
FD_MAX = 9223372036854775807
CONNTRACK_MAX = 262144


class NodeExporter:
    def __init__(self, w: World) -> None:
        self.nodes = [_Node(w, n) for n in w.topo.nodes]

    def tick(self, w: World) -> None:
        for node in self.nodes:
            node.tick(w)


class _Node:
    def __init__(self, w: World, node: Node) -> None:
        self.node, self.rng = node, w.rng
        self.victim = node is w.topo.victim_node()
        self.t = t = Target(w, "node-exporter", node.name)
        self.cpu = [{mode: t.counter("node_cpu_seconds_total", cpu=str(i), mode=mode)
                     for mode in ("idle", *(m for m, _ in MODES))} for i in range(node.cpus)]
        for per_cpu in self.cpu:  # uptime before the window: a week, mostly idle
            for mode, counter in per_cpu.items():
                counter.total = 604800 * (0.8 if mode == "idle" else 0.05)
        self.load = {k: t.gauge(f"node_load{k}") for k in ("1", "5", "15")}
        self.mem_total = t.gauge("node_memory_MemTotal_bytes")
        self.mem_available = t.gauge("node_memory_MemAvailable_bytes")
        self.fs = [({k: t.gauge(f"node_filesystem_{k}", device=dev, fstype=fstype, mountpoint=mount)
                     for k in ("size_bytes", "avail_bytes", "files", "files_free", "readonly")}, size, files)
                   for dev, fstype, mount, size, files in FILESYSTEMS]
        self.disk = {k: t.counter(f"node_disk_{k}_seconds_total", device="nvme0n1")
                     for k in ("io_time", "io_time_weighted")}
        self.net = [({k: t.counter(f"node_network_{k}_total", device=dev)
                      for k in ("receive_bytes", "transmit_bytes", "receive_packets", "transmit_packets",
                                "receive_errs", "transmit_errs", "receive_drop", "transmit_drop")}, share)
                    for dev, share in DEVICES]
        self.conntrack = t.gauge("node_nf_conntrack_entries")
        self.conntrack_limit = t.gauge("node_nf_conntrack_entries_limit")
        self.fd = t.gauge("node_filefd_allocated")
        self.fd_max = t.gauge("node_filefd_maximum")
        self.offset = t.gauge("node_timex_offset_seconds")
        self.maxerror = t.gauge("node_timex_maxerror_seconds")
        self.sync = t.gauge("node_timex_sync_status")
        self.textfile = t.gauge("node_textfile_scrape_error")
        # kernel counters without `_total` (vmstat): typed unknown, as node-exporter exposes them
        self.pgmajfault = t.counter("node_vmstat_pgmajfault")
        self.oom_kill = t.counter("node_vmstat_oom_kill")
        self.fs_used = 0.35 + 0.1 * self.rng.random()

    def tick(self, w: World) -> None:
        node, dt, rng, victim = self.node, w.dt, self.rng, self.victim
        if not self.t.alive(victim and w.knob("node.exporter_down")):
            return
        states = [w.state(p) for p in w.topo.pods_on(node.name)]
        busy = 0.3 + sum(s.cpu for s in states)
        if victim and w.knob("node.cpu_busy"):  # a runaway host process outside Kubernetes
            busy = node.cpus * 0.95
        busy = min(busy, node.cpus * 0.99)
        per_cpu = busy / node.cpus
        for counters in self.cpu:
            share = min(0.995, max(0.0, per_cpu * (1 + 0.05 * rng.gauss(0, 1))))
            counters["idle"].add((1 - share) * dt)
            for mode, part in MODES:
                counters[mode].add(share * part * dt)
        saturation = 3.0 if victim and w.knob("node.cpu_busy") else 1.0  # ~3 per core: noise never dips under 2
        for key, smooth in (("1", 0.1), ("5", 0.05), ("15", 0.02)):
            self.load[key].set(round(busy * saturation * (1 + smooth * rng.gauss(0, 1)), 2))
        used = 1.5 * GIB + sum(s.mem for s in states)
        if victim and w.knob("node.mem_pressure"):
            used = node.memory * (0.9 + 0.05 * w.progress)
        self.mem_total.set(node.memory)
        self.mem_available.set(round(max(node.memory - used, 0.02 * node.memory)))
        self._filesystems(w)
        io = 15.0 if victim and w.knob("node.disk_io") else 0.1 * w.load
        self.disk["io_time"].add(min(0.99, 0.05 + io / 20) * dt)
        self.disk["io_time_weighted"].add(io * dt)
        errors = 0.03 if victim and w.knob("node.net_errors") else 0.0
        rx = sum(s.rx for s in states) + 5e4
        tx = sum(s.tx for s in states) + 5e4
        for counters, share in self.net:
            counters["receive_bytes"].add_int(rx * share * dt)
            counters["transmit_bytes"].add_int(tx * share * dt)
            counters["receive_packets"].add_int(rx * share / 800 * dt)
            counters["transmit_packets"].add_int(tx * share / 900 * dt)
            counters["receive_errs"].add_int(rx * share / 800 * dt * errors)
            counters["transmit_errs"].add_int(tx * share / 900 * dt * errors)
            counters["receive_drop"].add_int(0)
            counters["transmit_drop"].add_int(0)
        limits = victim and w.knob("node.kernel_limits")
        self.conntrack_limit.set(CONNTRACK_MAX)
        self.conntrack.set(round(CONNTRACK_MAX * 0.95) if limits else 4000 + rng.randrange(2000))
        self.fd_max.set(FD_MAX if not limits else 1048576)
        self.fd.set(round(1048576 * 0.85) if limits else 3000 + rng.randrange(500))
        clock = victim and w.knob("node.clock")
        self.offset.set(0.05 + 0.2 * w.progress if clock else round(rng.gauss(0, 0.0003), 6))
        self.maxerror.set(16.0 if clock else 0.1)
        self.sync.set(0 if clock else 1)
        self.textfile.set(1 if clock else 0)
        self.pgmajfault.add(rate(rng, 800.0 if victim and w.knob("node.mem_pressure") else 2.0, dt))
        kills = sum(1 for s in states if s.oom_killed)
        self.oom_kill.add(kills)

    def _filesystems(self, w: World) -> None:
        hours = (w.t - w.settings.start) / 3600.0
        for gauges, size, files in self.fs:
            root = gauges is self.fs[0][0]
            used = self.fs_used + 0.002 * math.sin(hours) if root else 0.01
            inodes = 0.1 if root else 0.001
            if root and self.victim and w.knob("node.fs_fill"):
                used = used + (0.98 - used) * w.progress
            if root and self.victim and w.knob("node.inodes_fill"):
                inodes = inodes + (0.985 - inodes) * w.progress
            gauges["size_bytes"].set(size)
            gauges["avail_bytes"].set(round(size * (1 - used)))
            gauges["files"].set(files)
            gauges["files_free"].set(round(files * (1 - inodes)))
            gauges["readonly"].set(0)
