"""The settings rollout uses the least disruptive action that really applies every change."""

from __future__ import annotations

from ssvm_operator.model.settings import RolloutStrategy
from ssvm_operator.plan.settings import BOOT_TIME_KEYS
from ssvm_operator.plan.settings_plan import least_disruptive

REBOOT, STOP_START, RECREATE = RolloutStrategy.REBOOT, RolloutStrategy.STOP_START, RolloutStrategy.RECREATE


def test_a_boot_argument_needs_a_stop_and_start() -> None:
    assert BOOT_TIME_KEYS["secstorage.vm.mtu.size"].rollout is STOP_START
    assert least_disruptive(REBOOT, [REBOOT, STOP_START]) is STOP_START


def test_the_strongest_need_wins_and_a_declared_recreate_stays() -> None:
    assert least_disruptive(REBOOT, [STOP_START, RECREATE]) is RECREATE
    assert least_disruptive(RECREATE, [REBOOT]) is RECREATE
    assert least_disruptive(REBOOT, [REBOOT]) is REBOOT


def test_auto_takes_only_what_the_keys_need_and_a_value_sent_at_connect_needs_no_action() -> None:
    auto, reconnect = RolloutStrategy.AUTO, RolloutStrategy.RECONNECT
    assert BOOT_TIME_KEYS["secstorage.allowed.internal.sites"].rollout is reconnect
    assert least_disruptive(auto, [reconnect]) is reconnect
    assert least_disruptive(auto, [reconnect, STOP_START]) is STOP_START
    assert least_disruptive(REBOOT, [reconnect]) is REBOOT, "a declared Reboot is a floor"
