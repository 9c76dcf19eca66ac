"""The pure pieces of one pool cycle (act/cycle.py): the backoff after failures and the ladder's memory of
finished starts and reboots. The whole cycle runs in tests/reliability/test_stateful_planner.py."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from ssvm_operator.act.cycle import MAX_BACKOFF, Backoff, next_backoff, remember_outcomes
from ssvm_operator.act.outcome import Outcome, Result
from ssvm_operator.plan.types import ActionKind, VmMemory

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def outcome(kind: ActionKind, result: Result) -> Outcome:
    return Outcome(kind, result, "m", NOW, "vm-1", "s-1-VM")


class Middle(random.Random):
    def uniform(self, a: float, b: float) -> float:
        return 1.0


def test_each_failure_doubles_the_wait_up_to_an_hour_and_a_success_resets_it() -> None:
    failed = [outcome(ActionKind.REBOOT, Result.FAILED)]
    first = next_backoff(Backoff(), failed, NOW, 30, Middle())
    assert first == Backoff(1, NOW, NOW + timedelta(seconds=30))
    second = next_backoff(first, failed, NOW, 30, Middle())
    assert second.next_attempt_after == NOW + timedelta(seconds=60)
    assert next_backoff(Backoff(20), failed, NOW, 30, Middle()).next_attempt_after == NOW + MAX_BACKOFF
    assert next_backoff(second, [outcome(ActionKind.REBOOT, Result.SUCCEEDED)], NOW, 30) == Backoff()
    assert next_backoff(second, [outcome(ActionKind.REBOOT, Result.STARTED)], NOW, 30) == second


def test_a_finished_start_or_reboot_is_remembered_and_nothing_else() -> None:
    for kind in (ActionKind.START, ActionKind.REBOOT):
        remembered = remember_outcomes({}, [outcome(kind, Result.SUCCEEDED)])
        assert remembered == {"vm-1": VmMemory(last_remediation=kind, last_remediation_at=NOW)}
    assert remember_outcomes({}, [outcome(ActionKind.REBOOT, Result.STARTED)]) == {}
    assert remember_outcomes({}, [outcome(ActionKind.RECREATE, Result.SUCCEEDED)]) == {}
