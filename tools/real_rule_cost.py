"""Rule evaluation cost per group on real `/metrics` captures, not on the simulator.

    python tools/real_rule_cost.py --captures ../shared/real-metrics/captures [--rounds 8]

Each capture (`<component>__….prom`, text format) is served on 127.0.0.1 and scraped every 15 s under the job and
metrics_path the default selectors expect, with cluster="real"; the default site's rules and alerts run on one
Prometheus with every group at 15 s, as `make bench` runs them (bench/bench_rule_eval.py), and each group's
evaluationTime (its minimum over `--rounds`) is scaled back to its generated interval. Prints the cost per minute,
the largest group's share, and what the per-pod groups would cost at one minute. The captures stay where they are:
nothing of them is copied into the project. Counters do not move between scrapes (the same file is served), which
changes rates' values, not the series a rule reads.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import bench_rule_eval as bench  # noqa: E402
from generator import pipeline  # noqa: E402
from generator.build import build, site  # noqa: E402
from generator.config import load  # noqa: E402
from generator.render import rulefiles  # noqa: E402
from generator.simulate.prometheus import Prometheus, free_port  # noqa: E402

# capture name prefix -> (job, metrics_path) as the default selectors (generator.config.DEFAULT_SELECTORS) read them
JOBS = {"kube-apiserver": ("apiserver", "/metrics"), "kube-controller-manager": ("kube-controller-manager", "/metrics"),
        "kube-scheduler": ("kube-scheduler", "/metrics"), "etcd": ("kube-etcd", "/metrics"),
        "kube-state-metrics": ("kube-state-metrics", "/metrics"),
        "kubelet-cadvisor": ("kubelet", "/metrics/cadvisor"), "kubelet__": ("kubelet", "/metrics"),
        "kube-proxy": ("kube-proxy", "/metrics"), "coredns": ("coredns", "/metrics"),
        "node-exporter": ("node-exporter", "/metrics")}


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def _scrape(captures: Path, port: int) -> list[dict[str, Any]]:
    out = []
    for path in sorted(captures.glob("*.prom")):
        key = next((k for k in JOBS if path.name.startswith(k)), None)
        if key is None:
            continue
        job, metrics_path = JOBS[key]
        out.append({"job_name": f"{job}-{key}", "scrape_interval": "15s", "metrics_path": f"/{path.name}",
                    "static_configs": [{"targets": [f"127.0.0.1:{port}"], "labels": {"cluster": "real"}}],
                    "relabel_configs": [{"target_label": "job", "replacement": job},
                                        {"target_label": "metrics_path", "replacement": metrics_path},
                                        {"target_label": "instance", "replacement": f"10.0.0.1:{key}"}]})
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--captures", type=Path, required=True, help="directory of text-format /metrics captures")
    p.add_argument("--rounds", type=int, default=8)
    args = p.parse_args(argv)
    config = load(None)
    per_pod = {name for comp in site(config, build(config)) if comp.per_pod
               for name in rulefiles.recording_groups(comp)}
    handler = functools.partial(_Quiet, directory=str(args.captures))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with tempfile.TemporaryDirectory(prefix="stereo-real-cost-") as tmp:
        work = Path(tmp)
        (work / "logs").mkdir()
        intervals = bench._write_set(pipeline.generate(config), work / "set")
        prom = Prometheus(work / "prom", [], work / "prom" / "data", evaluation_interval=bench.EVAL_INTERVAL)
        prom.configure([str(work / "set" / "rules" / "*.yaml"), str(work / "set" / "alerts" / "*.yaml")],
                       bench.EVAL_INTERVAL, _scrape(args.captures, server.server_address[1]))
        prom.start()
        try:
            time.sleep(45)  # three scrapes first: a rate over one sample reads the series but computes nothing
            prom.wait_for_rounds(2, timeout=600)
            series = prom.query('count({__name__=~".+", __name__!~".*:.*"})')
            times, _ = bench._sample(prom, args.rounds)
        finally:
            prom.stop()
            server.shutdown()
    cost = {g: min(v) * 60 / intervals[g] for g, v in times.items()}
    total = sum(cost.values())
    at_1m = sum(min(v) for g, v in times.items() if g in per_pod)
    pods = sum(cost[g] for g in per_pod if g in cost)
    print(f"{series[0]['value'][1] if series else 0} raw series; {1000 * total:.1f} ms of rule evaluation per minute")
    print(f"per-pod groups {1000 * pods:.1f} ms/min ({pods / total:.0%}); at a 1m pod interval the total would be "
          f"{1000 * (total - pods + at_1m):.1f}")
    largest = max(cost, key=cost.__getitem__)
    print(f"largest group {largest} {cost[largest] / total:.0%}")
    for group, ms in sorted(cost.items(), key=lambda kv: -kv[1])[:8]:
        print(f"    {group:34} {1000 * ms:7.2f} ms/min  {ms / total:4.0%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
