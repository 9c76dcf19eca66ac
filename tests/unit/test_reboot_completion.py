"""A reboot job that ended is not a rebooted guest: the SSVM counts as rebooting until its agent leaves Up."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from ssvm_operator.model.snapshot import Health, SystemVm
from ssvm_operator.plan.types import ActionKind, RolloutRequest
from tests.unit.plan_builders import NOW, ago, inventory, plan, runnable, spec, ssvm

ROLLOUT = RolloutRequest(since=ago(600), recreate=False, max_unavailable=1, active_zone=None)


def booted_long_ago(number: int) -> SystemVm:
    return replace(ssvm(number), last_disconnected=ago(3000))


def test_no_second_rollout_reboot_while_the_agent_has_not_left_up() -> None:
    inv = inventory(booted_long_ago(1), booted_long_ago(2))
    result = plan(inv, spec(replicas=2), rollout=ROLLOUT, reboots_sent={"s-1-VM": ago(5)})
    assert runnable(result) == [], "s-1 is rebooting; s-2 waits for it (one at a time)"
    assert result.vms[0].health is Health.CONVERGING and result.converging
    assert all(a.vm_name != "s-1-VM" for a in result.actions)


def test_once_the_agent_went_down_and_came_back_the_rollout_moves_on() -> None:
    back = replace(ssvm(1), last_disconnected=ago(2))
    result = plan(
        inventory(back, booted_long_ago(2)),
        spec(replicas=2),
        rollout=ROLLOUT,
        reboots_sent={"s-1-VM": ago(5)},
    )
    assert runnable(result) == [(ActionKind.ROLLOUT_REBOOT, "s-2-VM")]


def test_after_the_reboot_timeout_it_is_judged_afresh() -> None:
    result = plan(
        inventory(booted_long_ago(1)),
        spec(reboot_timeout=60),
        rollout=ROLLOUT,
        reboots_sent={"s-1-VM": NOW - timedelta(seconds=61)},
    )
    assert runnable(result) == [(ActionKind.ROLLOUT_REBOOT, "s-1-VM")]


def test_a_stop_and_start_rollout_plans_rollout_restarts() -> None:
    """Boot arguments apply only at a start: the rollout stops and starts instead of rebooting."""
    restart = replace(ROLLOUT, restart=True)
    result = plan(inventory(booted_long_ago(1)), rollout=restart)
    assert runnable(result) == [(ActionKind.ROLLOUT_RESTART, "s-1-VM")]
