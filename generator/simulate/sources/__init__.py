"""The scrape sources of a simulated cluster, one class per job (several targets each where the job has them)."""

from __future__ import annotations

from generator.simulate.sources.apiserver import APIServer
from generator.simulate.sources.controllers import ControllerManager, Scheduler
from generator.simulate.sources.etcd import Etcd
from generator.simulate.sources.ksm import KubeStateMetrics
from generator.simulate.sources.kubelet import Kubelet
from generator.simulate.sources.network import CoreDNS, KubeProxy
from generator.simulate.sources.node_exporter import NodeExporter
from generator.simulate.sources.services import HTTPServices
from generator.simulate.sources.telemetry import Telemetry

SOURCES = (APIServer, Etcd, Scheduler, ControllerManager, Kubelet, KubeStateMetrics, NodeExporter, CoreDNS, KubeProxy,
           HTTPServices, Telemetry)
