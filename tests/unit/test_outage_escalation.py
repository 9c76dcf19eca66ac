"""A zone-wide cause names the conditions over the SSVM symptoms it causes, and a Recreate of a Running SSVM
waits for connectivity checks newer than its trouble."""

from __future__ import annotations

from ssvm_operator.model.spec import DiagnosticsPolicy
from ssvm_operator.plan.diagnostics_schedule import agent_trouble_unchecked, round_due
from ssvm_operator.plan.types import ActionKind, Scope, Severity
from tests.unit.plan_builders import NOW, ago, inventory, plan, remediated, spec, ssvm, unhealthy_for
from tests.unit.test_connectivity import STORAGE, blocked, checks, diagnosed


def test_the_storage_outage_comes_before_the_agents_it_knocks_out() -> None:
    result = plan(
        inventory(ssvm(1, agent="Disconnected")),
        spec(grace=60),
        memory={1: unhealthy_for(120)},
        connectivity=diagnosed(checks(1, STORAGE)),
    )
    degraded = [f for f in result.findings if f.severity is Severity.DEGRADED]
    assert [f.reason for f in degraded] == ["StorageUnreachable", "SSVMUnhealthy"]
    assert [f.scope for f in degraded] == [Scope.DEPENDENCY, Scope.SSVM]


def test_a_recreate_after_a_reboot_waits_for_checks_newer_than_the_reboot() -> None:
    inv = inventory(ssvm(1, agent="Disconnected"))
    memory = {1: remediated(ActionKind.REBOOT, seconds_ago=700)}
    stale = plan(inv, spec(grace=60), memory=memory, connectivity=diagnosed(checks(1, seconds_ago=900)))
    [held] = blocked(stale, ActionKind.RECREATE)
    assert held.startswith("waiting for a connectivity round newer than")
    fresh = plan(inv, spec(grace=60), memory=memory, connectivity=diagnosed(checks(1, seconds_ago=10)))
    assert blocked(fresh, ActionKind.RECREATE) == [""], "fresh checks that find nothing let it run"
    outage = plan(
        inv, spec(grace=60), memory=memory, connectivity=diagnosed(checks(1, STORAGE, seconds_ago=10))
    )
    [storage] = blocked(outage, ActionKind.RECREATE)
    assert "repairing SSVMs would not help" in storage


def test_a_broken_vm_and_a_pool_without_diagnostics_are_not_held() -> None:
    broken = plan(
        inventory(ssvm(1, state="Error", agent=None)),
        spec(grace=60),
        memory={1: unhealthy_for(120)},
        connectivity=diagnosed(checks(1, seconds_ago=900)),
    )
    assert blocked(broken, ActionKind.RECREATE) == [""]
    never = plan(
        inventory(ssvm(1, agent="Disconnected")),
        spec(grace=60),
        memory={1: remediated(ActionKind.REBOOT, 700)},
    )
    assert blocked(never, ActionKind.RECREATE) == [""]


def test_agent_trouble_since_the_last_round_asks_for_one_within_its_rate_limit() -> None:
    vms = (ssvm(1, agent="Disconnected"), ssvm(2))
    memory = {"vm-1": unhealthy_for(5)}
    assert agent_trouble_unchecked(vms, memory, last_run=ago(30)) == ("s-1-VM",)
    assert agent_trouble_unchecked(vms, memory, last_run=ago(1)) == (), "the round after the trouble answered"
    policy = DiagnosticsPolicy(interval_seconds=900)
    due = round_due(policy, NOW, ago(30), None, None, vms, checks(1) + checks(2), False, ("s-1-VM",))
    assert due == "agent trouble since the last round (s-1-VM)"
    assert round_due(policy, NOW, ago(3), None, None, vms, checks(1) + checks(2), False, ("s-1-VM",)) is None
