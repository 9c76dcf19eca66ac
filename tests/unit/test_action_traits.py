"""One table says what each kind of action is (plan/types.TRAITS); the actor submits every SSVM action
through one dispatch row (act/actor.SUBMIT). These tests keep the two complete and consistent."""

from __future__ import annotations

from ssvm_operator.act import actor
from ssvm_operator.plan.types import TRAITS, ActionKind


def test_every_action_kind_has_its_traits() -> None:
    assert set(TRAITS) == set(ActionKind)


def test_every_ssvm_action_has_a_dispatch_row_and_zone_actions_none() -> None:
    assert set(actor.SUBMIT) == {kind for kind in ActionKind if not TRAITS[kind].zone_level}


def test_exactly_the_actions_that_remove_the_vm_submit_a_destroy() -> None:
    destroying = {kind for kind, submit in actor.SUBMIT.items() if submit is actor._destroy}
    assert destroying == {kind for kind in ActionKind if TRAITS[kind].removes_vm}


def test_a_rollout_recreate_removes_the_vm_like_a_recreate() -> None:
    assert TRAITS[ActionKind.ROLLOUT_RECREATE].removes_vm
    assert TRAITS[ActionKind.ROLLOUT_RECREATE].recreated_by_cloudstack


def test_the_ladder_rungs_are_start_reboot_recreate_and_only_start_and_reboot_revive() -> None:
    rungs = [kind for kind in ActionKind if TRAITS[kind].ladder_rung]
    assert rungs == [ActionKind.START, ActionKind.REBOOT, ActionKind.RECREATE]
    assert [kind for kind in ActionKind if TRAITS[kind].revives] == [ActionKind.START, ActionKind.REBOOT]


def test_zone_actions_touch_no_ssvm_and_disrupt_none() -> None:
    for kind in ActionKind:
        if TRAITS[kind].zone_level:
            assert not (TRAITS[kind].disruptive or TRAITS[kind].removes_vm or TRAITS[kind].ladder_rung)
