"""control_plane.ControlPlane: the skeleton kube-controller-manager and kube-scheduler share puts a component's own
parts in one fixed order around the shared process, API client and Down parts, for any client-go binary."""

from __future__ import annotations

import dataclasses

from generator.catalog import kube_controller_manager, kube_scheduler
from generator.catalog.control_plane import ControlPlane, Parts
from generator.config import load
from generator.context import Context
from generator.model import Alert, Case, Panel, RecordingRule, RuleTest, Signal

TOY = ControlPlane(job="cloud-controller-manager", title="Cloud Controller Manager", description="Cloud loops.",
                   prefix="ccm", alerts="CloudControllerManager", port="10258",
                   down_impact="No cloud routes or load balancers are reconciled.", instance_impact="Little.")


def _ctx() -> Context:
    config = load(None)
    return Context(dataclasses.replace(
        config, selectors={**config.selectors, "cloud-controller-manager": 'job="cloud-controller-manager"'}))


def _own(tag: str) -> Parts:
    return Parts(rules=(RecordingRule(f"cluster:{tag}:sum", "vector(1)"),),
                 signals=(Signal(f"ccm_{tag}", f"cluster:{tag}:sum", "short", ("cluster",), tag, tag),),
                 rule_tests=(RuleTest({}, f"cluster:{tag}:sum", (({}, 1),)),),
                 alerts=(Alert(f"CloudControllerManager{tag.capitalize()}", "vector(1)", "5m", "warning", tag, tag,
                               (Case({}, fires=True), Case({}, fires=False))),),
                 panels=(Panel(tag, (f"ccm_{tag}",)),))


def test_own_and_tail_sit_where_the_skeleton_says() -> None:
    comp = TOY.component(_ctx(), own=_own("own"), tail=_own("tail"))
    assert (comp.key, comp.jobs, comp.control_plane) == ("cloud-controller-manager", ("cloud-controller-manager",),
                                                         True)
    assert [r.record for r in comp.rules] == [
        "cluster:cloud_controller_manager_up:sum",
        "cluster_instance:cloud_controller_manager_process_cpu_seconds:rate5m",
        "cluster_instance:cloud_controller_manager_process_resident_memory_bytes:sum", "cluster:own:sum",
        "cluster_code:cloud_controller_manager_rest_client_requests:rate5m",
        "cluster:cloud_controller_manager_rest_client_errors:ratio_rate5m",
        "cluster_verb_le:cloud_controller_manager_rest_client_request_duration_seconds_bucket:rate5m",
        "cluster_verb_quantile:cloud_controller_manager_rest_client_request_duration_seconds:histogram_quantile",
        "cluster:tail:sum"]
    assert [s.name for s in comp.signals] == [
        "ccm_up", "ccm_cpu", "ccm_memory", "ccm_own", "ccm_rest_client_requests", "ccm_rest_client_error_ratio",
        "ccm_rest_client_latency_p99", "ccm_tail"]
    assert [t.expr for t in comp.rule_tests][:2] == ["cluster:own:sum", "cluster:tail:sum"]
    assert [a.name for a in comp.alerts] == [
        "CloudControllerManagerDown", "CloudControllerManagerInstanceDown", "CloudControllerManagerOwn",
        "CloudControllerManagerRestClientErrors", "CloudControllerManagerTail"]
    assert [p.title for p in comp.panels] == [
        "Targets up", "own", "API requests by code", "API request error ratio", "API request latency p99", "CPU",
        "Memory", "tail"]
    down = comp.alerts[0]
    assert down.down and 'up{job="cloud-controller-manager"}' in down.expr
    assert down.mitigation[:2] == ("Check the cloud-controller-manager static pod on the control-plane nodes "
                                   "(`crictl ps`, `/etc/kubernetes/manifests`) and its logs.",
                                   "Check the scrape job reaches the secure port 10258 and is authorised to read "
                                   "/metrics.")


def test_without_a_tail_the_api_client_parts_come_last() -> None:
    comp = TOY.component(_ctx(), own=_own("own"))
    assert comp.alerts[-1].name == "CloudControllerManagerRestClientErrors"
    assert [p.title for p in comp.panels][-2:] == ["CPU", "Memory"]


def test_both_real_binaries_are_built_by_the_skeleton() -> None:
    ctx = Context()
    for module, spec in ((kube_controller_manager, kube_controller_manager.KCM),
                         (kube_scheduler, kube_scheduler.SCHEDULER)):
        comp = module.build(ctx)
        bare = spec.component(ctx, Parts())
        shared = {a.name for a in bare.alerts}
        assert shared == {f"{spec.alerts}Down", f"{spec.alerts}InstanceDown", f"{spec.alerts}RestClientErrors"}
        assert shared <= {a.name for a in comp.alerts}
        assert {r.record for r in bare.rules} <= {r.record for r in comp.rules}
        assert comp.panels[0] == bare.panels[0] and comp.key == spec.job
