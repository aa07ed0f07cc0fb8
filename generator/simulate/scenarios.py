"""Named fault scenarios: what breaks, which alerts must fire, which knock-on alerts may fire with them.

A scenario is a set of knobs the sources read (see each source module's docstring for its knobs). It starts
`scenario_window` before the end of the simulated window (in live mode: at start) and lasts to the end;
node-level faults hit the last worker node, pod-level ones the first `web`, `worker` or `db` pod.
`expect` lists alerts that must fire (with `for` set to 0s); `allow` lists knock-on alerts the fault may
also cause; any other alert firing is a bug in the catalog or in the simulator.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    knobs: dict[str, float]
    expect: tuple[str, ...]
    allow: tuple[str, ...] = field(default=())
    minutes: int = 8  # how long it must have played for all of `expect` to fire


# a pod that is not running is also an application target that is down
# and a Deployment's budget may run short of healthy pods
_POD_KNOCK_ON = ("KubePodNotReady", "KubeDeploymentReplicasMismatch", "TargetDown", "KubePdbNotEnoughHealthyPods")
_APISERVER_WRITES = ("KubeAPIServerLatencyHigh", "KubeAPIServerWriteLatencyBudgetBurnFast",
                     "KubeAPIServerWriteLatencyBudgetBurnSlow")

SCENARIOS: dict[str, Scenario] = {s.name: s for s in (
    # etcd
    Scenario("etcd-leader-loss", "etcd members lose their leader and keep re-electing; proposals fail.",
             {"etcd.leaderless": 1}, ("EtcdNoLeader", "EtcdHighNumberOfLeaderChanges",
                                      "EtcdHighNumberOfFailedProposals")),
    Scenario("etcd-member-down", "One of three etcd members stops answering.", {"etcd.members_down": 1},
             ("EtcdMembersDown",)),
    Scenario("etcd-quorum-loss", "Two of three etcd members are down: no quorum, no leader.",
             {"etcd.members_down": 2}, ("EtcdMembersDown", "EtcdInsufficientMembers", "EtcdNoLeader",
                                        "EtcdHighNumberOfFailedProposals")),
    Scenario("etcd-db-quota", "The etcd database grows toward its quota without defragmentation.",
             {"etcd.db_fill": 1}, ("EtcdDatabaseQuotaFillingUp", "EtcdDatabaseQuotaLowSpace",
                                   "EtcdDatabaseHighFragmentation"), ("EtcdExcessiveDatabaseGrowth",)),
    Scenario("etcd-slow-disk", "etcd's disk is slow: WAL fsync and backend commits take long, applies lag, "
             "and apiserver writes slow down with them.", {"etcd.disk_slow": 1},
             ("EtcdHighFsyncDurations", "EtcdHighFsyncDurationsCritical", "EtcdHighCommitDurations",
              "EtcdProposalsPendingHigh", "EtcdCommitApplyGapHigh", "KubeAPIServerEtcdLatencyHigh",
              "EtcdGRPCRequestsSlow",
              *_APISERVER_WRITES), ("KubeAPIServerReadLatencyBudgetBurnSlow",)),
    Scenario("etcd-network", "The network between etcd members is slow and lossy; clients see Unavailable.",
             {"etcd.network": 1}, ("EtcdPeerRoundTripSlow", "EtcdHighGRPCErrorRatio", "EtcdGRPCErrorRatioCritical",
                                   "EtcdMembersDown")),
    # kube-apiserver
    Scenario("apiserver-5xx-burst", "The apiserver answers a fifth of all requests with 500/503.",
             {"apiserver.error_ratio": 0.2}, ("KubeAPIServerResourceErrorsHigh", "KubeAPIServerErrorBudgetBurnFast",
                                              "KubeAPIServerErrorBudgetBurnSlow")),
    Scenario("apiserver-flowcontrol", "API priority and fairness saturates: requests queue, get 429 and are "
             "terminated.", {"apiserver.throttle": 0.15},
             ("KubeAPIServerThrottlingHigh", "KubeAPIServerFlowControlRejections", "KubeAPIServerFlowControlQueueing",
              "KubeAPIServerFlowControlSaturated", "KubeAPIServerTerminatedRequests")),
    Scenario("apiserver-down", "The apiserver target cannot be scraped.", {"apiserver.down": 1},
             ("KubeAPIServerDown", "KubeAPIServerInstanceDown")),
    Scenario("admission-webhook-slow", "A validating webhook answers in seconds and fails calls; writes slow down.",
             {"apiserver.webhook_slow": 1}, ("KubeAPIServerWebhookLatencyHigh", "KubeAPIServerWebhookErrors",
                                             "KubeAPIServerLatencyHigh")),
    Scenario("apiserver-slow-reads", "GETs take seconds (an overloaded apiserver serving big objects): the read "
             "latency objective burns.", {"apiserver.slow_reads": 1},
             ("KubeAPIServerLatencyHigh", "KubeAPIServerReadLatencyBudgetBurnFast",
              "KubeAPIServerReadLatencyBudgetBurnSlow")),
    Scenario("aggregated-api-down", "metrics-server is gone: v1beta1.metrics.k8s.io is unavailable.",
             {"apiserver.aggregated_down": 1}, ("KubeAPIServerAggregatedAPIDown", "KubeAPIServerAggregatedAPIErrors"),
             minutes=12),
    Scenario("deprecated-api-use", "A client still calls an API version removed in a later release.",
             {"apiserver.deprecated": 1}, ("KubeAPIServerDeprecatedAPIRequested",)),
    Scenario("cert-near-expiry", "Certificate rotation fails on a node: its kubelet client and serving certificates "
             "expire within hours, and the apiserver sees the short-lived client certificate.",
             {"apiserver.cert_expiry": 1, "kubelet.cert_expiry": 1},
             ("KubeClientCertificateExpiration", "KubeClientCertificateExpirationCritical",
              "KubeletClientCertExpiring", "KubeletClientCertExpiringCritical", "KubeletServerCertExpiring",
              "KubeletServerCertExpiringCritical", "KubeletClientCertRenewalErrors", "KubeletServerCertRenewalErrors")),
    # nodes and kubelets
    Scenario("node-not-ready", "A node's kubelet stops: the node goes NotReady/unreachable, its pods lose "
             "readiness, and the node lifecycle controller evicts them.", {"node.not_ready": 1},
             ("KubeNodeNotReady", "KubeNodeUnreachable", "KubeletInstanceDown", "KubeControllerManagerNodeEvictions"),
             (*_POD_KNOCK_ON, "KubeStatefulSetReplicasMismatch", "KubeDaemonSetRolloutStuck", "KubeletManyDown",
              "TargetDown")),
    # `for` is 0s here, so a snapshot taken in a minute the node is down also sees KubeNodeNotReady
    Scenario("node-readiness-flapping", "A node's Ready condition flips every few minutes.", {"node.flapping": 1},
             ("KubeNodeReadinessFlapping",), allow=("KubeNodeNotReady",)),
    Scenario("node-cordoned", "A node has been cordoned and left so.", {"node.cordoned": 1},
             ("KubeNodeUnschedulable",)),
    Scenario("node-cpu-saturation", "A runaway host process saturates a node's CPUs.", {"node.cpu_busy": 1},
             ("NodeCPUHighUsage", "NodeSystemSaturation")),
    Scenario("node-memory-pressure", "A node runs out of memory: major faults, MemoryPressure, evictions.",
             {"node.mem_pressure": 1}, ("NodeMemoryHighUtilization", "NodeMemoryMajorPagesFaults", "KubeNodePressure",
                                        "KubeletEvictions")),
    Scenario("disk-filling", "A node's root filesystem fills up.", {"node.fs_fill": 1},
             ("NodeFilesystemSpaceUsageHigh", "NodeFilesystemAlmostOutOfSpace", "NodeFilesystemSpaceFillingUp",
              "NodeFilesystemSpaceFillingUpFast")),
    Scenario("inodes-exhausted", "Millions of small files use up a node's inodes.", {"node.inodes_fill": 1},
             ("NodeFilesystemInodesUsageHigh", "NodeFilesystemAlmostOutOfFiles", "NodeFilesystemFilesFillingUp",
              "NodeFilesystemFilesFillingUpFast")),
    Scenario("disk-io-saturation", "A node's disk has a long I/O queue.", {"node.disk_io": 1},
             ("NodeDiskIOSaturation",)),
    Scenario("network-errors", "A node's NIC corrupts frames: interface errors, and its pods drop packets.",
             {"node.net_errors": 1}, ("NodeNetworkReceiveErrs", "NodeNetworkTransmitErrs", "PodNetworkDropsHigh")),
    Scenario("conntrack-exhaustion", "A node's conntrack table and file descriptors run out.",
             {"node.kernel_limits": 1}, ("NodeHighNumberConntrackEntriesUsed", "NodeFileDescriptorLimit")),
    Scenario("clock-skew", "chrony stops on a node: the clock drifts, and the textfile collector reporting it "
             "fails.", {"node.clock": 1}, ("NodeClockSkewDetected", "NodeClockNotSynchronising",
                                           "NodeTextFileCollectorScrapeError")),
    Scenario("node-exporter-down", "node-exporter on a node cannot be scraped.", {"node.exporter_down": 1},
             ("NodeExporterInstanceDown",)),
    Scenario("kubelet-pleg-unhealthy", "The container runtime hangs: PLEG relists take seconds, runtime calls "
             "time out and fail, pods start slowly.", {"kubelet.pleg": 1},
             ("KubeletPlegDurationHigh", "KubeletPlegNotHealthy", "KubeletRuntimeLatencyHigh",
              "KubeletRuntimeErrorsHigh", "KubeletPodStartUpLatencyHigh")),
    Scenario("kubelet-too-many-pods", "A node runs almost as many pods as it may.", {"kubelet.too_many_pods": 1},
             ("KubeletTooManyPods",)),
    Scenario("pvc-filling", "A database volume fills with data and small files.", {"pvc.fill": 1},
             ("KubePersistentVolumeFillingUp", "KubePersistentVolumeAlmostFull",
              "KubePersistentVolumeInodesFillingUp", "KubePersistentVolumeInodesAlmostFull")),
    Scenario("storage-provisioning", "Storage misbehaves: a claim stays Pending, a released volume failed, and a "
             "pod waits in ContainerCreating for its volume.", {"storage.failing": 1, "pod.container_creating": 1},
             ("KubePersistentVolumeClaimPending", "KubePersistentVolumeErrors", "KubeContainerWaiting"),
             ("KubePodNotReady", "KubeStatefulSetReplicasMismatch")),
    # workloads
    Scenario("pod-crash-loop", "A web container exits on start, over and over.", {"pod.crashloop": 1},
             ("KubePodCrashLooping", "KubeContainerRestartsFrequent", *_POD_KNOCK_ON[:2]), _POD_KNOCK_ON,
             minutes=20),
    Scenario("oom-kills", "A worker container leaks memory and is OOM-killed every few minutes.", {"pod.oom": 1},
             ("KubeContainerOOMKilled", "ContainerOOMEvents", "NodeOOMKillDetected", "ContainerMemoryNearLimit"),
             ("KubeContainerRestartsFrequent", *_POD_KNOCK_ON)),
    Scenario("image-pull-backoff", "A rollout points at an image that does not exist.", {"pod.image_pull": 1},
             ("KubeContainerImagePullBackOff", "KubeDeploymentRolloutStuck"), _POD_KNOCK_ON),
    Scenario("cpu-throttling", "A web container runs at its CPU limit and is throttled.", {"pod.throttled": 1},
             ("ContainerCPUThrottlingHigh", "ContainerCPUNearLimit")),
    Scenario("statefulset-update-stuck", "A StatefulSet update's new pod never becomes ready.",
             {"statefulset.update_stuck": 1, "pod.readiness_failing": 1},
             ("KubeStatefulSetUpdateNotRolledOut", "KubeStatefulSetReplicasMismatch"), ("KubePodNotReady",),
             minutes=12),  # the mismatch alert waits for ten minutes without progress
    Scenario("daemonset-rollout-stuck", "A DaemonSet rollout stalls: one node unscheduled, one misscheduled.",
             {"daemonset.stuck": 1}, ("KubeDaemonSetRolloutStuck", "KubeDaemonSetNotScheduled",
                                      "KubeDaemonSetMisScheduled")),
    Scenario("job-failures", "A migration Job failed and a backfill Job has run for thirteen hours.",
             {"job.failed": 1}, ("KubeJobFailed", "KubeJobNotCompleted")),
    Scenario("hpa-saturation", "One autoscaler sits at its maximum, another cannot reach its desired count.",
             {"hpa.maxed": 1}, ("KubeHpaMaxedOut", "KubeHpaReplicasMismatch")),
    Scenario("quota-exhausted", "A namespace's quota is used up, nearly used up, and exceeded.",
             {"quota.exhausted": 1}, ("KubeQuotaAlmostFull", "KubeQuotaFullyUsed", "KubeQuotaExceeded")),
    Scenario("overcommit", "Requests and quotas promise more CPU and memory than the cluster can give if a node "
             "fails.", {"overcommit": 1}, ("KubeCPUOvercommit", "KubeMemoryOvercommit", "KubeCPUQuotaOvercommit",
                                           "KubeMemoryQuotaOvercommit")),
    # control plane and cluster services
    Scenario("scheduler-backlog", "A burst of pods that do not fit: the scheduler's queues fill and it slows down.",
             {"scheduler.backlog": 1}, ("KubeSchedulerPendingPodsHigh", "KubeSchedulerUnschedulablePods",
                                        "KubeSchedulerLatencyHigh", "KubeSchedulerErrors")),
    Scenario("pdb-unsatisfiable", "A PodDisruptionBudget asks for more healthy pods than its Deployment runs: "
             "every drain blocks.", {"pdb.strict": 1}, ("KubePdbNotEnoughHealthyPods",)),
    Scenario("ksm-list-errors", "kube-state-metrics fails a tenth of its list and watch calls.",
             {"ksm.list_errors": 1}, ("KubeStateMetricsListErrors", "KubeStateMetricsWatchErrors")),
    Scenario("version-skew", "A node was left behind by an upgrade: its kubelet and kube-proxy run the previous "
             "minor version.", {"version.skew": 1}, ("KubeVersionMismatch",)),
    Scenario("link-flapping", "A node's NIC goes down and up every minute.", {"node.link_flapping": 1},
             ("NodeNetworkInterfaceFlapping",), minutes=12),
    Scenario("coredns-upstream-down", "CoreDNS' upstream resolvers fail their health checks.",
             {"coredns.upstream_down": 1}, ("CoreDNSForwardHealthcheckFailing", "CoreDNSForwardUpstreamsDown")),
    Scenario("node-hardware", "On one node a RAID member disk fails, a bond loses a link and containerd's unit "
             "fails.", {"node.hardware": 1}, ("NodeRAIDDegraded", "NodeRAIDDiskFailure", "NodeBondingDegraded",
                                              "NodeSystemdServiceFailed")),
    Scenario("scheduler-down", "The scheduler target cannot be scraped.", {"scheduler.down": 1},
             ("KubeSchedulerDown", "KubeSchedulerInstanceDown")),
    Scenario("controller-manager-down", "The controller manager is down: object generations move on unobserved.",
             {"controller_manager.down": 1}, ("KubeControllerManagerDown", "KubeControllerManagerInstanceDown",
                                              "KubeDeploymentGenerationMismatch",
                                              "KubeStatefulSetGenerationMismatch")),
    Scenario("controller-manager-workqueue", "The deployment controller's queue backs up and the garbage "
             "collector cannot sync.", {"controller_manager.workqueue": 1},
             ("KubeControllerManagerWorkqueueDepthHigh", "KubeControllerManagerWorkqueueWaitHigh",
              "KubeControllerManagerWorkqueueRetries", "KubeControllerManagerWorkqueueStuck",
              "KubeControllerManagerGCSyncErrors")),
    Scenario("api-client-errors", "A broken load balancer in front of the apiserver drops client connections.",
             {"clients.errors": 0.05}, ("KubeControllerManagerRestClientErrors", "KubeSchedulerRestClientErrors",
                                        "KubeProxyAPIErrorsHigh")),
    Scenario("kube-proxy-sync-slow", "iptables-restore fails on a node: rule syncs are slow and stale.",
             {"kube_proxy.sync_failing": 1}, ("KubeProxySyncRulesSlow", "KubeProxyNetworkProgrammingSlow",
                                              "KubeProxyRulesSyncStale", "KubeProxyIptablesRestoreFailing"),
             minutes=12),
    Scenario("kube-proxy-down", "No kube-proxy can be scraped.", {"kube_proxy.down": 1},
             ("KubeProxyDown", "KubeProxyInstanceDown")),
    Scenario("coredns-servfail", "The upstream resolver fails: SERVFAIL answers, and a CoreDNS plugin panics on "
             "the bad replies.", {"coredns.servfail": 1},
             ("CoreDNSServfailRatioHigh", "CoreDNSForwardErrorsHigh", "CoreDNSPanic")),
    Scenario("coredns-slow-upstream", "The upstream resolver answers in seconds.", {"coredns.slow_upstream": 1},
             ("CoreDNSLatencyHigh", "CoreDNSForwardLatencyHigh")),
    Scenario("coredns-down", "No CoreDNS pod can be scraped.", {"coredns.down": 1}, ("CoreDNSDown",)),
)}


class UnknownScenario(ValueError):
    pass


def get(name: str) -> Scenario:
    try:
        return SCENARIOS[name]
    except KeyError:
        raise UnknownScenario(f"unknown scenario {name!r} (see --list-scenarios)") from None


def knobs_for(names: tuple[str, ...]) -> dict[str, float]:
    knobs: dict[str, float] = {}
    for name in names:
        knobs.update(get(name).knobs)
    return knobs
