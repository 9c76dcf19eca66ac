"""An SSVM whose agent never connects: converging within the grace period, a failure after it."""

from __future__ import annotations

from ssvm_operator.model.snapshot import Health
from ssvm_operator.plan.types import ActionKind
from tests.unit.plan_builders import inventory, plan, reasons, runnable, spec, ssvm

REBOOT = ActionKind.REBOOT


def test_within_the_grace_an_agent_without_a_host_row_is_converging() -> None:
    result = plan(inventory(ssvm(1, agent=None, created_ago=60)), spec(grace=300))
    assert result.actions == () and result.vms[0].health is Health.CONVERGING


def test_past_the_grace_it_climbs_the_ladder_like_a_lost_agent() -> None:
    result = plan(inventory(ssvm(1, agent=None, created_ago=400)), spec(grace=300))
    assert runnable(result) == [(REBOOT, "s-1-VM")]
    assert "agent never connected" in result.actions[0].reason


def test_an_agent_stuck_connecting_is_the_same_failure() -> None:
    result = plan(inventory(ssvm(1, agent="Connecting", created_ago=400)), spec(grace=300))
    assert runnable(result) == [(REBOOT, "s-1-VM")]


def test_it_does_not_hold_the_zone_for_ever() -> None:
    """A surplus SSVM can go while another one's agent never connected: the zone is not 'in motion'."""
    result = plan(
        inventory(ssvm(1), ssvm(2, agent=None, created_ago=400), ssvm(3)), spec(replicas=1, max_unavailable=3)
    )
    assert runnable(result)[0] == (ActionKind.DESTROY_SURPLUS, "s-2-VM"), result.actions
    assert not any("converging" in (a.blocked or "") for a in result.actions)


def test_every_ssvm_of_the_zone_failing_alike_points_at_port_8250() -> None:
    inv = inventory(ssvm(1, agent=None, created_ago=400), ssvm(2, agent="Connecting", created_ago=500))
    message = reasons(plan(inv, spec(replicas=2, grace=300)))["AgentsCannotConnect"]
    assert "port 8250" in message and "s-1-VM, s-2-VM" in message


def test_one_healthy_agent_means_the_port_is_open() -> None:
    inv = inventory(ssvm(1), ssvm(2, agent=None, created_ago=400))
    assert "AgentsCannotConnect" not in reasons(plan(inv, spec(replicas=2, grace=300)))
