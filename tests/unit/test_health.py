"""Health of each SSVM: CloudStack's classification, plus grace periods and what the operator remembers."""

from __future__ import annotations

from datetime import timedelta, timezone

import pytest

from ssvm_operator.model.snapshot import Health
from ssvm_operator.plan.types import ActionKind, Plan, VmMemory
from tests.unit.plan_builders import (
    NOW,
    ago,
    inventory,
    only,
    plan,
    reasons,
    remediated,
    spec,
    ssvm,
    unhealthy_for,
)


def health_of(result: Plan) -> list[Health]:
    return [view.health for view in result.vms]


def test_a_running_ssvm_with_its_agent_up_is_healthy_and_ready() -> None:
    result = plan(inventory(ssvm(1)))
    assert health_of(result) == [Health.HEALTHY]
    assert (result.desired_replicas, result.ready_replicas) == (1, 1)
    assert result.memory == {"vm-1": VmMemory()}
    assert not result.converging


def test_healthy_again_forgets_when_it_was_unhealthy_and_how_it_was_remediated() -> None:
    result = plan(inventory(ssvm(1)), memory={1: remediated(ActionKind.REBOOT, 120)})
    assert result.memory["vm-1"] == VmMemory()


def test_first_seen_unhealthy_starts_the_clock_and_shows_as_converging_within_grace() -> None:
    result = plan(inventory(ssvm(1, agent="Disconnected")))
    assert result.memory["vm-1"].unhealthy_since == NOW
    assert health_of(result) == [Health.CONVERGING]
    assert result.actions == ()
    assert result.ready_replicas == 0


def test_the_clock_is_kept_while_the_ssvm_stays_unhealthy() -> None:
    result = plan(inventory(ssvm(1, agent="Disconnected")), memory={1: unhealthy_for(100)})
    assert result.memory["vm-1"].unhealthy_since == ago(100)


def test_past_its_grace_an_ssvm_is_unhealthy_and_the_zone_degraded() -> None:
    result = plan(inventory(ssvm(1, agent="Disconnected")), memory={1: unhealthy_for(412)})
    assert health_of(result) == [Health.UNHEALTHY]
    assert reasons(result)["SSVMUnhealthy"] == "s-1-VM: agent Disconnected for 412s (grace 300s)"


@pytest.mark.parametrize(
    ("state", "agent"),
    [
        ("Starting", None),
        ("Stopping", None),
        ("Migrating", "Up"),
        ("Expunging", None),
        ("Running", "Connecting"),
    ],
)
def test_transitional_states_and_a_connecting_agent_are_converging(state: str, agent: str | None) -> None:
    """Within the grace period after the start (test_agent_connect.py: past it, a failure)."""
    result = plan(inventory(ssvm(1, state, agent, created_ago=60)))
    assert health_of(result) == [Health.CONVERGING]
    assert result.converging


def test_a_converging_ssvm_keeps_its_unhealthy_clock() -> None:
    """An agent that reconnects and drops again has been unhealthy all along."""
    result = plan(inventory(ssvm(1, agent="Connecting")), memory={1: unhealthy_for(200)})
    assert result.memory["vm-1"].unhealthy_since == ago(200)


def test_an_ssvm_with_a_cloudstack_job_pending_is_converging_even_when_healthy() -> None:
    result = plan(inventory(ssvm(1, job="job-42")))
    assert health_of(result) == [Health.CONVERGING]
    assert result.ready_replicas == 0


def test_desired_replicas_is_what_the_pool_declares() -> None:
    result = plan(inventory(ssvm(1), standby=2), spec(replicas=2))
    assert (result.desired_replicas, result.ready_replicas) == (2, 1)


def test_ssvms_are_listed_in_natural_name_order() -> None:
    result = plan(inventory(ssvm(12), ssvm(3), ssvm(7), standby=3), spec(replicas=3))
    assert [v.vm.name for v in result.vms] == ["s-3-VM", "s-7-VM", "s-12-VM"]


def test_ssvms_of_other_zones_are_not_part_of_the_plan() -> None:
    result = plan(inventory(ssvm(1), ssvm(2, zone_id="elsewhere")))
    assert [v.vm.name for v in result.vms] == ["s-1-VM"]


def test_memory_of_ssvms_that_are_gone_is_dropped() -> None:
    result = plan(inventory(ssvm(1)), memory={9: unhealthy_for(50)})
    assert set(result.memory) == {"vm-1"}


def test_a_remembered_time_in_another_utc_offset_measures_the_same_grace() -> None:
    """A status timestamp written by another tool may carry any UTC offset."""
    since = ago(412).astimezone(timezone(timedelta(hours=2)))
    result = plan(inventory(ssvm(1, agent="Disconnected")), memory={1: VmMemory(unhealthy_since=since)})
    assert reasons(result)["SSVMUnhealthy"] == "s-1-VM: agent Disconnected for 412s (grace 300s)"


def test_a_remembered_time_without_an_offset_is_read_as_utc() -> None:
    since = ago(412).replace(tzinfo=None)
    result = plan(inventory(ssvm(1, agent="Disconnected")), memory={1: VmMemory(unhealthy_since=since)})
    assert reasons(result)["SSVMUnhealthy"] == "s-1-VM: agent Disconnected for 412s (grace 300s)"


def test_time_spent_booting_does_not_count_toward_the_grace() -> None:
    result = plan(inventory(ssvm(1, "Starting", None)))
    assert result.memory["vm-1"] == VmMemory()


def test_a_running_ssvm_whose_agent_is_not_reported_yet_holds_the_zone_and_says_so() -> None:
    # Started a minute ago, inside the grace: converging; past the grace it fails (test_agent_connect.py).
    result = plan(
        inventory(ssvm(1, agent=None, created_ago=60), ssvm(2, "Stopped", None), standby=2),
        spec(replicas=2),
        memory={2: unhealthy_for(45)},
    )
    assert (
        only(result).blocked
        == "waiting for the zone to settle: s-1-VM is converging (agent not reported yet)"
    )
