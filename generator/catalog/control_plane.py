"""The skeleton every client-go control-plane binary shares (kube-controller-manager, kube-scheduler): scraped on
its secure port, one component per binary, with process health, `up`, the API client it talks to the apiserver
with, and the Down / InstanceDown / RestClientErrors alerts. A component module declares a `ControlPlane` and
the parts that are its own; `ControlPlane.component` puts them together in one fixed order:

- rules and signals: process, own, API client, tail
- rule tests: own, tail, API client
- alerts: Down, InstanceDown, own, API client errors, tail
- panels: targets up, own, API requests / errors / latency, CPU, memory, tail

`own` is what the binary is for (the scheduler's queues, the controller manager's workqueues); `tail` what comes
after the shared API-client block (the controller manager's garbage collector and node lifecycle).
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.catalog import targets
from generator.catalog import workqueue as wq
from generator.context import Context
from generator.model import Alert, Component, Panel, RecordingRule, RuleTest, Signal


@dataclass(frozen=True)
class Parts:
    """A component's own share of the skeleton (see the module docstring for where each goes)."""

    rules: tuple[RecordingRule, ...] = ()
    signals: tuple[Signal, ...] = ()
    rule_tests: tuple[RuleTest, ...] = ()
    alerts: tuple[Alert, ...] = ()
    panels: tuple[Panel, ...] = ()


@dataclass(frozen=True)
class ControlPlane:
    """One control-plane binary. `job` is its scrape job, its component key and how alerts name it
    (`kube-scheduler`); `prefix` starts its signal names (`scheduler`), `alerts` its alert names
    (`KubeScheduler` → KubeSchedulerDown, KubeSchedulerInstanceDown, KubeSchedulerRestClientErrors)."""

    job: str
    title: str
    description: str
    prefix: str
    alerts: str
    port: str
    down_impact: str
    instance_impact: str

    @property
    def names(self) -> wq.Names:
        """Its recorded series: the raw client-go names with the binary in their metric part."""
        return wq.Names(self.job.replace("-", "_"))

    @property
    def rest_alert(self) -> str:
        return f"{self.alerts}RestClientErrors"

    def component(self, ctx: Context, own: Parts, tail: Parts = Parts()) -> Component:
        n = self.names
        return Component(
            key=self.job,
            jobs=(self.job,),
            client_jobs=(self.job,),
            title=self.title,
            description=self.description,
            signals=(*wq.process_signals(ctx, n, self.prefix, self.job), *own.signals,
                     *wq.rest_client_signals(ctx, n, self.prefix, self.job, self.rest_alert), *tail.signals),
            rules=(*wq.process_rules(ctx, self.job, n), *own.rules, *wq.rest_client_rules(ctx, self.job, n),
                   *tail.rules),
            rule_tests=(*own.rule_tests, *tail.rule_tests, *wq.rest_client_rule_tests(ctx, self.job, n)),
            alerts=(*self._down(ctx), *own.alerts, wq.rest_client_errors_alert(ctx, self.job, n, self.rest_alert,
                                                                                self.job), *tail.alerts),
            panels=(Panel("Targets up", (f"{self.prefix}_up",), kind="stat", width=6), *own.panels,
                    *self._client_panels(), *tail.panels),
            control_plane=True,
        )

    def _down(self, ctx: Context) -> tuple[Alert, ...]:
        return (
            wq.down_alert(
                ctx, self.job, f"{self.alerts}Down", self.job, self.port, impact=self.down_impact,
                mitigation=(f"Check the {self.job} static pod on the control-plane nodes "
                            "(`crictl ps`, `/etc/kubernetes/manifests`) and its logs.",
                            f"Check the scrape job reaches the secure port {self.port} and is authorised to read "
                            "/metrics.")),
            targets.instance_down(ctx, self.job, f"{self.alerts}InstanceDown", self.job, self.port,
                                  impact=self.instance_impact),
        )

    def _client_panels(self) -> tuple[Panel, ...]:
        p = self.prefix
        return (
            Panel("API requests by code", (f"{p}_rest_client_requests",), stack=True, legend="{{code}}"),
            Panel("API request error ratio", (f"{p}_rest_client_error_ratio",)),
            Panel("API request latency p99", (f"{p}_rest_client_latency_p99",), legend="{{verb}}"),
            Panel("CPU", (f"{p}_cpu",), legend="{{instance}}"),
            Panel("Memory", (f"{p}_memory",), legend="{{instance}}"),
        )
